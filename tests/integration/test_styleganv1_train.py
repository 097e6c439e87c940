"""The shipped StyleGANv1 configs train on tiny data across a scale transition (only sizes,
channels and data_root changed) and resume mid-transition bit-identically."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.runner import Runner
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'styleganv1' / 'styleganv1_ffhq-256x256_8xb4-25Mimgs.py'


def _images(folder: Path, n: int, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            folder / f'{i}.png')
    return folder


def _cfg(tmp_path: Path, work: str, max_iters: int) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    cfg.model.style_channels = 8
    cfg.model.generator.update(out_size=16, style_channels=8, num_mlps=2, max_channels=8)
    cfg.model.discriminator.update(in_size=16, max_channels=8)
    # 2 images per iteration: 8x8 for 2 iterations, then 16x16 fading in over 2 iterations;
    # the checkpoint after 3 iterations is in the middle of that transition
    cfg.model.nkimgs_per_scale = {'8': 0.004, '16': 0.01}
    cfg.model.transition_kimgs = 0.004
    cfg.optim_wrapper.lr_schedule = dict(generator={'16': 0.002}, discriminator={'16': 0.002})
    data = cfg.train_dataloader
    data.update(batch_size=2, num_workers=0)
    imgs = str(_images(tmp_path / 'imgs', 6, 16))
    data.dataset.update(data_roots={'16': imgs}, gpu_samples_per_scale={'8': 2, '16': 2})
    cfg.val_dataloader = cfg.test_dataloader = None  # FID needs Inception weights
    cfg.val_cfg = cfg.test_cfg = cfg.val_evaluator = cfg.test_evaluator = None
    cfg.custom_hooks[0].update(interval=100, n_samples=2)
    cfg.default_hooks.checkpoint.update(interval=3, save_best=None)
    cfg.train_cfg = dict(by_epoch=False, max_iters=max_iters)
    cfg.work_dir = str(tmp_path / work)
    cfg.randomness = dict(seed=3)
    return cfg


def _same(a, b, where=''):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _same(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f'{where}[{i}]')
    else:
        assert a == b, where


def test_styleganv1_config_trains_across_a_transition_and_resumes_bit_identical(tmp_path):
    Runner.from_cfg(_cfg(tmp_path, 'straight', 6)).train()
    straight = torch.load(tmp_path / 'straight' / 'iter_6.pth', weights_only=True)
    state = straight['state_dict']
    assert state['_curr_scale_int'] == 16 and state['_curr_transition_weight'] == 1
    assert state['shown_nkimg'].item() == pytest.approx(0.012)
    mid = torch.load(tmp_path / 'straight' / 'iter_3.pth', weights_only=True)
    assert mid['state_dict']['_curr_scale_int'] == 16
    assert mid['state_dict']['_curr_transition_weight'] < 1e-6  # 16x16 started fading in
    # each scale has its own optimizers; both scales' generator optimizers took steps
    for scale in (8, 16):
        assert straight['optimizer'][f'generator_{scale}']['state']
    cfg = _cfg(tmp_path, 'resumed', 6)
    cfg.resume = str(tmp_path / 'straight' / 'iter_3.pth')
    Runner.from_cfg(cfg).train()
    resumed = torch.load(tmp_path / 'resumed' / 'iter_6.pth', weights_only=True)
    for key in ('state_dict', 'sampler', 'rng_state'):
        _same(straight[key], resumed[key], key)
    for name, opt in straight['optimizer'].items():
        for key in ('state', 'param_groups'):
            _same(opt[key], resumed['optimizer'][name][key], f'{name}.{key}')
