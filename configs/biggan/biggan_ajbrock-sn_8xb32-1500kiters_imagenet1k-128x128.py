# BigGAN on ImageNet 128x128 (Brock et al., 2019): G lr 1e-4, D lr 4e-4, Adam (0, 0.999),
# eps 1e-6; batch 32 x 8 GPUs x 8 accumulation = 2048; EMA of G from iteration 20000.
_base_ = [
    '../_base_/models/biggan/base_biggan_128x128.py',
    '../_base_/datasets/imagenet_noaug_128.py',
    '../_base_/gen_default_runtime.py',
]

model = dict(
    ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.0001,
                    update_buffers=True, start_iter=20000))
train_cfg = dict(max_iters=1500000)
train_dataloader = dict(batch_size=32, num_workers=8, dataset=dict(data_root='data/imagenet'))

optim_wrapper = dict(
    generator=dict(
        accumulative_counts=8,
        optimizer=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999), eps=1e-6)),
    discriminator=dict(
        accumulative_counts=8,
        optimizer=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999), eps=1e-6)))

custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=10000,
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
