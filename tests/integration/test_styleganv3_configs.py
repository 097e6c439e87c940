"""StyleGAN3 configs (T with RampUpEMA, R with ADA) train 2 iterations on tiny images with size
overrides only, and the Equivariance metric runs through the validation loop."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genforge.config import Config
from genforge.runner import Runner
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)
from tests.integration.test_styleganv2_configs import image_folder

ROOT = Path(__file__).resolve().parents[2] / 'configs' / 'styleganv3'
TINY = {'model.generator.out_size': 16, 'model.generator.style_channels': 16,
        'model.generator.noise_size': 16, 'model.generator.synthesis_cfg.channel_base': 256,
        'model.generator.synthesis_cfg.channel_max': 16,
        'model.generator.synthesis_cfg.num_layers': 4, 'model.discriminator.in_size': 16,
        'model.discriminator.max_channels': 8, 'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
        'train_cfg.max_iters': 2, 'model.loss_config.r1_interval': 2,
        'model.loss_config.g_reg_interval': 2}


@pytest.mark.parametrize('name', ['stylegan3-t_gamma2.0_8xb4-fp16-noaug_ffhq-256x256',
                                  'stylegan3-r_ada-gamma3.3_8xb4-fp16_metfaces-1024x1024'])
def test_config_trains_and_validates_equivariance(name, tmp_path):
    data = image_folder(tmp_path / 'imgs', size=16)
    cfg = Config.fromfile(str(ROOT / f'{name}.py'))
    options = dict(TINY, **{'train_dataloader.dataset.data_root': str(data)})
    if 'lanczos' in str(cfg.train_dataloader.dataset.pipeline):
        options['train_dataloader.dataset.pipeline.1.scale'] = (16, 16)
    cfg.merge_from_dict(options)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.custom_hooks = []
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.val_dataloader = dict(batch_size=2, num_workers=0, dataset=dict(
        type='BasicImageDataset', data_root=str(data), data_prefix=dict(gt=''),
        pipeline=[dict(type='LoadImageFromFile', key='gt'), dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.val_evaluator = dict(type='Evaluator', metrics=[dict(
        type='Equivariance', fake_nums=2, sample_mode='ema', prefix='EQ',
        eq_cfg=dict(compute_eqt_int=True, compute_eqt_frac=True, compute_eqr=True))])
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000, by_epoch=False)
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    hub = runner.message_hub
    for key in ('EQ/eqt_int', 'EQ/eqt_frac', 'EQ/eqr'):
        assert np.isfinite(hub.get_scalar(f'val/{key}').current()), key
