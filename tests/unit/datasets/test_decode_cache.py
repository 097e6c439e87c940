"""``cache=True`` decodes each image once; dataloaders fit num_workers to the machine."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

import genforge.datasets.transforms.loading as loading
from genforge.datasets import BasicImageDataset
from genforge.runner.build import build_dataloader, usable_cpus

PIPELINE = [dict(type='LoadImageFromFile', key='gt'),
            dict(type='Crop', keys=['gt'], crop_size=(4, 4), random_crop=False)]


def _write_pngs(folder, n=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (8, 6, 3), dtype=np.uint8)).save(folder / f'{i}.png')


@pytest.fixture
def count_reads(monkeypatch):
    calls = []
    real = loading.read_image

    def counting(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)
    monkeypatch.setattr(loading, 'read_image', counting)
    return calls


def _dataset(folder, **kwargs):
    return BasicImageDataset(data_root=str(folder), data_prefix=dict(gt=''), pipeline=PIPELINE,
                             **kwargs)


def test_cache_decodes_each_file_once_and_gives_the_same_samples(tmp_path, count_reads):
    _write_pngs(tmp_path / 'data')
    plain = _dataset(tmp_path / 'data')
    expected = [plain[i]['gt'].copy() for i in range(3)]
    count_reads.clear()
    cached = _dataset(tmp_path / 'data', cache=True)
    assert len(count_reads) == 3  # decoded at initialisation
    for _ in range(2):  # two epochs
        for i in range(3):
            sample = cached[i]['gt']
            np.testing.assert_array_equal(sample, expected[i])
            sample[...] = 0  # a transform writing in place must not touch the cache
    assert len(count_reads) == 3


def test_cache_needs_a_loading_step(tmp_path):
    _write_pngs(tmp_path / 'data')
    with pytest.raises(ValueError, match='no LoadImageFromFile'):
        BasicImageDataset(data_root=str(tmp_path / 'data'), data_prefix=dict(gt=''),
                          pipeline=[dict(type='PackInputs')], cache=True)


def test_num_workers_is_capped_at_the_usable_cores(tmp_path, caplog):
    _write_pngs(tmp_path / 'data')
    cfg = dict(batch_size=2, num_workers=usable_cpus() + 6, persistent_workers=True,
               dataset=dict(type='BasicImageDataset', data_root=str(tmp_path / 'data'),
                            data_prefix=dict(gt=''), pipeline=PIPELINE))
    with caplog.at_level(logging.INFO, logger='genforge.runner.build'):
        loader = build_dataloader(cfg, key_path='train_dataloader')
    assert loader.num_workers == usable_cpus()
    assert any('train_dataloader.num_workers' in r.getMessage() for r in caplog.records)
    small = build_dataloader(dict(cfg, num_workers=1), key_path='val_dataloader')
    assert small.num_workers == 1


def test_exif_orientation_applied_only_when_present(tmp_path, monkeypatch):
    from PIL import ImageOps
    rng = np.random.default_rng(1)
    pil = Image.fromarray(rng.integers(0, 256, (6, 10, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    pil.save(tmp_path / 'rot.png', exif=exif)
    pil.save(tmp_path / 'plain.png')
    with Image.open(tmp_path / 'rot.png') as f:
        expected = np.asarray(ImageOps.exif_transpose(f).convert('RGB'))
    got = loading.read_image(str(tmp_path / 'rot.png'), channel_order='rgb')
    assert got.shape == (10, 6, 3)
    np.testing.assert_array_equal(got, expected)
    # no orientation tag: no transpose call (it would return a full copy of the image)
    monkeypatch.setattr(loading.ImageOps, 'exif_transpose',
                        lambda *a, **k: pytest.fail('exif_transpose called'))
    np.testing.assert_array_equal(loading.read_image(str(tmp_path / 'plain.png'),
                                                     channel_order='rgb'), np.asarray(pil))
