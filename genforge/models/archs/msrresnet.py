"""MSRResNet: SRResNet without batch norm (the generator of MMagic's SRGAN)."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.sr_blocks import ResidualBlockNoBN
from genforge.models.layers.upsample import PixelShufflePack
from genforge.models.utils import default_init_weights, make_layer
from genforge.registry import MODELS

__all__ = ['MSRResNet']


@MODELS.register_module()
class MSRResNet(BaseModule):
    """Modified SRResNet: conv, residual blocks without BN, pixel-shuffle upsampling, plus a
    bilinear-upsampled copy of the input (global residual). Supports x2, x3 and x4.

    Args:
        in_channels (int), out_channels (int): image channels.
        mid_channels (int): feature channels. Default: 64.
        num_blocks (int): residual blocks. Default: 16.
        upscale_factor (int): 2, 3 or 4. Default: 4.
        lrelu_after_upsample (bool): apply LeakyReLU(0.1) after each pixel shuffle, as
            BasicSR's MSRResNet does (MMagic's does not). Default: False (MMagic).

    Example: dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=64,
                  num_blocks=16, upscale_factor=4)
    """

    _supported_upscale_factors = [2, 3, 4]

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64,
                 num_blocks: int = 16, upscale_factor: int = 4,
                 lrelu_after_upsample: bool = False, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks
        self.upscale_factor = upscale_factor
        self.lrelu_after_upsample = lrelu_after_upsample
        if upscale_factor not in self._supported_upscale_factors:
            raise ValueError(f'MSRResNet: upscale_factor={upscale_factor} is not supported; use '
                             f'one of {self._supported_upscale_factors}')
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1, bias=True)
        self.trunk_net = make_layer(ResidualBlockNoBN, num_blocks, mid_channels=mid_channels)
        if upscale_factor in (2, 3):
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, upscale_factor,
                                              upsample_kernel=3)
        else:  # x4 = two x2 steps
            self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
            self.upsample2 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1, bias=True)
        self.img_upsampler = nn.Upsample(scale_factor=upscale_factor, mode='bilinear',
                                         align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        if not init_cfg:  # a Pretrained init_cfg is applied by the runner, not at build time
            self.init_weights()

    def init_weights(self) -> None:
        if self.is_init:
            return
        super().init_weights()
        if not self.init_cfg:
            for m in [self.conv_first, self.conv_hr, self.conv_last]:
                default_init_weights(m, 0.1)

    def _upsample_act(self, x: torch.Tensor) -> torch.Tensor:
        return self.lrelu(x) if self.lrelu_after_upsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, C_out, H*s, W*s)."""
        feat = self.lrelu(self.conv_first(x))
        out = self.trunk_net(feat)
        out = self._upsample_act(self.upsample1(out))
        if self.upscale_factor == 4:
            out = self._upsample_act(self.upsample2(out))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + self.img_upsampler(x)
