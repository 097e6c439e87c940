"""MMagic geometric transforms and crops against NumPy / Pillow computations."""
import numpy as np
import pytest
from PIL import Image

from genforge.datasets.transforms import (
    CenterCropLongEdge,
    Crop,
    Flip,
    ModCrop,
    NumpyPad,
    PairedRandomCrop,
    RandomCropLongEdge,
    RandomTransposeHW,
    Resize,
    SetValues,
)


def _img(h=6, w=10, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_resize_fixed_size_matches_pillow():
    img = _img()
    out = Resize(keys='img', scale=(4, 3), interpolation='bicubic')(dict(img=img.copy()))
    ref = np.asarray(Image.fromarray(img).resize((4, 3), Image.BICUBIC))  # scale is (w, h)
    np.testing.assert_array_equal(out['img'], ref)
    np.testing.assert_allclose(out['scale_factor'], [4 / 10, 3 / 6])
    assert out['img_shape'] == (3, 4, 3)


def test_resize_keep_ratio_short_edge_size_factor_and_output_keys():
    img = _img(6, 10)
    out = Resize(keys=['img'], scale=(3, -1), keep_ratio=True)(dict(img=img))  # short edge -> 3
    assert out['img'].shape == (3, 5, 3)
    half = Resize(keys='img', scale=0.5, keep_ratio=True, output_keys='small')(
        dict(img=img, ori_img_shape=(6, 10, 3)))
    assert half['small'].shape == (3, 5, 3) and half['img'] is img and half['ori_small_shape'] == (6, 10, 3)
    sf = Resize(keys='img', size_factor=4, max_size=4)(dict(img=_img(7, 9)))
    assert sf['img'].shape == (4, 4, 3)
    gray = Resize(keys='img', scale=(5, 5))(dict(img=_img(6, 6, 1)))
    assert gray['img'].shape == (5, 5, 1)
    float_img = Resize(keys='img', scale=(4, 2))(dict(img=img.astype(np.float32)))
    assert float_img['img'].dtype == np.float32 and float_img['img'].shape == (2, 4, 3)


def test_flip_transpose_pad_setvalues():
    img, gt = _img(), _img(seed=1)
    out = Flip(keys=['img', 'gt'], flip_ratio=1.0, direction='vertical')(dict(img=img, gt=[gt, gt]))
    np.testing.assert_array_equal(out['img'], img[::-1])
    np.testing.assert_array_equal(out['gt'][1], gt[::-1])
    assert out['flip_infos'][0]['flip'] and out['flip_direction'] == 'vertical'
    assert Flip(keys='img', flip_ratio=0.0)(dict(img=img))['img'] is img
    t = RandomTransposeHW(keys=['img'], transpose_ratio=1.0)(dict(img=img))
    np.testing.assert_array_equal(t['img'], img.transpose(1, 0, 2))
    p = NumpyPad(keys='img', padding=((1, 2), (0, 0), (0, 0)), mode='reflect')(dict(img=img))
    np.testing.assert_array_equal(p['img'], np.pad(img, ((1, 2), (0, 0), (0, 0)), mode='reflect'))
    d = dict(scale=4, nested=[1])
    r = SetValues(dictionary=d)(dict())
    r['nested'].append(2)
    assert d['nested'] == [1]  # deep copy


def test_crop_random_center_and_pad():
    img = _img(6, 10)
    np.random.seed(0)
    out = Crop(keys=['img'], crop_size=(4, 5))(dict(img=img))
    x, y, w, h = out['img_crop_bbox']
    np.testing.assert_array_equal(out['img'], img[y:y + 4, x:x + 5])
    c = Crop(keys=['img'], crop_size=(4, 4), random_crop=False)(dict(img=img))
    np.testing.assert_array_equal(c['img'], img[1:5, 3:7])
    padded = Crop(keys=['img'], crop_size=(8, 10), random_crop=False, is_pad_zeros=True)(dict(img=img))
    assert padded['img'].shape == (8, 10, 3)
    np.testing.assert_array_equal(padded['img'][1:7], img)
    assert padded['img'][0].sum() == 0 and padded['img'][7].sum() == 0


def test_paired_random_crop_aligns_patches():
    lq = _img(4, 5)
    gt = np.repeat(np.repeat(lq, 2, axis=0), 2, axis=1)  # nearest x2 upscaling of lq
    for seed in range(5):
        np.random.seed(seed)
        out = PairedRandomCrop(gt_patch_size=4)(dict(img=lq, gt=gt, scale=2))
        assert out['img'].shape == (2, 2, 3) and out['gt'].shape == (4, 4, 3)
        np.testing.assert_array_equal(out['gt'][::2, ::2], out['img'])


def test_modcrop_and_long_edge_crops():
    out = ModCrop(key='gt')(dict(gt=_img(7, 10), scale=3))
    assert out['gt'].shape == (6, 9, 3)
    assert ModCrop(key='gt', scale=4)(dict(gt=_img(7, 10)))['gt'].shape == (4, 8, 3)
    img = _img(6, 10)
    np.testing.assert_array_equal(CenterCropLongEdge(keys='img')(dict(img=img))['img'], img[:, 2:8])
    seen = set()
    for seed in range(30):
        np.random.seed(seed)
        crop = RandomCropLongEdge(keys=['img'])(dict(img=img))['img']
        offsets = [x for x in range(5) if np.array_equal(img[:, x:x + 6], crop)]
        seen.update(offsets)
    assert seen == {0, 1, 2, 3}  # MMagic draws from [0, long - short)


def test_constructor_errors():
    with pytest.raises(ValueError, match='diagonal'):
        Flip(keys='img', direction='diagonal')
    with pytest.raises(TypeError, match='crop_size'):
        Crop(keys='img', crop_size=4)
    with pytest.raises(ValueError, match='size_factor'):
        Resize(keys='img', scale=(4, 4), size_factor=2)
