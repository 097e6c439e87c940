"""LinearModule: nn.Linear + activation with optional spectral norm (MMagic's, same names)."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import torch
from torch import nn

from genforge.registry import MODELS

from .conv_module import _init_nonlinearity, _kaiming_init_maybe_sn
from .layer_builders import build_activation_layer


@MODELS.register_module()
class LinearModule(nn.Module):
    """Linear layer then activation (or the reverse, via ``order``).

    Submodules: ``linear`` and ``activate``; input (N, *, in_features).

    Example: dict(type='LinearModule', in_features=16, out_features=8,
                  act_cfg=dict(type='LeakyReLU', negative_slope=0.2), with_spectral_norm=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 act_cfg: dict | None = dict(type='ReLU'), inplace: bool = True,
                 with_spectral_norm: bool = False, order: tuple = ('linear', 'act')):
        super().__init__()
        if act_cfg is not None and not isinstance(act_cfg, dict):
            raise TypeError(f'LinearModule: act_cfg must be None or a dict, got {act_cfg!r}')
        if not (isinstance(order, (tuple, list)) and len(order) == 2
                and set(order) == {'linear', 'act'}):
            raise ValueError(f"LinearModule: order must be ('linear', 'act') or ('act', 'linear'), "
                             f'got {order!r}')
        self.act_cfg = act_cfg
        self.inplace = inplace
        self.with_spectral_norm = with_spectral_norm
        self.order = tuple(order)
        self.with_activation = act_cfg is not None
        self.with_bias = bias

        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.in_features = self.linear.in_features
        self.out_features = self.linear.out_features
        if self.with_spectral_norm:
            self.linear = nn.utils.spectral_norm(self.linear)
        if self.with_activation:
            act_cfg_ = dict(act_cfg)
            act_cfg_.setdefault('inplace', inplace)
            self.activate = build_activation_layer(act_cfg_)
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming (fan_out) matched to the activation, as MMagic's LinearModule."""
        nonlinearity, a = _init_nonlinearity(self.act_cfg)
        _kaiming_init_maybe_sn(self.linear, a, nonlinearity)

    def forward(self, x: torch.Tensor, activate: bool = True) -> torch.Tensor:
        for layer in self.order:
            if layer == 'linear':
                x = self.linear(x)
            elif layer == 'act' and activate and self.with_activation:
                x = self.activate(x)
        return x


__all__ = ['LinearModule']
