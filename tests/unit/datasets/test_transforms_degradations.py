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


# ---- blur kernels, RandomBlur, RandomResize, CopyValues ----

def test_iso_kernel_is_the_outer_product_of_1d_gaussians():
    from genforge.datasets.transforms.blur_kernels import make_kernel
    x = np.arange(9) - 4
    g = np.exp(-x**2 / (2 * 1.7**2))
    want = np.outer(g, g) / np.outer(g, g).sum()
    np.testing.assert_allclose(make_kernel('iso', 9, sigma_x=1.7), want, rtol=1e-5, atol=1e-7)


def test_aniso_rotation_and_generalised_forms():
    from genforge.datasets.transforms.blur_kernels import make_kernel
    a = make_kernel('aniso', 11, sigma_x=1.0, sigma_y=3.0, rotation=np.pi / 2)
    b = make_kernel('aniso', 11, sigma_x=3.0, sigma_y=1.0, rotation=0.)
    np.testing.assert_allclose(a, b, atol=1e-6)  # a quarter turn swaps the axes
    # unrotated, it separates: the centre column holds g_x(0) / sum(g_x) of the mass, sigma_x=3
    gx = np.exp(-(np.arange(11) - 5)**2 / (2 * 3.**2))
    assert b[:, 5].sum() == pytest.approx(gx[5] / gx.sum(), rel=1e-5)
    np.testing.assert_allclose(make_kernel('generalized_aniso', 11, 1.0, 3.0, 0.3, beta_gaussian=1.),
                               make_kernel('aniso', 11, 1.0, 3.0, 0.3), atol=1e-6)
    for kind in ('plateau_iso', 'sinc'):
        k = make_kernel(kind, 13, sigma_x=2., beta_plateau=1.5, omega=np.pi / 2)
        assert k.sum() == pytest.approx(1, abs=1e-5) and k.argmax() == 13 * 6 + 6
        np.testing.assert_allclose(k, k.T, atol=1e-7)
    with pytest.raises(ValueError, match='odd'):
        make_kernel('iso', 4)


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_filter2d_matches_scipy_correlate_with_mirrored_borders(dtype):
    from scipy import ndimage

    from genforge.datasets.transforms.blur_kernels import filter2d, make_kernel
    img = np.random.default_rng(0).integers(0, 256, (12, 10, 3)).astype(dtype)
    k = make_kernel('aniso', 7, 0.8, 2.0, 0.5)
    want = np.stack([ndimage.correlate(img[..., c].astype(np.float64), k.astype(np.float64),
                                       mode='mirror') for c in range(3)], -1)
    if dtype == np.uint8:
        want = np.clip(np.round(want), 0, 255)
    got = filter2d(img, k)
    assert got.dtype == dtype
    np.testing.assert_allclose(got.astype(np.float64), want, atol=1e-4)


def test_random_blur_of_an_impulse_is_its_kernel():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='RandomBlur', keys=['img'], params=dict(
        kernel_size=[5], kernel_list=['iso'], kernel_prob=[1], sigma_x=[1, 1])))
    img = np.zeros((11, 11, 1), np.float32)
    img[5, 5] = 1
    out = t(dict(img=img))['img'][..., 0]
    x = np.arange(5) - 2
    g = np.exp(-x**2 / 2)
    np.testing.assert_allclose(out[3:8, 3:8], np.outer(g, g) / np.outer(g, g).sum(), atol=1e-6)
    assert out.sum() == pytest.approx(1)


def test_random_resize_target_and_random_factor():
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    fixed = TRANSFORMS.build(dict(type='RandomResize', keys=['img'], params=dict(
        target_size=(7, 9), resize_opt=['bicubic'], resize_prob=[1])))
    assert fixed(dict(img=img))['img'].shape == (7, 9, 3)
    down = TRANSFORMS.build(dict(type='RandomResize', keys=['img'], params=dict(
        resize_mode_prob=[0, 1, 0], resize_scale=[0.25, 0.5], resize_opt=['area'],
        resize_prob=[1], is_size_even=True)))
    for seed in range(5):
        np.random.seed(seed)
        h, w = down(dict(img=img))['img'].shape[:2]
        assert 0.25 * 20 - 2 <= h <= 20 and h % 2 == 0 and w % 2 == 0 and w < 30
    with pytest.raises(ValueError, match="'cubic'"):
        TRANSFORMS.build(dict(type='RandomResize', keys=['img'],
                              params=dict(target_size=(4, 4), resize_opt=['cubic'])))


def test_copy_values_is_a_deep_copy():
    t = TRANSFORMS.build(dict(type='CopyValues', src_keys=['gt'], dst_keys=['img']))
    gt = np.zeros((4, 4, 3), np.uint8)
    out = t(dict(gt=gt))
    out['img'][0, 0, 0] = 9
    assert gt[0, 0, 0] == 0 and out['img'].shape == gt.shape
    with pytest.raises(ValueError, match='same length'):
        TRANSFORMS.build(dict(type='CopyValues', src_keys=['gt'], dst_keys=['img', 'x']))
