"""The Improved DDPM configs (genforge's, and what `genforge migrate-config` writes from
MMGeneration's 0.x one) load and train 2 iterations on tiny fake data (sizes overridden with
--cfg-options-style merges), and the trained model samples a respaced chain."""
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


# MMGeneration 0.x's ddpm_cosine_hybird_timestep-4k_drop0.3_cifar10_32x32_b8x16_500k.py with its
# _base_ files (models/improved_ddpm/ddpm_32x32.py, datasets/cifar10_noaug.py,
# default_runtime.py) written out
OLD_0X = """
model = dict(
    type='BasicGaussianDiffusion', num_timesteps=4000, betas_cfg=dict(type='cosine'),
    denoising=dict(type='DenoisingUnet', image_size=32, in_channels=3, base_channels=128,
                   resblocks_per_downsample=3, attention_res=[16, 8], use_scale_shift_norm=True,
                   dropout=0.3, num_heads=4, use_rescale_timesteps=True,
                   output_cfg=dict(mean='eps', var='learned_range')),
    timestep_sampler=dict(type='UniformTimeStepSampler'),
    ddpm_loss=[
        dict(type='DDPMVLBLoss', rescale_mode='constant', rescale_cfg=dict(scale=4000 / 1000),
             data_info=dict(mean_pred='mean_pred', mean_target='mean_posterior',
                            logvar_pred='logvar_pred', logvar_target='logvar_posterior'),
             log_cfgs=[dict(type='quartile', prefix_name='loss_vlb', total_timesteps=4000),
                       dict(type='name')]),
        dict(type='DDPMMSELoss',
             log_cfgs=dict(type='quartile', prefix_name='loss_mse', total_timesteps=4000))])
train_cfg = dict(use_ema=True, real_img_key='img')
test_cfg = None
optimizer = dict(denoising=dict(type='AdamW', lr=1e-4, weight_decay=0))
dataset_type = 'mmcls.CIFAR10'
img_norm_cfg = dict(mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], to_rgb=False)
train_pipeline = [dict(type='Normalize', **img_norm_cfg),
                  dict(type='ImageToTensor', keys=['img']), dict(type='Collect', keys=['img'])]
data = dict(samples_per_gpu=16, workers_per_gpu=2,
            train=dict(type='RepeatDataset', times=500,
                       dataset=dict(type=dataset_type, data_prefix='data/cifar10',
                                    pipeline=train_pipeline)),
            val=dict(type=dataset_type, data_prefix='data/cifar10', pipeline=train_pipeline))
checkpoint_config = dict(interval=10000, by_epoch=False, max_keep_ckpts=20)
log_config = dict(interval=100, hooks=[dict(type='TextLoggerHook')])
custom_hooks = [
    dict(type='MMGenVisualizationHook', output_dir='training_samples',
         res_name_list=['real_imgs', 'x_0_pred', 'x_t', 'x_t_1'], padding=1, interval=1000),
    dict(type='ExponentialMovingAverageHook', module_keys=('denoising_ema'), interval=1,
         start_iter=0, interp_cfg=dict(momentum=0.9999), priority='VERY_HIGH')]
lr_config = None
evaluation = None
total_iters = 500000
use_ddp_wrapper = True
find_unused_parameters = False
runner = dict(type='DynamicIterBasedRunner', is_dynamic_ddp=False, pass_training_status=True)
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 10000)]
metrics = dict(fid50k=dict(type='FID', num_images=50000, bgr2rgb=True,
                           inception_pkl='./work_dirs/inception_pkl/cifar10.pkl',
                           inception_args=dict(type='StyleGAN')))
"""


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


def test_migrated_0x_config_trains(tmp_path):
    from genforge.cli import main
    old, new = tmp_path / 'old_0x.py', tmp_path / 'new_1x.py'
    old.write_text(OLD_0X)
    assert main(['migrate-config', str(old), '--out', str(new)]) == 0
    cfg = Config.fromfile(str(new))
    assert cfg.model['ema_config']['momentum'] == pytest.approx(1e-4)
    assert cfg.test_evaluator['metrics'][0]['sample_model'] == 'ema'
    assert cfg.optim_wrapper['denoising']['optimizer']['type'] == 'AdamW'
    test_config_trains_two_iterations(str(new), tmp_path / 'work')
