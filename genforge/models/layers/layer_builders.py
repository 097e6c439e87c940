"""MMCV-style layer builders: conv, norm, activation, padding and upsample layers from configs.

Every layer type is also registered in ``MODELS`` (as MMCV 2.x does), so
``MODELS.build(dict(type='LeakyReLU', negative_slope=0.2))`` works too.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from genforge.registry import MODELS

# Separate tables keep 'deconv' (conv) and 'deconv' (upsample) unambiguous, like MMCV's.
CONV_LAYERS: dict[str, type] = {
    'Conv1d': nn.Conv1d, 'Conv2d': nn.Conv2d, 'Conv3d': nn.Conv3d, 'Conv': nn.Conv2d,
    'deconv': nn.ConvTranspose2d, 'ConvTranspose2d': nn.ConvTranspose2d,
    'deconv3d': nn.ConvTranspose3d, 'ConvTranspose3d': nn.ConvTranspose3d,
    'ConvTranspose1d': nn.ConvTranspose1d,
}
NORM_LAYERS: dict[str, type] = {
    'BN': nn.BatchNorm2d, 'BN1d': nn.BatchNorm1d, 'BN2d': nn.BatchNorm2d, 'BN3d': nn.BatchNorm3d,
    'SyncBN': nn.SyncBatchNorm, 'GN': nn.GroupNorm, 'LN': nn.LayerNorm,
    'IN': nn.InstanceNorm2d, 'IN1d': nn.InstanceNorm1d, 'IN2d': nn.InstanceNorm2d,
    'IN3d': nn.InstanceNorm3d,
}
PADDING_LAYERS: dict[str, type] = {
    'zero': nn.ZeroPad2d, 'reflect': nn.ReflectionPad2d, 'replicate': nn.ReplicationPad2d,
}


class Clamp(nn.Module):
    """Clamp the input to ``[min, max]`` (MMCV's ``Clamp`` activation).

    Example: dict(type='Clamp', min=-1., max=1.)
    """

    def __init__(self, min: float = -1., max: float = 1.):  # noqa: A002 (MMCV names)
        super().__init__()
        self.min, self.max = min, max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, min=self.min, max=self.max)


class Swish(nn.Module):
    """``x * sigmoid(x)`` (MMCV's ``Swish``; same as SiLU). Example: dict(type='Swish')"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class HSigmoid(nn.Module):
    """MMCV's hard sigmoid ``clamp((x + bias) / divisor, min, max)``.

    Example: dict(type='HSigmoid', bias=3.0, divisor=6.0)
    """

    def __init__(self, bias: float = 3.0, divisor: float = 6.0, min_value: float = 0.0,
                 max_value: float = 1.0):
        super().__init__()
        assert divisor != 0, 'HSigmoid: divisor must not be 0'
        self.bias, self.divisor = bias, divisor
        self.min_value, self.max_value = min_value, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp_(self.min_value, self.max_value)


ACTIVATION_LAYERS: dict[str, Any] = {
    'ReLU': nn.ReLU, 'LeakyReLU': nn.LeakyReLU, 'PReLU': nn.PReLU, 'RReLU': nn.RReLU,
    'ReLU6': nn.ReLU6, 'ELU': nn.ELU, 'Sigmoid': nn.Sigmoid, 'Tanh': nn.Tanh, 'GELU': nn.GELU,
    'SiLU': nn.SiLU, 'Swish': Swish, 'Clamp': Clamp, 'HSigmoid': HSigmoid,
    'HSwish': nn.Hardswish, 'Softplus': nn.Softplus, 'Mish': nn.Mish,
}


def _bilinear_upsample(**kwargs) -> nn.Upsample:
    kwargs.setdefault('align_corners', False)
    return nn.Upsample(mode='bilinear', **kwargs)


UPSAMPLE_LAYERS: dict[str, Any] = {'nearest': nn.Upsample, 'bilinear': _bilinear_upsample,
                                   'deconv': nn.ConvTranspose2d}


def _register_all() -> None:
    """Mirror the tables into MODELS; keep an entry another module registered first."""
    for table in (CONV_LAYERS, NORM_LAYERS, PADDING_LAYERS, ACTIVATION_LAYERS, UPSAMPLE_LAYERS):
        for name, obj in table.items():
            if name not in MODELS.module_dict:
                MODELS.register_module(name=name, module=obj)


_register_all()


def _lookup(table: dict[str, Any], kind: str, cfg: dict) -> tuple[Any, dict]:
    """Resolve ``cfg['type']`` (str or class) in ``table`` then MODELS; return (cls, other keys)."""
    if not isinstance(cfg, dict):
        raise TypeError(f'{kind} config must be a dict with "type", got {cfg!r}')
    if 'type' not in cfg:
        raise KeyError(f'{kind} config {cfg!r} has no "type" key; e.g. dict(type='
                       f'{next(iter(table))!r})')
    args = dict(cfg)
    layer_type = args.pop('type')
    if inspect.isclass(layer_type) or callable(layer_type) and not isinstance(layer_type, str):
        return layer_type, args
    key = layer_type.split('.', 1)[-1] if '.' in layer_type else layer_type
    layer_cls = table.get(key) or MODELS.get(layer_type)
    if layer_cls is None:
        raise KeyError(f'{kind} type={layer_type!r} is unknown. Known: {sorted(table)}')
    return layer_cls, args


def build_conv_layer(cfg: dict | None, *args, **kwargs) -> nn.Module:
    """Build a convolution layer; ``cfg=None`` means ``Conv2d``.

    Example: build_conv_layer(dict(type='deconv'), 16, 8, kernel_size=4, stride=2, padding=1)
    """
    layer_cls, cfg_args = _lookup(CONV_LAYERS, 'conv_cfg', dict(type='Conv2d') if cfg is None
                                  else cfg)
    return layer_cls(*args, **kwargs, **cfg_args)


def infer_abbr(class_type: type) -> str:
    """MMCV's norm abbreviation used as submodule name: bn / gn / ln / in (or ``_abbr_``)."""
    if not inspect.isclass(class_type):
        raise TypeError(f'class_type must be a type, but got {type(class_type)}')
    if hasattr(class_type, '_abbr_'):
        return class_type._abbr_
    if issubclass(class_type, _InstanceNorm):  # IN is a subclass of BN in old torch
        return 'in'
    if issubclass(class_type, _BatchNorm):
        return 'bn'
    if issubclass(class_type, nn.GroupNorm):
        return 'gn'
    if issubclass(class_type, nn.LayerNorm):
        return 'ln'
    name = class_type.__name__.lower()
    for word, abbr in (('batch', 'bn'), ('group', 'gn'), ('layer', 'ln'), ('instance', 'in')):
        if word in name:
            return abbr
    return 'norm_layer'


def build_norm_layer(cfg: dict, num_features: int, postfix: int | str = '') -> tuple[str, nn.Module]:
    """Build a norm layer; return ``(name, layer)`` with MMCV's name (``'bn'``, ``'gn1'`` ...).

    Example: build_norm_layer(dict(type='GN', num_groups=4), 16) -> ('gn', GroupNorm(4, 16))
    """
    layer_cls, args = _lookup(NORM_LAYERS, 'norm_cfg', cfg)
    name = infer_abbr(layer_cls) + str(postfix)
    requires_grad = args.pop('requires_grad', True)
    args.setdefault('eps', 1e-5)
    if layer_cls is nn.GroupNorm or (inspect.isclass(layer_cls) and issubclass(layer_cls,
                                                                               nn.GroupNorm)):
        if 'num_groups' not in args:
            raise KeyError(f'norm_cfg {cfg!r}: GN needs num_groups, e.g. dict(type="GN", '
                           f'num_groups=32)')
        layer = layer_cls(num_channels=num_features, **args)
    else:
        layer = layer_cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return name, layer


def _accepts(layer_cls: Any, arg: str) -> bool:
    try:
        params = inspect.signature(layer_cls).parameters
    except (TypeError, ValueError):
        return False
    # nn.Module.__init__ takes **kwargs, so only an explicit parameter counts
    return arg in params


def build_activation_layer(cfg: dict) -> nn.Module:
    """Build an activation layer. Example: build_activation_layer(dict(type='LeakyReLU',
    negative_slope=0.2))"""
    layer_cls, args = _lookup(ACTIVATION_LAYERS, 'act_cfg', cfg)
    if 'inplace' in args and not _accepts(layer_cls, 'inplace'):
        args.pop('inplace')  # Tanh/Sigmoid/GELU... have no in-place variant
    return layer_cls(**args)


def build_padding_layer(cfg: dict, *args, **kwargs) -> nn.Module:
    """Build a padding layer: 'zero' | 'reflect' | 'replicate'.

    Example: build_padding_layer(dict(type='reflect'), 1)
    """
    layer_cls, cfg_args = _lookup(PADDING_LAYERS, 'padding cfg', cfg)
    return layer_cls(*args, **kwargs, **cfg_args)


def build_upsample_layer(cfg: dict, *args, **kwargs) -> nn.Module:
    """Build an upsample layer: 'nearest' | 'bilinear' (nn.Upsample) | 'deconv' | MODELS types.

    Example: build_upsample_layer(dict(type='nearest', scale_factor=2))
    """
    layer_cls, cfg_args = _lookup(UPSAMPLE_LAYERS, 'upsample_cfg', cfg)
    if layer_cls is nn.Upsample:
        cfg_args.setdefault('mode', cfg['type'])
    return layer_cls(*args, **kwargs, **cfg_args)


__all__ = ['build_conv_layer', 'build_norm_layer', 'build_activation_layer',
           'build_padding_layer', 'build_upsample_layer', 'infer_abbr', 'Clamp', 'Swish',
           'HSigmoid', 'CONV_LAYERS', 'NORM_LAYERS', 'ACTIVATION_LAYERS', 'PADDING_LAYERS',
           'UPSAMPLE_LAYERS']
