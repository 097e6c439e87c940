"""PGGANFetchDataHook's dataloader rebuild and PickleDataHook's file."""
import pickle
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

from genforge.datasets import GrowScaleImgDataset, InfiniteSampler, pseudo_collate
from genforge.hooks import PGGANFetchDataHook, PickleDataHook


def test_fetch_hook_rebuilds_loader_with_scale_batch_size(tmp_path):
    (tmp_path / 'imgs').mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'imgs' / f'{i}.png')
    ds = GrowScaleImgDataset({'8': str(tmp_path / 'imgs')}, pipeline=[],
                             gpu_samples_per_scale={'4': 3}, gpu_samples_base=2)
    loader = DataLoader(ds, batch_size=2, sampler=InfiniteSampler(ds, seed=5),
                        collate_fn=pseudo_collate)
    hook = PGGANFetchDataHook()
    new = hook.update_dataloader(loader, 4)
    assert new.batch_size == 3 and new.sampler.seed == 5 and new.collate_fn is pseudo_collate
    assert hook.update_dataloader(new, 4) is None  # same scale: nothing to rebuild


class _Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fixed_noises = [torch.ones(1, 1, 2, 2)]
        self.noise_weights = [1, 0.5]
        self.curr_stage = 1


def test_pickle_hook_writes_numpy_state(tmp_path):
    runner = SimpleNamespace(model=_Holder(), work_dir=str(tmp_path), iter=9)
    hook = PickleDataHook('pickle', ['noise_weights', 'fixed_noises', 'curr_stage', 'nope'],
                          after_run=True)
    hook.after_run(runner)
    with open(tmp_path / 'pickle' / 'iter_10.pkl', 'rb') as f:
        data = pickle.load(f)
    assert set(data) == {'noise_weights', 'fixed_noises', 'curr_stage'}
    assert isinstance(data['fixed_noises'][0], np.ndarray) and data['curr_stage'] == 1
