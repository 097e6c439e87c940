"""ConvModule: conv / norm / activation in a configurable order (MMCV's, same submodule names).

Submodules are named ``conv``, the norm abbreviation (``bn``, ``gn``, ``in``, ``ln``) and
``activate`` (plus ``padding_layer`` for explicit padding), so state_dicts of MMagic/MMCV
checkpoints load unchanged.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import logging

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from genforge.models.utils import constant_init, kaiming_init
from genforge.registry import MODELS

from .layer_builders import build_activation_layer, build_conv_layer, build_norm_layer, build_padding_layer

logger = logging.getLogger(__name__)

# padding modes nn.ConvNd handles itself; others get an explicit padding layer
_OFFICIAL_PADDING_MODES = ('zeros', 'circular')


def _init_nonlinearity(act_cfg: dict | None) -> tuple[str, float]:
    """Kaiming arguments matching the activation that follows the layer (MMCV's rule)."""
    if act_cfg is not None and act_cfg.get('type') == 'LeakyReLU':
        return 'leaky_relu', act_cfg.get('negative_slope', 0.01)
    return 'relu', 0.


def _kaiming_init_maybe_sn(layer: nn.Module, a: float, nonlinearity: str) -> None:
    """Kaiming-init ``layer``; with spectral norm the trainable tensor is ``weight_orig``."""
    if hasattr(layer, 'weight_orig'):
        nn.init.kaiming_normal_(layer.weight_orig, a=a, mode='fan_out', nonlinearity=nonlinearity)
        if getattr(layer, 'bias', None) is not None:
            nn.init.constant_(layer.bias, 0.)
    else:
        kaiming_init(layer, a=a, nonlinearity=nonlinearity)


@MODELS.register_module()
class ConvModule(nn.Module):
    """A conv block bundling conv, norm and activation layers (MMCV's ``ConvModule``).

    Args:
        bias: 'auto' means bias only without a norm layer.
        conv_cfg / norm_cfg / act_cfg: layer configs (None: Conv2d / no norm / no activation).
        inplace: in-place activation where the activation supports it.
        with_spectral_norm: wrap the conv in ``torch.nn.utils.spectral_norm``.
        padding_mode: 'zeros' | 'circular' (in the conv) or 'reflect' | 'replicate' | 'zero'
            (an explicit ``padding_layer``).
        order: a permutation of ('conv', 'norm', 'act').

    Example: dict(type='ConvModule', in_channels=3, out_channels=8, kernel_size=3, padding=1,
                  norm_cfg=dict(type='BN'), act_cfg=dict(type='LeakyReLU', negative_slope=0.2))
    """

    _abbr_ = 'conv_block'

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: int | tuple = 0, dilation: int | tuple = 1,
                 groups: int = 1, bias: bool | str = 'auto', conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = dict(type='ReLU'),
                 inplace: bool = True, with_spectral_norm: bool = False,
                 padding_mode: str = 'zeros', order: tuple = ('conv', 'norm', 'act')):
        super().__init__()
        for key, cfg in (('conv_cfg', conv_cfg), ('norm_cfg', norm_cfg), ('act_cfg', act_cfg)):
            if cfg is not None and not isinstance(cfg, dict):
                raise TypeError(f'ConvModule: {key} must be None or a dict, got {cfg!r}')
        if not (isinstance(order, (tuple, list)) and len(order) == 3
                and set(order) == {'conv', 'norm', 'act'}):
            raise ValueError(f"ConvModule: order must be a permutation of ('conv', 'norm', 'act'), "
                             f'got {order!r}')
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.inplace = inplace
        self.with_spectral_norm = with_spectral_norm
        self.with_explicit_padding = padding_mode not in _OFFICIAL_PADDING_MODES
        self.order = tuple(order)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == 'auto':
            bias = not self.with_norm
        self.with_bias = bias

        if self.with_explicit_padding:
            self.padding_layer = build_padding_layer(dict(type=padding_mode), padding)
        conv_kwargs = dict(stride=stride, padding=0 if self.with_explicit_padding else padding,
                           dilation=dilation, groups=groups, bias=bias)
        if padding_mode == 'circular':
            conv_kwargs['padding_mode'] = 'circular'
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size,
                                     **conv_kwargs)
        # expose the conv's attributes, as MMCV does
        for attr in ('in_channels', 'out_channels', 'kernel_size', 'stride', 'padding',
                     'dilation', 'transposed', 'output_padding', 'groups'):
            setattr(self, attr, getattr(self.conv, attr, None))
        if self.with_spectral_norm:
            self.conv = nn.utils.spectral_norm(self.conv)

        if self.with_norm:
            # a norm before the conv sees the input channels
            norm_channels = (out_channels if self.order.index('norm') > self.order.index('conv')
                             else in_channels)
            self.norm_name, norm = build_norm_layer(norm_cfg, norm_channels)
            self.add_module(self.norm_name, norm)
            if self.with_bias and isinstance(norm, (_BatchNorm, _InstanceNorm)):
                logger.debug('ConvModule: conv bias before %s is redundant', type(norm).__name__)
        else:
            self.norm_name = None

        if self.with_activation:
            act_cfg_ = dict(act_cfg)
            act_cfg_.setdefault('inplace', inplace)
            self.activate = build_activation_layer(act_cfg_)
        self.init_weights()

    @property
    def norm(self) -> nn.Module | None:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """Kaiming (fan_out) for the conv unless it has its own ``init_weights``; norm = 1 / 0."""
        if not hasattr(self.conv, 'init_weights'):
            nonlinearity, a = _init_nonlinearity(self.act_cfg)
            _kaiming_init_maybe_sn(self.conv, a, nonlinearity)
        if self.with_norm and getattr(self.norm, 'weight', None) is not None:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        # submodules straight from _modules: nn.Module.__getattr__ (and the norm property) cost
        # a few microseconds per lookup, which adds up over every block of every step
        modules = self._modules
        for layer in self.order:
            if layer == 'conv':
                if self.with_explicit_padding:
                    x = modules['padding_layer'](x)
                x = modules['conv'](x)
            elif layer == 'norm' and norm and self.with_norm:
                x = modules[self.norm_name](x)
            elif layer == 'act' and activate and self.with_activation:
                x = modules['activate'](x)
        return x


@MODELS.register_module()
class DepthwiseSeparableConvModule(nn.Module):
    """Depthwise conv (groups=in_channels) then pointwise 1x1 conv, each a ConvModule.

    ``dw_*_cfg`` / ``pw_*_cfg`` default to the shared ``norm_cfg`` / ``act_cfg`` ('default').

    Example: dict(type='DepthwiseSeparableConvModule', in_channels=8, out_channels=16,
                  kernel_size=3, padding=1, norm_cfg=dict(type='BN'))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple,
                 stride: int | tuple = 1, padding: int | tuple = 0, dilation: int | tuple = 1,
                 norm_cfg: dict | None = None, act_cfg: dict | None = dict(type='ReLU'),
                 dw_norm_cfg: dict | str | None = 'default', dw_act_cfg: dict | str | None = 'default',
                 pw_norm_cfg: dict | str | None = 'default', pw_act_cfg: dict | str | None = 'default',
                 **kwargs):
        super().__init__()
        if 'groups' in kwargs:
            raise ValueError('DepthwiseSeparableConvModule sets groups itself; remove "groups"')
        dw_norm_cfg = norm_cfg if dw_norm_cfg == 'default' else dw_norm_cfg
        dw_act_cfg = act_cfg if dw_act_cfg == 'default' else dw_act_cfg
        pw_norm_cfg = norm_cfg if pw_norm_cfg == 'default' else pw_norm_cfg
        pw_act_cfg = act_cfg if pw_act_cfg == 'default' else pw_act_cfg
        self.depthwise_conv = ConvModule(in_channels, in_channels, kernel_size, stride=stride,
                                         padding=padding, dilation=dilation, groups=in_channels,
                                         norm_cfg=dw_norm_cfg, act_cfg=dw_act_cfg, **kwargs)
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1, norm_cfg=pw_norm_cfg,
                                         act_cfg=pw_act_cfg, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


__all__ = ['ConvModule', 'DepthwiseSeparableConvModule']
