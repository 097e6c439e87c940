"""Real-image Inception statistics are cached on disk per (dataset, protocol) and read back.

Random-weight Inception (its weights tag is ``custom-<sha>``, never mistaken for real FIDs).
"""
import os
import time

import numpy as np
import pytest
import torch
from _metric_stubs import PreprocessorOnlyModel  # tests/unit/evaluation/_metric_stubs.py
from PIL import Image
from torch.utils.data import DataLoader

from genforge.datasets import BasicImageDataset
from genforge.datasets.collate import pseudo_collate
from genforge.evaluation.inception import InceptionV3FID
from genforge.evaluation.metrics.fid import FrechetInceptionDistance
from genforge.evaluation.metrics.kid import KernelInceptionDistance


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('inc') / 'random_inception.pth'
    torch.save(InceptionV3FID().state_dict(), path)
    return str(path)


def _write_pngs(folder, n=2, seed=0):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f'{i}.png')


def _loader(folder, pipeline_extra=()):
    # a new dataset object each time: the in-process memo (keyed by id) cannot answer
    # the layout of configs/_base_/datasets/unconditional_imgs_64x64.py
    pipeline = [dict(type='LoadImageFromFile', key='gt'), *pipeline_extra,
                dict(type='PackInputs')]
    dataset = BasicImageDataset(data_root=str(folder), data_prefix=dict(gt=''),
                                pipeline=pipeline)
    return DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)


def _prepare(metric_cls, weights, loader, **kwargs):
    metric = metric_cls(fake_nums=2, inception_style='PyTorch', inception_path=weights,
                        sample_model='orig', **kwargs)
    before = metric.extractor.num_forward
    metric.prepare(PreprocessorOnlyModel(), loader)
    return metric, metric.extractor.num_forward - before


def test_second_validation_reads_the_cache(weights, tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path / 'cache'))
    data = tmp_path / 'data'
    _write_pngs(data)
    first, calls = _prepare(FrechetInceptionDistance, weights, _loader(data))
    assert calls == 1  # 2 images, batch 2
    files = os.listdir(tmp_path / 'cache' / 'inception_stats')
    assert len(files) == 1 and files[0].startswith(first.extractor.weights_tag)
    second, calls = _prepare(FrechetInceptionDistance, weights, _loader(data))
    assert calls == 0  # read from disk, Inception never ran on the real images
    np.testing.assert_array_equal(second.real_stats['cov'], first.real_stats['cov'])
    np.testing.assert_array_equal(second.real_stats['mean'], first.real_stats['mean'])
    assert second.real_stats['num'] == 2 and second.protocol == first.protocol
    # another protocol (KID keeps the feature rows) is cached apart
    kid, calls = _prepare(KernelInceptionDistance, weights, _loader(data), num_subsets=2,
                          max_subset_size=2)
    assert calls == 1 and kid.real_stats['feats'].shape == (2, 2048)
    _, calls = _prepare(KernelInceptionDistance, weights, _loader(data), num_subsets=2,
                        max_subset_size=2)
    assert calls == 0


def test_changed_data_or_pipeline_misses_the_cache(weights, tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path / 'cache'))
    data = tmp_path / 'data'
    _write_pngs(data)
    first, _ = _prepare(FrechetInceptionDistance, weights, _loader(data))
    flipped, calls = _prepare(FrechetInceptionDistance, weights,
                              _loader(data, [dict(type='Flip', keys=['gt'],
                                                  flip_ratio=1.0, direction='vertical')]))
    assert calls == 1
    time.sleep(0.01)  # a new mtime even on coarse clocks
    _write_pngs(data, seed=1)  # same names, new pixels
    changed, calls = _prepare(FrechetInceptionDistance, weights, _loader(data))
    assert calls == 1
    assert not np.allclose(changed.real_stats['mean'], first.real_stats['mean'])
    monkeypatch.setenv('GENFORGE_STATS_CACHE', '0')
    _, calls = _prepare(FrechetInceptionDistance, weights, _loader(data))
    assert calls == 1


def test_unreadable_cache_file_is_recomputed(weights, tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path / 'cache'))
    data = tmp_path / 'data'
    _write_pngs(data)
    first, _ = _prepare(FrechetInceptionDistance, weights, _loader(data))
    folder = tmp_path / 'cache' / 'inception_stats'
    (cached,) = folder.iterdir()
    cached.write_bytes(b'not a pickle')
    again, calls = _prepare(FrechetInceptionDistance, weights, _loader(data))
    assert calls == 1
    np.testing.assert_allclose(again.real_stats['mean'], first.real_stats['mean'])
