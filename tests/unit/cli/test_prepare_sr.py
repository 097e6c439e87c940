"""genforge prepare-sr: HR crops and their bicubic downscales, named alike, written atomically."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genforge.cli import main


def _save(path, h, w, seed=0, mode='RGB'):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (h, w, 3) if mode == 'RGB' else (h, w), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def test_pairs_are_crops_and_bicubic_downscales(tmp_path, capsys):
    hr_dir = tmp_path / 'photos'
    hr_dir.mkdir()
    a = _save(hr_dir / 'a.png', 30, 41, 0)
    _save(hr_dir / 'b.jpg', 16, 16, 1)
    _save(hr_dir / 'gray.png', 12, 9, 2, mode='L')
    (hr_dir / 'notes.txt').write_text('not an image')
    assert main(['prepare-sr', str(hr_dir), '--out', str(tmp_path / 'sr'), '--scale', '4']) == 0
    assert sorted(p.name for p in (tmp_path / 'sr' / 'HR').iterdir()) == ['a.png', 'b.png',
                                                                           'gray.png']
    assert sorted(p.name for p in (tmp_path / 'sr' / 'LR_x4').iterdir()) == ['a.png', 'b.png',
                                                                              'gray.png']
    hr = np.array(Image.open(tmp_path / 'sr' / 'HR' / 'a.png'))
    np.testing.assert_array_equal(hr, a[:28, :40])  # bottom/right crop to a multiple of 4
    lr = np.array(Image.open(tmp_path / 'sr' / 'LR_x4' / 'a.png'))
    expected = np.array(Image.fromarray(a[:28, :40]).resize((10, 7), Image.BICUBIC))
    np.testing.assert_array_equal(lr, expected)
    assert np.array(Image.open(tmp_path / 'sr' / 'LR_x4' / 'gray.png')).shape == (3, 2, 3)
    assert not list((tmp_path / 'sr').rglob('*.tmp'))
    assert '3 pair(s)' in capsys.readouterr().out


def test_pairs_load_as_a_basic_image_dataset(tmp_path):
    from genforge.datasets import BasicImageDataset
    hr_dir = tmp_path / 'photos'
    hr_dir.mkdir()
    for i in range(2):
        _save(hr_dir / f'{i}.png', 24, 32, i)
    assert main(['prepare-sr', str(hr_dir), '--out', str(tmp_path / 'sr'), '--scale', '2']) == 0
    ds = BasicImageDataset(data_root=str(tmp_path / 'sr'), data_prefix=dict(img='LR_x2', gt='HR'),
                           pipeline=[dict(type='LoadImageFromFile', key='img'),
                                     dict(type='LoadImageFromFile', key='gt')])
    assert len(ds) == 2
    item = ds[0]
    assert item['img'].shape == (12, 16, 3) and item['gt'].shape == (24, 32, 3)


@pytest.mark.parametrize('setup, argv_tail, message', [
    ('none', ['--scale', '4'], 'is not a folder'),
    ('empty', ['--scale', '4'], 'no images'),
    ('tiny', ['--scale', '4'], 'smaller than --scale 4'),
    ('clash', ['--scale', '2'], 'would both be written as x.png'),
    ('ok', ['--scale', '1'], '--scale 1 must be an integer >= 2'),
    ('broken', ['--scale', '2'], 'cannot read'),
])
def test_bad_input_is_one_line_naming_it(tmp_path, capsys, setup, argv_tail, message):
    hr_dir = tmp_path / 'photos'
    if setup != 'none':
        hr_dir.mkdir()
    if setup == 'tiny':
        _save(hr_dir / 'x.png', 3, 8)
    if setup in ('clash', 'ok'):
        _save(hr_dir / 'x.png', 8, 8)
    if setup == 'clash':
        _save(hr_dir / 'x.jpg', 8, 8)
    if setup == 'broken':
        (hr_dir / 'x.png').write_bytes(b'not a png')
    assert main(['prepare-sr', str(hr_dir), '--out', str(tmp_path / 'sr'), *argv_tail]) == 2
    err = capsys.readouterr().err
    assert message in err


def test_refuses_to_write_over_its_input(tmp_path, capsys):
    hr_dir = tmp_path / 'sr' / 'HR'
    hr_dir.mkdir(parents=True)
    _save(hr_dir / 'x.png', 8, 8)
    assert main(['prepare-sr', str(hr_dir), '--out', str(tmp_path / 'sr')]) == 2
    assert 'would overwrite the images' in capsys.readouterr().err
