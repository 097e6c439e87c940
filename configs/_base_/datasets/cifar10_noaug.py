# CIFAR-10 for GANs without any augmentation (MMagic layout; StudioGAN-converted models).
pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CIFAR10', data_root='./data', data_prefix='cifar10', test_mode=False,
                 pipeline=pipeline))

val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CIFAR10', data_root='./data', data_prefix='cifar10', test_mode=False,
                 pipeline=pipeline))

test_dataloader = val_dataloader
