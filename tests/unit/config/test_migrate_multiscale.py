"""`genforge migrate-config` for MMGeneration 0.x PGGAN and SinGAN configs (written here in the
0.x format): they migrate, load, build and train."""
from __future__ import annotations

import textwrap

import numpy as np
from PIL import Image

import genforge.models  # noqa: F401
from genforge.cli import main
from genforge.config import Config
from genforge.config.migrate import migrate_config
from genforge.runner import Runner

RUNTIME_0X = """
    checkpoint_config = dict(interval=10000, by_epoch=False, max_keep_ckpts=20)
    log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
    runner = dict(type='DynamicIterBasedRunner', is_dynamic_ddp=False,
                  pass_training_status=True)
    dist_params = dict(backend='nccl')
    log_level = 'INFO'
    load_from = None
    resume_from = None
    workflow = [('train', 1)]
    find_unused_parameters = True
    cudnn_benchmark = True
    optimizer = None
    lr_config = None
"""

PGGAN_0X = RUNTIME_0X + """
    model = dict(
        type='ProgressiveGrowingGAN',
        generator=dict(type='PGGANGenerator', out_scale=16, noise_size=8, base_channels=64,
                       max_channels=8),
        discriminator=dict(type='PGGANDiscriminator', in_scale=16, base_channels=64,
                           max_channels=8),
        gan_loss=dict(type='GANLoss', gan_type='wgan'),
        disc_auxiliary_loss=[
            dict(type='DiscShiftLoss', loss_weight=0.001 * 0.5,
                 data_info=dict(pred='disc_pred_fake')),
            dict(type='GradientPenaltyLoss', loss_weight=10, norm_mode='HWC',
                 data_info=dict(discriminator='disc_partial', real_data='real_imgs',
                                fake_data='fake_imgs'))])
    train_cfg = dict(
        use_ema=True,
        nkimgs_per_scale={'4': 0.002, '8': 0.004, '16': 0.01},
        transition_kimgs=0.002,
        optimizer_cfg=dict(
            generator=dict(type='Adam', lr=0.001, betas=(0., 0.99)),
            discriminator=dict(type='Adam', lr=0.001, betas=(0., 0.99))),
        g_lr_base=0.001, d_lr_base=0.001,
        g_lr_schedule={'16': 0.0015}, d_lr_schedule={'16': 0.0015})
    test_cfg = None
    train_pipeline = [
        dict(type='LoadImageFromFile', key='real_img'),
        dict(type='Resize', keys=['real_img'], scale=(16, 16)),
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
                   gpu_samples_per_scale={'4': 2, '8': 2}, len_per_stage=-1))
    custom_hooks = [
        dict(type='VisualizeUnconditionalSamples', output_dir='training_samples',
             interval=5000),
        dict(type='PGGANFetchDataHook', interval=1),
        dict(type='ExponentialMovingAverageHook', module_keys=('generator_ema', ),
             interval=1, priority='VERY_HIGH')
    ]
    total_iters = 3
"""

SINGAN_0X = RUNTIME_0X + """
    model = dict(
        type='SinGAN',
        generator=dict(type='SinGANMultiScaleGenerator', in_channels=3, out_channels=3,
                       num_scales=3, base_channels=8, min_feat_channels=8, num_layers=3),
        discriminator=dict(type='SinGANMultiScaleDiscriminator', in_channels=3, num_scales=3,
                           base_channels=8, min_feat_channels=8, num_layers=3),
        gan_loss=dict(type='GANLoss', gan_type='wgan', loss_weight=1),
        disc_auxiliary_loss=[dict(type='GradientPenaltyLoss', loss_weight=0.1,
                                  norm_mode='pixel')],
        gen_auxiliary_loss=dict(type='MSELoss', loss_weight=10,
                                data_info=dict(pred='recon_imgs', target='real_imgs')))
    train_cfg = dict(noise_weight_init=0.1, iters_per_scale=1, curr_scale=-1, disc_steps=2,
                     generator_steps=1, lr_d=0.0005, lr_g=0.0004,
                     lr_scheduler_args=dict(milestones=[1600], gamma=0.1))
    test_cfg = None
    data = dict(samples_per_gpu=1, workers_per_gpu=4, drop_last=False,
                train=dict(type='SinGANDataset', img_path='{img}', min_size=25, max_size=48,
                           scale_factor_init=0.75))
    custom_hooks = [
        dict(type='MMGenVisualizationHook', output_dir='visual', interval=500,
             bgr2rgb=True, res_name_list=['fake_imgs', 'recon_imgs', 'real_imgs']),
        dict(type='PickleDataHook', output_dir='pickle', interval=-1, after_run=True,
             data_name_list=['noise_weights', 'fixed_noises', 'curr_stage'])
    ]
    total_iters = 2
"""


def _write(tmp_path, text):
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(imgs / f'{i}.png')
    path = tmp_path / 'old.py'
    path.write_text(textwrap.dedent(text).replace('{imgs}', str(imgs))
                    .replace('{img}', str(imgs / '0.png')))
    return path


def _migrate_and_train(tmp_path, text):
    old = _write(tmp_path, text)
    out = tmp_path / 'new.py'
    assert main(['migrate-config', str(old), '--out', str(out)]) == 0
    cfg = Config.fromfile(str(out))
    assert cfg.to_dict() == Config(migrate_config(Config.fromfile(str(old)).to_dict())[0]
                                   ).to_dict()
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    return cfg, runner


def test_pggan_0x_config_migrates_and_trains(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, PGGAN_0X)
    model = cfg.model
    assert model.type == 'ProgressiveGrowingGAN' and model.noise_size == 8
    assert model.nkimgs_per_scale == {'4': 0.002, '8': 0.004, '16': 0.01}
    assert 'gan_loss' not in model and 'ema_config' in model
    assert cfg.optim_wrapper.constructor == 'PGGANOptimWrapperConstructor'
    assert cfg.optim_wrapper.lr_schedule.generator == {'16': 0.0015}
    assert cfg.train_dataloader.dataset.data_roots == {'16': str(tmp_path / 'imgs')}
    assert [h['type'] for h in cfg.custom_hooks][-1] == 'PGGANFetchDataHook'
    # 4x4 for one iteration, then 8x8 for two
    assert runner.iter == 3 and int(runner.model._curr_scale_int) == 8


def test_singan_0x_config_migrates_and_trains(tmp_path):
    cfg, runner = _migrate_and_train(tmp_path, SINGAN_0X)
    model = cfg.model
    assert (model.type, model.num_scales, model.discriminator_steps) == ('SinGAN', 3, 2)
    assert cfg.optim_wrapper.generator.optimizer.lr == 0.0004
    assert cfg.train_cfg.max_iters == 4  # 0.x iterations ran disc_steps=2 D updates each
    assert cfg.train_dataloader.dataset.data_root.endswith('0.png')
    assert runner.model.curr_stage == 1 and len(runner.model.noise_weights) == 3
    assert list((tmp_path / 'work' / 'pickle').glob('*.pkl'))
