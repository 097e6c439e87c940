"""The shipped PGGAN / SinGAN / MS-PIE configs train on tiny data (only sizes and data_root
changed); PGGAN resumes mid-transition bit-identically; SinGAN samples any size from the CLI."""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.runner import Runner

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
TINY_PG = dict(base_channels=64, max_channels=8)


def _images(folder: Path, n: int, size: tuple[int, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f'{i}.png')
    return folder


def _pggan_cfg(tmp_path: Path, work: str, max_iters: int) -> Config:
    cfg = Config.fromfile(str(CONFIGS / 'pggan' / 'pggan_8xb4-12Mimgs_celeba-cropped-128x128.py'))
    cfg.model.generator.update(out_scale=16, **TINY_PG)
    cfg.model.discriminator.update(in_scale=16, **TINY_PG)
    # 2 images per iteration: 4x4 for 2 iterations, then 8x8 fading in over 2 iterations;
    # the checkpoint after 3 iterations is in the middle of that transition
    cfg.model.nkimgs_per_scale = {'4': 0.004, '8': 0.008, '16': 0.01}
    cfg.model.transition_kimgs = 0.004
    cfg.optim_wrapper.lr_schedule = dict(generator={'16': 0.002}, discriminator={'16': 0.002})
    data = cfg.train_dataloader
    data.update(batch_size=2, num_workers=0)
    data.dataset.update(data_roots={'16': str(_images(tmp_path / 'imgs', 6, (16, 16)))},
                        gpu_samples_per_scale={'4': 2, '8': 2, '16': 2})
    cfg.custom_hooks[0].update(interval=100, n_samples=2)
    cfg.default_hooks.checkpoint.update(interval=3)
    cfg.train_cfg = dict(by_epoch=False, max_iters=max_iters)
    cfg.work_dir = str(tmp_path / work)
    cfg.randomness = dict(seed=7)
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


def test_pggan_config_resumes_mid_transition_bit_identical(tmp_path):
    Runner.from_cfg(_pggan_cfg(tmp_path, 'straight', 6)).train()
    straight = torch.load(tmp_path / 'straight' / 'iter_6.pth', weights_only=True)
    assert straight['state_dict']['_curr_scale_int'] == 8  # 4x4, then 8x8 faded in
    mid = torch.load(tmp_path / 'straight' / 'iter_3.pth', weights_only=True)
    assert mid['state_dict']['_curr_transition_weight'] < 1e-6  # 8x8 started fading in
    cfg = _pggan_cfg(tmp_path, 'resumed', 6)
    cfg.resume = str(tmp_path / 'straight' / 'iter_3.pth')
    Runner.from_cfg(cfg).train()
    resumed = torch.load(tmp_path / 'resumed' / 'iter_6.pth', weights_only=True)
    for key in ('state_dict', 'sampler', 'rng_state'):
        _same(straight[key], resumed[key], key)
    for name, opt in straight['optimizer'].items():
        # the wrappers' step counters are accumulation bookkeeping (reset on resume as for
        # every model); the optimizer states and hyper-parameters must match exactly
        for key in ('state', 'param_groups'):
            _same(opt[key], resumed['optimizer'][name][key], f'{name}.{key}')


def _singan_cfg(path: Path, tmp_path: Path, max_iters: int) -> Config:
    cfg = Config.fromfile(str(path))
    img = _images(tmp_path / 'single', 1, (40, 48)) / '0.png'
    num_scales = 3  # the pyramid of a 40x48 image with min_size 25, max_size 48
    tiny = dict(num_scales=num_scales, base_channels=8, min_feat_channels=8, num_layers=3)
    cfg.model.update(num_scales=num_scales, iters_per_scale=1, generator_steps=1,
                     discriminator_steps=1)
    cfg.model.generator.update(tiny)
    cfg.model.discriminator.update(tiny)
    cfg.train_dataloader.dataset.update(data_root=str(img), min_size=25, max_size=48)
    cfg.custom_hooks[1].update(n_samples=2)
    cfg.train_cfg = dict(by_epoch=False, max_iters=max_iters)
    cfg.default_hooks.checkpoint.update(interval=max_iters)
    cfg.work_dir = str(tmp_path / path.stem)
    return cfg


def test_singan_trains_then_samples_any_size_from_the_cli(tmp_path):
    path = CONFIGS / 'singan' / 'singan_fish.py'
    Runner.from_cfg(_singan_cfg(path, tmp_path, 4)).train()
    work = tmp_path / 'singan_fish'
    assert list((work / 'pickle').glob('iter_*.pkl'))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, '-m', 'genforge', 'sample', str(path), str(work / 'iter_4.pth'),
           '--num', '2', '--size', '24x50', '--out', str(tmp_path / 'grid.png'), '--save-dir',
           str(tmp_path / 'each'), '--cfg-options', 'model.num_scales=3',
           'model.generator.num_scales=3', 'model.generator.base_channels=8',
           'model.generator.min_feat_channels=8', 'model.generator.num_layers=3',
           'model.discriminator.num_scales=3', 'model.discriminator.base_channels=8',
           'model.discriminator.min_feat_channels=8', 'model.discriminator.num_layers=3']
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Image.open(tmp_path / 'each' / '00000.png').size == (50, 24)


@pytest.mark.parametrize('name', ['singan-csg_fish', 'singan_spe-dim4_fish',
                                  'singan_interp-pad_disc-nobn_balloons'])
def test_pe_singan_configs_train_two_iterations(tmp_path, name):
    path = CONFIGS / 'positional_encoding_in_gans' / f'{name}.py'
    cfg = _singan_cfg(path, tmp_path, 2)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    model = runner.model
    assert model.curr_stage == 1 and len(model.noise_weights) == 3  # levels 0, 1, 2
    sample = model(dict(num_batches=1, mode='recon'))[0].fake_img
    assert sample.shape[-2:] == tuple(model.reals[1].shape[-2:])


def test_singan_image_smaller_than_the_coarsest_scale(tmp_path):
    cfg = _singan_cfg(CONFIGS / 'singan' / 'singan_balloons.py', tmp_path, 1)
    cfg.train_dataloader.dataset.min_size = 41
    with pytest.raises(ValueError, match='smaller than the coarsest scale min_size=41'):
        Runner.from_cfg(cfg).train()


def test_singan_resume_restores_the_noise_pyramid_bit_identical(tmp_path):
    path = CONFIGS / 'singan' / 'singan_fish.py'
    cfg = _singan_cfg(path, tmp_path, 4)
    cfg.default_hooks.checkpoint.update(interval=2)
    cfg.work_dir = str(tmp_path / 'straight')
    Runner.from_cfg(cfg).train()
    resumed_cfg = _singan_cfg(path, tmp_path, 4)
    resumed_cfg.default_hooks.checkpoint.update(interval=2)
    resumed_cfg.work_dir = str(tmp_path / 'resumed')
    resumed_cfg.resume = str(tmp_path / 'straight' / 'iter_2.pth')
    Runner.from_cfg(resumed_cfg).train()
    a = torch.load(tmp_path / 'straight' / 'iter_4.pth', weights_only=True)
    b = torch.load(tmp_path / 'resumed' / 'iter_4.pth', weights_only=True)
    _same(a['state_dict'], b['state_dict'], 'state_dict')  # weights + _extra_state pyramid
    assert a['state_dict']['_extra_state']['curr_stage'] == 3
