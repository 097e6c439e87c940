"""SRCNN (Dong et al., 2015): bicubic upsampling followed by three convolutions."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

__all__ = ['SRCNNNet']


@MODELS.register_module()
class SRCNNNet(BaseModule):
    """SRCNN: upsample bicubically by ``upscale_factor``, then conv-ReLU-conv-ReLU-conv.

    Args:
        channels (tuple[int]): 4 channel numbers: input, two hidden, output.
        kernel_sizes (tuple[int]): 3 kernel sizes.
        upscale_factor (int): Default: 4.

    Example: dict(type='SRCNNNet', channels=(3, 64, 32, 3), kernel_sizes=(9, 1, 5),
                  upscale_factor=4)
    """

    def __init__(self, channels: tuple = (3, 64, 32, 3), kernel_sizes: tuple = (9, 1, 5),
                 upscale_factor: int = 4, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if len(channels) != 4:
            raise ValueError(f'SRCNNNet: channels needs 4 numbers (in, hidden1, hidden2, out), '
                             f'got {tuple(channels)}')
        if len(kernel_sizes) != 3:
            raise ValueError(f'SRCNNNet: kernel_sizes needs 3 numbers, got {tuple(kernel_sizes)}')
        self.upscale_factor = upscale_factor
        self.img_upsampler = nn.Upsample(scale_factor=upscale_factor, mode='bicubic',
                                         align_corners=False)
        self.conv1 = nn.Conv2d(channels[0], channels[1], kernel_sizes[0],
                               padding=kernel_sizes[0] // 2)
        self.conv2 = nn.Conv2d(channels[1], channels[2], kernel_sizes[1],
                               padding=kernel_sizes[1] // 2)
        self.conv3 = nn.Conv2d(channels[2], channels[3], kernel_sizes[2],
                               padding=kernel_sizes[2] // 2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) -> (N, C_out, H*s, W*s)."""
        x = self.img_upsampler(x)
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        return self.conv3(out)
