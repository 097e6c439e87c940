"""PSNR and SSIM with MMagic/BasicSR semantics, on [0, 255]-range arrays.

* ``convert_to='Y'``: ITU-R BT.601 luma of the studio-swing YCbCr used by MMagic/BasicSR/MATLAB:
  ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`` for R, G, B in [0, 255].
* SSIM: Wang et al. 2004 with an 11x11 Gaussian window (sigma 1.5), K1=0.01, K2=0.03, L=255,
  'valid' filtering (the 5-pixel border of the SSIM map is dropped) and per-channel averaging.
  Equals scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)``.

Computed in float64 (MMagic uses float32: differences ~1e-6).
"""
from __future__ import annotations

import numpy as np

__all__ = ['psnr', 'ssim', 'img_transform', 'reorder_image', 'rgb2y', 'bgr2y']

_Y_COEFFS_RGB = np.array([65.481, 128.553, 24.966])


def to_numpy(img) -> np.ndarray:
    """Tensor or array -> float64 ndarray (no copy of the values' range)."""
    if hasattr(img, 'detach'):
        img = img.detach().cpu().numpy()
    return np.asarray(img, dtype=np.float64)


def reorder_image(img: np.ndarray, input_order: str = 'HWC') -> np.ndarray:
    """Return ``img`` as (H, W, C); 2-D inputs become (H, W, 1)."""
    if input_order not in ('HWC', 'CHW'):
        raise ValueError(f"input_order={input_order!r}; use 'HWC' or 'CHW'")
    if img.ndim == 2:
        return img[..., None]
    if input_order == 'CHW':
        return img.transpose(1, 2, 0)
    return img


def rgb2y(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 255] -> (H, W) BT.601 Y in [16, 235]."""
    return img @ _Y_COEFFS_RGB / 255. + 16.


def bgr2y(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) BGR in [0, 255] -> (H, W) BT.601 Y in [16, 235]."""
    return img @ _Y_COEFFS_RGB[::-1] / 255. + 16.


def img_transform(img, crop_border: int = 0, input_order: str = 'HWC',
                  convert_to: str | None = None, channel_order: str = 'rgb') -> np.ndarray:
    """To float64 (H, W, C), optionally to Y (C=1), then drop ``crop_border`` pixels per edge."""
    img = reorder_image(to_numpy(img), input_order)
    if isinstance(convert_to, str) and convert_to.lower() == 'y':
        if img.shape[2] == 3:
            order = channel_order.lower()
            if order not in ('rgb', 'bgr'):
                raise ValueError(f"channel_order={channel_order!r}; use 'rgb' or 'bgr'")
            img = (rgb2y(img) if order == 'rgb' else bgr2y(img))[..., None]
        elif img.shape[2] != 1:
            raise ValueError(f"convert_to='Y' needs 1 or 3 channels, got {img.shape[2]}")
    elif convert_to is not None:
        raise ValueError(f"convert_to={convert_to!r}; use 'Y' or None")
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
    return img


def _check_pair(img1, img2) -> None:
    if tuple(img1.shape) != tuple(img2.shape):
        raise ValueError(f'Image shapes are different: {tuple(img1.shape)}, '
                         f'{tuple(img2.shape)}.')


def psnr(img1, img2, crop_border: int = 0, input_order: str = 'HWC',
         convert_to: str | None = None, channel_order: str = 'rgb') -> float:
    """Peak signal-to-noise ratio in dB for [0, 255] images (inf for identical images)."""
    _check_pair(img1, img2)
    a = img_transform(img1, crop_border, input_order, convert_to, channel_order)
    b = img_transform(img2, crop_border, input_order, convert_to, channel_order)
    mse = float(np.mean((a - b) ** 2))
    if mse == 0:
        return float('inf')
    return float(20. * np.log10(255. / np.sqrt(mse)))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-x ** 2 / (2 * sigma ** 2))
    return k / k.sum()


def _filter_valid(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation of a 2-D image with the 1-D kernel ``k``."""
    win = np.lib.stride_tricks.sliding_window_view(img, len(k), axis=0) @ k
    return np.lib.stride_tricks.sliding_window_view(win, len(k), axis=1) @ k


def _ssim_channel(img1: np.ndarray, img2: np.ndarray) -> float:
    c1 = (0.01 * 255) ** 2
    c2 = (0.03 * 255) ** 2
    k = _gaussian_window()
    if min(img1.shape) < len(k):
        raise ValueError(f'SSIM needs images of at least 11x11 after crop_border, got '
                         f'{img1.shape}')
    mu1, mu2 = _filter_valid(img1, k), _filter_valid(img2, k)
    sigma1_sq = _filter_valid(img1 * img1, k) - mu1 ** 2
    sigma2_sq = _filter_valid(img2 * img2, k) - mu2 ** 2
    sigma12 = _filter_valid(img1 * img2, k) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * sigma12 + c2)) / \
        ((mu1 ** 2 + mu2 ** 2 + c1) * (sigma1_sq + sigma2_sq + c2))
    return float(ssim_map.mean())


def ssim(img1, img2, crop_border: int = 0, input_order: str = 'HWC',
         convert_to: str | None = None, channel_order: str = 'rgb') -> float:
    """Structural similarity of [0, 255] images, averaged over channels."""
    _check_pair(img1, img2)
    a = img_transform(img1, crop_border, input_order, convert_to, channel_order)
    b = img_transform(img2, crop_border, input_order, convert_to, channel_order)
    return float(np.mean([_ssim_channel(a[..., i], b[..., i]) for i in range(a.shape[2])]))
