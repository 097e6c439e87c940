"""StyleGAN2 generator layers: ModulatedConv2d, ModulatedStyleConv, ModulatedToRGB (MMagic's
names: ``weight_orig`` (1, O, I, k, k), ``style_modulation``, ``blur``, ``noise_injector``,
``activate``, ``upsample``, ``bias``)."""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .bias_act import FusedBiasLeakyReLU
from .modulated_conv import fp16_context, modulated_conv2d
from .stylegan2_blocks import EqualLinearActModule, NoiseInjection, _equalized_scale
from .upfirdn2d import Blur, UpsampleUpFIRDn

__all__ = ['ModulatedConv2d', 'ModulatedStyleConv', 'ModulatedToRGB']


class ModulatedConv2d(nn.Module):
    """Style-modulated (and demodulated) conv, optionally x2 up (transposed conv + blur) or
    /2 down (blur + strided conv).

    Shapes: x (N, I, H, W), style (N, style_channels) -> (N, O, H', W').

    ``fused_modconv`` picks the implementation (see ``modulated_conv2d``); None = by shape.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 style_channels: int, demodulate: bool = True, upsample: bool = False,
                 downsample: bool = False, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 equalized_lr_cfg: dict | None = dict(mode='fan_in', lr_mul=1., gain=1.),
                 style_mod_cfg: dict | None = dict(bias_init=1.), style_bias: float = 0.,
                 padding: int | None = None, eps: float = 1e-8, fp16_enabled: bool = False,
                 fused_modconv: bool | None = None):
        super().__init__()
        if not (isinstance(kernel_size, int) and kernel_size >= 1 and kernel_size % 2 == 1):
            raise ValueError(f'ModulatedConv2d: kernel_size must be a positive odd int, got '
                             f'{kernel_size!r}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.style_channels = kernel_size, style_channels
        self.demodulate, self.upsample, self.downsample = demodulate, upsample, downsample
        self.style_bias, self.eps, self.fp16_enabled = style_bias, eps, fp16_enabled
        self.fused_modconv = fused_modconv
        self.style_modulation = EqualLinearActModule(style_channels, in_channels,
                                                     **(style_mod_cfg or {}))
        lr_cfg = dict(equalized_lr_cfg or {})
        lr_mul = lr_cfg.get('lr_mul', 1.)
        self.weight_orig = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size) / lr_mul)
        self.scale = _equalized_scale(self.weight_orig, lr_cfg.get('gain', 1.), lr_mul,
                                      lr_cfg.get('mode', 'fan_in')) if equalized_lr_cfg else 1.
        if upsample:
            p = (len(blur_kernel) - 2) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, ((p + 1) // 2 + 1, p // 2 + 1), upsample_factor=2)
        if downsample:
            p = (len(blur_kernel) - 2) + (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2, p // 2))
        self.padding = padding if padding else kernel_size // 2

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        weight = self.weight_orig[0] * self.scale  # (O, I, k, k)
        if self.fp16_enabled and self.demodulate:
            # MMagic pre-normalises weight and style so fp16 cannot overflow
            weight = weight * (1 / math.sqrt(self.in_channels * self.kernel_size ** 2)
                               / weight.norm(float('inf'), dim=[1, 2, 3], keepdim=True))
            style = style / style.norm(float('inf'), dim=1, keepdim=True)
        with fp16_context(self.fp16_enabled, x.device.type):
            styles = self.style_modulation(style) + self.style_bias  # (N, I)
            if self.downsample:
                x = self.blur(x)
            x = modulated_conv2d(x, weight, styles, self.demodulate, self.upsample,
                                 self.downsample, self.padding, self.eps, self.fused_modconv)
            if self.upsample:
                x = self.blur(x)
        return x


class ModulatedStyleConv(nn.Module):
    """ModulatedConv2d + noise injection + bias leaky ReLU (clamped in fp16 blocks, or always
    when ``clamp_always`` is set: NVlabs' ``conv_clamp``).

    Shapes: (N, I, H, W) -> (N, O, H or 2H, W or 2W). ``conv_kwargs`` go to ``conv_cls``.
    """

    # a subclass swaps the conv (MS-PIE's ModulatedPEConv2d) and keeps the rest of the block
    conv_cls: type[nn.Module] = ModulatedConv2d
    clamp_always = False  # NVlabs' conv_clamp: clamp whatever the precision

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 style_channels: int, upsample: bool = False,
                 blur_kernel: Sequence[int] = [1, 3, 3, 1], demodulate: bool = True,
                 style_mod_cfg: dict | None = dict(bias_init=1.), style_bias: float = 0.,
                 fp16_enabled: bool = False, conv_clamp: float = 256, **conv_kwargs):
        super().__init__()
        self.fp16_enabled = fp16_enabled
        self.conv_clamp = float(conv_clamp)
        self.conv = self.conv_cls(in_channels, out_channels, kernel_size, style_channels,
                                  demodulate=demodulate, upsample=upsample,
                                  blur_kernel=blur_kernel, style_mod_cfg=style_mod_cfg,
                                  style_bias=style_bias, fp16_enabled=fp16_enabled,
                                  **conv_kwargs)
        self.noise_injector = NoiseInjection()
        self.activate = FusedBiasLeakyReLU(out_channels)

    def forward(self, x: Tensor, style: Tensor, noise: Tensor | None = None,
                add_noise: bool = True, return_noise: bool = False):
        with fp16_context(self.fp16_enabled, x.device.type):
            out = self.conv(x, style)
            if add_noise:
                out, noise = self.noise_injector(out, noise=noise, return_noise=True)
            out = self.activate(out)
            if self.fp16_enabled or self.clamp_always:
                out = out.clamp(-self.conv_clamp, self.conv_clamp)
        return (out, noise) if return_noise else out


class ModulatedToRGB(nn.Module):
    """1x1 modulated conv (no demodulation) + ``bias`` (1, C, 1, 1) + upsampled skip.

    Shapes: x (N, I, H, W), skip (N, C, H/2, W/2) or None -> (N, C, H, W) float32.
    """

    clamp_always = False  # NVlabs' conv_clamp: clamp whatever the precision

    def __init__(self, in_channels: int, style_channels: int, out_channels: int = 3,
                 upsample: bool = True, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 style_mod_cfg: dict | None = dict(bias_init=1.), style_bias: float = 0.,
                 fp16_enabled: bool = False, conv_clamp: float = 256, out_fp32: bool = True):
        super().__init__()
        if upsample:
            self.upsample = UpsampleUpFIRDn(blur_kernel)
        self.fp16_enabled = fp16_enabled
        self.conv_clamp = float(conv_clamp)
        self.conv = ModulatedConv2d(in_channels, out_channels, 1, style_channels,
                                    demodulate=False, style_mod_cfg=style_mod_cfg,
                                    style_bias=style_bias, fp16_enabled=fp16_enabled)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.out_fp32 = out_fp32

    def forward(self, x: Tensor, style: Tensor, skip: Tensor | None = None) -> Tensor:
        with fp16_context(self.fp16_enabled, x.device.type):
            out = self.conv(x, style) + self.bias.to(x.dtype)
            if self.fp16_enabled or self.clamp_always:
                out = out.clamp(-self.conv_clamp, self.conv_clamp)
            if skip is not None:
                if hasattr(self, 'upsample'):
                    skip = self.upsample(skip)
                out = out + skip
        return out.float() if self.out_fp32 else out
