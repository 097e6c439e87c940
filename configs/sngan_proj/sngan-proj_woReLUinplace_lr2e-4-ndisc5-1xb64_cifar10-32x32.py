# SNGAN-proj on CIFAR-10 32x32 (Miyato & Koyama, 2018): Adam(2e-4, (0.5, 0.999)), n_dis=5,
# StudioGAN-style init, batch 64 on 1 GPU, 100k generator steps.
_base_ = [
    '../_base_/models/sngan_proj/base_sngan_proj_32x32.py',
    '../_base_/datasets/cifar10_nopad.py',
    '../_base_/gen_default_runtime.py',
]

discriminator_steps = 5
num_classes = 10
init_cfg = dict(type='studio')
model = dict(
    num_classes=num_classes,
    data_preprocessor=dict(rgb_to_bgr=True),  # CIFAR images are RGB
    generator=dict(num_classes=num_classes, init_cfg=init_cfg),
    discriminator=dict(num_classes=num_classes, init_cfg=init_cfg),
    discriminator_steps=discriminator_steps)

train_cfg = dict(max_iters=100000 * discriminator_steps)
train_dataloader = dict(batch_size=64)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))))

custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=5000,
        fixed_input=True,
        vis_kwargs_list=dict(type='GAN', name='fake_img'))
]

metrics = [
    dict(type='InceptionScore', prefix='IS-50k', fake_nums=50000, inception_style='StyleGAN',
         sample_model='orig'),
    dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
         inception_style='StyleGAN', sample_model='orig')
]
default_hooks = dict(
    checkpoint=dict(save_best=['FID-Full-50k/fid', 'IS-50k/is'], rule=['less', 'greater']))
val_dataloader = test_dataloader = dict(batch_size=64)
val_evaluator = test_evaluator = dict(metrics=metrics)
