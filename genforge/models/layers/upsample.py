"""Upsampling blocks for super-resolution networks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.utils import default_init_weights
from genforge.registry import MODELS

__all__ = ['PixelShufflePack']


@MODELS.register_module()
class PixelShufflePack(nn.Module):
    """Conv then pixel shuffle: (N, C_in, H, W) -> (N, C_out, H*r, W*r).

    Args:
        in_channels (int): channels of the input feature.
        out_channels (int): channels of the output feature.
        scale_factor (int): upsampling ratio ``r``.
        upsample_kernel (int): kernel size of the conv before the shuffle.

    Example: dict(type='PixelShufflePack', in_channels=64, out_channels=64, scale_factor=2,
                  upsample_kernel=3)
    """

    def __init__(self, in_channels: int, out_channels: int, scale_factor: int,
                 upsample_kernel: int):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.scale_factor = scale_factor
        self.upsample_kernel = upsample_kernel
        self.upsample_conv = nn.Conv2d(self.in_channels,
                                       self.out_channels * scale_factor * scale_factor,
                                       self.upsample_kernel,
                                       padding=(self.upsample_kernel - 1) // 2)
        self.init_weights()

    def init_weights(self) -> None:
        default_init_weights(self, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (N, C_out*r*r, H, W) -> (N, C_out, H*r, W*r)
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)
