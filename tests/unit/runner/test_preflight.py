"""Start-up checks: a metric that will ask for more real images than the val set has stops
train() before the first iteration, naming the config key and the value that fixes it."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genforge.config import Config
from genforge.runner import Runner

N_IMAGES = 4


def _cfg(tmp_path: Path, metrics: list, val_interval: int = 1, **extra) -> Config:
    folder = tmp_path / 'imgs'
    if not folder.exists():
        folder.mkdir()
        rng = np.random.default_rng(0)
        for i in range(N_IMAGES):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(
                folder / f'{i}.png')
    ds = dict(type='UnconditionalImageDataset', data_root=str(folder),
              pipeline=[dict(type='LoadImageFromFile', key='img'), dict(type='PackInputs')])
    cfg = dict(
        model=dict(type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
                   generator=dict(type='DCGANGenerator', output_scale=16, base_channels=8,
                                  noise_size=8),
                   discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                      out_channels=1, base_channels=4)),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(batch_size=2, num_workers=0, dataset=ds,
                              sampler=dict(type='InfiniteSampler', shuffle=True)),
        val_dataloader=dict(batch_size=2, num_workers=0, dataset=copy.deepcopy(ds),
                            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=dict(type='Evaluator', metrics=metrics),
        val_cfg=dict(type='GenValLoop'),
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                           discriminator=dict(optimizer=dict(type='Adam', lr=2e-4))),
        train_cfg=dict(by_epoch=False, max_iters=1, val_interval=val_interval),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        **extra)
    return Config(cfg)


SWD = dict(type='SWD', prefix='swd', fake_nums=16, image_shape=(3, 16, 16), sample_model='orig')
MS_SSIM = dict(type='MS_SSIM', prefix='ms-ssim', fake_nums=10000, sample_model='orig')  # no reals


def test_too_many_real_images_stop_before_the_first_iteration(tmp_path):
    runner = Runner.from_cfg(_cfg(tmp_path, [MS_SSIM, SWD]))
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert 'SlicedWassersteinDistance (swd) compares 16 real images, but the val dataset has 4' \
        in msg
    assert '--cfg-options val_evaluator.metrics.1.fake_nums=4' in msg
    assert 'MultiScaleStructureSimilarity' not in msg  # a sampling metric is not a problem
    assert not list((tmp_path / 'work').glob('iter_*.pth'))  # stopped before training


def test_the_check_predicts_the_failure_it_prevents(tmp_path):
    # preflight=False: the same config trains one iteration, then the validation fails
    runner = Runner.from_cfg(_cfg(tmp_path, [SWD], preflight=False))
    with pytest.raises(ValueError, match='real_nums=16 exceeds the dataset length 4'):
        runner.train()
    assert runner.iter == 1


@pytest.mark.parametrize('nums, problems', [(N_IMAGES, 0), (N_IMAGES + 1, 1), (-1, 0)])  # -1: the whole set
def test_only_a_count_above_the_dataset_is_a_problem(tmp_path, nums, problems):
    from genforge.runner.preflight import real_count_problems
    cfg = _cfg(tmp_path, [MS_SSIM, dict(SWD, fake_nums=nums)])
    runner = Runner.from_cfg(cfg)
    loop = runner.build_val_loop(dict(type='GenValLoop'))
    assert len(real_count_problems(loop, 'val', cfg.val_evaluator)) == problems


def test_key_paths_of_list_evaluators():
    from genforge.runner.preflight import _evaluator_key, _metric_key
    listed = [dict(type='Evaluator', metrics=[dict(type='PSNR')]),
              dict(type='Evaluator', metrics=[dict(type='PSNR'), dict(type='SWD')])]
    base = _evaluator_key(listed, 'test', 1, 2)
    assert base == 'test_evaluator.1'
    assert _metric_key(listed, base, 1) == 'test_evaluator.1.metrics.1'
    assert _metric_key([dict(type='SWD')], 'val_evaluator', 0) == 'val_evaluator.0'
    assert _metric_key(dict(type='Evaluator', metrics=dict(type='SWD')), 'val_evaluator', 0) == \
        'val_evaluator.metrics'


def test_metrics_of_other_kinds_are_left_alone():
    from types import SimpleNamespace

    from genforge.runner.preflight import real_count_problems

    class PlainMetric:  # no get_metric_sampler, no real_nums: nothing to check
        prefix = 'plain'

    class Ev:
        metrics = [PlainMetric()]

        def metric_groups(self):
            return [self.metrics]

    loop = SimpleNamespace(evaluator=Ev(), dataloader=SimpleNamespace(dataset=[0, 1]))
    assert real_count_problems(loop, 'val') == []
    no_len = SimpleNamespace(evaluator=Ev(), dataloader=SimpleNamespace(dataset=iter([])))
    assert real_count_problems(no_len, 'val') == []


def _size_cfg(tmp_path: Path, model_size: int, **extra) -> Config:
    cfg = _cfg(tmp_path, [SWD], **extra)  # the images on disk are 16x16
    cfg.model.generator.output_scale = model_size
    cfg.model.discriminator.input_scale = model_size
    cfg.model.discriminator.output_scale = min(4, model_size)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    return cfg


def test_training_images_of_another_size_stop_before_the_first_iteration(tmp_path):
    runner = Runner.from_cfg(_size_cfg(tmp_path, 8))
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert 'the training images are 16x16' in msg
    assert 'model.discriminator.input_scale=8 takes 8x8 images' in msg
    assert "dict(type='Resize', keys='gt', scale=(8, 8))" in msg and 'preflight=False' in msg
    assert not list((tmp_path / 'work').glob('iter_*.pth'))


def test_the_size_mismatch_is_real_and_matching_sizes_pass(tmp_path):
    import torch

    from genforge.registry import MODELS
    # what the check prevents: an 8x8 DCGAN discriminator scores 16x16 images patch by patch
    disc = MODELS.build(dict(type='DCGANDiscriminator', input_scale=8, output_scale=4,
                             out_channels=1, base_channels=4))
    assert disc(torch.zeros(2, 3, 16, 16)).shape != disc(torch.zeros(2, 3, 8, 8)).shape
    (tmp_path / 'ok').mkdir(), (tmp_path / 'off').mkdir()
    Runner.from_cfg(_size_cfg(tmp_path / 'ok', 16)).train()  # 16x16 model, 16x16 images
    Runner.from_cfg(_size_cfg(tmp_path / 'off', 8, preflight=False)).train()  # check skipped


def test_the_size_check_leaves_the_random_streams_alone(tmp_path):
    import random

    import torch

    from genforge.runner.preflight import check_train_image_size
    cfg = _size_cfg(tmp_path, 16)
    cfg.train_dataloader.dataset.pipeline.insert(
        1, dict(type='Flip', keys='img', flip_ratio=0.5, direction='horizontal'))
    runner = Runner.from_cfg(cfg)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    first = random.random(), np.random.rand(), torch.rand(3)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    check_train_image_size(runner.model, runner.train_dataloader)  # runs the Flip pipeline
    again = random.random(), np.random.rand(), torch.rand(3)
    assert again[:2] == first[:2] and torch.equal(again[2], first[2])
