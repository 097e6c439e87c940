# Improved DDPM on ImageNet 64x64: cosine schedule, T=4000, hybrid loss, dropout 0,
# batch 8 GPUs x 16, 1500000 iterations, EMA 0.9999 (MMGeneration's config of the same name).
_base_ = [
    '../_base_/models/improved_ddpm/ddpm_64x64.py',
    '../_base_/datasets/imagenet_noaug_64.py',
    '../_base_/gen_default_runtime.py',
]

model = dict(denoising=dict(dropout=0))

# one network, one optimizer (MMGeneration: optimizer=dict(denoising=dict(type='AdamW', ...)))
optim_wrapper = dict(denoising=dict(optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0)))

train_cfg = dict(max_iters=1500000, val_interval=1500000)
train_dataloader = dict(batch_size=16)
default_hooks = dict(
    checkpoint=dict(interval=10000, max_keep_ckpts=20, save_best='FID-Full-50k/fid',
                    rule='less'))

# FID over 50k EMA samples of the full 4000-step chain (as MMGeneration); for a quick number
# add sample_kwargs=dict(timestep_respacing=250) (see docs/diffusion.md)
metrics = [
    dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
         inception_style='StyleGAN', sample_model='ema',
         inception_pkl='./work_dirs/inception_pkl/imagenet_64x64.pkl')
]
val_evaluator = dict(metrics=metrics)
test_evaluator = dict(metrics=metrics)
