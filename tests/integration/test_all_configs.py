"""Every shipped config loads (with its _base_ chain) and its model builds."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.registry import MODELS

ROOT = Path(__file__).resolve().parents[2] / 'configs'
CONFIGS = sorted(p for p in ROOT.rglob('*.py') if '_base_' not in p.parts)


def test_there_are_configs_for_each_family():
    folders = {p.parent.name for p in CONFIGS}
    assert {'dcgan', 'lsgan', 'ggan', 'wgan-gp', 'sngan_proj', 'sagan', 'biggan', 'srcnn',
            'srgan_resnet', 'edsr', 'esrgan', 'rdn'} <= folders


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_config_loads_and_model_builds(path):
    cfg = Config.fromfile(str(path))
    for key in ('model', 'train_dataloader', 'optim_wrapper', 'train_cfg'):
        assert key in cfg, f'{path.name}: no {key}'
    model_cfg = dict(cfg.model)
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = cfg.data_preprocessor
    # pretrained weights are files users provide; the layout is what matters here
    model_cfg.pop('init_cfg', None)
    if 'perceptual_loss' in model_cfg:  # VGG weights are a user-provided file (docs/faq.md)
        model_cfg['perceptual_loss'] = dict(model_cfg['perceptual_loss'], pretrained=None)
    with torch.device('meta'):  # full-size networks without allocating their weights
        model = MODELS.build(model_cfg, key_path='model')
    assert sum(p.numel() for p in model.parameters()) > 0
