"""The Improved DDPM configs load and train 2 iterations on tiny fake data (sizes overridden
with --cfg-options-style merges), and the trained checkpoint samples a respaced chain."""
from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
import torch

from genforge.config import Config
from genforge.registry import DATASETS
from genforge.runner import Runner
from genforge.structures import DataSample


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Small convs run far faster on one thread than on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(glob.glob(str(ROOT / 'configs' / 'improved_ddpm' / '*.py')))
T = 8

# what a user would pass as --cfg-options to shrink the run (MMGeneration-style keys)
SMALL = {
    'model.num_timesteps': T,
    'model.denoising.image_size': 8,
    'model.denoising.base_channels': 32,
    'model.denoising.channels_cfg': [1, 2],
    'model.denoising.resblocks_per_downsample': 1,
    'model.denoising.attention_res': [4],
    'model.ddpm_loss.0.rescale_cfg.scale': T / 1000,
    'model.ddpm_loss.0.log_cfgs.0.total_timesteps': T,
    'model.ddpm_loss.1.log_cfgs.total_timesteps': T,
    'train_cfg.max_iters': 2,
    'train_cfg.val_interval': 100,
    'train_dataloader.batch_size': 2,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
    'train_dataloader.dataset': dict(_delete_=True, type='TinyDDPMImages'),
    'default_hooks.checkpoint.interval': 2,
    'default_hooks.checkpoint.save_best': None,
    'default_hooks.logger.interval': 1,
}


@DATASETS.register_module(force=True)
class TinyDDPMImages:
    """6 random 3x8x8 images in [0, 255], packed like PackInputs does for GANs."""

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.imgs = torch.randint(0, 256, (6, 3, 8, 8), generator=g).float()

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=dict(img=self.imgs[i]), data_samples=DataSample())


def small_cfg(path: str, work_dir: str) -> Config:
    cfg = Config.fromfile(path)
    cfg.merge_from_dict(dict(SMALL, work_dir=work_dir))
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.pop('model_wrapper_cfg', None)
    return cfg


def test_configs_are_mmgeneration_names():
    names = {os.path.basename(p) for p in CONFIGS}
    assert 'ddpm_cosine_hybird_timestep-4k_drop0.3_cifar10_32x32_b8x16_500k.py' in names
    assert 'ddpm_cosine_hybird_timestep-4k_imagenet1k_64x64_b8x16_1500k.py' in names


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_trains_two_iterations(path, tmp_path):
    cfg = small_cfg(path, str(tmp_path))
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = torch.load(tmp_path / 'iter_2.pth', map_location='cpu', weights_only=True)
    assert any(k.startswith('denoising_ema.module.') for k in ckpt['state_dict'])
    assert ckpt['state_dict']['_extra_state'] == dict(num_timesteps=T)
    hub = runner.message_hub
    assert torch.isfinite(torch.tensor(hub.get_scalar('train/loss').current()))
    model = runner.model.eval()
    imgs = model.sample_from_noise(None, 2, 'ema', timestep_respacing=4)
    assert imgs.shape == (2, 3, 8, 8) and torch.isfinite(imgs).all()
