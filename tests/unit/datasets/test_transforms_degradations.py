"""RandomNoise / RandomJPEGCompression: noise statistics, channel handling, JPEG quality order,
and the cv2 convention (arrays coded as BGR unless bgr2rgb=True)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from genforge.registry import TRANSFORMS


def _smooth_rgb(h=32, w=32):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], -1).astype(np.uint8)


def test_gaussian_noise_has_the_requested_std_and_is_float():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='RandomNoise', keys=['img'], params=dict(
        noise_type=['gaussian'], noise_prob=[1], gaussian_sigma=[15, 15],
        gaussian_gray_noise_prob=0)))
    img = np.full((64, 64, 3), 128, np.uint8)
    out = t(dict(img=img, gt=img.copy()))
    noise = out['img'] - 128.0
    assert out['img'].dtype == np.float32
    assert abs(noise.std() - 15) < 0.5 and abs(noise.mean()) < 0.5
    assert not np.allclose(noise[..., 0], noise[..., 1])  # independent per channel
    assert (out['gt'] == 128).all()  # only the listed keys


def test_gray_gaussian_noise_is_shared_across_channels():
    np.random.seed(1)
    t = TRANSFORMS.build(dict(type='RandomNoise', keys='img', params=dict(
        noise_type=['gaussian'], noise_prob=[1], gaussian_sigma=[5, 5],
        gaussian_gray_noise_prob=1)))
    out = t(dict(img=np.zeros((8, 8, 3), np.float32)))['img']
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_poisson_noise_is_zero_mean_and_grows_with_scale():
    img = np.random.default_rng(0).integers(20, 230, (64, 64, 3)).astype(np.uint8)
    stds = []
    for scale in (0.5, 2.0):
        np.random.seed(2)
        t = TRANSFORMS.build(dict(type='RandomNoise', keys=['img'], params=dict(
            noise_type=['poisson'], noise_prob=[1], poisson_scale=[scale, scale],
            poisson_gray_noise_prob=0)))
        diff = t(dict(img=img))['img'] - img.astype(np.float32)
        assert abs(diff.mean()) < 0.2 * diff.std()
        stds.append(diff.std())
    assert stds[1] == pytest.approx(4 * stds[0], rel=1e-5)  # same draws, 4x the scale


def test_unknown_noise_type_is_named():
    with pytest.raises(ValueError, match="'speckle'"):
        TRANSFORMS.build(dict(type='RandomNoise', keys=['img'], params=dict(
            noise_type=['speckle'], noise_prob=[1])))


@pytest.mark.parametrize('gray', [False, True])
def test_jpeg_error_falls_with_quality_and_keeps_channels(gray):
    img = _smooth_rgb()
    if gray:
        img = img[..., :1]
    errors = []
    for q in (10, 90):
        t = TRANSFORMS.build(dict(type='RandomJPEGCompression', keys=['img'],
                                  params=dict(quality=[q, q], color_type='color')))
        out = t(dict(img=img.copy()))['img']
        assert out.dtype == np.uint8 and out.shape == img.shape
        errors.append(np.abs(out.astype(float) - img).mean())
    assert errors[0] > errors[1] > 0


def test_jpeg_codes_the_array_as_bgr_like_cv2():
    img = _smooth_rgb()
    # independent: Pillow on the channel-reversed array, reversed back (what cv2 would do)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img[..., ::-1])).save(buf, 'JPEG', quality=30)
    want = np.array(Image.open(io.BytesIO(buf.getvalue())))[..., ::-1]
    t = TRANSFORMS.build(dict(type='RandomJPEGCompression', keys=['img'],
                              params=dict(quality=[30, 30])))
    np.testing.assert_array_equal(t(dict(img=img.copy()))['img'], want)
    as_rgb = TRANSFORMS.build(dict(type='RandomJPEGCompression', keys=['img'], bgr2rgb=True,
                                   params=dict(quality=[30, 30])))
    assert not np.array_equal(as_rgb(dict(img=img.copy()))['img'], want)


def test_jpeg_quality_range_is_checked():
    with pytest.raises(ValueError, match='params.quality'):
        TRANSFORMS.build(dict(type='RandomJPEGCompression', keys=['img'],
                              params=dict(quality=[0, 120])))
