"""StyleGAN3's alias-free nonlinearity and its filter design, in pure PyTorch / NumPy.

``filtered_lrelu``: bias, upsample with ``fu``, leaky ReLU (gain, clamp), downsample with ``fd``
— the reference formulation (composed from ``upfirdn2d`` and ``bias_act``), so autograd gives
first and second derivatives. Filters are 1-D separable or 2-D (radial, StyleGAN3-R).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from .bias_act import bias_act
from .upfirdn2d import upfirdn2d

__all__ = ['filtered_lrelu', 'upfirdn2d_filter', 'design_lowpass_filter', 'kaiser_beta_for']


def upfirdn2d_filter(x: Tensor, f: Tensor | None, up: int = 1, down: int = 1,
                     padding: Sequence[int] = (0, 0, 0, 0), gain: float = 1.) -> Tensor:
    """``upfirdn2d`` with a separable 1-D filter (applied along x then y) or a 2-D filter;
    ``gain`` multiplies the filter (split evenly between the two axes for a 1-D one).

    ``padding`` is (x0, x1, y0, y1). ``f=None`` means no filtering (a single unit tap).
    """
    x0, x1, y0, y1 = padding
    if f is None:
        f = torch.ones(1, dtype=x.dtype, device=x.device)
    f = f.to(x.dtype)
    if f.ndim == 2:
        return upfirdn2d(x, f * gain, up=up, down=down, padding=(x0, x1, y0, y1))
    g = math.sqrt(gain)
    x = upfirdn2d(x, f[None, :] * g, up=(up, 1), down=(down, 1), padding=(x0, x1, 0, 0))
    return upfirdn2d(x, f[:, None] * g, up=(1, up), down=(1, down), padding=(0, 0, y0, y1))


def filtered_lrelu(x: Tensor, fu: Tensor | None = None, fd: Tensor | None = None,
                   b: Tensor | None = None, up: int = 1, down: int = 1,
                   padding: Sequence[int] = (0, 0, 0, 0), gain: float = math.sqrt(2),
                   slope: float = 0.2, clamp: float | None = None) -> Tensor:
    """Alias-free leaky ReLU: ``down(lrelu(up(x + b)))``.

    Args:
        x: (N, C, H, W). fu / fd: up/down-sampling filters (1-D or 2-D, None = none).
        b: (C,) bias. up / down: integer factors. padding: (x0, x1, y0, y1) before upsampling's
            filter. gain / slope / clamp: of the leaky ReLU.

    Returns:
        (N, C, H', W') with H' = ((H * up + y0 + y1 - (len(fu) - 1)) - (len(fd) - 1)) // down
        (rounded as upfirdn2d).
    """
    if b is not None:
        x = bias_act(x, b)
    x = upfirdn2d_filter(x, fu, up=up, padding=padding, gain=up ** 2)
    x = bias_act(x, act='lrelu', alpha=slope, gain=gain, clamp=clamp)
    return upfirdn2d_filter(x, fd, down=down)


def kaiser_beta_for(numtaps: int, width: float, fs: float) -> float:
    """Kaiser window beta for a transition band ``width`` (Hz) at sampling rate ``fs``.

    Kaiser's formulas: attenuation A = 2.285 (numtaps - 1) pi * (width / (fs / 2)) + 7.95 dB.
    """
    atten = 2.285 * (numtaps - 1) * math.pi * (width / (fs / 2)) + 7.95
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> Tensor | None:
    """Kaiser-windowed low-pass filter: a 1-D sinc (separable) or a 2-D jinc (``radial``).

    Returns (numtaps,) or (numtaps, numtaps) float32 summing to 1; None when numtaps == 1.
    """
    if numtaps == 1:
        return None
    beta = kaiser_beta_for(numtaps, width, fs)
    window = np.kaiser(numtaps, beta)
    t = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    if not radial:
        f = 2 * cutoff / fs * np.sinc(2 * cutoff * t) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    from scipy.special import j1
    r = np.hypot(*np.meshgrid(t, t))
    with np.errstate(invalid='ignore', divide='ignore'):
        f = j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    f[r == 0] = cutoff  # limit of J1(2 pi c r) / (pi r) at r -> 0
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)
