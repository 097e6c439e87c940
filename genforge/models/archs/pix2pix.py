"""Pix2Pix's U-Net generator (MMagic's ``UnetGenerator``; state_dict layout of MMagic 1.2).

The U-Net is built from the innermost block outwards; every block is
``down (act, conv, norm) -> submodule -> up (act, deconv, norm)`` and concatenates its input with
its output along channels (except the outermost, which ends with Tanh).
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.models.utils import generation_init_weights
from genforge.registry import MODELS

__all__ = ['UnetGenerator', 'UnetSkipConnectionBlock', 'check_norm_cfg', 'init_type_and_gain']


def check_norm_cfg(norm_cfg: dict, owner: str) -> None:
    """``norm_cfg`` must be a dict with a 'type' (these networks always use a norm layer)."""
    if not isinstance(norm_cfg, dict) or 'type' not in norm_cfg:
        raise TypeError(f"{owner}: norm_cfg must be a dict with a 'type', e.g. dict(type='BN') or "
                        f"dict(type='IN'), got {norm_cfg!r}")


def init_type_and_gain(init_cfg: dict | None) -> tuple[str, float]:
    """MMagic reads ``init_cfg=dict(type='normal', gain=0.02)`` as generation_init_weights args."""
    if init_cfg is None:
        return 'normal', 0.02
    return init_cfg.get('type', 'normal'), init_cfg.get('gain', 0.02)


class _GenerationInitMixin:
    """``init_weights``: generation_init_weights, unless ``init_cfg`` is Pretrained."""

    def init_weights(self) -> None:
        if self.init_cfg is not None and self.init_cfg.get('type') in ('Pretrained',
                                                                       'PretrainedInit'):
            BaseModule.init_weights(self)
            return
        init_type, gain = init_type_and_gain(self.init_cfg)
        generation_init_weights(self, init_type=init_type, init_gain=gain)
        self._is_init = True


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: ``x -> cat([x', up(submodule(down(x)))])`` (outermost: no concat).

    Args:
        outer_channels: channels of this block's output (before the concat).
        inner_channels: channels after the down conv.
        in_channels: channels of the input (default ``outer_channels``).
        submodule: the next inner block (None for the innermost).
        is_outermost / is_innermost: position in the U-Net.
        norm_cfg: norm layer; 'IN' (no affine parameters) gets conv biases instead.
        use_dropout: Dropout(0.5) after the up conv of intermediate blocks.
    """

    def __init__(self, outer_channels: int, inner_channels: int, in_channels: int | None = None,
                 submodule: nn.Module | None = None, is_outermost: bool = False,
                 is_innermost: bool = False, norm_cfg: dict = dict(type='BN'),
                 use_dropout: bool = False):
        super().__init__()
        if is_outermost and is_innermost:
            raise ValueError('UnetSkipConnectionBlock: is_outermost and is_innermost cannot both '
                             'be True')
        check_norm_cfg(norm_cfg, 'UnetSkipConnectionBlock')
        self.is_outermost = is_outermost
        use_bias = norm_cfg['type'] == 'IN'
        in_channels = outer_channels if in_channels is None else in_channels
        down_norm, down_act = norm_cfg, dict(type='LeakyReLU', negative_slope=0.2)
        up_norm, up_bias, up_in = norm_cfg, use_bias, inner_channels * 2
        middle, upper = [submodule], []
        if is_outermost:
            down_norm, down_act, up_norm, up_bias = None, None, None, True
            upper = [nn.Tanh()]
        elif is_innermost:
            down_norm, up_in, middle = None, inner_channels, []
        elif use_dropout:
            upper = [nn.Dropout(0.5)]
        # act first: each level's activation applies to the previous level's normalised output
        down = ConvModule(in_channels, inner_channels, 4, stride=2, padding=1, bias=use_bias,
                          norm_cfg=down_norm, act_cfg=down_act, inplace=False,
                          order=('act', 'conv', 'norm'))
        up = ConvModule(up_in, outer_channels, 4, stride=2, padding=1, bias=up_bias,
                        conv_cfg=dict(type='deconv'), norm_cfg=up_norm,
                        act_cfg=dict(type='ReLU'), inplace=False, order=('act', 'conv', 'norm'))
        self.model = nn.Sequential(down, *middle, up, *upper)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_in + C_out, H, W) (outermost: (N, C_out, H, W))."""
        out = self.model(x)
        if self.is_outermost:
            return out
        # MMCV's in-place LeakyReLU in the down conv overwrote x before the concat, so MMagic's
        # (and the original pix2pix's) skip branch carries LeakyReLU(x); trained weights expect it
        return torch.cat([F.leaky_relu(x, 0.2), out], 1)


@MODELS.register_module()
class UnetGenerator(_GenerationInitMixin, BaseModule):
    """U-Net generator of Pix2Pix: ``num_down`` stride-2 levels with skip connections.

    Input (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1] (Tanh); H and W
    must be multiples of ``2 ** num_down`` (256 for the default 8).

    Example: dict(type='UnetGenerator', in_channels=3, out_channels=3, num_down=8,
                  base_channels=64, norm_cfg=dict(type='BN'), use_dropout=True,
                  init_cfg=dict(type='normal', gain=0.02))
    """

    def __init__(self, in_channels: int, out_channels: int, num_down: int = 8,
                 base_channels: int = 64, norm_cfg: dict = dict(type='BN'),
                 use_dropout: bool = False,
                 init_cfg: dict | None = dict(type='normal', gain=0.02)):
        super().__init__(init_cfg=init_cfg)
        check_norm_cfg(norm_cfg, 'UnetGenerator')
        if num_down < 5:
            raise ValueError(f'UnetGenerator: num_down={num_down} must be >= 5 (three levels '
                             'widen the channels, plus the outermost and innermost levels)')
        self.num_down = num_down
        c = base_channels
        block = UnetSkipConnectionBlock(c * 8, c * 8, submodule=None, norm_cfg=norm_cfg,
                                        is_innermost=True)
        for _ in range(num_down - 5):
            block = UnetSkipConnectionBlock(c * 8, c * 8, submodule=block, norm_cfg=norm_cfg,
                                            use_dropout=use_dropout)
        # channels shrink from 8c to c towards the outside
        block = UnetSkipConnectionBlock(c * 4, c * 8, submodule=block, norm_cfg=norm_cfg)
        block = UnetSkipConnectionBlock(c * 2, c * 4, submodule=block, norm_cfg=norm_cfg)
        block = UnetSkipConnectionBlock(c, c * 2, submodule=block, norm_cfg=norm_cfg)
        self.model = UnetSkipConnectionBlock(out_channels, c, in_channels=in_channels,
                                             submodule=block, is_outermost=True,
                                             norm_cfg=norm_cfg)

    @property
    def stride(self) -> int:
        """Input sizes must be multiples of this (used by ``genforge translate`` to pad)."""
        return 2 ** self.num_down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        return self.model(x)
