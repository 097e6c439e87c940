"""Bad data inputs (issue 8): each one fails with a message naming the file and the fix."""
import logging

import numpy as np
import pytest
from PIL import Image

from genforge.datasets import (
    BadImageError,
    BasicImageDataset,
    CustomDataset,
    MissingImageError,
    UnconditionalImageDataset,
    default_collate,
)
from genforge.datasets.transforms import (
    CenterCrop,
    Crop,
    LoadImageFromFile,
    PackInputs,
    PairedRandomCrop,
    RandomCrop,
)


def _png(path, h=8, w=8, mode='RGB', fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w, 3) if mode == 'RGB' else (h, w)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)).save(path, format=fmt)
    return str(path)


def _load(path, **kw):
    return LoadImageFromFile(key='img', **kw)(dict(img_path=str(path)))


# -- folders ------------------------------------------------------------------------------------
def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"image folder '.*nowhere' does not exist.*data_root"):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='nowhere'))


def test_folder_is_a_file(tmp_path):
    (tmp_path / 'f').write_text('x')
    with pytest.raises(NotADirectoryError, match='is a file, not a folder'):
        UnconditionalImageDataset(data_root=str(tmp_path / 'f'), pipeline=[])


def test_empty_folder(tmp_path):
    (tmp_path / 'gt').mkdir()
    with pytest.raises(FileNotFoundError, match=r"found no image files in '.*gt'"):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='gt'))


def test_folder_with_only_other_suffixes(tmp_path):
    (tmp_path / 'gt').mkdir()
    (tmp_path / 'gt' / 'a.webp').write_bytes(b'x')
    with pytest.raises(FileNotFoundError, match=r'1 other file\(s\) were ignored.*suffix'):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='gt'))


def test_images_only_in_subfolders_suggests_recursive(tmp_path):
    _png(tmp_path / 'gt' / 'sub' / 'a.png')
    with pytest.raises(FileNotFoundError, match='recursive=True'):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='gt'))


def test_filename_tmpl_matches_nothing(tmp_path):
    _png(tmp_path / 'lr' / 'a_x2.png')
    with pytest.raises(FileNotFoundError, match=r"none matches filename_tmpl\['img'\]='\{\}_x4'"):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(img='lr'),
                          filename_tmpl=dict(img='{}_x4'))


def test_paired_partner_missing(tmp_path):
    _png(tmp_path / 'gt' / 'a.png')
    _png(tmp_path / 'lr' / 'a.png')  # should be a_x4.png
    msg = r"1 paired file\(s\) are missing, e.g. '.*a_x4.png'.*filename_tmpl"
    with pytest.raises(FileNotFoundError, match=msg):
        BasicImageDataset(data_root=str(tmp_path), data_prefix=dict(gt='gt', img='lr'),
                          filename_tmpl=dict(img='{}_x4'), search_key='gt')


def test_missing_ann_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"annotation file '.*meta.txt' does not exist"):
        BasicImageDataset(ann_file='meta.txt', data_root=str(tmp_path), data_prefix=dict(gt=''))


def test_bad_ann_line_names_file_and_line(tmp_path):
    (tmp_path / 'ann.txt').write_text('a.png 1\nb.png\n')
    with pytest.raises(ValueError, match=r'ann.txt:2: expected "<path> <integer label>"'):
        CustomDataset(data_root=str(tmp_path), ann_file='ann.txt')


def test_no_class_folders(tmp_path):
    _png(tmp_path / 'a.png')
    with pytest.raises(FileNotFoundError, match='no class sub-folders.*with_label=False'):
        CustomDataset(data_prefix=str(tmp_path))


# -- image files --------------------------------------------------------------------------------
def test_corrupt_bytes(tmp_path):
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(range(200)))
    with pytest.raises(BadImageError, match=r'bad.png: cannot decode the image.*skip_bad_images=True') as e:
        _load(bad)
    assert e.value.path == str(bad)


def test_truncated_png_and_jpeg(tmp_path):
    for name, fmt in (('t.png', 'PNG'), ('t.jpg', 'JPEG')):
        path = tmp_path / name
        _png(path, 32, 32, fmt=fmt)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
        with pytest.raises(BadImageError, match=f'{name}: cannot decode.*corrupt, truncated'):
            _load(path)


def test_empty_file(tmp_path):
    (tmp_path / 'e.png').write_bytes(b'')
    with pytest.raises(BadImageError, match=r'e.png: the image file is empty \(0 bytes\)'):
        _load(tmp_path / 'e.png')


def test_text_file_with_image_suffix(tmp_path):
    (tmp_path / 'note.jpg').write_text('hello')
    with pytest.raises(BadImageError, match='note.jpg: cannot decode'):
        _load(tmp_path / 'note.jpg')


def test_missing_image_file(tmp_path):
    with pytest.raises(MissingImageError, match=r'gone.png: image file not found.*filename_tmpl'):
        _load(tmp_path / 'gone.png')
    assert issubclass(MissingImageError, FileNotFoundError)


def test_load_key_mismatch():
    with pytest.raises(KeyError, match=r"needs results\['gt_path'\].*key='gt'"):
        LoadImageFromFile(key='gt')(dict(img_path='a.png'))
    with pytest.raises(ValueError, match="color_type='colour'"):
        LoadImageFromFile(color_type='colour')


# -- channel counts and sizes -------------------------------------------------------------------
def test_mixed_channel_counts_in_a_batch(tmp_path):
    rgb, gray = _png(tmp_path / 'rgb.png'), _png(tmp_path / 'gray.png', mode='L')
    pipe = [LoadImageFromFile(key='img', color_type='unchanged'), PackInputs()]
    samples = []
    for p in (rgb, gray):
        r = dict(img_path=p)
        for t in pipe:
            r = t(r)
        samples.append(r)
    with pytest.raises(RuntimeError, match=r"(?s)shape \(1, 8, 8\) \(.*gray.png\).*color_type='color'"):
        default_collate(samples)


def test_paired_channel_mismatch():
    lq, gt = np.zeros((4, 4, 3), np.uint8), np.zeros((8, 8, 1), np.uint8)
    with pytest.raises(ValueError, match=r'LQ has 3 channels but GT has 1 \(lq.png and gt.png\)'):
        PairedRandomCrop(gt_patch_size=4)(dict(img=lq, gt=gt, scale=2, img_path='lq.png', gt_path='gt.png'))


def test_paired_scale_mismatch_and_small_lq():
    res = dict(img=np.zeros((4, 4, 3), np.uint8), gt=np.zeros((12, 12, 3), np.uint8), scale=2,
               img_path='lq.png', gt_path='gt.png')
    with pytest.raises(ValueError, match=r'GT \(12, 12\) is not 2x LQ \(4, 4\).*gt.png'):
        PairedRandomCrop(gt_patch_size=4)(res)
    res['gt'] = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r'LQ \(4, 4\) is smaller than the patch size \(8, 8\).*lq.png'):
        PairedRandomCrop(gt_patch_size=16)(res)
    with pytest.raises(KeyError, match='SetValues'):
        PairedRandomCrop(gt_patch_size=4)(dict(img=res['img'], gt=res['gt']))


def test_image_smaller_than_crop():
    small = dict(gt=np.zeros((5, 5, 3), np.uint8), gt_path='tiny.png')
    with pytest.raises(ValueError, match=r"image 'gt' from tiny.png is 5x5.*is_pad_zeros=True"):
        Crop(keys=['gt'], crop_size=(8, 8))(small)
    with pytest.raises(ValueError, match=r'tiny.png is 5x5.*pad_if_needed=True'):
        RandomCrop(crop_size=8)(dict(img=small['gt'], img_path='tiny.png'))
    with pytest.raises(ValueError, match=r'tiny.png is 5x5.*auto_pad=True'):
        CenterCrop(crop_size=8)(dict(img=small['gt'], img_path='tiny.png'))


# -- skipping -----------------------------------------------------------------------------------
def test_skip_bad_images_warns_and_replaces(tmp_path, caplog):
    _png(tmp_path / 'gt' / 'a.png')
    (tmp_path / 'gt' / 'b.png').write_bytes(b'broken')
    pipeline = [dict(type='LoadImageFromFile', key='gt'), dict(type='PackInputs')]
    kw = dict(data_root=str(tmp_path), data_prefix=dict(gt='gt'), pipeline=pipeline)
    strict = BasicImageDataset(**kw)
    with pytest.raises(BadImageError, match='b.png'):
        strict[1]
    lenient = BasicImageDataset(skip_bad_images=True, **kw)
    np.random.seed(0)
    with caplog.at_level(logging.WARNING):
        out = lenient[1]
    assert out['data_samples'].metainfo['gt_path'].endswith('a.png')
    assert 'skip_bad_images=True: skipping sample 1' in caplog.text and 'b.png' in caplog.text
    with pytest.raises(BadImageError):  # evaluation never skips silently
        BasicImageDataset(skip_bad_images=True, test_mode=True, **kw)[1]


def test_all_images_bad_gives_up(tmp_path):
    (tmp_path / 'x.png').write_bytes(b'broken')
    ds = UnconditionalImageDataset(data_root=str(tmp_path), skip_bad_images=True, max_refetch=3,
                                   pipeline=[dict(type='LoadImageFromFile')])
    with pytest.raises(RuntimeError, match='no valid sample after 3 refetches'):
        ds[0]
