# CIFAR-10 for unconditional/conditional GANs (MMagic layout): 32x32, horizontal flip only.
# data_root holds `cifar-10-batches-py/` (the official python pickles); nothing is downloaded.
train_pipeline = [
    dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]  # no flip at evaluation

train_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='CIFAR10', data_root='./data', data_prefix='cifar10', test_mode=False,
                 pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CIFAR10', data_root='./data', data_prefix='cifar10', test_mode=False,
                 pipeline=test_pipeline))

test_dataloader = val_dataloader
