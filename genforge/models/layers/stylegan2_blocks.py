"""StyleGAN2 building blocks with MMagic 1.2's submodule and parameter names.

Equalized learning rate (PGGAN): the trainable tensor is ``weight_orig`` ~ N(0, 1/lr_mul) and
the forward uses ``weight_orig * gain / sqrt(fan_in) * lr_mul``, so checkpoints carry MMagic's
``*.weight_orig`` keys. The equalized-LR helpers here are private to the StyleGAN family; PGGAN's
public ``EqualizedLR*`` modules live in their own file.
"""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .bias_act import FusedBiasLeakyReLU, fused_bias_leakyrelu
from .modulated_conv import fp16_context
from .upfirdn2d import Blur

__all__ = ['EqualLinearActModule', 'NoiseInjection', 'ConstantInput', 'ConvDownLayer',
           'ResBlock', 'ModMBStddevLayer', 'style_pixel_norm']


def style_pixel_norm(x: Tensor, eps: float = 1e-6) -> Tensor:
    """PGGAN's pixel norm over dim 1: ``x / (||x||_2 / sqrt(C) + eps)``."""
    norm = torch.linalg.vector_norm(x, ord=2, dim=1, keepdim=True) / math.sqrt(x.shape[1])
    return x / (norm + eps)


class _StylePixelNorm(nn.Module):
    """Parameter-free pixel norm (a slot in ``style_mapping`` with no state_dict entry)."""

    def __init__(self, eps: float = 1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return style_pixel_norm(x, self.eps)


def _equalized_scale(weight: Tensor, gain: float, lr_mul: float, mode: str = 'fan_in') -> float:
    """gain / sqrt(fan) * lr_mul; a 5-D modulated weight (1, O, I, k, k) uses weight[0]."""
    shape = weight.shape[1:] if weight.ndim == 5 else weight.shape
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    fan = shape[1] * receptive if mode == 'fan_in' else shape[0] * receptive
    return gain * math.sqrt(1. / fan) * lr_mul


class _EqualLinear(nn.Module):
    """Bias-free linear layer with equalized LR; parameter ``weight_orig`` (out, in)."""

    def __init__(self, in_features: int, out_features: int, gain: float = 1., lr_mul: float = 1.,
                 mode: str = 'fan_in'):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight_orig = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.scale = _equalized_scale(self.weight_orig, gain, lr_mul, mode)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight_orig * self.scale)


class _EqualConv2d(nn.Module):
    """Conv2d with equalized LR; ``weight_orig`` (O, I, k, k) ~ N(0, 1), optional zero bias."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, gain: float = 1., mode: str = 'fan_in'):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size,
                                                    kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.stride, self.padding = stride, padding
        self.scale = _equalized_scale(self.weight_orig, gain, 1., mode)

    def forward(self, x: Tensor) -> Tensor:
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.conv2d(x, (self.weight_orig * self.scale).to(x.dtype), bias, self.stride,
                        self.padding)


class _EqualConvModule(nn.Module):
    """``conv`` slot holding an equalized conv (MMagic's ``EqualizedLRConvModule`` layout)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.conv = _EqualConv2d(*args, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class EqualLinearActModule(nn.Module):
    """Equalized-LR linear (``linear.weight_orig``) + separate ``bias`` (* lr_mul) + optional
    activation (``act_cfg=dict(type='fused_bias')``: leaky ReLU(0.2) * sqrt(2); any other
    type is built as an activation layer, e.g. LeakyReLU).

    Shapes: (N, in) or (N, ...) flattened -> (N, out).
    """

    def __init__(self, in_features: int, out_features: int,
                 equalized_lr_cfg: dict | None = dict(gain=1., lr_mul=1.), bias: bool = True,
                 bias_init: float = 0., act_cfg: dict | None = None):
        super().__init__()
        cfg = dict(equalized_lr_cfg or {})
        self.lr_mul = cfg.get('lr_mul', 1.)
        self.linear = _EqualLinear(in_features, out_features, gain=cfg.get('gain', 1.),
                                   lr_mul=self.lr_mul, mode=cfg.get('mode', 'fan_in'))
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init))) if bias \
            else None
        self.act_type = None if act_cfg is None else \
            'fused_bias' if act_cfg.get('type') == 'fused_bias' else 'normal'
        if self.act_type == 'fused_bias' and self.bias is None:
            raise ValueError("EqualLinearActModule: act_cfg=dict(type='fused_bias') needs "
                             "bias=True")
        if self.act_type == 'normal':  # e.g. StyleGAN1's LeakyReLU (no sqrt(2) gain)
            from .layer_builders import build_activation_layer
            self.activate = build_activation_layer(dict(act_cfg))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim >= 3:
            x = x.reshape(x.shape[0], -1)
        x = self.linear(x)
        if self.act_type == 'fused_bias':
            return fused_bias_leakyrelu(x, self.bias * self.lr_mul)
        if self.bias is not None:
            x = x + self.bias * self.lr_mul
        return self.activate(x) if self.act_type == 'normal' else x


class NoiseInjection(nn.Module):
    """``x + weight * noise``; noise (N, 1, H, W) ~ N(0, 1) unless given. Parameter ``weight``
    (1,), initialised to ``noise_weight_init``."""

    def __init__(self, noise_weight_init: float = 0.):
        super().__init__()
        self.weight = nn.Parameter(torch.full((1,), float(noise_weight_init)))

    def forward(self, image: Tensor, noise: Tensor | None = None,
                return_noise: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        if noise is None:
            n, _, h, w = image.shape
            noise = image.new_empty(n, 1, h, w).normal_()
        noise = noise.to(image.dtype)
        out = image + self.weight.to(image.dtype) * noise
        return (out, noise) if return_noise else out


class ConstantInput(nn.Module):
    """Learned constant (1, C, size, size) repeated over the batch; parameter ``input``."""

    def __init__(self, channel: int, size: int | Sequence[int] = 4):
        super().__init__()
        size = [size, size] if isinstance(size, int) else list(size)
        if len(size) != 2:
            raise ValueError(f'ConstantInput: size must be an int or (h, w), got {size!r}')
        self.input = nn.Parameter(torch.randn(1, channel, *size))

    def forward(self, x: Tensor) -> Tensor:
        return self.input.repeat(x.shape[0], 1, 1, 1)


class ConvDownLayer(nn.Sequential):
    """[Blur] + equalized conv + [bias leaky ReLU] (MMagic's indices: ``0``/``1``/``2``).

    ``downsample``: blur then stride-2 conv (H -> H/2). ``act_cfg=dict(type='fused_bias')``
    moves the bias into the activation; ``act_cfg=None`` leaves a plain (biased) conv.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 downsample: bool = False, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 bias: bool = True, act_cfg: dict | None = dict(type='fused_bias'),
                 fp16_enabled: bool = False, conv_clamp: float = 256.):
        layers: list[nn.Module] = []
        if downsample:
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            layers.append(Blur(blur_kernel, pad=((p + 1) // 2, p // 2)))
            stride, padding = 2, 0
        else:
            stride, padding = 1, kernel_size // 2
        fused = act_cfg is not None and act_cfg.get('type') == 'fused_bias'
        if act_cfg is not None and not fused:
            raise ValueError(f"ConvDownLayer: act_cfg={act_cfg!r}; only dict(type='fused_bias') "
                             f'or None are supported')
        layers.append(_EqualConvModule(in_channels, out_channels, kernel_size, stride=stride,
                                       padding=padding, bias=bias and not fused, gain=1.))
        if fused:
            layers.append(FusedBiasLeakyReLU(out_channels))
        super().__init__(*layers)
        self.fp16_enabled = fp16_enabled
        self.conv_clamp = float(conv_clamp)

    clamp_always = False  # NVlabs' conv_clamp: clamp whatever the precision

    def forward(self, x: Tensor) -> Tensor:
        with fp16_context(self.fp16_enabled, x.device.type):
            x = super().forward(x)
            if self.fp16_enabled or self.clamp_always:
                x = x.clamp(-self.conv_clamp, self.conv_clamp)
        return x


class ResBlock(nn.Module):
    """StyleGAN2 discriminator residual block: (conv1 -> conv2 (down)) + skip (down), / sqrt 2.

    Shapes: (N, in, H, W) -> (N, out, H/2, W/2).
    """

    def __init__(self, in_channels: int, out_channels: int,
                 blur_kernel: Sequence[int] = [1, 3, 3, 1], fp16_enabled: bool = False,
                 convert_input_fp32: bool = True):
        super().__init__()
        self.fp16_enabled = fp16_enabled
        self.convert_input_fp32 = convert_input_fp32
        self.conv1 = ConvDownLayer(in_channels, in_channels, 3, blur_kernel=blur_kernel,
                                   fp16_enabled=fp16_enabled)
        self.conv2 = ConvDownLayer(in_channels, out_channels, 3, downsample=True,
                                   blur_kernel=blur_kernel, fp16_enabled=fp16_enabled)
        self.skip = ConvDownLayer(in_channels, out_channels, 1, downsample=True, act_cfg=None,
                                  bias=False, blur_kernel=blur_kernel, fp16_enabled=fp16_enabled)

    def forward(self, x: Tensor) -> Tensor:
        if not self.fp16_enabled and self.convert_input_fp32:
            x = x.float()
        out = self.conv2(self.conv1(x))
        return (out + self.skip(x)) / math.sqrt(2)


class ModMBStddevLayer(nn.Module):
    """Minibatch stddev with channel groups: appends ``channel_groups`` feature maps.

    Shapes: (N, C, H, W) -> (N, C + channel_groups, H, W). N must be <= group_size or divisible
    by it.
    """

    def __init__(self, group_size: int = 4, channel_groups: int = 1, sync_std: bool = False,
                 sync_groups: int | None = None, eps: float = 1e-8):
        super().__init__()
        if sync_std:
            raise NotImplementedError('ModMBStddevLayer: sync_std=True is not supported; the '
                                      'stddev is computed over each process\'s batch')
        self.group_size, self.channel_groups, self.eps = group_size, channel_groups, eps

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        if not (n <= self.group_size or n % self.group_size == 0):
            raise ValueError(f'ModMBStddevLayer: batch size {n} must be <= group_size '
                             f'{self.group_size} or divisible by it (mbstd_cfg.group_size)')
        if c % self.channel_groups:
            raise ValueError(f'ModMBStddevLayer: {c} channels are not divisible by '
                             f'channel_groups={self.channel_groups}')
        group = min(n, self.group_size)
        # (G, M, Cg, C/Cg, H, W): statistics over the G samples of each group
        y = x.reshape(group, -1, self.channel_groups, c // self.channel_groups, h, w)
        y = torch.sqrt(y.var(dim=0, unbiased=False) + self.eps)
        y = y.mean(dim=(2, 3, 4), keepdim=True).squeeze(2)  # (M, Cg, 1, 1)
        y = y.repeat(group, 1, h, w)
        return torch.cat([x, y], dim=1)
