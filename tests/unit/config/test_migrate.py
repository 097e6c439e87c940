"""`genforge migrate-config`: MMGeneration 0.x -> 1.x, one test per table of the migration guide
(seed 004: the 0.x column in, the 1.x column out), plus a full 0.x DCGAN config that migrates,
loads, builds and trains one iteration.

Where the guide's 1.x column contradicts its own 0.x column (a doc typo), the test says so and
expects the value that keeps the 0.x behaviour.
"""
from __future__ import annotations

import copy
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401  (registers the algorithms the migrated configs name)
from genforge.cli import main
from genforge.config import Config
from genforge.config.migrate import MigrationError, find_0x_markers, migrate_config
from genforge.registry import MODELS

BIGGAN_0X_MODEL = dict(
    type='BasiccGAN',
    generator=dict(type='BigGANGenerator', output_scale=128, noise_size=120, num_classes=1000,
                   base_channels=96, shared_dim=128, with_shared_embedding=True, sn_eps=1e-6,
                   init_type='ortho', act_cfg=dict(type='ReLU', inplace=True), split_noise=True,
                   auto_sync_bn=False),
    discriminator=dict(type='BigGANDiscriminator', input_scale=128, num_classes=1000,
                       base_channels=96, sn_eps=1e-6, init_type='ortho',
                       act_cfg=dict(type='ReLU', inplace=True), with_spectral_norm=True),
    gan_loss=dict(type='GANLoss', gan_type='hinge'))
BIGGAN_0X_TRAIN_CFG = dict(disc_steps=8, gen_steps=1, batch_accumulation_steps=8, use_ema=True)
BIGGAN_0X_OPTIMIZER = dict(
    generator=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999), eps=1e-6),
    discriminator=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999), eps=1e-6))
BIGGAN_1X_OPTIM_WRAPPER = dict(
    constructor='GenOptimWrapperConstructor',
    generator=dict(accumulative_counts=8,
                   optimizer=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999), eps=1e-6)),
    discriminator=dict(accumulative_counts=8,
                       optimizer=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999), eps=1e-6)))


def migrate(**old):
    return migrate_config(old)


# -- 1. runner and schedule ----------------------------------------------------------------------
def test_table1_runner_total_iters_to_train_cfg_and_loops():
    new, notes = migrate(total_iters=1000000, runner=dict(
        type='DynamicIterBasedRunner', is_dynamic_ddp=False, pass_training_status=True))
    assert new['train_cfg'] == dict(by_epoch=False, max_iters=1000000, val_begin=1,
                                    val_interval=10000)
    assert new['val_cfg'] == dict(type='GenValLoop')
    assert new['test_cfg'] == dict(type='GenTestLoop')
    assert 'runner' not in new and 'total_iters' not in new
    assert any('pass_training_status' in n for n in notes)


# -- 2. evaluation -------------------------------------------------------------------------------
def test_table2_evaluation_to_evaluators_and_save_best():
    new, _ = migrate(evaluation=dict(
        type='GenerativeEvalHook', interval=10000,
        metrics=[dict(type='FID', num_images=50000, bgr2rgb=True,
                      inception_args=dict(type='StyleGAN')),
                 dict(type='IS', num_images=50000)],
        best_metric=['fid', 'is'], sample_kwargs=dict(sample_model='ema')))
    # The guide writes sample_model='orig' for FID (and nothing for IS) although its 0.x column
    # samples from 'ema'; keeping 'ema' is what reproduces the 0.x evaluation.
    expected_val = dict(type='GenEvaluator', metrics=[
        dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
             inception_style='StyleGAN', sample_model='ema'),
        dict(type='InceptionScore', prefix='IS-50k', fake_nums=50000, sample_model='ema')])
    assert new['val_evaluator'] == expected_val
    assert new['test_evaluator'] == new['val_evaluator']
    assert new['default_hooks']['checkpoint'] == dict(
        type='CheckpointHook', interval=10000, by_epoch=False, less_keys=['FID-Full-50k/fid'],
        greater_keys=['IS-50k/is'], save_optimizer=True,
        save_best=['FID-Full-50k/fid', 'IS-50k/is'], rule=['less', 'greater'])
    assert new['train_cfg']['val_interval'] == 10000


# -- 3. distributed training -------------------------------------------------------------------
@pytest.mark.parametrize('use_wrapper,dynamic,find_unused', [(True, False, False),
                                                             (False, True, True)])
def test_table3_ddp_settings_to_model_wrapper_cfg(use_wrapper, dynamic, find_unused):
    new, _ = migrate(use_ddp_wrapper=use_wrapper, find_unused_parameters=False,
                     runner=dict(type='DynamicIterBasedRunner', is_dynamic_ddp=dynamic))
    assert new['model_wrapper_cfg'] == dict(type='MMSeparateDistributedDataParallel',
                                            broadcast_buffers=False,
                                            find_unused_parameters=find_unused)
    assert 'use_ddp_wrapper' not in new and 'find_unused_parameters' not in new


# -- 4. optimizer ------------------------------------------------------------------------------
def test_table4_optimizer_to_optim_wrapper():
    new, _ = migrate(optimizer=copy.deepcopy(BIGGAN_0X_OPTIMIZER), total_iters=10)
    # The guide's 1.x column shows generator lr=0.0002 for a 0.x lr of 0.0001 (a typo): the lr
    # is carried over unchanged.
    assert new['optim_wrapper'] == dict(
        constructor='GenOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999), eps=1e-6)),
        discriminator=dict(optimizer=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999),
                                          eps=1e-6)))


def test_table4_biggan_steps_and_accumulation():
    new, notes = migrate(model=copy.deepcopy(BIGGAN_0X_MODEL), train_cfg=BIGGAN_0X_TRAIN_CFG,
                         optimizer=copy.deepcopy(BIGGAN_0X_OPTIMIZER))
    expected_model = dict(type='BigGAN', num_classes=1000,
                          data_preprocessor=dict(type='GANDataPreprocessor'),
                          generator=BIGGAN_0X_MODEL['generator'],
                          discriminator=BIGGAN_0X_MODEL['discriminator'],
                          generator_steps=1, discriminator_steps=1)
    assert new['model'] == expected_model
    assert new['optim_wrapper'] == BIGGAN_1X_OPTIM_WRAPPER
    # use_ema without an EMA hook cannot be converted silently
    assert any('use_ema' in n and 'ema_config' in n for n in notes)


# -- 5. learning-rate schedule -------------------------------------------------------------------
def test_table5_lr_config_to_param_scheduler():
    opt = dict(generator=dict(type='Adam', lr=0.0002), discriminator=dict(type='Adam', lr=0.0002))
    new, _ = migrate(optimizer=opt, total_iters=270000, lr_config=dict(
        policy='Linear', by_epoch=False, target_lr=0, start=135000, interval=1350))
    assert new['param_scheduler'] == dict(type='LinearLrInterval', interval=1350, by_epoch=False,
                                          start_factor=0.0002, end_factor=0, begin=135000,
                                          end=270000)


def test_lr_config_different_base_lrs_gives_one_schedule_per_optimizer():
    new, _ = migrate(optimizer=copy.deepcopy(BIGGAN_0X_OPTIMIZER), total_iters=100,
                     lr_config=dict(policy='Linear', by_epoch=False, target_lr=0, start=50))
    assert set(new['param_scheduler']) == {'generator', 'discriminator'}
    # LinearLrInterval sets the lr itself: each optimizer starts from its own 0.x lr
    assert new['param_scheduler']['generator']['start_factor'] == 0.0001
    assert new['param_scheduler']['discriminator']['start_factor'] == 0.0004


# -- 6. visualization --------------------------------------------------------------------------
def test_table6_visualization_hook_and_visualizer():
    new, _ = migrate(total_iters=10, custom_hooks=[dict(
        type='VisualizeUnconditionalSamples', output_dir='training_samples', interval=1000)])
    # The guide's 1.x column shows interval=5000 for the 0.x interval=1000: the interval is kept.
    assert new['custom_hooks'] == [dict(type='GenVisualizationHook', interval=1000,
                                        fixed_input=True,
                                        vis_kwargs_list=dict(type='GAN', name='fake_img'))]
    assert new['vis_backends'] == [dict(type='GenVisBackend')]
    assert new['visualizer'] == dict(type='GenVisualizer', vis_backends=[dict(type='GenVisBackend')])


# -- 7. AMP --------------------------------------------------------------------------------------
def test_table7_fp16_loss_scaler_to_amp_optim_wrapper():
    new, notes = migrate(runner=dict(fp16_loss_scaler=dict(init_scale=512)),
                         model=copy.deepcopy(BIGGAN_0X_MODEL), train_cfg=BIGGAN_0X_TRAIN_CFG,
                         optimizer=copy.deepcopy(BIGGAN_0X_OPTIMIZER))
    expected = copy.deepcopy(BIGGAN_1X_OPTIM_WRAPPER)
    for name in ('generator', 'discriminator'):
        # The guide writes loss_scale='dynamic'; passing the 0.x GradScaler arguments keeps the
        # 0.x initial scale of 512 (still dynamic scaling).
        expected[name].update(type='AmpOptimWrapper', loss_scale=dict(init_scale=512))
    assert new['optim_wrapper'] == expected
    assert any('fp16_loss_scaler' in n for n in notes)


# -- 8. data -----------------------------------------------------------------------------------
FFHQ_0X = textwrap.dedent("""
    dataset_type = 'UnconditionalImageDataset'
    train_pipeline = [
        dict(type='LoadImageFromFile', key='real_img', io_backend='disk'),
        dict(type='Flip', keys=['real_img'], direction='horizontal'),
        dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3,
             to_rgb=False),
        dict(type='ImageToTensor', keys=['real_img']),
        dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
    ]
    val_pipeline = [
        dict(type='LoadImageFromFile', key='real_img', io_backend='disk'),
        dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3,
             to_rgb=True),
        dict(type='ImageToTensor', keys=['real_img']),
        dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
    ]
    data = dict(
        samples_per_gpu=4, workers_per_gpu=8,
        train=dict(type=dataset_type, imgs_root='data/ffhq', pipeline=train_pipeline),
        val=dict(type=dataset_type, imgs_root='data/ffhq', pipeline=val_pipeline))
    evaluation = dict(type='GenerativeEvalHook', interval=10,
                      metrics=dict(type='SWD', num_images=16, image_shape=(3, 8, 8)))
    model = dict(type='StaticUnconditionalGAN',
                 generator=dict(type='DCGANGenerator', output_scale=16, base_channels=16),
                 discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                    out_channels=1),
                 gan_loss=dict(type='GANLoss', gan_type='vanilla'))
    """)


def test_table8_data_pipelines_and_dataloaders(tmp_path):
    (tmp_path / 'ffhq.py').write_text(FFHQ_0X)
    new, notes = migrate_config(Config.fromfile(str(tmp_path / 'ffhq.py')).to_dict())
    train_1x = [dict(type='LoadImageFromFile', key='img'),
                dict(type='Flip', keys=['img'], direction='horizontal'),
                dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])]
    val_1x = [dict(type='LoadImageFromFile', key='img'),
              dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])]
    assert new['train_pipeline'] == train_1x and new['val_pipeline'] == val_1x
    assert new['dataset_type'] == 'UnconditionalImageDataset'
    # the guide puts these in a top-level data_preprocessor; 1.x ignores that one when the model
    # sets its own, so they go where they take effect
    assert new['model']['data_preprocessor'] == dict(
        type='GANDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=False)
    assert any('differs' in n for n in notes)  # the val pipeline's to_rgb=True cannot be kept
    dataset = dict(type='UnconditionalImageDataset', data_root='data/ffhq')
    assert new['train_dataloader'] == dict(
        batch_size=4, num_workers=8, persistent_workers=True,
        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dict(dataset,
                                                                          pipeline=train_1x))
    assert new['val_dataloader'] == dict(
        batch_size=4, num_workers=8, persistent_workers=True,
        sampler=dict(type='DefaultSampler', shuffle=False), dataset=dict(dataset,
                                                                           pipeline=val_1x))
    assert 'data' not in new


def test_repeat_dataset_is_unwrapped_and_dataloader_overrides_apply():
    new, notes = migrate(total_iters=5, data=dict(
        workers_per_gpu=2, train_dataloader=dict(samples_per_gpu=3, drop_last=True),
        train=dict(type='RepeatDataset', times=100,
                   dataset=dict(type='UnconditionalImageDataset', imgs_root='x', pipeline=[]))))
    loader = new['train_dataloader']
    assert loader['batch_size'] == 3 and loader['num_workers'] == 2 and loader['drop_last']
    assert loader['dataset'] == dict(type='UnconditionalImageDataset', data_root='x', pipeline=[])
    assert any('RepeatDataset(times=100)' in n for n in notes)


# -- 9. runtime --------------------------------------------------------------------------------
def test_table9_runtime_settings():
    new, notes = migrate(
        total_iters=100, checkpoint_config=dict(interval=10000, by_epoch=False),
        log_config=dict(interval=100, hooks=[dict(type='TextLoggerHook'),
                                             dict(type='TensorboardLoggerHook')]),
        dist_params=dict(backend='gloo'), cudnn_benchmark=True, workflow=[('train', 1)],
        resume_from='work_dirs/x/latest.pth', load_from=None, log_level='INFO')
    hooks = new['default_hooks']
    assert hooks['logger'] == dict(type='LoggerHook', interval=100, log_metric_by_epoch=False)
    assert hooks['checkpoint'] == dict(type='CheckpointHook', interval=10000, by_epoch=False,
                                       save_optimizer=True)
    assert hooks['timer'] == dict(type='GenIterTimerHook')
    assert new['env_cfg'] == dict(cudnn_benchmark=True,
                                  mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
                                  dist_cfg=dict(backend='gloo'))
    assert new['load_from'] == 'work_dirs/x/latest.pth' and new['resume'] is True
    assert dict(type='TensorboardGenVisBackend') in new['vis_backends']
    for gone in ('workflow', 'resume_from', 'dist_params', 'log_config', 'checkpoint_config'):
        assert gone not in new
    assert any('workflow' in n for n in notes)


# -- model: 0.x type + networks + loss -> the 1.x algorithm (as the 1.x configs pair them) --------
DCGAN_NETS = dict(generator=dict(type='DCGANGenerator', output_scale=16, base_channels=16),
                  discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                     out_channels=1))
LSGAN_NETS = dict(generator=dict(type='LSGANGenerator', output_scale=32, base_channels=16,
                                 noise_size=8),
                  discriminator=dict(type='LSGANDiscriminator', input_scale=32,
                                     base_channels=8))
SNGAN_NETS = dict(generator=dict(type='SNGANGenerator', output_scale=32, base_channels=16,
                                 num_classes=10),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=16,
                                     num_classes=10))
SAGAN_NETS = dict(generator=dict(type='SAGANGenerator', output_scale=32, base_channels=16,
                                 num_classes=10),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=16,
                                     num_classes=10))
BIGGAN_NETS = dict(num_classes=10, generator=dict(
    type='BigGANGenerator', output_scale=32, noise_size=32, num_classes=10, base_channels=8,
    with_shared_embedding=False, sn_eps=1e-8, init_type='N02', split_noise=False,
    auto_sync_bn=False), discriminator=dict(
    type='BigGANDiscriminator', input_scale=32, num_classes=10, base_channels=8, sn_eps=1e-8,
    init_type='N02', with_spectral_norm=True))
WGANGP_NETS = dict(generator=dict(type='WGANGPGenerator', noise_size=16, out_scale=128),
                   discriminator=dict(type='WGANGPDiscriminator', in_channel=3, in_scale=128))


@pytest.mark.parametrize('old_type,nets,gan_type,algo', [
    ('StaticUnconditionalGAN', DCGAN_NETS, 'vanilla', 'DCGAN'),
    ('StaticUnconditionalGAN', DCGAN_NETS, 'lsgan', 'LSGAN'),       # lsgan_dcgan-archi
    ('StaticUnconditionalGAN', DCGAN_NETS, 'hinge', 'GGAN'),        # ggan_dcgan-archi
    ('StaticUnconditionalGAN', LSGAN_NETS, 'lsgan', 'LSGAN'),
    ('StaticUnconditionalGAN', LSGAN_NETS, 'hinge', 'GGAN'),        # ggan_lsgan-archi
    ('StaticUnconditionalGAN', WGANGP_NETS, 'wgan', 'WGANGP'),
    ('BasiccGAN', SNGAN_NETS, 'hinge', 'SNGAN'),
    ('BasiccGAN', SAGAN_NETS, 'hinge', 'SAGAN'),
    ('BasiccGAN', BIGGAN_NETS, 'hinge', 'BigGAN'),
])
def test_0x_model_maps_to_1x_algorithm_that_builds(old_type, nets, gan_type, algo):
    model = dict(type=old_type, gan_loss=dict(type='GANLoss', gan_type=gan_type),
                 **copy.deepcopy(nets))
    new, _ = migrate(model=model, train_cfg=dict(disc_steps=5))
    assert new['model']['type'] == algo
    built = MODELS.build(new['model'])
    assert type(built).__name__ == algo
    assert built._disc_steps == 5 and built._gen_steps == 1
    assert type(built.generator) is MODELS.get(nets['generator']['type'])  # SAGAN's is an alias


def test_wgangp_gradient_penalty_goes_to_loss_config():
    model = dict(type='StaticUnconditionalGAN', gan_loss=dict(type='GANLoss', gan_type='wgan'),
                 disc_auxiliary_loss=[dict(type='GradientPenaltyLoss', loss_weight=7,
                                           norm_mode='pixel', data_info=dict(
                                               discriminator='disc', real_data='real_imgs',
                                               fake_data='fake_imgs'))],
                 **copy.deepcopy(WGANGP_NETS))
    new, _ = migrate(model=model)
    assert new['model']['loss_config'] == dict(gp_norm_mode='pixel', gp_loss_weight=7)
    built = MODELS.build(new['model'])
    assert built.gp_loss_weight == 7 and built.gp_norm_mode == 'pixel'


def test_ema_hook_becomes_ema_config_with_mmengine_momentum():
    m0x = 0.9
    new, _ = migrate(model=dict(type='StaticUnconditionalGAN', **copy.deepcopy(DCGAN_NETS)),
                     train_cfg=dict(use_ema=True), custom_hooks=[dict(
                         type='ExponentialMovingAverageHook', module_keys=('generator_ema',),
                         interval=1, start_iter=7, interp_cfg=dict(momentum=m0x),
                         priority='VERY_HIGH')])
    assert 'custom_hooks' not in new
    assert new['model']['ema_config'] == dict(type='ExponentialMovingAverage', interval=1,
                                              momentum=0.1, start_iter=7)
    model = MODELS.build(new['model'])
    gen, ema = model.generator, model.generator_ema
    ema.update_parameters(gen)  # first update copies
    old_avg = {k: v.clone() for k, v in ema.module.named_parameters()}
    with torch.no_grad():
        for p in gen.parameters():
            p.add_(torch.randn_like(p))
    ema.update_parameters(gen)
    for name, p in gen.named_parameters():
        # 0.x's lerp: ema <- m * ema + (1 - m) * param
        want = m0x * old_avg[name] + (1 - m0x) * p
        torch.testing.assert_close(dict(ema.module.named_parameters())[name], want)


def test_unknown_gan_loss_is_an_error_that_names_it():
    with pytest.raises(MigrationError, match="gan_type='wgan-logistic-ns'"):
        migrate(model=dict(type='StaticUnconditionalGAN',
                           gan_loss=dict(type='GANLoss', gan_type='wgan-logistic-ns'),
                           **copy.deepcopy(DCGAN_NETS)))


def test_mmediting_restorer_to_base_edit_model():
    new, _ = migrate(
        model=dict(type='BasicRestorer',
                   generator=dict(type='SRCNNNet', channels=(3, 8, 4, 3), kernel_sizes=(9, 1, 5),
                                  upscale_factor=2),
                   pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean')),
        train_cfg=None, test_cfg=dict(metrics=['PSNR', 'SSIM'], crop_border=2),
        optimizers=dict(generator=dict(type='Adam', lr=2e-4, betas=(0.9, 0.999))),
        total_iters=1000, evaluation=dict(interval=500, save_image=True))
    assert new['model']['type'] == 'BaseEditModel'
    assert type(MODELS.build(new['model'])).__name__ == 'BaseEditModel'
    assert new['val_evaluator']['metrics'] == [dict(type='PSNR', crop_border=2),
                                               dict(type='SSIM', crop_border=2)]
    assert new['optim_wrapper'] == dict(constructor='DefaultOptimWrapperConstructor', optimizer=dict(
        type='Adam', lr=2e-4, betas=(0.9, 0.999)))
    assert new['val_cfg'] == dict(type='EditValLoop') and new['train_cfg']['val_interval'] == 500


# -- bad input -----------------------------------------------------------------------------------
def test_1x_config_has_nothing_to_migrate():
    cfg = dict(model=dict(type='DCGAN', **DCGAN_NETS), train_cfg=dict(max_iters=10),
               optim_wrapper=dict(generator=dict(optimizer=dict(type='Adam'))))
    assert find_0x_markers(cfg) == []
    with pytest.raises(MigrationError, match='nothing to migrate'):
        migrate_config(cfg)


def test_unknown_runner_type_is_an_error():
    with pytest.raises(MigrationError, match="runner.type='MyRunner'.*DynamicIterBasedRunner"):
        migrate(runner=dict(type='MyRunner'), total_iters=3)


# -- a full 0.x DCGAN config (as MMGeneration 0.x had it, tiny sizes) through the CLI -------------
OLD_FILES = {
    '_base_/models/dcgan/dcgan_16x16.py': """
        # define GAN model
        model = dict(
            type='StaticUnconditionalGAN',
            generator=dict(type='DCGANGenerator', output_scale=16, base_channels=16),
            discriminator=dict(
                type='DCGANDiscriminator', input_scale=16, output_scale=4, out_channels=1),
            gan_loss=dict(type='GANLoss', gan_type='vanilla'))
        train_cfg = dict(disc_steps=1)
        test_cfg = None
        # define optimizer
        optimizer = dict(
            generator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)),
            discriminator=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999)))
        """,
    '_base_/datasets/unconditional_imgs_16x16.py': """
        dataset_type = 'UnconditionalImageDataset'
        train_pipeline = [
            dict(type='LoadImageFromFile', key='real_img', io_backend='disk'),
            dict(type='Resize', keys=['real_img'], scale=(16, 16)),
            dict(type='Normalize', keys=['real_img'], mean=[127.5] * 3, std=[127.5] * 3,
                 to_rgb=False),
            dict(type='ImageToTensor', keys=['real_img']),
            dict(type='Collect', keys=['real_img'], meta_keys=['real_img_path'])
        ]
        # `samples_per_gpu` and `imgs_root` need to be set.
        data = dict(
            samples_per_gpu=None,
            workers_per_gpu=4,
            train=dict(type=dataset_type, imgs_root=None, pipeline=train_pipeline),
            val=dict(type=dataset_type, imgs_root=None, pipeline=train_pipeline))
        """,
    '_base_/default_runtime.py': """
        checkpoint_config = dict(interval=10000, by_epoch=False)
        log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
        runner = dict(
            type='DynamicIterBasedRunner', is_dynamic_ddp=True, pass_training_status=True)
        dist_params = dict(backend='nccl')
        log_level = 'INFO'
        load_from = None
        resume_from = None
        workflow = [('train', 1)]
        find_unused_parameters = True
        cudnn_benchmark = True
        """,
    'dcgan/dcgan_tiny.py': """
        _base_ = [
            '../_base_/models/dcgan/dcgan_16x16.py',
            '../_base_/datasets/unconditional_imgs_16x16.py',
            '../_base_/default_runtime.py'
        ]
        # you must set `samples_per_gpu` and `imgs_root`
        data = dict(
            samples_per_gpu=2, workers_per_gpu=0,
            train=dict(imgs_root='{imgs}'), val=dict(imgs_root='{imgs}'))
        lr_config = None
        checkpoint_config = dict(interval=10000, by_epoch=False, max_keep_ckpts=20)
        custom_hooks = [
            dict(type='VisualizeUnconditionalSamples', output_dir='training_samples',
                 interval=10000)
        ]
        total_iters = 1
        # use ddp wrapper for faster training
        use_ddp_wrapper = True
        find_unused_parameters = False
        runner = dict(
            type='DynamicIterBasedRunner',
            is_dynamic_ddp=False,  # Note that this flag should be False.
            pass_training_status=True)
        metrics = dict(
            ms_ssim10k=dict(type='MS_SSIM', num_images=10000),
            swd16k=dict(type='SWD', num_images=16384, image_shape=(3, 16, 16)))
        """,
}


@pytest.fixture
def old_dcgan(tmp_path):
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(imgs / f'{i}.png')
    for rel, text in OLD_FILES.items():
        path = tmp_path / 'old' / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace('{imgs}', str(imgs)))
    return tmp_path / 'old' / 'dcgan' / 'dcgan_tiny.py'


def test_full_dcgan_0x_config_migrates_loads_builds_and_trains(old_dcgan, tmp_path, capsys):
    from genforge.runner import Runner
    out = tmp_path / 'new' / 'dcgan_1x.py'
    assert main(['migrate-config', str(old_dcgan), '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    expected, notes = migrate_config(Config.fromfile(str(old_dcgan)).to_dict())
    for note in notes:  # every note is printed and heads the file
        assert note.split()[0] in printed
    text = out.read_text()
    assert text.startswith('# Migrated from the 0.x config dcgan_tiny.py')
    assert 'StaticUnconditionalGAN' in text.split('\n\n')[0]  # in the notes header only
    cfg = Config.fromfile(str(out))
    assert cfg.to_dict() == Config(expected).to_dict()
    assert cfg.model.type == 'DCGAN' and cfg.train_cfg.max_iters == 1
    assert cfg.train_dataloader.batch_size == 2 and 'val_dataloader' not in cfg
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'Resize', 'PackGenInputs']
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    gen_before = copy.deepcopy(runner.model.generator.state_dict())
    runner.train()
    assert runner.iter == 1
    changed = [k for k, v in runner.model.generator.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, gen_before[k])]
    assert changed, 'one training iteration should update the generator'


def test_cli_print_and_errors(old_dcgan, tmp_path, capsys):
    assert main(['migrate-config', str(old_dcgan), '--print']) == 0
    out = capsys.readouterr().out
    assert "type='DCGAN'" in out and out.startswith('# Migrated')
    assert main(['migrate-config', str(tmp_path / 'missing.py'), '--out', 'x.py']) == 2
    assert 'config file not found' in capsys.readouterr().err
    new_style = tmp_path / 'new_style.py'
    new_style.write_text("model = dict(type='DCGAN')\ntrain_cfg = dict(max_iters=3)\n")
    assert main(['migrate-config', str(new_style), '--out', str(tmp_path / 'y.py')]) == 2
    err = capsys.readouterr().err
    assert 'nothing to migrate' in err and 'Traceback' not in err
    bad_runner = tmp_path / 'bad_runner.py'
    bad_runner.write_text("runner = dict(type='EpochRunnerX')\ntotal_iters = 3\n")
    assert main(['migrate-config', str(bad_runner), '--out', str(tmp_path / 'z.py')]) == 2
    assert "runner.type='EpochRunnerX'" in capsys.readouterr().err
    assert not (tmp_path / 'z.py').exists()
    assert main(['migrate-config', str(old_dcgan)]) == 2
    assert '--out' in capsys.readouterr().err


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(['migrate-config', '--help'])
    assert 'Examples:' in capsys.readouterr().out


def test_mmcls_cifar_pipeline_of_0x_conditional_gans():
    norm = dict(mean=[127.5] * 3, std=[127.5] * 3, to_rgb=True)
    new, _ = migrate(total_iters=5, dataset_type='mmcls.CIFAR10', data=dict(
        samples_per_gpu=2, workers_per_gpu=0, train=dict(
            type='mmcls.CIFAR10', data_prefix='data/cifar10', pipeline=[
                dict(type='RandomFlip', flip_prob=0.5, direction='horizontal'),
                dict(type='Normalize', **norm), dict(type='ImageToTensor', keys=['img']),
                dict(type='ToTensor', keys=['gt_label']),
                dict(type='Collect', keys=['img', 'gt_label'])])),
        model=dict(type='BasiccGAN', **copy.deepcopy(SNGAN_NETS)))
    ds = new['train_dataloader']['dataset']
    assert ds == dict(type='CIFAR10', data_root='data/cifar10', pipeline=[
        dict(type='Flip', keys=['img'], flip_ratio=0.5, direction='horizontal'),
        dict(type='PackGenInputs', keys=['img'], meta_keys=[])])
    assert new['model']['data_preprocessor']['bgr_to_rgb'] is True


def _shipped_configs():
    from pathlib import Path
    root = Path(__file__).resolve().parents[3] / 'configs'
    return sorted(p for p in root.glob('*/*.py'))


@pytest.mark.parametrize('path', _shipped_configs(), ids=lambda p: p.name)
def test_shipped_1x_configs_are_not_taken_for_0x(path):
    try:
        cfg = Config.fromfile(str(path), import_custom_modules=False).to_dict()
    except Exception as exc:  # a config whose _base_ files are not written yet
        pytest.skip(f'does not load: {exc}')
    assert find_0x_markers(cfg) == []
