"""EDSR (Lim et al., 2017): residual blocks without BN, residual scaling, mean shift."""
from __future__ import annotations

import math

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.sr_blocks import ResidualBlockNoBN
from genforge.models.layers.upsample import PixelShufflePack
from genforge.models.utils import make_layer
from genforge.registry import MODELS

__all__ = ['EDSRNet', 'UpsampleModule']


class UpsampleModule(nn.Sequential):
    """EDSR upsampler: log2(scale) x2 pixel shuffles for 2^n, one x3 shuffle for 3."""

    def __init__(self, scale: int, mid_channels: int):
        modules = []
        if scale > 0 and (scale & (scale - 1)) == 0:  # power of two
            for _ in range(int(math.log2(scale))):
                modules.append(PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3))
        elif scale == 3:
            modules.append(PixelShufflePack(mid_channels, mid_channels, 3, upsample_kernel=3))
        else:
            raise ValueError(f'EDSRNet: upscale_factor={scale} is not supported; use 2^n or 3')
        super().__init__(*modules)


@MODELS.register_module()
class EDSRNet(BaseModule):
    """EDSR generator. Input and output in [0, 1]; the DIV2K RGB mean is subtracted inside.

    Args:
        in_channels (int), out_channels (int): image channels.
        mid_channels (int): Default: 64.
        num_blocks (int): Default: 16.
        upscale_factor (int): 2^n or 3. Default: 4.
        res_scale (float): residual scaling in each block. Default: 1.
        rgb_mean (list[float]): Default: DIV2K's [0.4488, 0.4371, 0.4040].
        rgb_std (list[float]): Default: [1.0, 1.0, 1.0].
        img_range (float): the normalised input is multiplied by this and the output divided
            by it: BasicSR's EDSR uses 255 (``(x - mean) * 255``). Default: 1 (MMagic).

    Example: dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=64,
                  num_blocks=16, upscale_factor=4, res_scale=1)
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64,
                 num_blocks: int = 16, upscale_factor: int = 4, res_scale: float = 1,
                 rgb_mean: list | tuple = (0.4488, 0.4371, 0.4040),
                 rgb_std: list | tuple = (1.0, 1.0, 1.0), img_range: float = 1.,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.num_blocks = num_blocks
        self.upscale_factor = upscale_factor
        self.img_range = img_range
        # Non-persistent: they follow .to(device) but stay out of the state_dict, as in MMagic.
        self.register_buffer('mean', torch.tensor(list(rgb_mean)).view(1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(list(rgb_std)).view(1, -1, 1, 1), False)
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.body = make_layer(ResidualBlockNoBN, num_blocks, mid_channels=mid_channels,
                               res_scale=res_scale)
        self.conv_after_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.upsample = UpsampleModule(upscale_factor, mid_channels)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) in [0, 1] -> (N, C_out, H*s, W*s)."""
        mean, std = self.mean.to(x), self.std.to(x)
        x = (x - mean) / std * self.img_range
        x = self.conv_first(x)
        res = self.conv_after_body(self.body(x)) + x
        x = self.conv_last(self.upsample(res))
        return x / self.img_range * std + mean
