"""`genforge migrate-config` for MMGeneration 0.x StyleGAN configs (written here in the 0.x
format: StaticUnconditionalGAN + R1GradientPenalty / GeneratorPathRegularizer, ADA's data_aug,
StyleGANV1 with its train_cfg schedule): they migrate, build, train and validate."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.cli import main
from genforge.config import Config
from genforge.runner import Runner
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)
from tests.unit.config.test_migrate_multiscale import RUNTIME_0X

PIPELINES_0X = """
    dataset_type = 'UnconditionalImageDataset'
    train_pipeline = [
        dict(type='LoadImageFromFile', key='real_img', io_backend='disk'),
        dict(type='Flip', keys=['real_img'], direction='horizontal'),
        dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3,
             to_rgb=False),
        dict(type='ImageToTensor', keys=['real_img']),
        dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
    ]
    val_pipeline = train_pipeline
"""

STYLEGAN2_0X = RUNTIME_0X + PIPELINES_0X + """
    d_reg_interval = 2
    g_reg_interval = 2
    g_reg_ratio = g_reg_interval / (g_reg_interval + 1)
    d_reg_ratio = d_reg_interval / (d_reg_interval + 1)
    model = dict(
        type='StaticUnconditionalGAN',
        generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=16, num_mlps=2,
                       max_channels=8),
        discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8),
        gan_loss=dict(type='GANLoss', gan_type='wgan-logistic-ns'),
        disc_auxiliary_loss=dict(
            type='R1GradientPenalty', loss_weight=10. / 2. * d_reg_interval,
            interval=d_reg_interval, norm_mode='HWC',
            data_info=dict(real_data='real_imgs', discriminator='disc')),
        gen_auxiliary_loss=dict(
            type='GeneratorPathRegularizer', loss_weight=2. * g_reg_interval,
            pl_batch_shrink=2, interval=g_reg_interval,
            data_info=dict(generator='gen', num_batches='batch_size')))
    train_cfg = dict(use_ema=True)
    test_cfg = None
    optimizer = dict(
        generator=dict(type='Adam', lr=0.002 * g_reg_ratio, betas=(0, 0.99**g_reg_ratio)),
        discriminator=dict(type='Adam', lr=0.002 * d_reg_ratio, betas=(0, 0.99**d_reg_ratio)))
    data = dict(
        samples_per_gpu=2, workers_per_gpu=0,
        train=dict(type='RepeatDataset', times=100, dataset=dict(
            type=dataset_type, imgs_root='{imgs}', pipeline=train_pipeline)),
        val=dict(type=dataset_type, imgs_root='{imgs}', pipeline=val_pipeline))
    custom_hooks = [
        dict(type='VisualizeUnconditionalSamples', output_dir='training_samples',
             interval=5000),
        dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ),
             interval=1, interp_cfg=dict(momentum=0.5**(32. / (10. * 1000.))),
             priority='VERY_HIGH')
    ]
    evaluation = dict(
        type='GenerativeEvalHook', interval=2,
        metrics=dict(type='SWD', num_images=4, image_shape=(3, 16, 16)),
        sample_kwargs=dict(sample_model='ema'))
    total_iters = 2
"""

ADA_0X = """
    _base_ = ['./stylegan2.py']
    aug_kwargs = {
        'xflip': 1, 'rotate90': 1, 'xint': 1, 'scale': 1, 'rotate': 1, 'aniso': 1,
        'xfrac': 1, 'brightness': 1, 'contrast': 1, 'lumaflip': 1, 'hue': 1, 'saturation': 1
    }
    model = dict(discriminator=dict(
        type='ADAStyleGAN2Discriminator',
        data_aug=dict(type='ADAAug', aug_pipeline=aug_kwargs, ada_kimg=100, update_interval=1,
                      augment_initial_p=0.5)))
"""

FP16_0X = """
    _base_ = ['./stylegan2.py']
    model = dict(generator=dict(fp16_enabled=True),
                 discriminator=dict(fp16_enabled=False, num_fp16_scales=2))
    use_ddp_wrapper = True
    find_unused_parameters = False
    runner = dict(fp16_loss_scaler=dict(init_scale=512), is_dynamic_ddp=False)
"""

STYLEGAN3_BASE_0X = """
    d_reg_interval = 2
    g_reg_interval = 2
    model = dict(
        type='StaticUnconditionalGAN',
        generator=dict(type='StyleGANv3Generator', noise_size=16, style_channels=16,
                       out_size=None, img_channels=3),
        discriminator=dict(type='StyleGAN2Discriminator', in_size=None),
        gan_loss=dict(type='GANLoss', gan_type='wgan-logistic-ns'),
        disc_auxiliary_loss=dict(
            type='R1GradientPenalty', loss_weight=10. / 2. * d_reg_interval,
            interval=d_reg_interval, norm_mode='HWC',
            data_info=dict(real_data='real_imgs', discriminator='disc')),
        gen_auxiliary_loss=dict(
            type='GeneratorPathRegularizer', loss_weight=2. * g_reg_interval,
            pl_batch_shrink=2, interval=g_reg_interval,
            data_info=dict(generator='gen', num_batches='batch_size')))
    train_cfg = dict(use_ema=True)
    test_cfg = None
    optimizer = dict(
        generator=dict(type='Adam', lr=0.0025, betas=(0, 0.99)),
        discriminator=dict(type='Adam', lr=0.002, betas=(0, 0.99)))
"""

STYLEGAN3_0X = """
    _base_ = ['./stylegan3_base.py', './runtime.py']
    synthesis_cfg = {'type': 'SynthesisNetwork', 'channel_base': 256, 'channel_max': 16,
                     'num_layers': 4, 'magnitude_ema_beta': 0.999}
    model = dict(
        type='StaticUnconditionalGAN',
        generator=dict(out_size=16, img_channels=3, rgb2bgr=True, synthesis_cfg=synthesis_cfg),
        discriminator=dict(type='ADAStyleGAN2Discriminator', in_size=16, max_channels=8,
                           input_bgr2rgb=True,
                           data_aug=dict(type='ADAAug', aug_pipeline=dict(xflip=1, rotate90=1),
                                         ada_kimg=100)),
        disc_auxiliary_loss=dict(loss_weight=6.6 / 2.0 * d_reg_interval))
    imgs_root = '{imgs}'
    data = dict(samples_per_gpu=2, workers_per_gpu=0,
                train=dict(type='RepeatDataset', times=100, dataset=dict(
                    type=dataset_type, imgs_root=imgs_root, pipeline=train_pipeline)))
    custom_hooks = [
        dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ),
             interp_mode='lerp', interp_cfg=dict(momentum=0.5**(32 / 10000)), interval=1,
             start_iter=0, priority='VERY_HIGH')
    ]
    lr_config = None
    total_iters = 2
"""

STYLEGANV1_0X = RUNTIME_0X + """
    model = dict(
        type='StyleGANV1',
        generator=dict(type='StyleGANv1Generator', out_size=16, style_channels=8, num_mlps=2,
                       max_channels=8),
        discriminator=dict(type='StyleGAN1Discriminator', in_size=16, max_channels=8),
        gan_loss=dict(type='GANLoss', gan_type='wgan-logistic-ns'),
        disc_auxiliary_loss=[dict(type='R1GradientPenalty', loss_weight=10, norm_mode='HWC',
                                  data_info=dict(discriminator='disc_partial',
                                                 real_data='real_imgs'))])
    train_cfg = dict(
        use_ema=True, transition_kimgs=0.002,
        nkimgs_per_scale={'8': 0.002, '16': 0.01},
        optimizer_cfg=dict(generator=dict(type='Adam', lr=0.001, betas=(0.0, 0.99)),
                           discriminator=dict(type='Adam', lr=0.001, betas=(0.0, 0.99))),
        g_lr_base=0.001, d_lr_base=0.001,
        g_lr_schedule=dict({'16': 0.0015}), d_lr_schedule=dict({'16': 0.0015}))
    test_cfg = None
    train_pipeline = [
        dict(type='LoadImageFromFile', key='real_img'),
        dict(type='Flip', keys=['real_img'], direction='horizontal'),
        dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3,
             to_rgb=False),
        dict(type='ImageToTensor', keys=['real_img']),
        dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
    ]
    data = dict(
        samples_per_gpu=2, workers_per_gpu=0,
        train=dict(type='GrowScaleImgDataset', imgs_roots={'16': '{imgs}'},
                   pipeline=train_pipeline, gpu_samples_base=2,
                   gpu_samples_per_scale={'8': 2, '16': 2}, len_per_stage=-1))
    custom_hooks = [
        dict(type='VisualizeUnconditionalSamples', output_dir='training_samples',
             interval=5000),
        dict(type='PGGANFetchDataHook', interval=1),
        dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ),
             interval=1, interp_cfg=dict(momentum=0.999), priority='VERY_HIGH')
    ]
    total_iters = 3
"""


def _files(tmp_path, files: dict) -> None:
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(imgs / f'{i}.png')
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text).replace('{imgs}', str(imgs)))


def _migrate_and_train(tmp_path, files: dict, iters: int = 2):
    _files(tmp_path, files)
    out = tmp_path / 'new.py'
    assert main(['migrate-config', str(tmp_path / 'old.py'), '--out', str(out)]) == 0
    cfg = Config.fromfile(str(out))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    before = {k: v.clone() for k, v in runner.model.generator.state_dict().items()}
    runner.train()
    assert runner.iter == iters
    after = runner.model.generator.state_dict()
    assert any(v.is_floating_point() and not torch.equal(v, before[k]) for k, v in after.items())
    return cfg, runner


def test_stylegan2_0x_config_migrates_trains_and_validates(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, {'old.py': STYLEGAN2_0X})
    model = cfg.model
    assert model.type == 'StyleGAN2'
    assert model.loss_config == dict(r1_loss_weight=10., r1_interval=2, norm_mode='HWC',
                                     g_reg_weight=4., g_reg_interval=2, pl_batch_shrink=2)
    assert not {'gan_loss', 'disc_auxiliary_loss', 'gen_auxiliary_loss'} & set(model)
    assert model.ema_config.momentum == pytest.approx(1 - 0.5 ** (32 / 10000))
    assert cfg.optim_wrapper.generator.optimizer.lr == pytest.approx(0.002 * 2 / 3)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.dataset.type == 'UnconditionalImageDataset'
    # path-length regularisation ran on iteration 0: its running mean moved off zero
    assert runner.model.mean_path_length.item() > 0
    assert np.isfinite(runner.message_hub.get_scalar('val/swd/avg').current())


def test_stylegan2_ada_0x_config_migrates_and_adapts_p(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, {'stylegan2.py': STYLEGAN2_0X, 'old.py': ADA_0X})
    aug = cfg.model.discriminator.data_aug
    assert cfg.model.discriminator.type == 'ADAStyleGAN2Discriminator'
    assert aug.type == 'ADAAug' and aug.ada_kimg == 100 and aug.aug_pipeline.hue == 1
    p = runner.model.discriminator.ada_aug.aug_pipeline.p.item()
    assert p != 0.5  # updated every iteration (update_interval=1) from the D sign statistic


def test_stylegan2_fp16_0x_config_migrates_to_amp_and_trains_on_cpu(tmp_path):
    cfg, _ = _migrate_and_train(tmp_path, {'stylegan2.py': STYLEGAN2_0X, 'old.py': FP16_0X})
    for name in ('generator', 'discriminator'):
        assert cfg.optim_wrapper[name].type == 'AmpOptimWrapper'
    assert cfg.model.generator.fp16_enabled is True
    assert cfg.model.loss_config.r1_interval == 2


def test_stylegan3_0x_config_with_base_migrates_and_trains(tmp_path):
    # the model base file sets the optimizer; 0.x's runtime file does not
    runtime = RUNTIME_0X.replace('    optimizer = None\n', '') + PIPELINES_0X
    cfg, _ = _migrate_and_train(tmp_path, {'stylegan3_base.py': STYLEGAN3_BASE_0X,
                                           'runtime.py': runtime, 'old.py': STYLEGAN3_0X})
    model = cfg.model
    assert model.type == 'StyleGAN3' and model.generator.rgb2bgr is True
    assert model.loss_config.r1_loss_weight == pytest.approx(6.6)
    assert model.discriminator.data_aug.aug_pipeline == dict(xflip=1, rotate90=1)


def test_styleganv1_0x_config_migrates_and_grows(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, {'old.py': STYLEGANV1_0X}, iters=3)
    model = cfg.model
    assert (model.type, model.style_channels) == ('StyleGANv1', 8)
    assert model.nkimgs_per_scale == {'8': 0.002, '16': 0.01}
    assert cfg.optim_wrapper.constructor == 'PGGANOptimWrapperConstructor'
    assert [h['type'] for h in cfg.custom_hooks][-1] == 'PGGANFetchDataHook'
    # 8x8 for one iteration, then 16x16 fading in
    assert int(runner.model._curr_scale_int) == 16


def test_missing_regularisers_become_zero_weights():
    from genforge.config.migrate import migrate_config
    old = Config.fromstring(textwrap.dedent(STYLEGAN2_0X).replace('{imgs}', 'x'),
                            '.py').to_dict()
    del old['model']['disc_auxiliary_loss'], old['model']['gen_auxiliary_loss']
    new, notes = migrate_config(old)
    assert new['model']['loss_config'] == dict(r1_loss_weight=0., g_reg_weight=0.)
    assert any('r1_loss_weight=0' in n for n in notes)


def test_pr_and_ppl_metrics_keep_their_arguments():
    from genforge.config.migrate import migrate_config
    old = Config.fromstring(textwrap.dedent(STYLEGAN2_0X).replace('{imgs}', 'x'),
                            '.py').to_dict()
    old['metrics'] = dict(pr50k3=dict(type='PR', num_images=50000, k=3),
                          ppl_wend=dict(type='PPL', space='W', sampling='end',
                                        num_images=50000))
    test = migrate_config(old)[0]['test_evaluator']['metrics']
    assert test == [
        dict(type='PrecisionAndRecall', prefix='PR-50k', fake_nums=50000, k=3,
             sample_model='ema'),
        dict(type='PerceptualPathLength', prefix='ppl', fake_nums=50000, space='W',
             sampling='end', sample_model='ema')]


MSPIE_0X = """
    _base_ = ['stylegan2.py']
    model = dict(
        type='MSPIEStyleGAN2',
        generator=dict(type='MSStyleGANv2Generator', head_pos_encoding=dict(type='CSG'),
                       deconv2conv=True, up_after_conv=True, head_pos_size=(4, 4),
                       up_config=dict(scale_factor=2, mode='bilinear', align_corners=True),
                       out_size=16),
        discriminator=dict(type='MSStyleGAN2Discriminator', in_size=16,
                           with_adaptive_pool=True))
    train_cfg = dict(num_upblocks=2, multi_input_scales=[0, 2],
                     multi_scale_probability=[0.5, 0.5])
"""


def test_mspie_0x_config_moves_its_schedule_to_train_settings_and_trains(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, {'stylegan2.py': STYLEGAN2_0X,
                                                'old.py': MSPIE_0X}, iters=2)
    model = cfg.model
    assert model.type == 'MSPIEStyleGAN2'
    assert model.train_settings == dict(num_upblocks=2, multi_input_scales=[0, 2],
                                        multi_scale_probability=[0.5, 0.5])
    assert model.generator.type == 'MSStyleGANv2Generator'
    assert model.loss_config.r1_interval == 2 and model.loss_config.g_reg_interval == 2
    assert 'ema_config' in model
