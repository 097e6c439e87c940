"""StyleGAN1 building blocks with MMagic 1.2's names: AdaIN, StyleConv and the PGGAN-style
equalized-LR conv (``conv.weight_orig``, ``conv.bias``; gain sqrt(2)).

The equalized conv here is private to the StyleGAN family (PGGAN's public ``EqualizedLR*``
modules live in their own file); it reproduces MMagic's ``EqualizedLRConvModule`` layout,
optional nearest x2 upsampling before it and the "fused_pool" stride-2 down convolution.
"""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .stylegan2_blocks import ConstantInput, NoiseInjection, _equalized_scale
from .upfirdn2d import Blur

__all__ = ['AdaptiveInstanceNorm', 'StyleConv']


class _EqualizedConv(nn.Module):
    """Conv2d whose forward weight is ``weight_orig * gain / sqrt(fan_in)`` (+ ``bias``).

    ``fused_pool``: average the kernel over 2x2 shifts (k -> k+1) so a stride-2 conv also
    average-pools, PGGAN's fused downsampling.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, gain: float = math.sqrt(2),
                 fused_pool: bool = False):
        super().__init__()
        # bias before weight_orig: MMagic's key order (its hook re-registers the weight last)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_orig = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size,
                                                    kernel_size))
        self.stride, self.padding, self.fused_pool = stride, padding, fused_pool
        self.scale = _equalized_scale(self.weight_orig, gain, 1.)

    def forward(self, x: Tensor) -> Tensor:
        weight = self.weight_orig * self.scale
        if self.fused_pool:
            weight = F.pad(weight, (1, 1, 1, 1))
            weight = (weight[..., 1:, 1:] + weight[..., 1:, :-1] + weight[..., :-1, 1:]
                      + weight[..., :-1, :-1]) * 0.25
        return F.conv2d(x, weight, self.bias, self.stride, self.padding)


class _EqualizedLRConvModule(nn.Module):
    """[nearest x2 upsample] + ``conv`` (equalized) + [LeakyReLU(0.2)]."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, act: bool = False, upsample: bool = False,
                 fused_pool: bool = False):
        super().__init__()
        self.conv = _EqualizedConv(in_channels, out_channels, kernel_size, stride, padding,
                                   bias, fused_pool=fused_pool)
        self.act, self.upsample = act, upsample

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode='nearest')
        x = self.conv(x)
        return F.leaky_relu(x, 0.2) if self.act else x


class _EqualizedLinearWithBias(nn.Module):
    """Equalized linear (gain sqrt(2)) with an unscaled ``bias``: AdaIN's affine layer."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(out_features))  # MMagic's key order
        self.weight_orig = nn.Parameter(torch.randn(out_features, in_features))
        self.scale = _equalized_scale(self.weight_orig, math.sqrt(2), 1.)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_orig * self.scale, self.bias)


class AdaptiveInstanceNorm(nn.Module):
    """``gamma(w) * instance_norm(x) + beta(w)``; ``affine`` maps w to (gamma, beta), gamma's
    bias initialised to 1.

    Shapes: x (N, C, H, W), style (N, style_dim) -> (N, C, H, W).
    """

    def __init__(self, in_channel: int, style_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(in_channel)
        self.affine = _EqualizedLinearWithBias(style_dim, in_channel * 2)
        with torch.no_grad():
            self.affine.bias[:in_channel] = 1
            self.affine.bias[in_channel:] = 0

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        gamma, beta = self.affine(style)[:, :, None, None].chunk(2, 1)
        return gamma * self.norm(x) + beta


class StyleConv(nn.Module):
    """StyleGAN1 block: (constant | [up] conv + blur) -> noise -> lrelu -> AdaIN, twice.

    With ``upsample`` and ``fused`` (MMagic's generator), the up-conv also applies a LeakyReLU
    before the blur, as in MMagic. Shapes: (N, I, H, W) -> (N, O, 2H, 2W) (or (N, O, 4, 4)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 style_channels: int, padding: int = 1, initial: bool = False,
                 blur_kernel: Sequence[int] = [1, 2, 1], upsample: bool = False,
                 fused: bool = False):
        super().__init__()
        if initial:
            self.conv1 = ConstantInput(in_channels)
        elif upsample:
            self.conv1 = nn.Sequential(
                _EqualizedLRConvModule(in_channels, out_channels, kernel_size, padding=padding,
                                       act=fused, upsample=True),
                Blur(blur_kernel, pad=(1, 1)))
        else:
            self.conv1 = _EqualizedLRConvModule(in_channels, out_channels, kernel_size,
                                                padding=padding)
        self.noise_injector1 = NoiseInjection()
        self.adain1 = AdaptiveInstanceNorm(out_channels, style_channels)
        self.conv2 = _EqualizedLRConvModule(out_channels, out_channels, kernel_size,
                                            padding=padding)
        self.noise_injector2 = NoiseInjection()
        self.adain2 = AdaptiveInstanceNorm(out_channels, style_channels)

    def forward(self, x: Tensor, style1: Tensor, style2: Tensor, noise1: Tensor | None = None,
                noise2: Tensor | None = None) -> Tensor:
        out = self.noise_injector1(self.conv1(x), noise=noise1)
        out = self.adain1(F.leaky_relu(out, 0.2), style1)
        out = self.noise_injector2(self.conv2(out), noise=noise2)
        return self.adain2(F.leaky_relu(out, 0.2), style2)

