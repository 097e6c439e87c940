"""Optimizer constructors of the multi-scale GANs: one optimizer per resolution (PGGAN) or per
pyramid level (SinGAN), named ``<submodule>_<scale>`` as in MMagic's checkpoints."""
from __future__ import annotations

import copy

from torch import nn

from genforge.models.wrappers import unwrap_model
from genforge.registry import OPTIM_WRAPPER_CONSTRUCTORS

from .constructors import DefaultOptimWrapperConstructor
from .optim_wrapper import OptimWrapperDict


def _sub_constructors(cfg: dict, owner: str, paramwise_cfg: dict | None) -> dict:
    if not isinstance(cfg, dict):
        raise TypeError(f'optim_wrapper must be a dict, got {type(cfg).__name__}')
    if paramwise_cfg is not None:
        raise ValueError(f'optim_wrapper.paramwise_cfg: with {owner} set paramwise_cfg inside '
                         f'each submodule entry, e.g. generator=dict(optimizer=..., '
                         f'paramwise_cfg=...)')
    out = {}
    for key, sub in cfg.items():
        if not isinstance(sub, dict) or 'optimizer' not in sub:
            raise TypeError(f'optim_wrapper.{key} must be a dict with an optimizer, got {sub!r}')
        sub = copy.deepcopy(dict(sub))
        out[key] = (sub, sub.pop('paramwise_cfg', None))
    return out


def _submodule(model: nn.Module, key: str) -> nn.Module:
    sub = getattr(model, key, None)
    if not isinstance(sub, nn.Module):
        names = [n for n, _ in model.named_children()]
        raise KeyError(f'optim_wrapper.{key}: the model has no submodule {key!r}; its '
                       f'submodules are {names}')
    return unwrap_model(sub)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PGGANOptimWrapperConstructor:
    """A fresh optimizer per training scale: ``generator_4``, ``discriminator_4``, ... each over
    the whole submodule, lr from ``lr_schedule[key][str(scale)]`` (else the base lr). With
    ``reset_optim_for_new_scale=False`` all scales share one optimizer.

    Example: optim_wrapper=dict(constructor='PGGANOptimWrapperConstructor',
                 generator=dict(optimizer=dict(type='Adam', lr=0.001, betas=(0., 0.99))),
                 discriminator=dict(optimizer=dict(type='Adam', lr=0.001, betas=(0., 0.99))),
                 lr_schedule=dict(generator={'128': 0.0015}, discriminator={'128': 0.0015}))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.reset_optim = cfg.pop('reset_optim_for_new_scale', True)
        self.lr_schedule = cfg.pop('lr_schedule', None) or {}
        self.sub_cfgs = _sub_constructors(cfg, type(self).__name__, paramwise_cfg)

    def __call__(self, module: nn.Module) -> OptimWrapperDict:
        module = unwrap_model(module)
        if not hasattr(module, 'scales'):
            raise TypeError(f'PGGANOptimWrapperConstructor needs a model with scales '
                            f'(ProgressiveGrowingGAN), got {type(module).__name__}')
        scales = [s[0] for s in module.scales]
        wrappers = {}
        for key, (sub_cfg, paramwise) in self.sub_cfgs.items():
            submodule = _submodule(module, key)
            shared = None
            for scale in scales:
                if not self.reset_optim:
                    shared = shared or self._build(sub_cfg, paramwise, submodule, key)
                    wrappers[f'{key}_{scale}'] = shared
                    continue
                scale_cfg = copy.deepcopy(sub_cfg)
                scale_cfg['optimizer']['lr'] = self.lr_schedule.get(key, {}).get(
                    str(scale), sub_cfg['optimizer']['lr'])
                wrappers[f'{key}_{scale}'] = self._build(scale_cfg, paramwise, submodule,
                                                         f'{key}')
        return OptimWrapperDict(**wrappers)

    @staticmethod
    def _build(cfg: dict, paramwise: dict | None, module: nn.Module, key: str):
        constructor = DefaultOptimWrapperConstructor(cfg, paramwise)
        constructor.key_path = f'optim_wrapper.{key}'
        return constructor(module)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SinGANOptimWrapperConstructor:
    """One optimizer per pyramid level over ``<key>.blocks[i]``: ``generator_0`` ...
    ``generator_{num_scales}``, ``discriminator_0`` ... (the model needs ``num_scales``).

    Example: optim_wrapper=dict(constructor='SinGANOptimWrapperConstructor',
                 generator=dict(optimizer=dict(type='Adam', lr=0.0005, betas=(0.5, 0.999))),
                 discriminator=dict(optimizer=dict(type='Adam', lr=0.0005, betas=(0.5, 0.999))))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        self.sub_cfgs = _sub_constructors(dict(optim_wrapper_cfg), type(self).__name__,
                                          paramwise_cfg)

    def __call__(self, module: nn.Module) -> OptimWrapperDict:
        module = unwrap_model(module)
        num_scales = getattr(module, 'num_scales', None)
        if num_scales is None:
            raise ValueError('SinGANOptimWrapperConstructor: set model.num_scales (the index of '
                             'the last pyramid level, counted from 0)')
        wrappers = {}
        for key, (sub_cfg, paramwise) in self.sub_cfgs.items():
            blocks = _submodule(module, key).blocks
            for idx in range(num_scales + 1):
                wrappers[f'{key}_{idx}'] = PGGANOptimWrapperConstructor._build(
                    sub_cfg, paramwise, blocks[idx], key)
        return OptimWrapperDict(**wrappers)


__all__ = ['PGGANOptimWrapperConstructor', 'SinGANOptimWrapperConstructor']
