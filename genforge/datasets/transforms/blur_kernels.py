"""Blur kernels of the Real-ESRGAN / BSRGAN degradation model (MMagic's kernel names), and the
cv2-style 2-D filtering that applies them.

All kernels are (k, k) float32, odd k, summing to 1. ``sigma_*`` in pixels, ``rotation`` in radians.
Written from the published definitions: an (anisotropic) Gaussian exp(-q/2) of the quadratic form
q = x^T S^-1 x with S = R diag(sx^2, sy^2) R^T, its generalised form exp(-q^beta / 2), the plateau
form 1 / (1 + q^beta), and the circular low-pass ("sinc") filter omega J1(omega r) / (2 pi r).
"""
from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ['KERNEL_TYPES', 'make_kernel', 'filter2d']

KERNEL_TYPES = ('iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso',
                'plateau_aniso', 'sinc')


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, rotation: float) -> np.ndarray:
    """(k, k) values of x^T S^-1 x on the pixel grid centred on the kernel."""
    r = np.array([[np.cos(rotation), -np.sin(rotation)], [np.sin(rotation), np.cos(rotation)]])
    cov = r @ np.diag([sigma_x**2, sigma_y**2]) @ r.T
    inv = np.linalg.inv(cov)
    ax = np.arange(size) - (size - 1) / 2
    xx, yy = np.meshgrid(ax, ax)
    grid = np.stack([xx, yy], -1)  # (k, k, 2): (x, y) offsets
    return np.einsum('hwi,ij,hwj->hw', grid, inv, grid)


def make_kernel(kind: str, size: int, sigma_x: float = 1., sigma_y: float = 1.,
                rotation: float = 0., beta_gaussian: float = 1., beta_plateau: float = 1.,
                omega: float = np.pi / 2) -> np.ndarray:
    """One blur kernel of type ``kind`` (see ``KERNEL_TYPES``); '*_iso' kinds ignore sigma_y and
    rotation."""
    if kind not in KERNEL_TYPES:
        raise ValueError(f'blur kernel type {kind!r}; use one of {KERNEL_TYPES}')
    if size % 2 == 0 or size < 1:
        raise ValueError(f'blur kernel_size={size} must be a positive odd number')
    if kind == 'sinc':
        ax = np.arange(size) - (size - 1) / 2
        rr = np.hypot(*np.meshgrid(ax, ax))
        with np.errstate(divide='ignore', invalid='ignore'):
            kernel = omega * special.j1(omega * rr) / (2 * np.pi * rr)
        kernel[rr == 0] = omega**2 / (4 * np.pi)  # the limit at r = 0
    else:
        if kind.endswith('_iso') or kind == 'iso':
            sigma_y, rotation = sigma_x, 0.
        q = _quadratic_form(size, sigma_x, sigma_y, rotation)
        if kind.startswith('generalized'):
            kernel = np.exp(-0.5 * np.power(q, beta_gaussian))
        elif kind.startswith('plateau'):
            kernel = 1. / (1. + np.power(q, beta_plateau))
        else:
            kernel = np.exp(-0.5 * q)
    return (kernel / kernel.sum()).astype(np.float32)


def filter2d(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel of (H, W[, C]) ``img`` with ``kernel`` like ``cv2.filter2D``:
    mirrored borders without repeating the edge pixel, uint8 in -> rounded, saturated uint8 out."""
    k = kernel.shape[0]
    r = k // 2
    x = img.astype(np.float64)
    pad = [(r, r), (r, r)] + [(0, 0)] * (x.ndim - 2)
    xp = np.pad(x, pad, mode='reflect')
    h, w = img.shape[:2]
    out = np.zeros_like(x)
    for i in range(k):
        for j in range(k):
            if kernel[i, j] != 0:
                out += kernel[i, j] * xp[i:i + h, j:j + w]
    if img.dtype == np.uint8:
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return out.astype(img.dtype)
