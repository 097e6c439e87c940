"""ResNet backbones with MMPretrain's names, arguments and state_dict layout.

``ResNet`` (v1b: stride on the 3x3 conv), ``ResNetV1c`` (deep 3-conv stem), ``ResNetV1d`` (deep stem
+ avg-pool shortcut) and ``ResNet_CIFAR`` (3x3 stride-1 stem, no max-pool). Forward returns a tuple
of the stages in ``out_indices``.
"""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule, build_conv_layer, build_norm_layer
from genforge.models.layers.transformer import DropPath
from genforge.registry import MODELS

__all__ = ['BasicBlock', 'Bottleneck', 'ResLayer', 'ResNet', 'ResNetV1c', 'ResNetV1d',
           'ResNet_CIFAR', 'get_expansion']

logger = logging.getLogger(__name__)


def _drop_path_or_identity(rate: float) -> nn.Module:
    return DropPath(rate) if rate > 1e-6 else nn.Identity()


class BasicBlock(BaseModule):
    """Two 3x3 convs + identity (ResNet-18/34). ``out_channels`` includes the expansion (1)."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, expansion: int = 1, stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: dict | None = None,
                 norm_cfg: dict = dict(type='BN'), drop_path_rate: float = 0.0,
                 act_cfg: dict = dict(type='ReLU', inplace=True), init_cfg: dict | None = None):
        super().__init__(init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.expansion = expansion
        assert self.expansion == 1 and out_channels % expansion == 0
        self.mid_channels = out_channels // expansion
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, out_channels, postfix=2)
        # registration order = state_dict order: conv1, bn1, conv2, bn2, downsample
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = _drop_path_or_identity(drop_path_rate)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return self.relu(self.drop_path(out) + identity)


class Bottleneck(BaseModule):
    """1x1 -> 3x3 -> 1x1 bottleneck (ResNet-50+). 'pytorch' style strides the 3x3 conv,
    'caffe' style the first 1x1."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, expansion: int = 4, stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 with_cp: bool = False, conv_cfg: dict | None = None,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU', inplace=True),
                 drop_path_rate: float = 0.0, init_cfg: dict | None = None):
        super().__init__(init_cfg)
        if style not in ('pytorch', 'caffe'):
            raise ValueError(f"Bottleneck: style must be 'pytorch' or 'caffe', got {style!r}")
        self.in_channels, self.out_channels, self.expansion = in_channels, out_channels, expansion
        assert out_channels % expansion == 0
        self.mid_channels = out_channels // expansion
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.conv1_stride, self.conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, self.mid_channels, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 1,
                                      stride=self.conv1_stride, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, self.mid_channels, 3,
                                      stride=self.conv2_stride, padding=dilation,
                                      dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = _drop_path_or_identity(drop_path_rate)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        return self.relu(self.drop_path(out) + identity)


def get_expansion(block: type, expansion: int | None = None) -> int:
    """The block's channel expansion: the explicit value, else ``block.expansion``."""
    if isinstance(expansion, int):
        if expansion <= 0:
            raise ValueError(f'expansion must be positive, got {expansion}')
        return expansion
    if expansion is not None:
        raise TypeError(f'expansion must be an int or None, got {expansion!r}')
    return getattr(block, 'expansion', 1)


class ResLayer(nn.Sequential):
    """``num_blocks`` blocks; the first one changes stride/channels through ``downsample``
    (``avg_down``: AvgPool + 1x1 conv, ResNet-D)."""

    def __init__(self, block: type, num_blocks: int, in_channels: int, out_channels: int,
                 expansion: int | None = None, stride: int = 1, avg_down: bool = False,
                 conv_cfg: dict | None = None, norm_cfg: dict = dict(type='BN'),
                 drop_path_rate: float | Sequence[float] = 0.0, **kwargs):
        self.block, self.expansion = block, get_expansion(block, expansion)
        rates = [drop_path_rate] * num_blocks if isinstance(drop_path_rate, float) \
            else list(drop_path_rate)
        if len(rates) != num_blocks:
            raise ValueError(f'ResLayer: {len(rates)} drop_path rates for {num_blocks} blocks')
        downsample = None
        if stride != 1 or in_channels != out_channels:
            layers: list[nn.Module] = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True,
                                           count_include_pad=False))
            layers += [build_conv_layer(conv_cfg, in_channels, out_channels, 1,
                                        stride=conv_stride, bias=False),
                       build_norm_layer(norm_cfg, out_channels)[1]]
            downsample = nn.Sequential(*layers)
        blocks = [block(in_channels=in_channels, out_channels=out_channels,
                        expansion=self.expansion, stride=stride, downsample=downsample,
                        conv_cfg=conv_cfg, norm_cfg=norm_cfg, drop_path_rate=rates[0], **kwargs)]
        for i in range(1, num_blocks):
            blocks.append(block(in_channels=out_channels, out_channels=out_channels,
                                expansion=self.expansion, stride=1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, drop_path_rate=rates[i], **kwargs))
        super().__init__(*blocks)


_DEFAULT_RESNET_INIT = [dict(type='Kaiming', layer=['Conv2d']),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet (MMPretrain ``ResNet``): a stem, then ``num_stages`` ResLayers named ``layer1``...

    Args:
        depth: 18, 34, 50, 101 or 152.
        out_indices: stages whose outputs are returned (a tuple of (N, C_i, H_i, W_i)).
        style: 'pytorch' (stride on the 3x3 conv) or 'caffe'.
        deep_stem / avg_down: ResNet-C stem / ResNet-D shortcut.
        frozen_stages: stages (stem = 0) put in eval mode with frozen weights; -1 none.
        norm_eval: keep BN layers in eval mode while training.
        zero_init_residual: zero the last norm's weight in each block (identity at start).

    Example: dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, ), style='pytorch')
    """

    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3)),
                     152: (Bottleneck, (3, 8, 36, 3))}

    def __init__(self, depth: int, in_channels: int = 3, stem_channels: int = 64,
                 base_channels: int = 64, expansion: int | None = None, num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (3, ), style: str = 'pytorch',
                 deep_stem: bool = False, avg_down: bool = False, frozen_stages: int = -1,
                 conv_cfg: dict | None = None, norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False, with_cp: bool = False, zero_init_residual: bool = True,
                 init_cfg: dict | list | None = _DEFAULT_RESNET_INIT, drop_path_rate: float = 0.0):
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'ResNet: invalid depth={depth}; use one of '
                           f'{sorted(self.arch_settings)}')
        if not 1 <= num_stages <= 4 or not len(strides) == len(dilations) == num_stages:
            raise ValueError(f'ResNet: num_stages={num_stages} needs 1..4 stages and as many '
                             f'strides ({strides}) and dilations ({dilations})')
        out_indices = tuple(i if i >= 0 else num_stages + i for i in
                            ((out_indices, ) if isinstance(out_indices, int) else out_indices))
        if max(out_indices) >= num_stages:
            raise ValueError(f'ResNet: out_indices={out_indices} must be < num_stages={num_stages}')
        self.depth, self.stem_channels, self.base_channels = depth, stem_channels, base_channels
        self.num_stages, self.strides, self.dilations = num_stages, strides, dilations
        self.out_indices, self.style, self.deep_stem = out_indices, style, deep_stem
        self.avg_down, self.frozen_stages, self.conv_cfg = avg_down, frozen_stages, conv_cfg
        self.norm_cfg, self.with_cp, self.norm_eval = norm_cfg, with_cp, norm_eval
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = get_expansion(self.block, expansion)

        self._make_stem_layer(in_channels, stem_channels)

        self.res_layers: list[str] = []
        in_ch, out_ch = stem_channels, base_channels * self.expansion
        # stochastic depth: rate grows linearly over all blocks of the network
        dpr = [float(x) for x in np.linspace(0, drop_path_rate, sum(stage_blocks))]
        for i, num_blocks in enumerate(self.stage_blocks):
            res_layer = self.make_res_layer(
                block=self.block, num_blocks=num_blocks, in_channels=in_ch, out_channels=out_ch,
                expansion=self.expansion, stride=strides[i], dilation=dilations[i], style=style,
                avg_down=avg_down, with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                drop_path_rate=dpr[:num_blocks])
            dpr = dpr[num_blocks:]
            in_ch, out_ch = out_ch, out_ch * 2
            layer_name = f'layer{i + 1}'
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)
        self._freeze_stages()
        self.feat_dim = res_layer[-1].out_channels

    def make_res_layer(self, **kwargs) -> ResLayer:
        return ResLayer(**kwargs)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """conv1/bn1/relu + maxpool, or (deep_stem) three ConvModules in ``stem``."""
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                ConvModule(in_channels, half, 3, stride=2, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, half, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, stem_channels, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels,
                                          kernel_size=7, stride=2, padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            stem = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
            for m in stem:
                m.eval()
                for p in m.parameters():
                    p.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            m = getattr(self, f'layer{i}')
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def init_weights(self) -> None:
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            return  # pretrained weights must not be overwritten
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.norm3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.norm2.weight, 0)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """x: (N, C, H, W) -> tuple of stage outputs listed in ``out_indices``."""
        x = self._stem(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> ResNet:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):  # BN statistics stay frozen
                    m.eval()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """Layer id for layer-wise lr decay: stem 0, block k of the network k + 1, rest last."""
        depths = self.stage_blocks
        max_layer_id = sum(depths) + 2
        if not param_name.startswith(prefix):
            return max_layer_id - 1, max_layer_id
        name = param_name[len(prefix):]
        if name.startswith('layer'):
            stage_id, block_id = int(name.split('.')[0][5:]) - 1, int(name.split('.')[1])
            return sum(depths[:stage_id]) + block_id + 1, max_layer_id
        return 0, max_layer_id


@MODELS.register_module()
class ResNetV1c(ResNet):
    """ResNet-C: the 7x7 stem conv replaced by three 3x3 convs.

    Example: dict(type='ResNetV1c', depth=50)
    """

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet-D: deep stem and an AvgPool before the strided 1x1 shortcut conv.

    Example: dict(type='ResNetV1d', depth=50, num_stages=4, out_indices=(3, ))
    """

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=True, **kwargs)


@MODELS.register_module()
class ResNet_CIFAR(ResNet):  # noqa: N801 (MMPretrain's type name)
    """ResNet for 32x32 inputs: 3x3 stride-1 stem conv and no max-pool.

    Example: dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, ), style='pytorch')
    """

    def __init__(self, depth: int, deep_stem: bool = False, **kwargs):
        super().__init__(depth, deep_stem=deep_stem, **kwargs)
        if self.deep_stem:
            raise ValueError('ResNet_CIFAR does not support deep_stem=True')

    def _make_stem_layer(self, in_channels: int, base_channels: int) -> None:
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, base_channels, kernel_size=3,
                                      stride=1, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, base_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def _stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.norm1(self.conv1(x)))
