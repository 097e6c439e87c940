"""ModifiedVGG: the 128x128 VGG-style discriminator of SRGAN / ESRGAN."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

__all__ = ['ModifiedVGG']


@MODELS.register_module()
class ModifiedVGG(BaseModule):
    """Five (conv3x3, conv4x4 stride 2) stages with BN, then two linear layers -> (N, 1).

    Input must be 128x128 (the first linear layer expects 4x4 features).

    Args:
        in_channels (int): image channels.
        mid_channels (int): channels of the first stage (x2, x4, x8, x8 later).

    Example: dict(type='ModifiedVGG', in_channels=3, mid_channels=64)
    """

    def __init__(self, in_channels: int, mid_channels: int, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        m = mid_channels
        self.conv0_0 = nn.Conv2d(in_channels, m, 3, 1, 1, bias=True)
        self.conv0_1 = nn.Conv2d(m, m, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(m, affine=True)
        widths = [(m, 2 * m), (2 * m, 4 * m), (4 * m, 8 * m), (8 * m, 8 * m)]
        for i, (cin, cout) in enumerate(widths, start=1):
            self.add_module(f'conv{i}_0', nn.Conv2d(cin, cout, 3, 1, 1, bias=False))
            self.add_module(f'bn{i}_0', nn.BatchNorm2d(cout, affine=True))
            self.add_module(f'conv{i}_1', nn.Conv2d(cout, cout, 4, 2, 1, bias=False))
            self.add_module(f'bn{i}_1', nn.BatchNorm2d(cout, affine=True))
        self.linear1 = nn.Linear(m * 8 * 4 * 4, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, 128, 128) -> (N, 1) logits."""
        if x.size(2) != 128 or x.size(3) != 128:
            raise ValueError(f'ModifiedVGG: input must be 128x128, got {tuple(x.shape)}; crop '
                             f'training patches with PairedRandomCrop(gt_patch_size=128)')
        feat = self.lrelu(self.conv0_0(x))
        feat = self.lrelu(self.bn0_1(self.conv0_1(feat)))  # 64x64
        for i in range(1, 5):  # 32, 16, 8, 4
            feat = self.lrelu(getattr(self, f'bn{i}_0')(getattr(self, f'conv{i}_0')(feat)))
            feat = self.lrelu(getattr(self, f'bn{i}_1')(getattr(self, f'conv{i}_1')(feat)))
        feat = self.lrelu(self.linear1(feat.flatten(1)))
        return self.linear2(feat)
