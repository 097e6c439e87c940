"""PatchGAN discriminator of Pix2Pix / CycleGAN (MMagic's ``PatchDiscriminator``)."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.registry import MODELS

from .pix2pix import _GenerationInitMixin, check_norm_cfg

__all__ = ['PatchDiscriminator']


@MODELS.register_module()
class PatchDiscriminator(_GenerationInitMixin, BaseModule):
    """Scores overlapping patches: (N, in_channels, H, W) -> (N, 1, H', W') logits.

    ``num_conv`` stride-2 4x4 convs (channels c, 2c, 4c, ... capped at 8c), one stride-1 conv and
    a 1-channel 4x4 conv; a 256x256 input gives a 30x30 map (70x70 receptive field for
    ``num_conv=3``). Pix2Pix feeds the concatenated (source, target) pair (``in_channels=6``).

    Example: dict(type='PatchDiscriminator', in_channels=3, base_channels=64, num_conv=3,
                  norm_cfg=dict(type='IN'), init_cfg=dict(type='normal', gain=0.02))
    """

    def __init__(self, in_channels: int, base_channels: int = 64, num_conv: int = 3,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: dict | None = dict(type='normal', gain=0.02)):
        super().__init__(init_cfg=init_cfg)
        check_norm_cfg(norm_cfg, 'PatchDiscriminator')
        use_bias = norm_cfg['type'] == 'IN'
        act = dict(type='LeakyReLU', negative_slope=0.2)
        c = base_channels
        seq = [ConvModule(in_channels, c, 4, stride=2, padding=1, bias=True, norm_cfg=None,
                          act_cfg=act)]
        mult = 1
        for n in range(1, num_conv):
            prev, mult = mult, min(2 ** n, 8)
            seq.append(ConvModule(c * prev, c * mult, 4, stride=2, padding=1, bias=use_bias,
                                  norm_cfg=norm_cfg, act_cfg=act))
        prev, mult = mult, min(2 ** num_conv, 8)
        seq.append(ConvModule(c * prev, c * mult, 4, stride=1, padding=1, bias=use_bias,
                              norm_cfg=norm_cfg, act_cfg=act))
        seq.append(nn.Conv2d(c * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, 1, H', W') patch logits."""
        return self.model(x)
