"""Seed 004 (MMGeneration 0.x -> 1.x migration guide): its 1.x evaluation section runs as written.

The config below is the seed's 1.x code of sections 1 (schedule), 2 (evaluation), 6
(visualization) and 8 (data) verbatim, plus the SWD metric the migration guide's readers add
(``dict(type='SWD', prefix='swd', fake_nums=..., sample_model='orig', image_shape=...)``). One
seed typo is corrected and marked: a missing comma between the two metric dicts. Only sizes
change, in the test: the model is a tiny DCGAN, the data 10 random 16x16 PNGs, ``fake_nums``
50000 -> 10 and ``max_iters``/``val_interval`` 1000000/10000 -> 2/2. The seed's pipelines pack
the image with ``PackGenInputs(keys=['img'])`` (``inputs['img']``), which is where the metrics
must find the real images without ``real_key`` being set.

``inception_style='StyleGAN'`` loads ``inception-2015-12-05.pt`` from ``$GENFORGE_CACHE``; a tiny
TorchScript stand-in with NVlabs' call signature is put there (test-only weights).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from genforge.config import Config
from genforge.evaluation.metrics import inception_cache
from genforge.runner import Runner

SEED_SECTIONS = '''
# -- seed 004, section 1 -----------------------------------------------------------------------
train_cfg = dict(
    by_epoch=False,  # use iteration based training
    max_iters=1000000,  # max training iteration
    val_begin=1,
    val_interval=10000)  # evaluation interval
val_cfg = dict(type='GenValLoop')  # specific loop in validation
test_cfg = dict(type='GenTestLoop')  # specific loop in testing

# -- seed 004, section 2 -----------------------------------------------------------------------
val_evaluator = dict(
    type='GenEvaluator',
    metrics=[
        dict(
            type='FrechetInceptionDistance',
            prefix='FID-Full-50k',
            fake_nums=50000,
            inception_style='StyleGAN',
            sample_model='orig'),  # seed typo: the comma was missing
        dict(
            type='InceptionScore',
            prefix='IS-50k',
            fake_nums=50000)])
# set best config
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook',
        interval=10000,
        by_epoch=False,
        less_keys=['FID-Full-50k/fid'],
        greater_keys=['IS-50k/is'],
        save_optimizer=True,
        save_best=['FID-Full-50k/fid', 'IS-50k/is'],
        rule=['less', 'greater']))
test_evaluator = val_evaluator

# -- seed 004, section 6 -----------------------------------------------------------------------
custom_hooks = [
    dict(
        type='GenVisualizationHook',
        interval=5000,
        fixed_input=True,
        vis_kwargs_list=dict(type='GAN', name='fake_img'))
]
vis_backends = [dict(type='GenVisBackend')]
visualizer = dict(type='GenVisualizer', vis_backends=vis_backends)

# -- seed 004, section 8 -----------------------------------------------------------------------
dataset_type = 'UnconditionalImageDataset'

train_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='Flip', keys=['img'], direction='horizontal'),
    dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])
]

val_pipeline = [
    dict(type='LoadImageFromFile', key='img'),
    dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])
]
data_preprocessor = dict(
    mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5], bgr_to_rgb=False)
'''

USER_PART = '''
model = dict(
    type='DCGAN', noise_size=8,
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=3, base_channels=16),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=3,
                       out_channels=1, base_channels=8))
optim_wrapper = dict(
    constructor='GenOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.0, 0.999), eps=1e-6)),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999), eps=1e-6)))
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=DATA_ROOT, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=DATA_ROOT, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator['metrics'].append(
    dict(type='SWD', prefix='swd', fake_nums=10, sample_model='orig', image_shape=(3, 16, 16)))
'''


class _StandInInception(nn.Module):
    """NVlabs' TorchScript call signature: uint8 RGB (N, 3, H, W) -> features / class probs."""

    def __init__(self):
        super().__init__()
        self.feat = nn.Linear(3 * 4 * 4, 16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor, return_features: bool = False,
                no_output_bias: bool = False) -> torch.Tensor:
        h = F.adaptive_avg_pool2d(x.float() / 255., 4).flatten(1)  # (N, 3, H, W) -> (N, 48)
        feats = torch.tanh(self.feat(h))
        if return_features:
            return feats
        return F.softmax(feats @ self.fc.weight.t(), dim=1)


@pytest.fixture
def stylegan_inception(tmp_path, monkeypatch):
    torch.manual_seed(0)
    cache = tmp_path / 'cache'
    cache.mkdir()
    torch.jit.script(_StandInInception()).save(str(cache / 'inception-2015-12-05.pt'))
    monkeypatch.setenv('GENFORGE_CACHE', str(cache))
    monkeypatch.setattr(inception_cache, '_EXTRACTORS', {})  # no extractor leaks to other tests


def _write_images(folder, n=10, size=16):
    folder.mkdir()
    rng = np.random.RandomState(0)
    for i in range(n):
        Image.fromarray(rng.randint(0, 256, (size, size, 3), dtype=np.uint8)).save(
            folder / f'{i}.png')


def test_seed004_evaluation_section_runs_as_written(tmp_path, stylegan_inception):
    _write_images(tmp_path / 'imgs')
    path = tmp_path / 'seed004_cfg.py'
    path.write_text(f'DATA_ROOT = {str(tmp_path / "imgs")!r}\n' + SEED_SECTIONS + USER_PART)
    cfg = Config.fromfile(str(path))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iters, cfg.train_cfg.val_interval = 2, 2
    for metric in cfg.val_evaluator.metrics[:2]:
        metric.fake_nums = 10
    cfg.test_evaluator = cfg.val_evaluator
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    runner.train()

    work = tmp_path / 'work'
    assert sorted(p.name for p in work.glob('best_*.pth')) == [
        'best_FID-Full-50k_fid_iter_2.pth', 'best_IS-50k_is_iter_2.pth']
    records = [json.loads(line) for line in
               open(f'{runner.log_dir}/vis_data/scalars.json') if 'swd/avg' in line]
    assert len(records) == 1 and records[0]['step'] == 2
    for key in ('FID-Full-50k/fid', 'IS-50k/is', 'swd/avg', 'swd/16'):
        assert math.isfinite(records[0][key]), key
    # the real images the metrics used are the PNGs (SWD of real vs. real would be 0; here the
    # generator is untrained, so the distance is clearly positive)
    assert records[0]['swd/avg'] > 0

    results = runner.test()  # test_evaluator = val_evaluator, GenTestLoop
    assert set(results) >= {'FID-Full-50k/fid', 'IS-50k/is', 'swd/avg'}
