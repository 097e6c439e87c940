"""BaseModule: an ``nn.Module`` whose weights are initialised from ``init_cfg``."""
from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from genforge.registry import WEIGHT_INITIALIZERS

logger = logging.getLogger(__name__)


def _layer_matches(module: nn.Module, layer) -> bool:
    if layer is None:
        return True
    names = [layer] if isinstance(layer, str) else list(layer)
    return any(type(module).__name__ == n or n in [c.__name__ for c in type(module).__mro__]
               for n in names)


def _apply_to(module: nn.Module, cfg: dict, fn) -> None:
    """Apply ``fn(m)`` to every submodule matching ``cfg['layer']`` (all with weights if unset)."""
    layer = cfg.get('layer')
    for m in module.modules():
        if layer is None:
            if getattr(m, 'weight', None) is not None and isinstance(m.weight, torch.Tensor):
                fn(m)
        elif _layer_matches(m, layer):
            fn(m)


def _set_bias(m: nn.Module, bias: float) -> None:
    if getattr(m, 'bias', None) is not None and isinstance(m.bias, torch.Tensor):
        nn.init.constant_(m.bias, bias)


@WEIGHT_INITIALIZERS.register_module(name=['Normal', 'NormalInit'])
def normal_initializer(module: nn.Module, mean: float = 0., std: float = 1., bias: float = 0.,
                       layer=None, **_) -> None:
    def fn(m):
        nn.init.normal_(m.weight, mean, std)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['TruncNormal', 'TruncNormalInit'])
def trunc_normal_initializer(module: nn.Module, mean: float = 0., std: float = 1., a: float = -2.,
                             b: float = 2., bias: float = 0., layer=None, **_) -> None:
    def fn(m):
        nn.init.trunc_normal_(m.weight, mean, std, a, b)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Xavier', 'XavierInit'])
def xavier_initializer(module: nn.Module, gain: float = 1., distribution: str = 'normal',
                       bias: float = 0., layer=None, **_) -> None:
    def fn(m):
        if distribution == 'uniform':
            nn.init.xavier_uniform_(m.weight, gain)
        else:
            nn.init.xavier_normal_(m.weight, gain)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Kaiming', 'KaimingInit'])
def kaiming_initializer(module: nn.Module, a: float = 0, mode: str = 'fan_out',
                        nonlinearity: str = 'relu', distribution: str = 'normal', bias: float = 0.,
                        layer=None, **_) -> None:
    def fn(m):
        if distribution == 'uniform':
            nn.init.kaiming_uniform_(m.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(m.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Uniform', 'UniformInit'])
def uniform_initializer(module: nn.Module, a: float = 0., b: float = 1., bias: float = 0.,
                        layer=None, **_) -> None:
    def fn(m):
        nn.init.uniform_(m.weight, a, b)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Constant', 'ConstantInit'])
def constant_initializer(module: nn.Module, val: float = 0., bias: float = 0., layer=None,
                         **_) -> None:
    def fn(m):
        nn.init.constant_(m.weight, val)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Orthogonal', 'ortho', 'Ortho'])
def orthogonal_initializer(module: nn.Module, gain: float = 1., bias: float = 0., layer=None,
                           **_) -> None:
    def fn(m):
        if m.weight.dim() >= 2:
            nn.init.orthogonal_(m.weight, gain)
        _set_bias(m, bias)
    _apply_to(module, dict(layer=layer or ['Conv2d', 'Linear', 'Embedding']), fn)


@WEIGHT_INITIALIZERS.register_module(name=['Pretrained', 'PretrainedInit'])
def pretrained_initializer(module: nn.Module, checkpoint: str, prefix: str | None = None,
                           map_location: str = 'cpu', **_) -> None:
    # Imported lazily: the runner package imports models.
    from genforge.checkpoint import load_checkpoint
    if prefix is None:
        load_checkpoint(module, checkpoint, map_location=map_location, strict=False)
    else:
        from genforge.checkpoint import load_state_dict_from_file
        state = load_state_dict_from_file(checkpoint, map_location=map_location)
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(f'init_cfg Pretrained: no key starts with prefix {prefix!r} in '
                           f'{checkpoint}')
        module.load_state_dict(sub, strict=False)


def initialize(module: nn.Module, init_cfg: dict | list[dict]) -> None:
    """Apply one or several ``init_cfg`` dicts (MMEngine semantics incl. ``override``)."""
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        cfg = dict(cfg)
        init_type = cfg.pop('type', None)
        if init_type is None:
            raise KeyError(f'init_cfg {cfg!r} has no "type"; use e.g. dict(type="Kaiming")')
        fn = WEIGHT_INITIALIZERS.get(init_type)
        if fn is None:
            raise KeyError(WEIGHT_INITIALIZERS.not_found_message(init_type, 'init_cfg'))
        overrides = cfg.pop('override', None)
        fn(module, **cfg)
        if overrides:
            for ov in (overrides if isinstance(overrides, (list, tuple)) else [overrides]):
                ov = dict(ov)
                name = ov.pop('name')
                sub = getattr(module, name, None)
                if sub is None:
                    raise KeyError(f'init_cfg override: module has no submodule {name!r}')
                ov.setdefault('type', init_type)
                for k, v in cfg.items():
                    if k != 'layer':
                        ov.setdefault(k, v)
                ov.pop('layer', None)
                initialize(sub, ov)


class BaseModule(nn.Module):
    """``nn.Module`` with ``init_cfg`` and a once-only, recursive ``init_weights()``.

    Children's ``init_weights`` run first, then this module's ``init_cfg`` (so a parent's
    config overrides a child's defaults, as in MMEngine).

    Example: dict(type='MyNet', init_cfg=dict(type='Kaiming', layer='Conv2d'))
    """

    def __init__(self, init_cfg: dict | list[dict] | None = None):
        super().__init__()
        self._is_init = False
        self.init_cfg = init_cfg

    @property
    def is_init(self) -> bool:
        return self._is_init

    def init_weights(self) -> None:
        if self._is_init:
            return
        for child in self.children():
            if hasattr(child, 'init_weights'):
                _call_child_init(child)
        if self.init_cfg:
            cfgs = self.init_cfg if isinstance(self.init_cfg, (list, tuple)) else [self.init_cfg]
            # Pretrained is applied last so it wins over random initialisers.
            ordered = sorted(cfgs, key=lambda c: c.get('type') in ('Pretrained', 'PretrainedInit'))
            initialize(self, ordered)
        self._is_init = True


def _call_child_init(child: nn.Module) -> None:
    if getattr(child, '_is_init', False):
        return
    child.init_weights()


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with ``init_cfg``."""

    def __init__(self, modules=None, init_cfg: Any = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with ``init_cfg``."""

    def __init__(self, *args, init_cfg: Any = None):
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *args)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with ``init_cfg``."""

    def __init__(self, modules=None, init_cfg: Any = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)


