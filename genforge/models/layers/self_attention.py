"""Self-attention block of SAGAN / BigGAN (MMagic's ``SelfAttentionBlock``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .spectral_norm import SNConvModule

__all__ = ['SelfAttentionBlock']


@MODELS.register_module()
class SelfAttentionBlock(nn.Module):
    """Non-local self-attention with a learnable residual gain ``gamma`` (initially 0).

    ``theta`` (queries) and ``phi`` (keys) map to C/8 channels, ``g`` (values) to C/2; keys and
    values are 2x2 max-pooled; ``o`` maps back to C. Output: ``x + gamma * o(attention)``.

    Args:
        in_channels (int): channels C of the (N, C, H, W) input; H and W must be even.
        with_spectral_norm (bool): spectral norm on the four 1x1 convs. Default True.
        sn_eps (float): spectral norm epsilon. Default 1e-6.
        sn_style (str): 'ajbrock' (default) or 'torch'.

    Example: dict(type='SelfAttentionBlock', in_channels=256, sn_style='torch')
    """

    def __init__(self, in_channels: int, with_spectral_norm: bool = True, sn_eps: float = 1e-6,
                 sn_style: str = 'ajbrock'):
        super().__init__()
        self.in_channels = in_channels
        sn_cfg = dict(eps=sn_eps, sn_style=sn_style)

        def conv1x1(cin: int, cout: int) -> SNConvModule:
            return SNConvModule(cin, cout, kernel_size=1, padding=0, bias=False, act_cfg=None,
                                with_spectral_norm=with_spectral_norm, spectral_norm_cfg=sn_cfg)

        self.theta = conv1x1(in_channels, in_channels // 8)
        self.phi = conv1x1(in_channels, in_channels // 8)
        self.g = conv1x1(in_channels, in_channels // 2)
        self.o = conv1x1(in_channels // 2, in_channels)
        self.gamma = nn.Parameter(torch.tensor(0.), requires_grad=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        theta = self.theta(x).view(n, c // 8, h * w)                       # (N, C/8, HW)
        phi = F.max_pool2d(self.phi(x), [2, 2]).view(n, c // 8, h * w // 4)  # (N, C/8, HW/4)
        g = F.max_pool2d(self.g(x), [2, 2]).view(n, c // 2, h * w // 4)      # (N, C/2, HW/4)
        # each query position attends over the pooled key positions
        beta = F.softmax(torch.bmm(theta.transpose(1, 2), phi), dim=-1)   # (N, HW, HW/4)
        attended = torch.bmm(g, beta.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.o(attended)
