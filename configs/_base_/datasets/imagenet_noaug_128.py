# ImageNet at 128x128 for BigGAN/SAGAN (MMagic layout). As in BigGAN, no random flip and a
# centre crop of the long edge, so the data pipeline adds no randomness.
pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='CenterCropLongEdge'),
    dict(type='Resize', scale=(128, 128), backend='pillow'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=None,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ImageNet', data_root='data/imagenet', ann_file='meta/train.txt',
                 data_prefix='train', pipeline=pipeline))

val_dataloader = dict(
    batch_size=64,
    num_workers=5,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageNet', data_root='./data/imagenet/', ann_file='meta/train.txt',
                 data_prefix='train', pipeline=pipeline))

test_dataloader = val_dataloader
