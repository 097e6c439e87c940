"""RRDBNet: ESRGAN's generator (Wang et al., 2018)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.sr_blocks import RRDB
from genforge.models.utils import default_init_weights, make_layer
from genforge.registry import MODELS

__all__ = ['RRDBNet']


@MODELS.register_module()
class RRDBNet(BaseModule):
    """RRDB trunk + two x2 nearest-neighbour upsamplings. x1/x2 first pixel-unshuffle the
    input (Real-ESRGAN), so the trunk always runs at 1/4 of the output size.

    Args:
        in_channels (int), out_channels (int): image channels.
        mid_channels (int): Default: 64.
        num_blocks (int): RRDB blocks. Default: 23.
        growth_channels (int): dense growth. Default: 32.
        upscale_factor (int): 1, 2 or 4. Default: 4.

    Example: dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=23,
                  growth_channels=32, upscale_factor=4)
    """

    _supported_upscale_factors = [1, 2, 4]

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64,
                 num_blocks: int = 23, growth_channels: int = 32, upscale_factor: int = 4,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if upscale_factor not in self._supported_upscale_factors:
            raise ValueError(f'RRDBNet: upscale_factor={upscale_factor} is not supported; use '
                             f'one of {self._supported_upscale_factors}')
        in_channels = in_channels * (4 // upscale_factor) ** 2
        self.upscale_factor = upscale_factor
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.body = make_layer(RRDB, num_blocks, mid_channels=mid_channels,
                               growth_channels=growth_channels)
        self.conv_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        if not init_cfg:  # a Pretrained init_cfg is applied by the runner, not at build time
            self.init_weights()

    def init_weights(self) -> None:
        if self.is_init:
            return
        if self.init_cfg:
            super().init_weights()
            return
        # ESRGAN: scale the Kaiming init by 0.1 for a stable deep residual network.
        for m in [self.conv_first, self.conv_body, self.conv_up1, self.conv_up2, self.conv_hr,
                  self.conv_last]:
            default_init_weights(m, 0.1)
        self._is_init = True

    @property
    def input_divisor(self) -> int:
        """Input height/width must be multiples of this (pixel-unshuffle for x1/x2)."""
        return 4 // self.upscale_factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, C_out, H*s, W*s)."""
        if self.upscale_factor in (1, 2):
            # (N, C, H, W) -> (N, C*r*r, H/r, W/r), r = 4 / scale
            feat = F.pixel_unshuffle(x, 4 // self.upscale_factor)
        else:
            feat = x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))
