"""migrate-config on the MMGeneration 0.x configs of the shipped families (issue 22): the DCGAN
MNIST config (``data.val=None``), MMClassification's ``Resize(size=...)`` of the ImageNet
pipelines and the unconditional ``*_cvt_studioGAN`` SNGAN/SAGAN configs convert into configs that
build and train. The 0.x files below are the real ones (open-mmlab/mmgeneration 0.x: configs/dcgan/
dcgan_mnist-64_b128x1_Glr4e-4_Dlr1e-4_5k.py, _base_/models/sngan_proj/sngan_proj_32x32.py,
_base_/models/sagan/sagan_32x32.py, _base_/datasets/imagenet_noaug_128.py) with tiny sizes."""
from __future__ import annotations

import logging
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.datasets  # noqa: F401  (registers the transforms)
import genforge.models  # noqa: F401  (registers the algorithms the migrated configs name)
from genforge.cli import main
from genforge.config import Config
from genforge.config._migrate_data import convert_pipeline
from genforge.registry import MODELS, TRANSFORMS
from genforge.runner import Runner

RUNTIME = """
checkpoint_config = dict(interval=10000, by_epoch=False)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
runner = dict(type='DynamicIterBasedRunner', is_dynamic_ddp=True, pass_training_status=True)
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
find_unused_parameters = True
cudnn_benchmark = True
"""

DCGAN_MODEL = """
model = dict(
    type='StaticUnconditionalGAN',
    generator=dict(type='DCGANGenerator', output_scale=16, base_channels=16),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, out_channels=1),
    gan_loss=dict(type='GANLoss', gan_type='vanilla'))
train_cfg = dict(disc_steps=1)
test_cfg = None
optimizer = dict(
    generator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)),
    discriminator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)))
"""

UNCOND_DATA = """
dataset_type = 'UnconditionalImageDataset'
train_pipeline = [
    dict(type='LoadImageFromFile', key='real_img', io_backend='disk'),
    dict(type='Resize', keys=['real_img'], scale=(SIZE, SIZE)),
    dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False),
    dict(type='ImageToTensor', keys=['real_img']),
    dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
]
data = dict(
    samples_per_gpu=None,
    workers_per_gpu=4,
    train=dict(type=dataset_type, imgs_root=None, pipeline=train_pipeline),
    val=dict(type=dataset_type, imgs_root=None, pipeline=train_pipeline))
"""

# configs/dcgan/dcgan_mnist-64_b128x1_Glr4e-4_Dlr1e-4_5k.py, 64 -> 16 pixels, 5000 -> 2 iters
DCGAN_MNIST = """
_base_ = [
    '../_base_/models/dcgan_16x16.py',
    '../_base_/datasets/unconditional_imgs_16x16.py',
    '../_base_/default_runtime.py'
]
model = dict(generator=dict(out_channels=1), discriminator=dict(in_channels=1))
train_pipeline = [
    dict(type='LoadImageFromFile', key='real_img', flag='grayscale', io_backend='disk'),
    dict(type='Resize', keys=['real_img'], scale=(16, 16)),
    dict(type='Normalize', keys=['real_img'], mean=[127.5], std=[127.5], to_rgb=False),
    dict(type='ImageToTensor', keys=['real_img']),
    dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
]
data = dict(
    samples_per_gpu=2,
    train=dict(imgs_root='IMGS', pipeline=train_pipeline),
    val=None)
lr_config = None
checkpoint_config = dict(interval=500, by_epoch=False)
custom_hooks = [
    dict(type='VisualizeUnconditionalSamples', output_dir='training_samples', interval=100)
]
log_config = dict(interval=100, hooks=[dict(type='TextLoggerHook')])
total_iters = 2
metrics = dict(
    ms_ssim10k=dict(type='MS_SSIM', num_images=10000),
    swd16k=dict(type='SWD', num_images=16384, image_shape=(3, 16, 16)))
optimizer = dict(
    generator=dict(type='Adam', lr=0.0004, betas=(0.5, 0.999)),
    discriminator=dict(type='Adam', lr=0.0001, betas=(0.5, 0.999)))
"""

# _base_/models/sngan_proj/sngan_proj_32x32.py and _base_/models/sagan/sagan_32x32.py (256/128
# base channels -> 8)
SNGAN_32 = """
model = dict(
    type='BasiccGAN',
    generator=dict(type='SNGANGenerator', output_scale=32, base_channels=8),
    discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=8),
    gan_loss=dict(type='GANLoss', gan_type='hinge'))
train_cfg = dict(disc_steps=5)
test_cfg = None
optimizer = dict(
    generator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)),
    discriminator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)))
"""
SAGAN_32 = """
model = dict(
    type='BasiccGAN',
    generator=dict(
        type='SAGANGenerator', output_scale=32, base_channels=8,
        attention_cfg=dict(type='SelfAttentionBlock'), attention_after_nth_block=2,
        with_spectral_norm=True),
    discriminator=dict(
        type='ProjDiscriminator', input_scale=32, base_channels=8,
        attention_cfg=dict(type='SelfAttentionBlock'), attention_after_nth_block=1,
        with_spectral_norm=True),
    gan_loss=dict(type='GANLoss', gan_type='hinge'))
train_cfg = dict(disc_steps=5)
test_cfg = None
optimizer = dict(
    generator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)),
    discriminator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)))
"""
# the cvt_studioGAN configs hold only `_base_ = [model]`; the test adds data, runtime, iters
STUDIO = """
_base_ = ['../_base_/models/MODEL.py', '../_base_/datasets/unconditional_imgs_32x32.py',
          '../_base_/default_runtime.py']
data = dict(samples_per_gpu=2, workers_per_gpu=0, train=dict(imgs_root='IMGS'), val=None)
total_iters = 2
"""


def _write_tree(root, files: dict, imgs) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace('IMGS', str(imgs)))


def _images(folder, n=4, size=20, gray=False):
    folder.mkdir()
    rng = np.random.default_rng(0)
    shape = (size, size) if gray else (size, size, 3)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f'{i}.png')
    return folder


def _migrate_and_train(src, out, tmp_path, iters=2):
    assert main(['migrate-config', str(src), '-o', str(out)]) == 0  # -o: short for --out
    cfg = Config.fromfile(str(out))
    cfg.work_dir = str(tmp_path / 'work')
    # tiny data: no worker processes (the 0.x base sets workers_per_gpu=4)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.default_hooks = dict(checkpoint=None)
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.generator.state_dict().items()}
    runner.train()
    assert runner.iter == iters
    after = runner.model.generator.state_dict()
    assert any(v.is_floating_point() and not torch.equal(v, before[k]) for k, v in after.items())
    return cfg, runner


def test_dcgan_mnist_with_val_none_migrates_and_trains(tmp_path):
    imgs = _images(tmp_path / 'mnist', gray=True)
    _write_tree(tmp_path / 'old', {
        '_base_/models/dcgan_16x16.py': DCGAN_MODEL,
        '_base_/datasets/unconditional_imgs_16x16.py': UNCOND_DATA.replace('SIZE', '16'),
        '_base_/default_runtime.py': RUNTIME,
        'dcgan/dcgan_mnist-16.py': DCGAN_MNIST}, imgs)
    cfg, runner = _migrate_and_train(tmp_path / 'old/dcgan/dcgan_mnist-16.py',
                                     tmp_path / 'new.py', tmp_path)
    assert 'val_dataloader' not in cfg and 'test_dataloader' not in cfg
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline[0] == dict(type='LoadImageFromFile', key='img', color_type='grayscale')
    assert runner.model.generator(None, num_batches=2).shape == (2, 1, 16, 16)


@pytest.mark.parametrize('size,adaptive_side,expected_hw', [
    ((12, 16), None, (12, 16)),   # (h, w)
    (10, None, (10, 10)),         # int: (s, s)
    ((15, -1), None, (15, 20)),   # short edge -> 15, ratio kept (30x40 image)
    ((20, -1), 'long', (15, 20)),  # long edge -> 20
])
def test_mmcls_resize_size_is_converted(size, adaptive_side, expected_hw):
    old = dict(type='Resize', size=size, backend='pillow')
    if adaptive_side:
        old['adaptive_side'] = adaptive_side
    # imagenet_noaug_128's pipeline, sizes as parametrised
    pipeline = [dict(type='LoadImageFromFile'), dict(type='CenterCropLongEdge', keys=['img']), old,
                dict(type='Normalize', mean=[127.5] * 3, std=[127.5] * 3, to_rgb=False),
                dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['gt_label']),
                dict(type='Collect', keys=['img', 'gt_label'])]
    notes: list = []
    new = convert_pipeline(pipeline, True, {}, notes)
    resize = new[2]
    assert 'size' not in resize and any('MMClassification 0.x' in n for n in notes)
    img = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    out = TRANSFORMS.build(resize)(dict(img=img))
    assert out['img'].shape[:2] == expected_hw


@pytest.mark.parametrize('model', ['sngan_proj_32x32', 'sagan_32x32'])
def test_cvt_studiogan_configs_build_unconditional_and_train(model, tmp_path, caplog):
    imgs = _images(tmp_path / 'imgs', size=32)
    _write_tree(tmp_path / 'old', {
        f'_base_/models/{model}.py': SNGAN_32 if model.startswith('sngan') else SAGAN_32,
        '_base_/datasets/unconditional_imgs_32x32.py': UNCOND_DATA.replace('SIZE', '32'),
        '_base_/default_runtime.py': RUNTIME,
        f'studio/{model}_cvt_studioGAN.py': STUDIO.replace('MODEL', model)}, imgs)
    with caplog.at_level(logging.INFO, 'genforge.models.archs.sngan_proj'):
        cfg, runner = _migrate_and_train(tmp_path / f'old/studio/{model}_cvt_studioGAN.py',
                                         tmp_path / 'new.py', tmp_path)
    assert 'num_classes=0' in caplog.text and 'unconditional' in caplog.text
    assert cfg.model.num_classes == 0 and cfg.model.type == model.split('_')[0].upper()
    gen = runner.model.generator
    norms = [m for m in gen.modules() if type(m).__name__ == 'SNConditionNorm']
    assert norms and all(not m.use_cbn and not hasattr(m, 'weight_embedding') for m in norms)
    assert all(isinstance(m.norm, torch.nn.BatchNorm2d) and m.norm.affine for m in norms)
    samples = runner.model.val_step(dict(inputs=dict(num_batches=2, sample_model='orig')))
    assert len(samples) == 2 and samples[0].fake_img.shape == (3, 32, 32)
    assert 'gt_label' not in samples[0]


def test_sngan_generator_without_classes_is_unconditional():
    gen = MODELS.build(dict(type='SNGANGenerator', output_scale=32, base_channels=8))
    torch.manual_seed(0)
    noise = torch.randn(2, 128)
    out = gen(noise)
    assert out.shape == (2, 3, 32, 32)
    assert torch.equal(out, gen(noise, label=None))  # no label is sampled or used
    assert not any('embedding' in k for k in gen.state_dict())
