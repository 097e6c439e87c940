"""upfirdn2d (upsample, FIR filter, downsample) and the blur layers StyleGAN2 builds from it.

Pure PyTorch: zero insertion, padding (negative = crop) and one depthwise ``conv2d`` per call,
so first and second derivatives come from autograd (R1 and path-length regularisation need
double backward). No compiled kernels.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['upfirdn2d', 'make_kernel', 'Blur', 'UpsampleUpFIRDn', 'DownsampleUpFIRDn']


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if len(value) != 2:
        raise ValueError(f'upfirdn2d: {name} must be an int or (x, y), got {value!r}')
    return int(value[0]), int(value[1])


def _padding4(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) from an int, (p0, p1) (both axes, mmcv's form) or (x0, x1, y0, y1)."""
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = [int(p) for p in padding]
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)  # type: ignore[return-value]
    raise ValueError(f'upfirdn2d: padding must be an int, (p0, p1) or (x0, x1, y0, y1), '
                     f'got {padding!r}')


def upfirdn2d(x: Tensor, kernel: Tensor, up: int | Sequence[int] = 1,
              down: int | Sequence[int] = 1, padding: int | Sequence[int] = 0) -> Tensor:
    """Upsample by zero insertion, pad, convolve with ``kernel`` (true convolution), downsample.

    Args:
        x: (N, C, H, W).
        kernel: (kh, kw) FIR filter, same for every channel.
        up / down: factor, or (x, y) factors.
        padding: int, (p0, p1) for both axes, or (x0, x1, y0, y1); negative values crop.

    Returns:
        (N, C, (H*up_y + y0 + y1 - kh) // down_y + 1, ...) — mmcv's ``upfirdn2d`` shape.
    """
    if x.ndim != 4 or kernel.ndim != 2:
        raise ValueError(f'upfirdn2d expects x (N, C, H, W) and a 2-D kernel, got '
                         f'{tuple(x.shape)} and {tuple(kernel.shape)}')
    up_x, up_y = _pair(up, 'up')
    down_x, down_y = _pair(down, 'down')
    x0, x1, y0, y1 = _padding4(padding)
    n, c, h, w = x.shape
    if up_x > 1 or up_y > 1:
        # (N, C, H, 1, W, 1) -> zero-pad the unit dims -> (N, C, H*up_y, W*up_x)
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up_x - 1, 0, 0, 0, up_y - 1])
        x = x.reshape(n, c, h * up_y, w * up_x)
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    # conv2d correlates; flipping the kernel makes it a convolution (mmcv / NVlabs semantics)
    weight = kernel.to(x.dtype).flip([0, 1])[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, stride=(down_y, down_x), groups=c)


def make_kernel(k: Sequence[float] | Tensor) -> Tensor:
    """A normalised 2-D FIR kernel; a 1-D ``k`` becomes the outer product ``k k^T``."""
    k = torch.as_tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


class Blur(nn.Module):
    """FIR blur with fixed padding (StyleGAN2's ``Blur``); buffer ``kernel`` (kh, kw).

    ``upsample_factor`` > 1 multiplies the kernel by factor**2 to keep the gain after a
    zero-inserting (transposed, stride-2) convolution.

    Shapes: (N, C, H, W) -> (N, C, H + p0 + p1 - kh + 1, ...).
    """

    def __init__(self, kernel: Sequence[float], pad: Sequence[int], upsample_factor: int = 1):
        super().__init__()
        kernel = make_kernel(kernel)
        if upsample_factor > 1:
            kernel = kernel * upsample_factor ** 2
        self.register_buffer('kernel', kernel)
        self.pad = tuple(pad)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, padding=self.pad)


class UpsampleUpFIRDn(nn.Module):
    """x2 (``factor``) upsampling with a FIR filter; (N, C, H, W) -> (N, C, 2H, 2W)."""

    def __init__(self, kernel: Sequence[float], factor: int = 2):
        super().__init__()
        self.factor = factor
        kernel = make_kernel(kernel) * factor ** 2
        self.register_buffer('kernel', kernel)
        p = kernel.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, padding=self.pad)


class DownsampleUpFIRDn(nn.Module):
    """/2 (``factor``) downsampling with a FIR filter; (N, C, H, W) -> (N, C, H/2, W/2)."""

    def __init__(self, kernel: Sequence[float], factor: int = 2):
        super().__init__()
        self.factor = factor
        kernel = make_kernel(kernel)
        self.register_buffer('kernel', kernel)
        p = kernel.shape[0] - factor
        self.pad = ((p + 1) // 2, p // 2)

    def forward(self, x: Tensor) -> Tensor:
        return upfirdn2d(x, self.kernel, down=self.factor, padding=self.pad)
