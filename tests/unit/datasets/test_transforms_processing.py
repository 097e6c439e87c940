"""MMPretrain classification transforms against NumPy / Pillow / closed forms."""
import math

import numpy as np
import pytest
from PIL import Image, ImageOps

from genforge.datasets.transforms import (
    AutoAugment,
    CenterCrop,
    ColorJitter,
    Equalize,
    Invert,
    Posterize,
    RandAugment,
    RandomCrop,
    RandomErasing,
    RandomFlip,
    RandomResizedCrop,
    ResizeEdge,
    Solarize,
)


def _img(h=12, w=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_random_resized_crop_params_and_output():
    img = _img()
    t = RandomResizedCrop(scale=(6, 8), crop_ratio_range=(0.3, 0.6))
    np.random.seed(1)
    oh, ow, th, tw = t.rand_crop_params(img)
    assert 0.3 * 192 - 8 <= th * tw <= 0.6 * 192 + 8 and 0 <= oh <= 12 - th and 0 <= ow <= 16 - tw
    np.random.seed(1)
    out = t(dict(img=img))['img']
    ref = np.asarray(Image.fromarray(img[oh:oh + th, ow:ow + tw]).resize((8, 6), Image.BILINEAR))
    np.testing.assert_array_equal(out, ref)  # scale is (h, w)
    # impossible aspect range -> central fallback with the clamped ratio
    fb = RandomResizedCrop(scale=4, aspect_ratio_range=(4., 4.), crop_ratio_range=(1., 1.))
    assert fb.rand_crop_params(img) == (4, 0, 4, 16)
    mmagic = RandomResizedCrop(keys=['gt'], crop_size=(5, 5), scale=(0.5, 1.0))
    assert mmagic(dict(gt=img))['gt'].shape == (5, 5, 3)


def test_resize_edge_and_center_crop():
    img = _img(12, 16)
    out = ResizeEdge(scale=6)(dict(img=img))
    assert out['img'].shape == (6, 8, 3) and out['img_shape'] == (6, 8)
    assert ResizeEdge(scale=8, edge='long')(dict(img=img))['img'].shape == (6, 8, 3)
    assert ResizeEdge(scale=4, edge='width')(dict(img=img))['img'].shape == (3, 4, 3)
    c = CenterCrop(crop_size=(6, 4))(dict(img=img))['img']  # (w, h)
    np.testing.assert_array_equal(c, img[4:8, 5:11])
    padded = CenterCrop(crop_size=20, auto_pad=True)(dict(img=img))['img']
    assert padded.shape == (20, 20, 3)


def test_random_crop_with_padding_contains_source():
    img = _img(8, 8)
    np.random.seed(0)
    out = RandomCrop(crop_size=8, padding=2)(dict(img=img))['img']
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)))
    assert any(np.array_equal(padded[y:y + 8, x:x + 8], out) for y in range(5) for x in range(5))
    grown = RandomCrop(crop_size=(10, 12), pad_if_needed=True, padding_mode='edge')(dict(img=img))
    assert grown['img'].shape == (10, 12, 3)


def test_random_flip_probabilities():
    img = _img()
    np.random.seed(0)
    dirs = [RandomFlip(prob=[0.3, 0.2], direction=['horizontal', 'vertical'])(dict(img=img))['flip_direction']
            for _ in range(2000)]
    assert abs(dirs.count('horizontal') / 2000 - 0.3) < 0.04
    assert abs(dirs.count(None) / 2000 - 0.5) < 0.04
    out = RandomFlip(prob=1.0, direction='diagonal')(dict(img=img))
    np.testing.assert_array_equal(out['img'], img[::-1, ::-1])
    assert out['flip'] is True


def test_color_jitter_brightness_closed_form():
    img = _img()
    np.random.seed(3)
    out = ColorJitter(brightness=0.5)(dict(img=img))['img']
    np.random.seed(3)
    np.random.permutation(4)
    f = np.random.uniform(0.5, 1.5)
    ref = np.clip(img.astype(np.float64) * f, 0, 255)
    assert np.abs(out.astype(np.float64) - ref).max() <= 1.0
    assert ColorJitter(hue=0.2, saturation=0.3)(dict(img=img))['img'].shape == img.shape


def test_random_erasing_changes_one_rectangle():
    img = _img(20, 20)
    np.random.seed(0)
    out = RandomErasing(erase_prob=1.0, fill_color=(1, 2, 3))(dict(img=img))['img']
    ys, xs = np.nonzero(np.any(out != img, axis=2))
    assert len(ys) > 0
    region = out[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    assert (region == np.array([1, 2, 3], np.uint8)).all()  # a solid rectangle of fill_color


def test_aug_ops_closed_forms():
    img = _img()
    np.testing.assert_array_equal(Invert(prob=1.0)(dict(img=img))['img'], 255 - img)
    np.testing.assert_array_equal(Solarize(thr=100, prob=1.0)(dict(img=img))['img'],
                                  np.where(img < 100, img, 255 - img))
    np.testing.assert_array_equal(Posterize(bits=3, prob=1.0)(dict(img=img))['img'], img & 0b11100000)
    eq = Equalize(prob=1.0)(dict(img=img))['img']
    ref = np.asarray(ImageOps.equalize(Image.fromarray(img[..., ::-1])))[..., ::-1]  # BGR in, BGR out
    np.testing.assert_array_equal(eq, ref)
    assert Invert(prob=0.0)(dict(img=img))['img'] is img


def test_rand_and_auto_augment_run_with_magnitudes():
    img = _img()
    ra = RandAugment(policies='timm_increasing', num_policies=2, magnitude_level=9, magnitude_std=0.5,
                     hparams=dict(pad_val=128))
    np.random.seed(0)
    for _ in range(20):
        out = ra(dict(img=img.copy()))['img']
        assert out.shape == img.shape and out.dtype == np.uint8
    rot = [op for op in ra.ops if type(op).__name__ == 'Rotate'][0]
    rot.magnitude_std, rot.random_negative_prob = 0., 0.
    assert math.isclose(rot._magnitude(), 27.0)  # 30 * 9 / 10
    aa = AutoAugment(policies='imagenet')
    assert aa(dict(img=img))['img'].shape == img.shape
    with pytest.raises(KeyError, match='unknown policies'):
        RandAugment(policies='nope')
