"""GrowScaleImgDataset (data root and batch size per scale) and SinGANDataset (pyramid)."""
import math

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.datasets import GrowScaleImgDataset, SinGANDataset, create_real_pyramid


def _write(folder, n, size):
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), i, np.uint8)).save(folder / f'{i}.png')
    return str(folder)


def test_grow_scale_dataset_switches_root_and_batch_size(tmp_path):
    roots = {'8': _write(tmp_path / 'a', 2, 8), '32': _write(tmp_path / 'b', 3, 32)}
    ds = GrowScaleImgDataset(roots, pipeline=[], len_per_stage=5, gpu_samples_base=4,
                             gpu_samples_per_scale={'4': 16})
    assert ds.data_root == roots['8'] and len(ds) == 5  # 2 files repeated to 5
    assert [d['gt_path'][-5:] for d in ds.data_list] == ['0.png', '1.png'] * 2 + ['0.png']
    assert ds.update_annotations(4) and ds.samples_per_gpu == 16 and ds.data_root == roots['8']
    assert not ds.update_annotations(4)
    assert ds.update_annotations(16) and ds.data_root == roots['32'] and ds.samples_per_gpu == 4
    with pytest.raises(ValueError, match="data_roots\\['64'\\]"):
        ds.update_annotations(64)


def test_real_pyramid_matches_the_official_formula():
    reals, factor, stop = create_real_pyramid(np.zeros((60, 90, 3), np.uint8), 25, 250, 0.75)
    # an image under max_size: stop = ceil(log(25/60) / log(0.75)) + 1, factor (25/60)^(1/stop)
    assert stop == math.ceil(math.log(25 / 60) / math.log(0.75)) + 1
    assert factor == pytest.approx((25 / 60) ** (1 / stop))
    assert [r.shape[:2] for r in reals][0] == (25, round(90 * factor ** stop))
    assert reals[-1].shape[:2] == (60, 90)


def test_singan_dataset_packs_every_level(tmp_path):
    path = tmp_path / 'one.png'
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(path)
    ds = SinGANDataset(str(path), min_size=25, max_size=48, scale_factor_init=0.75,
                       pipeline=[dict(type='PackInputs',
                                      keys=['real_scale0', 'input_sample'])])
    inputs = ds[0]['inputs']
    assert sorted(inputs) == ['input_sample'] + [f'real_scale{i}' for i in range(4)]
    assert inputs['real_scale3'].shape == (3, 40, 48) and inputs['input_sample'].dtype == \
        torch.float32
    with pytest.raises(ValueError, match='smaller than the coarsest scale min_size=41'):
        SinGANDataset(str(path), min_size=41, max_size=48, scale_factor_init=0.75, pipeline=[])
