# Geometric GAN (hinge) on the LSGAN architecture, LSUN bedroom 64x64, Adam(1e-4, (0.5, 0.99)).
_base_ = [
    '../_base_/datasets/unconditional_imgs_64x64.py',
    '../_base_/gen_default_runtime.py'
]
model = dict(
    type='GGAN',
    noise_size=1024,
    data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='LSGANGenerator', output_scale=64),
    discriminator=dict(type='LSGANDiscriminator', input_scale=64))

batch_size = 128
data_root = './data/lsun/images/bedroom_train'
train_dataloader = dict(batch_size=batch_size, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=batch_size, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=batch_size, dataset=dict(data_root=data_root))

optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=0.0001, betas=(0.5, 0.99))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0001, betas=(0.5, 0.99))))

train_cfg = dict(max_iters=160000)

custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=5000,
        fixed_input=True,
        vis_kwargs_list=dict(type='GAN', name='fake_img'))
]

metrics = [
    dict(
        type='FrechetInceptionDistance',
        prefix='FID-Full-50k',
        fake_nums=50000,
        inception_style='StyleGAN',
        sample_model='orig')
]
default_hooks = dict(checkpoint=dict(save_best='FID-Full-50k/fid', rule='less'))
val_evaluator = dict(metrics=metrics)
test_evaluator = dict(metrics=metrics)
