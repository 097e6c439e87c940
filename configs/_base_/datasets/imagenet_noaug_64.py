# ImageNet at 64x64 for unconditional diffusion models (MMGeneration's imagenet_noaug_64):
# centre crop of the long edge, resize, no flip.
pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='CenterCropLongEdge'),
    dict(type='Resize', scale=(64, 64), backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=None,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='ImageNet', data_root='data/imagenet', ann_file='meta/train.txt',
                 data_prefix='train', pipeline=pipeline))

val_dataloader = dict(
    batch_size=64,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root='data/imagenet', ann_file='meta/train.txt',
                 data_prefix='train', pipeline=pipeline))

test_dataloader = val_dataloader
