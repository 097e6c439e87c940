# BigGAN on CIFAR-10 32x32: Adam(2e-4, (0, 0.999)) for G and D, 4 D steps per G step,
# batch 25 x 2 GPUs, EMA of G (momentum 1e-4 of the new weights) from iteration 1000.
_base_ = [
    '../_base_/models/biggan/base_biggan_32x32.py',
    '../_base_/datasets/cifar10_noaug.py',
    '../_base_/gen_default_runtime.py',
]

model = dict(
    data_preprocessor=dict(rgb_to_bgr=True),
    ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.0001,
                    start_iter=1000))

train_dataloader = dict(batch_size=25, num_workers=8)
val_dataloader = dict(batch_size=25, num_workers=8)
test_dataloader = dict(batch_size=25, num_workers=8)

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.0, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.0, 0.999))))
train_cfg = dict(max_iters=500000)

custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=5000,
        fixed_input=True,
        vis_kwargs_list=dict(type='Noise', name='fake_img', sample_model='ema/orig',
                             target_keys=['ema', 'orig'])),
]

metrics = [
    dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
         inception_style='StyleGAN', sample_model='ema'),
    dict(type='IS', prefix='IS-50k', fake_nums=50000, inception_style='StyleGAN',
         sample_model='ema')
]
default_hooks = dict(
    checkpoint=dict(save_best=['FID-Full-50k/fid', 'IS-50k/is'], rule=['less', 'greater']))
val_evaluator = dict(metrics=metrics)
test_evaluator = dict(metrics=metrics)
