_base_ = './msrresnet_x4c64b16_1xb16-1000k_div2k.py'

# SRGAN (Ledig et al., CVPR 2017) on the MSRResNet generator: L1 x1e-2 + VGG19 conv5_4
# perceptual loss + vanilla GAN loss x5e-3, Adam 1e-4 for G and D halved at 50k/100k/200k/300k.
experiment_name = 'srgan_x4c64b16_1xb16-1000k_div2k'
work_dir = f'./work_dirs/{experiment_name}'

scale = 4

# Start from the L1-trained MSRResNet (train msrresnet_x4c64b16_1xb16-1000k_div2k.py first):
# load_from = './work_dirs/msrresnet_x4c64b16_1xb16-1000k_div2k/iter_1000000.pth'

# DistributedDataParallel
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')

# model settings
model = dict(
    type='SRGAN',
    generator=dict(
        type='MSRResNet',
        in_channels=3,
        out_channels=3,
        mid_channels=64,
        num_blocks=16,
        upscale_factor=scale),
    discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=64),
    pixel_loss=dict(type='L1Loss', loss_weight=1e-2, reduction='mean'),
    # VGG19 weights are read from ~/.cache/genforge/vgg19-dcbb9e9d.pth (see docs/restoration.md)
    perceptual_loss=dict(
        type='PerceptualLoss',
        layer_weights={'34': 1.0},
        vgg_type='vgg19',
        perceptual_weight=1.0,
        style_weight=0,
        norm_img=False),
    gan_loss=dict(
        type='GANLoss',
        gan_type='vanilla',
        loss_weight=5e-3,
        real_label_val=1.0,
        fake_label_val=0),
    train_cfg=dict(),
    test_cfg=dict(),
    data_preprocessor=dict(
        type='DataPreprocessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
    ))

# optimizer
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999))),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999))),
)

# learning policy
param_scheduler = dict(
    _delete_=True,
    type='MultiStepLR',
    by_epoch=False,
    milestones=[50000, 100000, 200000, 300000],
    gamma=0.5)

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=400_000, val_interval=5000)
