"""Residual blocks of the super-resolution networks (EDSR/SRResNet, ESRGAN, RDN)."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.utils import default_init_weights

__all__ = ['ResidualBlockNoBN', 'ResidualDenseBlock', 'RRDB', 'DenseLayer', 'RDB']


class ResidualBlockNoBN(nn.Module):
    """``x + res_scale * conv2(relu(conv1(x)))`` without batch norm (EDSR, MSRResNet).

    Args:
        mid_channels (int): channels of both convs. Default: 64.
        res_scale (float): scale of the residual branch. Default: 1.0.
    """

    def __init__(self, mid_channels: int = 64, res_scale: float = 1.0):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        # With res_scale == 1 the residual branch starts small (x0.1) for stable training;
        # EDSR's res_scale < 1 already damps it, so PyTorch's default init is kept there.
        if res_scale == 1.0:
            self.init_weights()

    def init_weights(self) -> None:
        for m in [self.conv1, self.conv2]:
            default_init_weights(m, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.conv2(self.relu(self.conv1(x)))
        return identity + out * self.res_scale


class ResidualDenseBlock(nn.Module):
    """ESRGAN's dense block: 5 convs, each sees all previous features; residual x0.2.

    Args:
        mid_channels (int): channels in and out. Default: 64.
        growth_channels (int): channels added by each of the first four convs. Default: 32.
    """

    def __init__(self, mid_channels: int = 64, growth_channels: int = 32):
        super().__init__()
        for i in range(5):
            out_channels = mid_channels if i == 4 else growth_channels
            self.add_module(f'conv{i + 1}',
                            nn.Conv2d(mid_channels + i * growth_channels, out_channels, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        self.init_weights()

    def init_weights(self) -> None:
        # ESRGAN paper: smaller init (x0.1) keeps the deep residual trunk stable.
        for i in range(5):
            default_init_weights(getattr(self, f'conv{i + 1}'), 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-Residual Dense Block: three ``ResidualDenseBlock`` + residual x0.2.

    Args:
        mid_channels (int): channels in and out.
        growth_channels (int): growth of each dense block. Default: 32.
    """

    def __init__(self, mid_channels: int, growth_channels: int = 32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(mid_channels, growth_channels)
        self.rdb2 = ResidualDenseBlock(mid_channels, growth_channels)
        self.rdb3 = ResidualDenseBlock(mid_channels, growth_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


class DenseLayer(nn.Module):
    """RDN's dense layer: (N, C, H, W) -> (N, C + out_channels, H, W) (input concatenated)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.relu(self.conv(x))], 1)


class RDB(nn.Module):
    """RDN's Residual Dense Block: dense layers, 1x1 local feature fusion, local residual.

    Args:
        in_channels (int): channels in and out.
        channel_growth (int): channels added by each dense layer.
        num_layers (int): dense layers in the block.
    """

    def __init__(self, in_channels: int, channel_growth: int, num_layers: int):
        super().__init__()
        self.layers = nn.Sequential(*[DenseLayer(in_channels + channel_growth * i, channel_growth)
                                      for i in range(num_layers)])
        self.lff = nn.Conv2d(in_channels + channel_growth * num_layers, in_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.lff(self.layers(x))
