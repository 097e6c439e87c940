"""Every shipped StyleGAN2 config trains 2 iterations on a folder of tiny images, changing only
data_root plus size overrides (as a user would with --cfg-options); StyleGAN2 with lazy R1,
path length and ADA resumes bit-identically from a checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.config import Config
from genforge.runner import Runner
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / 'configs' / 'styleganv2').glob('*.py'))
TINY = {'model.generator.out_size': 16, 'model.generator.style_channels': 8,
        'model.generator.num_mlps': 2, 'model.generator.max_channels': 8,
        'model.discriminator.in_size': 16, 'model.discriminator.max_channels': 8,
        'train_dataloader.batch_size': 2, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'train_cfg.max_iters': 2,
        'model.loss_config.r1_interval': 2, 'model.loss_config.g_reg_interval': 2}


def image_folder(path: Path, n: int = 4, size: int = 16) -> Path:
    path.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            path / f'{i}.png')
    return path


def tiny_cfg(path: Path, work: Path, data: Path, **extra) -> Config:
    cfg = Config.fromfile(str(path))
    options = dict(TINY, **{'train_dataloader.dataset.data_root': str(data)}, **extra)
    if 'lsun-car' in path.name:  # its pipeline pads 384x512 to 512x512: pad 16x8 images here
        options['train_dataloader.dataset.pipeline.1.padding'] = ((4, 4), (0, 0), (0, 0))
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work)
    cfg.val_dataloader = cfg.test_dataloader = None  # FID needs Inception weights
    cfg.val_cfg = cfg.test_cfg = cfg.val_evaluator = cfg.test_evaluator = None
    cfg.custom_hooks = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, by_epoch=False)
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_trains_two_iterations(path, tmp_path):
    data = image_folder(tmp_path / 'imgs', size=16)
    if 'lsun-car' in path.name:
        data = tmp_path / 'car'
        data.mkdir()
        for i in range(4):
            Image.fromarray(np.full((8, 16, 3), 40 * i, np.uint8)).save(data / f'{i}.png')
    runner = Runner.from_cfg(tiny_cfg(path, tmp_path / 'work', data))
    runner.train()
    assert runner.iter == 2
    hub = runner.message_hub
    assert np.isfinite(hub.get_scalar('train/loss_disc_real').current())


def test_lazy_regularisation_and_ada_resume_bit_identically(tmp_path):
    data = image_folder(tmp_path / 'imgs', n=6)
    ada = {'model.discriminator.type': 'ADAStyleGAN2Discriminator',
           'model.discriminator.data_aug': dict(
               type='ADAAug', update_interval=2, ada_kimg=1, ada_target=-2.,
               aug_pipeline=dict(xflip=1, rotate90=1, xint=1, brightness=1, contrast=1))}
    base = CONFIGS[[p.name for p in CONFIGS].index('stylegan2_c2_8xb4-800kiters_ffhq-256x256.py')]

    def run(work, max_iters, resume=None):
        cfg = tiny_cfg(base, tmp_path / work, data, **ada,
                       **{'train_cfg.max_iters': max_iters})
        cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=3, by_epoch=False)
        if resume:
            cfg.resume, cfg.load_from = True, str(resume)
        runner = Runner.from_cfg(cfg)
        runner.train()
        return runner

    straight = run('straight', 6)
    run('first', 3)
    resumed = run('resumed', 6, resume=tmp_path / 'first' / 'iter_3.pth')
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    p = a['discriminator.ada_aug.aug_pipeline.p']
    assert p.item() == pytest.approx(3 * 2 * 2 / 1000)  # grew at iterations 2, 4 and 6
    assert a['mean_path_length'].item() > 0


def test_sample_cli_truncation_with_a_seed_is_reproducible(tmp_path):
    from genforge.cli import main
    data = image_folder(tmp_path / 'imgs')
    base = CONFIGS[[p.name for p in CONFIGS].index('stylegan2_c2_8xb4-800kiters_ffhq-256x256.py')]
    cfg = tiny_cfg(base, tmp_path / 'work', data)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    Runner.from_cfg(cfg).train()
    opts = [f'{k}={v}' for k, v in TINY.items() if k.startswith('model.generator')
            or k.startswith('model.discriminator')]
    args = ['sample', str(base), str(tmp_path / 'work' / 'iter_2.pth'), '--num', '4',
            '--seed', '1', '--cfg-options', *opts]
    outs = {}
    for name, psi in (('a', '0.7'), ('b', '0.7'), ('c', '1.0')):
        assert main(args[:3] + ['--truncation', psi, '--out', str(tmp_path / f'{name}.png')]
                    + args[3:]) == 0
        outs[name] = (tmp_path / f'{name}.png').read_bytes()
    assert outs['a'] == outs['b'] and outs['a'] != outs['c']
