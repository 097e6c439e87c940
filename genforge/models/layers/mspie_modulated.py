"""MS-PIE's modulated convolutions ("Positional Encoding as Spatial Inductive Bias in GANs",
Xu et al., CVPR 2021): StyleGAN2's ``ModulatedConv2d`` / ``ModulatedStyleConv`` with the
paper's ablation switches. Same parameters and state_dict keys as StyleGAN2's layers (MMagic's
``ModulatedPEConv2d`` / ``ModulatedPEStyleConv``).

- ``no_pad``: 3x3 convs without zero padding, so the network cannot read the image border
  from the padding (the paper's claim: padding is an implicit positional encoding).
- ``deconv2conv``: x2 upsampling by interpolation (``up_config``) and a plain conv instead of
  the transposed conv + blur; ``up_after_conv`` convolves first, then interpolates.
- ``interp_pad``: interpolate to ``2 * H + interp_pad`` so that the unpadded convs that follow
  shrink the map back to exactly ``2 * H``.
"""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor

from .stylegan2_modulated import ModulatedConv2d, ModulatedStyleConv

__all__ = ['ModulatedPEConv2d', 'ModulatedPEStyleConv']


class ModulatedPEConv2d(ModulatedConv2d):
    """Modulated conv with MS-PIE's padding / upsampling options (see the module docstring).

    Shapes: x (N, I, H, W), style (N, style_channels) -> (N, O, H', W') with
    H' = H - 2 (``no_pad``, no upsampling), 2H (upsampling, padded), 2H + interp_pad - 2
    (``deconv2conv`` + ``interp_pad`` + ``no_pad``), 2(H - 2) (``up_after_conv`` + ``no_pad``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 style_channels: int, demodulate: bool = True, upsample: bool = False,
                 downsample: bool = False, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 equalized_lr_cfg: dict | None = dict(mode='fan_in', lr_mul=1., gain=1.),
                 style_mod_cfg: dict | None = dict(bias_init=1.), style_bias: float = 0.,
                 eps: float = 1e-8, no_pad: bool = False, deconv2conv: bool = False,
                 interp_pad: int | None = None,
                 up_config: dict = dict(scale_factor=2, mode='nearest'),
                 up_after_conv: bool = False, fp16_enabled: bool = False):
        # with deconv2conv the parent must build neither the transposed conv nor its blur
        super().__init__(in_channels, out_channels, kernel_size, style_channels,
                         demodulate=demodulate, upsample=upsample and not deconv2conv,
                         downsample=downsample, blur_kernel=blur_kernel,
                         equalized_lr_cfg=equalized_lr_cfg, style_mod_cfg=style_mod_cfg,
                         style_bias=style_bias, eps=eps, fp16_enabled=fp16_enabled)
        self.interp_upsample = upsample and deconv2conv
        self.no_pad, self.deconv2conv = no_pad, deconv2conv
        self.interp_pad, self.up_after_conv = interp_pad, up_after_conv
        self.up_config = copy.deepcopy(dict(up_config))
        if no_pad:
            self.padding = 0

    def _interpolate(self, x: Tensor) -> Tensor:
        if self.interp_pad is None:
            return F.interpolate(x, **self.up_config)
        kwargs = dict(self.up_config)
        factor = kwargs.pop('scale_factor', 2)
        h, w = x.shape[-2:]
        size = (int(h * factor) + self.interp_pad, int(w * factor) + self.interp_pad)
        return F.interpolate(x, size=size, **kwargs)

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        if not self.interp_upsample:
            return super().forward(x, style)
        if self.up_after_conv:
            return self._interpolate(super().forward(x, style))
        return super().forward(self._interpolate(x), style)


class ModulatedPEStyleConv(ModulatedStyleConv):
    """``ModulatedPEConv2d`` + noise injection + bias leaky ReLU (StyleGAN2's style conv with
    MS-PIE's conv; extra keywords ``no_pad``, ``deconv2conv``, ``interp_pad``, ``up_config``,
    ``up_after_conv`` go to the conv).

    Example: ModulatedPEStyleConv(512, 512, 3, 512, upsample=True, deconv2conv=True,
                                  up_config=dict(scale_factor=2, mode='bilinear',
                                                 align_corners=True))
    """

    conv_cls = ModulatedPEConv2d
