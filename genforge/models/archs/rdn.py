"""RDN: Residual Dense Network (Zhang et al., 2018)."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.sr_blocks import RDB
from genforge.registry import MODELS

__all__ = ['RDNNet']


@MODELS.register_module()
class RDNNet(BaseModule):
    """Shallow features, residual dense blocks, global feature fusion, pixel-shuffle upscale.

    Args:
        in_channels (int), out_channels (int): image channels.
        mid_channels (int): Default: 64.
        num_blocks (int): residual dense blocks. Default: 16.
        upscale_factor (int): 2, 3 or 4. Default: 4.
        num_layers (int): dense layers per block. Default: 8.
        channel_growth (int): channels added per dense layer. Default: 64.

    Example: dict(type='RDNNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=16,
                  upscale_factor=4)
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64,
                 num_blocks: int = 16, upscale_factor: int = 4, num_layers: int = 8,
                 channel_growth: int = 64, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if upscale_factor not in (2, 3, 4):
            raise ValueError(f'RDNNet: upscale_factor={upscale_factor} is not supported; '
                             f'use 2, 3 or 4')
        self.mid_channels = mid_channels
        self.channel_growth = channel_growth
        self.num_blocks = num_blocks
        self.num_layers = num_layers
        self.sfe1 = nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1)
        self.sfe2 = nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1)
        self.rdbs = nn.ModuleList(RDB(mid_channels, channel_growth, num_layers)
                                  for _ in range(num_blocks))
        self.gff = nn.Sequential(
            nn.Conv2d(mid_channels * num_blocks, mid_channels, kernel_size=1),
            nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1))
        if upscale_factor in (2, 4):
            ups: list[nn.Module] = []
            for _ in range(upscale_factor // 2):
                ups += [nn.Conv2d(mid_channels, mid_channels * 4, kernel_size=3, padding=1),
                        nn.PixelShuffle(2)]
            self.upscale = nn.Sequential(*ups)
        else:
            self.upscale = nn.Sequential(
                nn.Conv2d(mid_channels, mid_channels * upscale_factor ** 2, kernel_size=3,
                          padding=1),
                nn.PixelShuffle(upscale_factor))
        self.output = nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, C_out, H*s, W*s)."""
        sfe1 = self.sfe1(x)
        x = self.sfe2(sfe1)
        local_features = []
        for rdb in self.rdbs:
            x = rdb(x)
            local_features.append(x)
        # global feature fusion over all blocks, plus global residual from sfe1
        x = self.gff(torch.cat(local_features, 1)) + sfe1
        return self.output(self.upscale(x))
