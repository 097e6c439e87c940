"""CustomDataset and ImageNet (MMPretrain): class folders, flat folders, annotation files."""
import numpy as np
import pytest
from PIL import Image

from genforge.datasets import CustomDataset, ImageNet


def _png(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def test_class_folders(tmp_path):
    _png(tmp_path / 'train' / 'dog' / 'b.png')
    _png(tmp_path / 'train' / 'cat' / 'x' / 'a.png')
    _png(tmp_path / 'train' / 'dog' / 'a.png')
    ds = CustomDataset(data_root=str(tmp_path), data_prefix='train')
    assert ds.CLASSES == ('cat', 'dog') and ds.class_to_idx == dict(cat=0, dog=1)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(i['img_path'][len(str(tmp_path)) + 1:], i['gt_label']) for i in infos] == [
        ('train/cat/x/a.png', 0), ('train/dog/a.png', 1), ('train/dog/b.png', 1)]
    assert all(i['gt_path'] == i['img_path'] for i in infos)
    assert ds.get_gt_labels().tolist() == [0, 1, 1]


def test_flat_folder_and_ann_file(tmp_path):
    _png(tmp_path / 'flat' / 'z.png')
    _png(tmp_path / 'flat' / 'y.bmp')
    ds = CustomDataset(data_prefix=str(tmp_path / 'flat'), with_label=False)
    assert [ds.get_data_info(i)['img_path'] for i in range(2)] == [
        str(tmp_path / 'flat' / 'y.bmp'), str(tmp_path / 'flat' / 'z.png')]
    assert 'gt_label' not in ds.get_data_info(0)
    (tmp_path / 'ann.txt').write_text('z.png 3\ny.bmp 0\n')
    ann = CustomDataset(data_root=str(tmp_path), data_prefix='flat', ann_file='ann.txt',
                        metainfo=dict(classes=['a', 'b', 'c', 'd']))
    assert [(ann.get_data_info(i)['gt_label']) for i in range(2)] == [3, 0]
    assert ann.CLASSES == ['a', 'b', 'c', 'd']


def test_imagenet_split_uses_meta_file(tmp_path):
    _png(tmp_path / 'val' / 'img1.png')
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'val.txt').write_text('img1.png 7\n')
    ds = ImageNet(data_root=str(tmp_path), split='val')
    assert ds.get_data_info(0)['img_path'] == str(tmp_path / 'val' / 'img1.png')
    assert ds.get_data_info(0)['gt_label'] == 7
    _png(tmp_path / 'test' / 'q.png')
    test = ImageNet(data_root=str(tmp_path), split='test')
    assert not test.with_label and 'gt_label' not in test.get_data_info(0)
    pipeline = [dict(type='LoadImageFromFile', key='gt'), dict(type='CenterCropLongEdge', keys=['gt']),
                dict(type='PackInputs')]
    out = ImageNet(data_root=str(tmp_path), split='val', pipeline=pipeline)[0]  # MMagic convention
    assert out['data_samples'].gt_img.shape == (3, 6, 6) and out['data_samples'].gt_label.tolist() == [7]
    with pytest.raises(ValueError, match="split='dev'"):
        ImageNet(data_root=str(tmp_path), split='dev')
