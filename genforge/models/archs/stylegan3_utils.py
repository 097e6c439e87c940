"""Image-space reference transforms for StyleGAN3's equivariance metrics (EQ-T, EQ-T frac,
EQ-R): shift or rotate a generated image the way the generator's input transform should have
moved it, with a mask of the pixels whose value is fully defined.

Integer translation is exact. Fractional translation and rotation resample with a Lanczos
(a=3) kernel (rotation through a 4x Lanczos upsampling); they are genforge's own resamplers, so
EQ-T frac / EQ-R numbers are for monitoring and not comparable digit-for-digit with NVlabs'.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.models.layers.upfirdn2d import upfirdn2d

__all__ = ['rotation_matrix', 'apply_integer_translation', 'apply_fractional_translation',
           'apply_fractional_rotation']


def rotation_matrix(angle: Tensor | float) -> Tensor:
    """(3, 3) homogeneous counter-clockwise rotation."""
    angle = torch.as_tensor(angle, dtype=torch.float32)
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([c, -s, zero, s, c, zero, zero, zero, one]).reshape(3, 3)


def _shift(x: Tensor, dx: int, dy: int) -> tuple[Tensor, Tensor]:
    """Content moved by (dx, dy) whole pixels, zeros where it came from outside; and the mask."""
    _, _, h, w = x.shape
    out, mask = torch.zeros_like(x), torch.zeros_like(x)
    if abs(dx) < w and abs(dy) < h:
        src = x[:, :, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        out[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = src
        mask[:, :, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = 1
    return out, mask


def apply_integer_translation(x: Tensor, tx: Tensor | float,
                              ty: Tensor | float) -> tuple[Tensor, Tensor]:
    """Translate by (tx, ty) in image units (the image spans 1), rounded to whole pixels."""
    _, _, h, w = x.shape
    return _shift(x, int(round(float(tx) * w)), int(round(float(ty) * h)))


def _lanczos(t: Tensor, a: int = 3) -> Tensor:
    return torch.where(t.abs() < a, torch.sinc(t) * torch.sinc(t / a), torch.zeros_like(t))


def apply_fractional_translation(x: Tensor, tx: Tensor | float, ty: Tensor | float,
                                 a: int = 3) -> tuple[Tensor, Tensor]:
    """Translate by a fraction of a pixel: z[p] = sum_m x[p - i - m] L(m - f) per axis
    (shift = i + f pixels, L = Lanczos-a); the mask keeps pixels all of whose taps exist."""
    _, _, h, w = x.shape
    out, mask = x, torch.ones_like(x)
    for axis, (t, size) in enumerate(((float(tx), w), (float(ty), h))):
        shift = t * size
        whole = math.floor(shift)
        frac = shift - whole
        taps = range(-a + 1, a + 1)
        weights = _lanczos(torch.tensor([m - frac for m in taps], dtype=x.dtype), a)
        weights = weights / weights.sum()
        acc, acc_mask = torch.zeros_like(x), torch.ones_like(x)
        for m, wgt in zip(taps, weights):
            dx, dy = (whole + m, 0) if axis == 0 else (0, whole + m)
            acc = acc + wgt * _shift(out, dx, dy)[0]
            acc_mask = acc_mask * _shift(mask, dx, dy)[0]  # 0 where a tap is undefined
        out, mask = acc, acc_mask
    return out, mask


def _lanczos_filter(up: int, a: int = 3) -> Tensor:
    """Separable 2-D Lanczos interpolation filter for an ``up``x resampling, sum 1."""
    t = (torch.arange(2 * a * up, dtype=torch.float64) - (2 * a * up - 1) / 2) / up
    f = _lanczos(t, a)
    f = f / f.sum()
    return torch.outer(f, f).float()


def apply_fractional_rotation(x: Tensor, angle: Tensor | float, a: int = 3,
                              up: int = 4) -> tuple[Tensor, Tensor]:
    """Rotate counter-clockwise by ``angle`` about the image centre: Lanczos 4x upsampling,
    bilinear rotation of the fine grid, Lanczos downsampling; mask = inside the rotated image
    (eroded by the filter support)."""
    n, c, h, w = x.shape
    f = _lanczos_filter(up, a).to(x)
    k = f.shape[0]
    pad = ((k - up + 1) // 2 + up - 1, (k - up) // 2)
    big = upfirdn2d(x, f * up * up, up=up, padding=pad + pad)
    m = rotation_matrix(-float(angle))[:2].to(x)  # inverse: output -> input coordinates
    grid = F.affine_grid(m[None].expand(n, 2, 3), list(big.shape), align_corners=False)
    rotated = F.grid_sample(big, grid, mode='bilinear', padding_mode='zeros',
                            align_corners=False)
    pad_d = ((k - up + 1) // 2, (k - up) // 2)
    out = upfirdn2d(rotated, f, down=up, padding=pad_d + pad_d)
    ones = torch.ones(1, 1, h, w, device=x.device, dtype=x.dtype)
    inside = F.grid_sample(ones, F.affine_grid(m[None], [1, 1, h, w], align_corners=False),
                           mode='nearest', padding_mode='zeros', align_corners=False)
    # erode by the filter radius so border pixels mixed with the zero padding do not count
    radius = a + 1
    inside = -F.max_pool2d(-F.pad(inside, [radius] * 4), 2 * radius + 1, stride=1)
    return out, inside.expand(n, c, h, w)
