"""``*LR`` and ``*Momentum`` scheduler names, MMagic's ``LinearLrInterval``, and
``build_param_schedulers`` (the Runner's ``param_scheduler=`` handling, MMEngine rules)."""
from __future__ import annotations

import copy
from typing import Any

from genforge.registry import PARAM_SCHEDULERS

from .optim_wrapper import OptimWrapper, OptimWrapperDict
from .schedulers import (
    ConstantParamScheduler,
    CosineAnnealingParamScheduler,
    CosineRestartParamScheduler,
    ExponentialParamScheduler,
    LinearParamScheduler,
    MultiStepParamScheduler,
    OneCycleParamScheduler,
    PolyParamScheduler,
    StepParamScheduler,
    _ParamScheduler,
)

__all__ = [
    'LRSchedulerMixin', 'MomentumSchedulerMixin', 'LinearLrInterval', 'build_param_schedulers',
    'ConstantLR', 'LinearLR', 'StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR',
    'PolyLR', 'OneCycleLR', 'CosineRestartLR', 'ConstantMomentum', 'LinearMomentum', 'StepMomentum',
    'MultiStepMomentum', 'ExponentialMomentum', 'CosineAnnealingMomentum', 'PolyMomentum',
    'CosineRestartMomentum'
]

class LRSchedulerMixin:
    """Fixes ``param_name='lr'``."""

    def __init__(self, optimizer, *args: Any, **kwargs: Any):
        super().__init__(optimizer, 'lr', *args, **kwargs)


class MomentumSchedulerMixin:
    """Fixes ``param_name='momentum'``; for Adam-like optimizers it drives ``betas[0]``."""

    def __init__(self, optimizer, *args: Any, **kwargs: Any):
        defaults = optimizer.defaults
        self.use_betas = 'momentum' not in defaults and 'betas' in defaults
        if 'momentum' not in defaults and not self.use_betas:
            raise ValueError(f'{type(self).__name__}: the optimizer has neither momentum nor '
                             f'betas to schedule')
        if self.use_betas:
            for group in optimizer.param_groups:
                group['momentum'] = group['betas'][0]
        super().__init__(optimizer, 'momentum', *args, **kwargs)

    def step(self) -> None:
        super().step()
        if self.use_betas:
            for group in self.optimizer.param_groups:
                group['betas'] = (group['momentum'], group['betas'][1])


@PARAM_SCHEDULERS.register_module()
class ConstantLR(LRSchedulerMixin, ConstantParamScheduler):
    """ConstantParamScheduler on 'lr'. Example: dict(type='ConstantLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class LinearLR(LRSchedulerMixin, LinearParamScheduler):
    """LinearParamScheduler on 'lr'. Example: dict(type='LinearLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class StepLR(LRSchedulerMixin, StepParamScheduler):
    """StepParamScheduler on 'lr'. Example: dict(type='StepLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(LRSchedulerMixin, MultiStepParamScheduler):
    """MultiStepParamScheduler on 'lr'. Example: dict(type='MultiStepLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(LRSchedulerMixin, ExponentialParamScheduler):
    """ExponentialParamScheduler on 'lr'. Example: dict(type='ExponentialLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(LRSchedulerMixin, CosineAnnealingParamScheduler):
    """CosineAnnealingParamScheduler on 'lr'. Example: dict(type='CosineAnnealingLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class PolyLR(LRSchedulerMixin, PolyParamScheduler):
    """PolyParamScheduler on 'lr'. Example: dict(type='PolyLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(LRSchedulerMixin, OneCycleParamScheduler):
    """OneCycleParamScheduler on 'lr'. Example: dict(type='OneCycleLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class CosineRestartLR(LRSchedulerMixin, CosineRestartParamScheduler):
    """CosineRestartParamScheduler on 'lr'. Example: dict(type='CosineRestartLR', by_epoch=False, ...)"""


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """ConstantParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='ConstantMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """LinearParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='LinearMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """StepParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='StepMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """MultiStepParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='MultiStepMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(MomentumSchedulerMixin, ExponentialParamScheduler):
    """ExponentialParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='ExponentialMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(MomentumSchedulerMixin, CosineAnnealingParamScheduler):
    """CosineAnnealingParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='CosineAnnealingMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """PolyParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='PolyMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(MomentumSchedulerMixin, CosineRestartParamScheduler):
    """CosineRestartParamScheduler on 'momentum' (betas[0] for Adam).

    Example: dict(type='CosineRestartMomentum', ...)
    """


@PARAM_SCHEDULERS.register_module()
class LinearLrInterval(LinearLR):
    """MMagic's linear decay updated every ``interval`` steps. As in MMagic, the value set is
    ``start_factor + (end_factor - start_factor) * k`` itself (not a multiple of the lr), with
    ``k = ((progress - begin) // interval) / ((end - begin) // interval)``; ``progress`` is the
    iteration (epoch) just finished, i.e. MessageHub's 'iter' when ParamSchedulerHook steps.

    Example: dict(type='LinearLrInterval', interval=400, by_epoch=False, start_factor=0.0002,
                  end_factor=0, begin=40000, end=80000)
    """

    def __init__(self, *args: Any, interval: int = 1, **kwargs: Any):
        self.interval = interval
        super().__init__(*args, **kwargs)

    def _get_value(self) -> list[float]:
        if self.last_step == 0:
            return [v * self.start_factor for v in self._current()]
        progress = self._global_step - 1
        k = (max(0, progress - self.begin) // self.interval) / \
            ((self.end - self.begin) // self.interval)
        value = self.start_factor + (self.end_factor - self.start_factor) * k
        return [value for _ in self._groups()]


def _build_list(cfgs: Any, optim_wrapper: OptimWrapper, epoch_length: int | None,
                max_iters: int | None, max_epochs: int | None, key_path: str
                ) -> list[_ParamScheduler]:
    cfgs = cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]
    out = []
    for i, cfg in enumerate(cfgs):
        where = f'{key_path}[{i}]'
        if isinstance(cfg, _ParamScheduler):
            out.append(cfg)
            continue
        if not isinstance(cfg, dict):
            raise TypeError(f'{where} must be a dict or a scheduler, got {type(cfg).__name__}')
        cfg = copy.deepcopy(dict(cfg))
        by_epoch = cfg.get('by_epoch', True)
        # MMEngine: a missing `end` means "until the train loop ends".
        default_end = max_epochs if by_epoch else max_iters
        if 'end' not in cfg and default_end is not None:
            cfg['end'] = default_end
        if cfg.pop('convert_to_iter_based', False):
            cls = PARAM_SCHEDULERS.get(cfg['type']) if 'type' in cfg else None
            if cls is None:
                raise KeyError(PARAM_SCHEDULERS.not_found_message(cfg.get('type', ''), where))
            if epoch_length is None:
                raise ValueError(f'{where}: convert_to_iter_based=True needs the epoch length '
                                 f'(len(train_dataloader))')
            cfg.pop('type')
            out.append(cls.build_iter_from_epoch(optim_wrapper, epoch_length=epoch_length,
                                                 **cfg))
        else:
            out.append(PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=optim_wrapper),
                                              key_path=where))
    return out


def build_param_schedulers(cfg: Any, optim_wrapper: OptimWrapper,
                           epoch_length: int | None = None, max_iters: int | None = None,
                           max_epochs: int | None = None
                           ) -> list[_ParamScheduler] | dict[str, list[_ParamScheduler]]:
    """Build ``param_scheduler=`` configs: a dict or list for one OptimWrapper; for an
    OptimWrapperDict either one config applied to every wrapper or
    ``dict(generator=[...], discriminator=[...])`` keyed like the wrappers.

    Example:
        >>> build_param_schedulers([dict(type='LinearLR', start_factor=0.1, by_epoch=False,
        ...                              end=100), dict(type='CosineAnnealingLR', by_epoch=False,
        ...                              begin=100)], optim_wrapper, max_iters=1000)
    """
    if cfg is None:
        return []
    if not isinstance(optim_wrapper, OptimWrapperDict):
        return _build_list(cfg, optim_wrapper, epoch_length, max_iters, max_epochs,
                           'param_scheduler')
    per_key = isinstance(cfg, dict) and 'type' not in cfg
    if per_key:
        unknown = set(cfg) - set(optim_wrapper.keys())
        if unknown:
            raise KeyError(f'param_scheduler has keys {sorted(unknown)} that are not optimizer '
                           f'names {list(optim_wrapper.keys())}')
    out = {}
    for name, wrapper in optim_wrapper.items():
        if per_key and name not in cfg:
            out[name] = []
            continue
        out[name] = _build_list(cfg[name] if per_key else cfg, wrapper, epoch_length, max_iters,
                                max_epochs, f'param_scheduler.{name}' if per_key
                                else 'param_scheduler')
    return out

