"""`genforge migrate-config` on 0.x Pix2Pix (MMGeneration 0.x spelling) and CycleGAN (MMEditing
0.x spelling) configs: the migrated configs load, train two iterations and validate."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.cli import main
from genforge.config import Config
from genforge.evaluation.inception import InceptionV3FID
from genforge.runner import Runner

PIX2PIX_0X = """
model = dict(
    type='Pix2Pix',
    generator=dict(type='UnetGenerator', in_channels=3, out_channels=3, num_down=5,
                   base_channels=4, norm_cfg=dict(type='BN'), use_dropout=True,
                   init_cfg=dict(type='normal', gain=0.02)),
    discriminator=dict(type='PatchDiscriminator', in_channels=6, base_channels=4, num_conv=2,
                       norm_cfg=dict(type='BN'), init_cfg=dict(type='normal', gain=0.02)),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', real_label_val=1.0, fake_label_val=0.0,
                  loss_weight=1.0),
    default_domain='photo', reachable_domains=['photo'], related_domains=['photo', 'mask'],
    gen_auxiliary_loss=dict(type='L1Loss', loss_weight=50.0, loss_name='pixel_loss',
                            data_info=dict(pred='fake_photo', target='real_photo'),
                            reduction='mean'))
train_cfg = dict(direction='b2a', buffer_size=0)
test_cfg = dict(direction='b2a', show_input=True)
domain_a, domain_b = 'photo', 'mask'
img_norm_cfg = dict(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
train_pipeline = [
    dict(type='LoadPairedImageFromFile', io_backend='disk', key='pair', domain_a=domain_a,
         domain_b=domain_b, flag='color'),
    dict(type='Resize', keys=[f'img_{domain_a}', f'img_{domain_b}'], scale=(36, 36),
         interpolation='bicubic'),
    dict(type='FixedCrop', keys=[f'img_{domain_a}', f'img_{domain_b}'], crop_size=(32, 32)),
    dict(type='Flip', keys=[f'img_{domain_a}', f'img_{domain_b}'], direction='horizontal'),
    dict(type='RescaleToZeroOne', keys=[f'img_{domain_a}', f'img_{domain_b}']),
    dict(type='Normalize', keys=[f'img_{domain_a}', f'img_{domain_b}'], to_rgb=False,
         **img_norm_cfg),
    dict(type='ImageToTensor', keys=[f'img_{domain_a}', f'img_{domain_b}']),
    dict(type='Collect', keys=[f'img_{domain_a}', f'img_{domain_b}'],
         meta_keys=[f'img_{domain_a}_path', f'img_{domain_b}_path'])]
test_pipeline = [
    dict(type='LoadPairedImageFromFile', io_backend='disk', key='pair', domain_a=domain_a,
         domain_b=domain_b, flag='color'),
    dict(type='Resize', keys=[f'img_{domain_a}', f'img_{domain_b}'], scale=(32, 32),
         interpolation='bicubic'),
    dict(type='RescaleToZeroOne', keys=[f'img_{domain_a}', f'img_{domain_b}']),
    dict(type='Normalize', keys=[f'img_{domain_a}', f'img_{domain_b}'], to_rgb=False,
         **img_norm_cfg),
    dict(type='ImageToTensor', keys=[f'img_{domain_a}', f'img_{domain_b}']),
    dict(type='Collect', keys=[f'img_{domain_a}', f'img_{domain_b}'],
         meta_keys=[f'img_{domain_a}_path', f'img_{domain_b}_path'])]
dataroot = '{root}'
data = dict(
    samples_per_gpu=2, workers_per_gpu=0, drop_last=True,
    train=dict(type='PairedImageDataset', dataroot=dataroot, pipeline=train_pipeline),
    val=dict(type='PairedImageDataset', dataroot=dataroot, pipeline=test_pipeline,
             testdir='test'),
    test=dict(type='PairedImageDataset', dataroot=dataroot, pipeline=test_pipeline,
              testdir='test'))
optimizer = dict(generators=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)),
                 discriminators=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
lr_config = None
checkpoint_config = dict(interval=2, save_optimizer=True, by_epoch=False)
custom_hooks = [dict(type='MMGenVisualizationHook', output_dir='training_samples',
                     res_name_list=['fake_photo'], interval=5000)]
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
runner = None
use_ddp_wrapper = True
total_iters = 2
workflow = [('train', 1)]
evaluation = dict(type='TranslationEvalHook', target_domain='photo', interval=2,
                  metrics=[dict(type='IS', num_images=2, inception_args=dict(type='pytorch'))],
                  best_metric=['is'])
"""

CYCLEGAN_0X = """
model = dict(
    type='CycleGAN',
    generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=4,
                   norm_cfg=dict(type='IN'), use_dropout=False, num_blocks=1,
                   padding_mode='reflect', init_cfg=dict(type='normal', gain=0.02)),
    discriminator=dict(type='PatchDiscriminator', in_channels=3, base_channels=4, num_conv=2,
                       norm_cfg=dict(type='IN'), init_cfg=dict(type='normal', gain=0.02)),
    gan_loss=dict(type='GANLoss', gan_type='lsgan', real_label_val=1.0, fake_label_val=0,
                  loss_weight=1.0),
    cycle_loss=dict(type='L1Loss', loss_weight=10.0, reduction='mean'),
    id_loss=dict(type='L1Loss', loss_weight=0.5, reduction='mean'))
train_cfg = dict(direction='a2b', buffer_size=3)
test_cfg = dict(direction='a2b', show_input=False, test_direction='a2b')
train_dataset_type = 'GenerationUnpairedDataset'
img_norm_cfg = dict(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
pipeline = [
    dict(type='LoadImageFromFile', io_backend='disk', key='img_a', flag='color'),
    dict(type='LoadImageFromFile', io_backend='disk', key='img_b', flag='color'),
    dict(type='Resize', keys=['img_a', 'img_b'], scale=(32, 32), interpolation='bicubic'),
    dict(type='Flip', keys=['img_a'], direction='horizontal'),
    dict(type='Flip', keys=['img_b'], direction='horizontal'),
    dict(type='RescaleToZeroOne', keys=['img_a', 'img_b']),
    dict(type='Normalize', keys=['img_a', 'img_b'], to_rgb=False, **img_norm_cfg),
    dict(type='ImageToTensor', keys=['img_a', 'img_b']),
    dict(type='Collect', keys=['img_a', 'img_b'], meta_keys=['img_a_path', 'img_b_path'])]
data_root = '{root}'
data = dict(
    samples_per_gpu=1, workers_per_gpu=0, drop_last=True,
    train=dict(type=train_dataset_type, dataroot=data_root, pipeline=pipeline, test_mode=False),
    val=dict(type=train_dataset_type, dataroot=data_root, pipeline=pipeline, test_mode=True),
    test=dict(type=train_dataset_type, dataroot=data_root, pipeline=pipeline, test_mode=True))
optimizers = dict(generators=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)),
                  discriminators=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)))
lr_config = dict(policy='Linear', by_epoch=False, target_lr=0, start=1, interval=1)
checkpoint_config = dict(interval=2, save_optimizer=True, by_epoch=False)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
total_iters = 2
dist_params = dict(backend='nccl')
log_level = 'INFO'
workflow = [('train', 1)]
"""


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(root):
    rng = np.random.default_rng(0)
    for sub in ('paired/train', 'paired/test', 'unpaired/trainA', 'unpaired/trainB',
                'unpaired/testA', 'unpaired/testB'):
        (root / sub).mkdir(parents=True, exist_ok=True)
        w = 80 if sub.startswith('paired') else 40
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (40, w, 3), dtype=np.uint8)).save(
                root / sub / f'{i}.png')
    return root


def _migrate(tmp_path, text, sub):
    old = tmp_path / f'{sub}_0x.py'
    old.write_text(textwrap.dedent(text).replace('{root}', str(tmp_path / 'data' / sub)))
    new = tmp_path / f'{sub}_1x.py'
    assert main(['migrate-config', str(old), '--out', str(new)]) == 0
    cfg = Config.fromfile(str(new))
    cfg.work_dir = str(tmp_path / f'work_{sub}')
    cfg.model_wrapper_cfg = None
    return cfg


def test_pix2pix_0x_migrates_trains_and_validates(tmp_path):
    _data(tmp_path / 'data')
    cfg = _migrate(tmp_path, PIX2PIX_0X, 'paired')
    m = cfg.model
    assert m.type == 'Pix2Pix' and m.loss_config == dict(pixel_loss_weight=50.0)
    assert (m.default_domain, m.related_domains) == ('photo', ['photo', 'mask'])
    assert m.data_preprocessor.data_keys == ['img_photo', 'img_mask']
    ds = cfg.val_dataloader.dataset
    assert (ds.type, ds.test_dir, ds.test_mode) == ('PairedImageDataset', 'test', True)
    assert ds.pipeline[0] == dict(type='LoadPairedImageFromFile', key='pair', domain_a='photo',
                                  domain_b='mask', color_type='color')
    assert ds.pipeline[-1] == dict(type='PackInputs', keys=['img_photo', 'img_mask'],
                                   data_keys=['img_photo', 'img_mask'])
    (metric,) = cfg.val_evaluator.metrics
    assert (metric.type, metric.fake_key) == ('TransIS', 'fake_photo')
    inception = tmp_path / 'random_inception.pth'
    torch.manual_seed(0)
    torch.save(InceptionV3FID().state_dict(), inception)  # test-only weights
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        for mt in ev.metrics:
            mt.update(inception_path=str(inception), splits=1)
    runner = Runner.from_cfg(cfg)
    runner.train()  # 2 iterations, then validation (interval 2)
    assert runner.iter == 2
    assert np.isfinite(float(runner.message_hub.get_scalar('val/IS-2/is').current()))


def test_cyclegan_0x_mmediting_spelling_migrates_and_trains(tmp_path):
    _data(tmp_path / 'data')
    cfg = _migrate(tmp_path, CYCLEGAN_0X, 'unpaired')
    m = cfg.model
    assert m.type == 'CycleGAN' and m.buffer_size == 3
    assert m.loss_config == dict(cycle_loss_weight=10.0, id_loss_weight=0.5)
    assert (m.default_domain, m.reachable_domains) == ('b', ['a', 'b'])
    assert cfg.train_dataloader.dataset.type == 'UnpairedImageDataset'
    assert cfg.optim_wrapper.constructor == 'MultiOptimWrapperConstructor'
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    assert runner.model.image_buffers['a'].img_num == 2
