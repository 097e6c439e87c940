"""MMagic's 29 SwinIR configs: each builds small, and one per task trains two iterations and
validates on tiny PNGs (classical / lightweight / real-world SR, gray / color denoising, gray /
color JPEG CAR). Only data roots, network width/depth, patch sizes and iteration counts shrink."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.registry import MODELS
from genforge.runner import Runner

ROOT = Path(__file__).resolve().parents[2] / 'configs' / 'swinir'
CONFIGS = sorted(ROOT.glob('*.py'))


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def shrink_generator(gen: dict) -> dict:
    """Tiny SwinIR of the same kind: 2 RSTBs of 2 blocks, 8 channels, two windows per side."""
    gen = dict(gen)
    n = 2
    gen.update(embed_dim=8, depths=[2] * n, num_heads=[2] * n, img_size=2 * gen['window_size'])
    return gen


def test_there_are_29_configs():
    assert len(CONFIGS) == 29


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_config_builds_small_and_runs(path):
    cfg = Config.fromfile(str(path))
    gen = cfg.model.generator.to_dict()
    small = shrink_generator(gen)
    model = MODELS.build(dict(cfg.model.to_dict(), generator=small), key_path='model')
    x = torch.rand(1, small['in_chans'], 9, 11)
    with torch.no_grad():
        y = model(x)  # 'tensor' mode: the generator on an already preprocessed batch
    scale = small['upscale']
    assert y.shape == (1, small['in_chans'], 9 * scale, 11 * scale)
    # the full-size network keeps MMagic's hyper-parameters
    assert gen['embed_dim'] in (60, 180, 240) and gen['window_size'] in (7, 8)


def _write_pairs(root: Path, scale: int, gray: bool, sizes) -> None:
    rng = np.random.default_rng(0)
    for sub in ('gt', 'lq'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate(sizes):
        shape = (h * scale, w * scale) if gray else (h * scale, w * scale, 3)
        gt = rng.integers(0, 256, shape, dtype=np.uint8)
        Image.fromarray(gt).save(root / 'gt' / f'{i}.png')
        lq = Image.fromarray(gt).resize((w, h), Image.BICUBIC)
        lq.save(root / 'lq' / f'{i}.png')


def tiny_cfg(path: Path, data: Path, work: Path) -> Config:
    cfg = Config.fromfile(str(path))
    gen = shrink_generator(cfg.model.generator.to_dict())
    cfg.model.generator = gen
    scale, size = gen['upscale'], gen['img_size']
    gray = gen['in_chans'] == 1
    _write_pairs(data / 'train', scale, gray, [(size + 3, size + 5)] * 2)
    _write_pairs(data / 'val', scale, gray, [(size - 3, size + 1)])  # odd sizes: padded inside
    for name, sub in (('train_dataloader', 'train'), ('val_dataloader', 'val')):
        loader = copy.deepcopy(cfg[name].to_dict())
        loader.update(num_workers=0, persistent_workers=False, batch_size=2 if sub == 'train' else 1)
        # LQ files only where the config reads them (the real-world configs synthesise theirs)
        prefix = {k: 'lq' if k == 'img' and scale > 1 else 'gt'
                  for k in loader['dataset']['data_prefix']}
        loader['dataset'].update(data_root=str(data / sub), data_prefix=prefix, ann_file='',
                                 filename_tmpl={k: '{}' for k in prefix})
        for step in loader['dataset']['pipeline']:
            if step['type'] == 'PairedRandomCrop':
                step['gt_patch_size'] = size * scale
            elif step['type'] == 'Crop':
                step['crop_size'] = (size * scale, size * scale)
            elif step['type'] == 'RandomResize' and 'target_size' in step['params']:
                step['params']['target_size'] = (size, size)
        cfg[name] = loader
    cfg.work_dir = str(work)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.randomness = dict(seed=3)
    cfg.env_cfg = dict(cudnn_benchmark=False)
    cfg.model_wrapper_cfg = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = []
    cfg.visualizer = dict(type='ConcatImageVisualizer', vis_backends=[], fn_key='gt_path',
                          img_keys=['gt_img', 'input', 'pred_img'])
    return cfg


REPRESENTATIVES = [
    'swinir_x2s48w8d6e180_8xb4-lr2e-4-500k_div2k',  # classical SR
    'swinir_x3s64w8d4e60_8xb4-lr2e-4-500k_div2k',  # lightweight SR
    'swinir_gan-x4s64w8d6e180_8xb4-lr1e-4-600k_df2k-ost',  # real-world SR (basic degradations)
    'swinir_s128w8d6e180_8xb1-lr2e-4-1600k_dfwb-grayDN15',
    'swinir_s128w8d6e180_8xb1-lr2e-4-1600k_dfwb-colorDN50',
    'swinir_s126w7d6e180_8xb1-lr2e-4-1600k_dfwb-grayCAR10',
    'swinir_s126w7d6e180_8xb1-lr2e-4-1600k_dfwb-colorCAR40',
]


@pytest.mark.parametrize('name', REPRESENTATIVES)
def test_config_trains_and_validates(tmp_path, name):
    cfg = tiny_cfg(ROOT / f'{name}.py', tmp_path / 'data', tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.generator.state_dict().items()}
    runner.train()
    assert runner.iter == 2
    after = runner.model.generator.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it learned something
    metrics = runner.val()
    psnr = [float(v) for k, v in metrics.items() if k.endswith('PSNR')]
    assert psnr and all(np.isfinite(p) and 0 < p < 60 for p in psnr), metrics
    ckpt = torch.load(tmp_path / 'work' / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert 'generator.layers.0.residual_group.blocks.1.attn_mask' in ckpt['state_dict']


@pytest.mark.parametrize('name,n_sets', [
    ('swinir_s126w7d6e180_8xb1-lr2e-4-1600k_dfwb-grayCAR30', 2),
    ('swinir_s128w8d6e180_8xb1-lr2e-4-1600k_dfwb-grayDN25', 3),
    ('swinir_s128w8d6e180_8xb1-lr2e-4-1600k_dfwb-colorDN15', 4),
])
def test_test_sets_of_the_base_configs_run(tmp_path, name, n_sets):
    """The denoising / JPEG-CAR test bases (several test sets, degradation made on the fly) run;
    a gray config's test pipeline yields one channel (overridden for CAR, Y channel for DN)."""
    path = ROOT / f'{name}.py'
    cfg = tiny_cfg(path, tmp_path / 'data', tmp_path / 'work')
    gray = cfg.model.generator['in_chans'] == 1
    _write_pairs(tmp_path / 'test', 1, False, [(13, 12)])  # color files: gray configs convert
    loaders = []
    for loader in cfg.test_dataloader:
        loader = copy.deepcopy(loader.to_dict())
        loader.update(num_workers=0, persistent_workers=False)
        loader['dataset'].update(data_root=str(tmp_path / 'test'), data_prefix=dict(img='gt', gt='gt'))
        loaders.append(loader)
    assert len(loaders) == n_sets
    cfg.test_dataloader = loaders
    metrics = Runner.from_cfg(cfg).test()
    psnr = {k: float(v) for k, v in metrics.items() if k.endswith('PSNR')}
    assert len(psnr) == n_sets and all(np.isfinite(v) for v in psnr.values()), metrics
    level = cfg.test_dataloader[0]['dataset']['pipeline'][2]['params']
    assert level.get('gaussian_sigma', level.get('quality'))[0] in (15, 25, 30)
    assert gray == ('gray' in name)
