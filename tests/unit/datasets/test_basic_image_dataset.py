"""BasicImageDataset (MMagic) and UnconditionalImageDataset (MMGeneration 1.x) on PNGs in tmp_path."""
import numpy as np
import pytest
import torch
from PIL import Image

from genforge.datasets import BasicImageDataset, UnconditionalImageDataset
from genforge.registry import DATASETS


def _png(path, h=8, w=8, seed=0, mode='RGB'):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shape = (h, w, 3) if mode == 'RGB' else (h, w)
    arr = rng.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def paired(tmp_path):
    """DIV2K-like layout: GT 8x8 and LR x2 4x4 named '<name>_x2.png'."""
    gts = {}
    for i, name in enumerate(['0002', '0001', '0003']):
        gts[name] = _png(tmp_path / 'GT' / f'{name}.png', 8, 8, seed=i)
        _png(tmp_path / 'LR' / f'{name}_x2.png', 4, 4, seed=10 + i)
    (tmp_path / 'GT' / 'notes.txt').write_text('not an image')
    return tmp_path, gts


def test_paired_folder_scan_with_filename_tmpl(paired):
    root, _ = paired
    ds = BasicImageDataset(data_root=str(root), data_prefix=dict(gt='GT', img='LR'),
                           filename_tmpl=dict(img='{}_x2'), search_key='gt')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['key'] for i in infos] == ['0001', '0002', '0003']  # sorted, txt ignored
    assert infos[0]['gt_path'] == str(root / 'GT' / '0001.png')
    assert infos[0]['img_path'] == str(root / 'LR' / '0001_x2.png')
    # searching the LR folder strips the template suffix to get the shared name
    by_lr = BasicImageDataset(data_root=str(root), data_prefix=dict(img='LR', gt='GT'),
                              filename_tmpl=dict(img='{}_x2', gt='{}'))
    assert [by_lr.get_data_info(i)['gt_path'] for i in range(3)] == [i['gt_path'] for i in infos]
    assert ds.metainfo == dict(dataset_type='basic_image_dataset', task_name='editing')


def test_ann_file_recursive_and_registry(tmp_path):
    _png(tmp_path / 'imgs' / 'a' / 'x.png')
    _png(tmp_path / 'imgs' / 'b.png')
    (tmp_path / 'meta.txt').write_text('b.png (8,8,3)\n\na/x.png (8,8,3)\n')
    ds = BasicImageDataset(ann_file='meta.txt', data_root=str(tmp_path), data_prefix=dict(gt='imgs'))
    assert [ds.get_data_info(i)['gt_path'] for i in range(2)] == [
        str(tmp_path / 'imgs' / 'b.png'), str(tmp_path / 'imgs' / 'a' / 'x.png')]
    flat = BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='imgs'))
    assert len(flat) == 1
    rec = DATASETS.build(dict(type='BasicImageDataset', data_root=str(tmp_path),
                              data_prefix=dict(gt='imgs'), recursive=True))
    assert [rec.get_data_info(i)['key'] for i in range(2)] == ['a/x', 'b']


def test_mmagic_sr_pipeline_end_to_end(paired):
    root, gts = paired
    pipeline = [dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                dict(type='SetValues', dictionary=dict(scale=2)),
                dict(type='PairedRandomCrop', gt_patch_size=4),
                dict(type='PackInputs')]
    ds = BasicImageDataset(data_root=str(root), data_prefix=dict(img='LR', gt='GT'),
                           filename_tmpl=dict(img='{}_x2'), pipeline=pipeline)
    out = ds[0]
    assert out['inputs'].shape == (3, 2, 2) and out['data_samples'].gt_img.shape == (3, 4, 4)
    assert out['data_samples'].metainfo['gt_path'].endswith('0001.png')
    # the GT patch is a crop of the file at an even offset
    full = torch.from_numpy(gts['0001']).permute(2, 0, 1)
    patch = out['data_samples'].gt_img
    assert any(torch.equal(full[:, y:y + 4, x:x + 4], patch) for y in (0, 2, 4) for x in (0, 2, 4))


def test_unconditional_dataset_mmgen_pipeline(tmp_path):
    arr = _png(tmp_path / 'faces' / 'sub' / 'f.png', 6, 6)
    _png(tmp_path / 'faces' / 'g.jpg', 6, 6)
    pipeline = [dict(type='LoadImageFromFile', key='img'),
                dict(type='Flip', keys=['img'], direction='horizontal', flip_ratio=1.0),
                dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])]
    ds = UnconditionalImageDataset(data_root=str(tmp_path / 'faces'), pipeline=pipeline)
    assert len(ds) == 2
    out = ds[1]
    assert out['data_samples'].metainfo['img_path'].endswith('f.png')
    expected = torch.from_numpy(arr[:, ::-1, ::-1].copy()).permute(2, 0, 1)  # flipped, BGR
    assert torch.equal(out['inputs']['img'], expected)
