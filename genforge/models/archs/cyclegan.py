"""CycleGAN's ResNet generator (MMagic's ``ResnetGenerator``; state_dict layout of MMagic 1.2).

``7x7 conv -> 2 stride-2 convs -> num_blocks residual blocks -> 2 stride-2 deconvs -> 7x7 conv
-> Tanh``, all in one ``nn.Sequential`` named ``model`` as in MMagic.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.registry import MODELS

from .pix2pix import _GenerationInitMixin, check_norm_cfg

__all__ = ['ResnetGenerator', 'ResidualBlockWithDropout']


class ResidualBlockWithDropout(nn.Module):
    """``x + conv-norm-ReLU-[Dropout(0.5)]-conv-norm(x)``; no activation after the sum.

    Args:
        channels: input = output channels.
        padding_mode: 'reflect' | 'replicate' | 'zeros' padding of the 3x3 convs.
        norm_cfg: norm layer ('IN' has no affine parameters, so the convs get biases).
        use_dropout: insert Dropout(0.5) between the two convs.
    """

    def __init__(self, channels: int, padding_mode: str, norm_cfg: dict = dict(type='BN'),
                 use_dropout: bool = True):
        super().__init__()
        check_norm_cfg(norm_cfg, 'ResidualBlockWithDropout')
        use_bias = norm_cfg['type'] == 'IN'
        block = [ConvModule(channels, channels, 3, padding=1, bias=use_bias, norm_cfg=norm_cfg,
                            padding_mode=padding_mode)]
        if use_dropout:
            block.append(nn.Dropout(0.5))
        block.append(ConvModule(channels, channels, 3, padding=1, bias=use_bias,
                                norm_cfg=norm_cfg, act_cfg=None, padding_mode=padding_mode))
        self.block = nn.Sequential(*block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        return x + self.block(x)


@MODELS.register_module()
class ResnetGenerator(_GenerationInitMixin, BaseModule):
    """ResNet generator of CycleGAN.

    Input (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1]; H and W must
    be multiples of 4 (two stride-2 levels) for the output to match the input size.

    Example: dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=64,
                  norm_cfg=dict(type='IN'), use_dropout=False, num_blocks=9,
                  padding_mode='reflect', init_cfg=dict(type='normal', gain=0.02))
    """

    num_down = 2

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 64,
                 norm_cfg: dict = dict(type='IN'), use_dropout: bool = False,
                 num_blocks: int = 9, padding_mode: str = 'reflect',
                 init_cfg: dict | None = dict(type='normal', gain=0.02)):
        super().__init__(init_cfg=init_cfg)
        if num_blocks < 0:
            raise ValueError(f'ResnetGenerator: num_blocks={num_blocks} must be >= 0')
        check_norm_cfg(norm_cfg, 'ResnetGenerator')
        # only IN (no affine parameters) gets conv biases, as in CycleGAN's original code
        use_bias = norm_cfg['type'] == 'IN'
        c = base_channels
        model = [ConvModule(in_channels, c, 7, padding=3, bias=use_bias, norm_cfg=norm_cfg,
                            padding_mode=padding_mode)]
        for i in range(self.num_down):
            m = 2 ** i
            model.append(ConvModule(c * m, c * m * 2, 3, stride=2, padding=1, bias=use_bias,
                                    norm_cfg=norm_cfg))
        m = 2 ** self.num_down
        model += [ResidualBlockWithDropout(c * m, padding_mode=padding_mode, norm_cfg=norm_cfg,
                                           use_dropout=use_dropout) for _ in range(num_blocks)]
        for i in range(self.num_down):
            m = 2 ** (self.num_down - i)
            model.append(ConvModule(c * m, c * m // 2, 3, stride=2, padding=1, bias=use_bias,
                                    conv_cfg=dict(type='deconv', output_padding=1),
                                    norm_cfg=norm_cfg))
        model.append(ConvModule(c, out_channels, 7, padding=3, bias=True, norm_cfg=None,
                                act_cfg=dict(type='Tanh'), padding_mode=padding_mode))
        self.model = nn.Sequential(*model)

    @property
    def stride(self) -> int:
        """Input sizes must be multiples of this (used by ``genforge translate`` to pad)."""
        return 2 ** self.num_down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        return self.model(x)
