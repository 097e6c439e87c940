"""Bias + activation + gain (StyleGAN2's ``fused_bias_leakyrelu`` / NVlabs' ``bias_act``).

Written as plain tensor ops: autograd provides first and second derivatives, so R1 and the
path-length regulariser can differentiate through it.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['bias_act', 'fused_bias_leakyrelu', 'FusedBiasLeakyReLU']

# activation, default gain (keeps the signal variance; NVlabs' table)
_ACTS = {
    'linear': (lambda x, alpha: x, 1.),
    'relu': (lambda x, alpha: F.relu(x), math.sqrt(2)),
    'lrelu': (lambda x, alpha: F.leaky_relu(x, alpha), math.sqrt(2)),
    'tanh': (lambda x, alpha: torch.tanh(x), 1.),
    'sigmoid': (lambda x, alpha: torch.sigmoid(x), 1.),
}


def bias_act(x: Tensor, b: Tensor | None = None, dim: int = 1, act: str = 'linear',
             alpha: float | None = None, gain: float | None = None,
             clamp: float | None = None) -> Tensor:
    """``clamp(act(x + b) * gain)``; ``b`` (C,) is broadcast along ``dim`` of ``x``.

    ``act``: 'linear' | 'relu' | 'lrelu' | 'tanh' | 'sigmoid'; ``alpha``: lrelu slope (0.2);
    ``gain``: default per activation (sqrt(2) for (l)relu); ``clamp``: symmetric, None = off.
    """
    if act not in _ACTS:
        raise ValueError(f'bias_act: act={act!r} is not one of {sorted(_ACTS)}')
    fn, default_gain = _ACTS[act]
    if b is not None:
        if b.ndim != 1 or b.shape[0] != x.shape[dim]:
            raise ValueError(f'bias_act: bias of shape {tuple(b.shape)} does not match dim '
                             f'{dim} of x {tuple(x.shape)}')
        shape = [1] * x.ndim
        shape[dim] = -1
        x = x + b.to(x.dtype).reshape(shape)
    x = fn(x, 0.2 if alpha is None else alpha)
    gain = default_gain if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def fused_bias_leakyrelu(x: Tensor, bias: Tensor, negative_slope: float = 0.2,
                         scale: float = 2 ** 0.5) -> Tensor:
    """mmcv's ``fused_bias_leakyrelu``: ``leaky_relu(x + bias) * scale``, bias on dim 1."""
    return bias_act(x, bias, dim=1, act='lrelu', alpha=negative_slope, gain=scale)


class FusedBiasLeakyReLU(nn.Module):
    """Learnable per-channel bias + leaky ReLU * sqrt(2); parameter ``bias`` (C,).

    Shapes: (N, C, ...) -> (N, C, ...).
    """

    def __init__(self, num_channels: int, negative_slope: float = 0.2, scale: float = 2 ** 0.5):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: Tensor) -> Tensor:
        return fused_bias_leakyrelu(x, self.bias, self.negative_slope, self.scale)
