"""Equalized learning rate (PGGAN, StyleGAN): weights stored N(0, 1), scaled at run time.

The trainable tensor is ``<name>_orig`` (MMagic's checkpoint key); before every forward a hook
writes ``<name> = <name>_orig * gain / sqrt(fan) * lr_mul``. So Adam sees unit-variance weights
in every layer while the layer's output keeps He-init statistics.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(...) configs; they are copied, never mutated)
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .conv_module import ConvModule
from .layer_builders import build_upsample_layer


def _fan(weight: torch.Tensor, mode: str) -> int:
    """torch.nn.init's fan: dim 1 is 'in', dim 0 is 'out', times the receptive field.

    A 5-D weight (1, out, in, k, k) (modulated convs) uses its first slice. For a
    ConvTranspose weight (in, out, k, k) 'fan_in' is therefore out * k * k, as in MMagic.
    """
    if weight.ndim == 5:
        weight = weight[0]
    if weight.ndim < 2:
        raise ValueError(f'EqualizedLR needs a weight with >= 2 dims, got shape '
                         f'{tuple(weight.shape)}')
    receptive = math.prod(weight.shape[2:]) if weight.ndim > 2 else 1
    if mode == 'fan_in':
        return weight.shape[1] * receptive
    if mode == 'fan_out':
        return weight.shape[0] * receptive
    raise ValueError(f"equalized_lr_cfg.mode={mode!r}: use 'fan_in' or 'fan_out'")


class EqualizedLR:
    """Forward pre-hook computing ``module.<name>`` from ``module.<name>_orig``.

    Args:
        name: the weight's attribute name. gain: sqrt(2) for (leaky) ReLU layers, 1 for linear
        outputs. mode: 'fan_in' | 'fan_out'. lr_mul: extra multiplier (StyleGAN's mapping MLP).

    Example: EqualizedLR.apply(nn.Conv2d(3, 8, 3), 'weight', gain=2 ** 0.5)
    """

    def __init__(self, name: str = 'weight', gain: float = 2 ** 0.5, mode: str = 'fan_in',
                 lr_mul: float = 1.0):
        _fan(torch.zeros(1, 1), mode)  # validate mode early
        self.name, self.gain, self.mode, self.lr_mul = name, gain, mode, lr_mul

    def compute_weight(self, module: nn.Module) -> torch.Tensor:
        weight = getattr(module, self.name + '_orig')
        scale = self.gain / math.sqrt(_fan(weight, self.mode)) * self.lr_mul
        return weight * scale

    def __call__(self, module: nn.Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def reset(self, module: nn.Module, inputs, output) -> None:
        # Drop the graph-carrying tensor after forward: the module stays deep-copyable (EMA) and
        # in-place init of ``module.weight`` keeps writing into the trained tensor, as before.
        setattr(module, self.name, getattr(module, self.name + '_orig').data)

    @staticmethod
    def apply(module: nn.Module, name: str = 'weight', gain: float = 2 ** 0.5,
              mode: str = 'fan_in', lr_mul: float = 1.0) -> EqualizedLR:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, EqualizedLR) and hook.name == name:
                raise RuntimeError(f'{type(module).__name__}.{name} already has equalized lr')
        fn = EqualizedLR(name, gain=gain, mode=mode, lr_mul=lr_mul)
        weight = module._parameters.pop(name)
        module.register_parameter(name + '_orig', weight)
        # a plain attribute sharing storage with the parameter, for code that reads .weight
        setattr(module, name, weight.data)
        module.register_forward_pre_hook(fn)
        module.register_forward_hook(fn.reset)
        return fn


def equalized_lr(module: nn.Module, name: str = 'weight', gain: float = 2 ** 0.5,
                 mode: str = 'fan_in', lr_mul: float = 1.0) -> nn.Module:
    """Give ``module.<name>`` an equalized learning rate; returns the module."""
    EqualizedLR.apply(module, name, gain=gain, mode=mode, lr_mul=lr_mul)
    return module


@MODELS.register_module()
class EqualizedLRConvModule(ConvModule):
    """ConvModule whose conv has an equalized learning rate (weight N(0, 1), bias 0).

    ``equalized_lr_cfg=None`` leaves a plain ConvModule. Keys: ``conv.weight_orig``,
    ``conv.bias``.

    Example: dict(type='EqualizedLRConvModule', in_channels=3, out_channels=16, kernel_size=3,
                  padding=1, act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
                  norm_cfg=dict(type='PixelNorm'), order=('conv', 'act', 'norm'))
    """

    def __init__(self, *args, equalized_lr_cfg: dict | None = dict(mode='fan_in'), **kwargs):
        super().__init__(*args, **kwargs)
        self.with_equalized_lr = equalized_lr_cfg is not None
        if self.with_equalized_lr:
            self.conv = equalized_lr(self.conv, **equalized_lr_cfg)
            self._init_conv_weights()

    def init_weights(self) -> None:
        # ConvModule.__init__ calls this before the conv is wrapped; afterwards a re-init (e.g.
        # a parent's init_weights) must keep the N(0, 1) weights equalized lr relies on.
        if getattr(self, 'with_equalized_lr', False):
            self._init_conv_weights()
        else:
            super().init_weights()

    def _init_conv_weights(self) -> None:
        nn.init.normal_(self.conv.weight_orig, 0., 1.)
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)


def _fuse_up(module: nn.Module, inputs) -> None:
    """3x3 transposed-conv kernel -> 4x4 sum of its four shifts: nearest x2 upsampling and the
    conv in one stride-2 transposed conv (the official PGGAN 'fused' path)."""
    w = F.pad(module.weight, (1, 1, 1, 1))
    module.weight = w[..., 1:, 1:] + w[..., 1:, :-1] + w[..., :-1, 1:] + w[..., :-1, :-1]


def _fuse_down(module: nn.Module, inputs) -> None:
    """3x3 kernel -> 4x4 average of its four shifts: the conv then 2x2 average pooling in one
    stride-2 conv."""
    w = F.pad(module.weight, (1, 1, 1, 1))
    module.weight = (w[..., 1:, 1:] + w[..., 1:, :-1] + w[..., :-1, 1:] + w[..., :-1, :-1]) * 0.25


@MODELS.register_module()
class EqualizedLRConvUpModule(EqualizedLRConvModule):
    """Upsample then equalized-LR conv. ``upsample=dict(type='fused_nn')`` fuses both into one
    stride-2 transposed conv (needs ``conv_cfg=dict(type='deconv')``, kernel 3, padding 1).

    Example: dict(type='EqualizedLRConvUpModule', in_channels=16, out_channels=8, kernel_size=3,
                  stride=2, padding=1, conv_cfg=dict(type='deconv'),
                  upsample=dict(type='fused_nn'))
    """

    def __init__(self, *args, upsample: dict | None = dict(type='nearest', scale_factor=2),
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.with_upsample = upsample is not None
        if self.with_upsample:
            if upsample.get('type') == 'fused_nn':
                if not isinstance(self.conv, nn.ConvTranspose2d):
                    raise ValueError("EqualizedLRConvUpModule: upsample=dict(type='fused_nn') "
                                     "needs conv_cfg=dict(type='deconv')")
                # after the equalized-lr hook, which sets the scaled weight first
                self.conv.register_forward_pre_hook(_fuse_up)
            else:
                self.upsample_layer = build_upsample_layer(copy.deepcopy(upsample))

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        if hasattr(self, 'upsample_layer'):
            x = self.upsample_layer(x)
        return super().forward(x, **kwargs)


@MODELS.register_module()
class EqualizedLRConvDownModule(EqualizedLRConvModule):
    """Equalized-LR conv then downsampling: ``downsample=dict(type='fused_pool')`` (one
    stride-2 conv with the averaged 4x4 kernel), ``dict(type='avgpool')`` or a callable.

    Example: dict(type='EqualizedLRConvDownModule', in_channels=8, out_channels=16,
                  kernel_size=3, stride=2, padding=1, downsample=dict(type='fused_pool'))
    """

    def __init__(self, *args, downsample: dict | None = dict(type='fused_pool'), **kwargs):
        super().__init__(*args, **kwargs)
        self.with_downsample = downsample is not None
        if not self.with_downsample:
            return
        if callable(downsample):
            self.downsample = downsample
            return
        kind = downsample.get('type')
        if kind == 'avgpool':
            self.downsample = nn.AvgPool2d(2, 2)
        elif kind == 'fused_pool':
            self.conv.register_forward_pre_hook(_fuse_down)
        else:
            raise ValueError(f"EqualizedLRConvDownModule: downsample type={kind!r} is not "
                             f"supported; use 'fused_pool' or 'avgpool'")

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        x = super().forward(x, **kwargs)
        if hasattr(self, 'downsample'):
            x = self.downsample(x)
        return x


@MODELS.register_module()
class EqualizedLRLinearModule(nn.Linear):
    """nn.Linear with an equalized learning rate: weight N(0, 1 / lr_mul), bias 0; keys
    ``weight_orig`` and ``bias``.

    Example: dict(type='EqualizedLRLinearModule', in_features=512, out_features=512,
                  equalized_lr_cfg=dict(gain=1., lr_mul=0.01))
    """

    def __init__(self, *args, equalized_lr_cfg: dict | None = dict(mode='fan_in'), **kwargs):
        super().__init__(*args, **kwargs)
        self.with_equalized_lr = equalized_lr_cfg is not None
        self.lr_mul = equalized_lr_cfg.get('lr_mul', 1.) if self.with_equalized_lr else 1.
        if self.with_equalized_lr:
            equalized_lr(self, **equalized_lr_cfg)
            nn.init.normal_(self.weight_orig, 0., 1. / self.lr_mul)
            if self.bias is not None:
                nn.init.zeros_(self.bias)


__all__ = ['EqualizedLR', 'equalized_lr', 'EqualizedLRConvModule', 'EqualizedLRConvUpModule',
           'EqualizedLRConvDownModule', 'EqualizedLRLinearModule']
