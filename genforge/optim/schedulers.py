"""Parameter schedulers (MMEngine semantics): change an optimizer hyper-parameter over steps.

A scheduler acts on ``param_name`` ('lr', 'momentum', ...) of every param group, only while
``begin <= global_step < end``. ``step()`` is called once per iteration (``by_epoch=False``) or
once per epoch (``by_epoch=True``). Most schedulers are *chainable*: they multiply the current
value, so a warm-up ``LinearLR`` followed by ``CosineAnnealingLR`` compose as in MMEngine.
"""
from __future__ import annotations

import logging
import math
from typing import Any

import torch

from genforge.registry import PARAM_SCHEDULERS

from .optim_wrapper import OptimWrapper

__all__ = ['INF', '_ParamScheduler', 'ConstantParamScheduler', 'LinearParamScheduler',
           'StepParamScheduler', 'MultiStepParamScheduler', 'ExponentialParamScheduler',
           'CosineAnnealingParamScheduler', 'PolyParamScheduler', 'OneCycleParamScheduler',
           'CosineRestartParamScheduler']

logger = logging.getLogger(__name__)

INF = int(1e9)  # MMEngine's "no end"


class _ParamScheduler:
    """Base class: validates ranges, records ``initial_<param>``, steps once at construction."""

    def __init__(self, optimizer: OptimWrapper | torch.optim.Optimizer, param_name: str,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not isinstance(optimizer, (OptimWrapper, torch.optim.Optimizer)):
            raise TypeError(f'{type(self).__name__}: optimizer must be an OptimWrapper or a '
                            f'torch Optimizer, got {type(optimizer).__name__}')
        if end <= begin:
            raise ValueError(f'{type(self).__name__}: end ({end}) must be larger than begin '
                             f'({begin})')
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin, self.end = begin, end
        self.by_epoch = by_epoch
        key = f'initial_{param_name}'
        for i, group in enumerate(optimizer.param_groups):
            if param_name not in group:
                raise KeyError(f'{type(self).__name__}: param group {i} has no {param_name!r} '
                               f'(keys: {sorted(k for k in group if k != "params")})')
            if last_step == -1:
                # first scheduler on this param records the value set by the config
                group.setdefault(key, group[param_name])
            elif key not in group:
                raise KeyError(f'{type(self).__name__}: resuming (last_step={last_step}) needs '
                               f'{key!r} in param group {i}')
        self.base_values = [group[key] for group in optimizer.param_groups]
        self.last_step = last_step
        self._global_step = -1
        self.verbose = verbose
        self.step()

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, begin: int = 0, end: int = INF,
                              by_epoch: bool = True, epoch_length: int | None = None,
                              **kwargs: Any) -> _ParamScheduler:
        """Build an iteration-based scheduler from epoch-based arguments."""
        if not by_epoch:
            raise ValueError(f'{cls.__name__}: convert_to_iter_based needs by_epoch=True')
        if not epoch_length or epoch_length <= 0:
            raise ValueError(f'{cls.__name__}: convert_to_iter_based needs epoch_length > 0 '
                             f'(the length of the train dataloader), got {epoch_length}')
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        kwargs = cls._epochs_to_iters(kwargs, epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        """Subclasses scale their own epoch-valued arguments (step_size, milestones, ...)."""
        return kwargs

    def _get_value(self) -> list[float]:
        raise NotImplementedError

    def step(self) -> None:
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            for i, (group, value) in enumerate(zip(self.optimizer.param_groups,
                                                   self._get_value())):
                group[self.param_name] = value
                if self.verbose:
                    logger.info('Adjusting %s of group %d to %.4e.', self.param_name, i, value)
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def get_last_value(self) -> list[float]:
        return self._last_value

    def state_dict(self) -> dict:
        # plain values only: checkpoints load with torch.load(weights_only=True)
        return {k: v for k, v in self.__dict__.items() if k != 'optimizer' and not callable(v)}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)

    def _groups(self) -> list[dict]:
        return self.optimizer.param_groups

    def _current(self) -> list[float]:
        return [group[self.param_name] for group in self._groups()]


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply by ``factor`` from ``begin`` until ``end - 1``, then restore.

    Example: dict(type='ConstantParamScheduler', param_name='lr', factor=0.5, end=5)
    """

    def __init__(self, optimizer, param_name: str, factor: float = 1.0 / 3, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not 0 <= factor <= 1.0:
            raise ValueError(f'ConstantParamScheduler: factor must be in [0, 1], got {factor}')
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[float]:
        if self.last_step == 0:
            return [v * self.factor for v in self._current()]
        if self.last_step != self.total_iters:
            return self._current()
        return [v / self.factor for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Scale linearly from ``start_factor`` to ``end_factor`` over ``[begin, end)``.

    Example: dict(type='LinearParamScheduler', param_name='lr', start_factor=0.1, end=10)
    """

    def __init__(self, optimizer, param_name: str, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False):
        if not 0 <= start_factor <= 1.0 or not 0 <= end_factor <= 1.0:
            raise ValueError(f'{type(self).__name__}: start_factor and end_factor must be in '
                             f'[0, 1], got {start_factor}, {end_factor}')
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[float]:
        if self.last_step == 0:
            return [v * self.start_factor for v in self._current()]
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_step - 1) * delta)
        return [v * ratio for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` every ``step_size`` steps.

    Example: dict(type='StepParamScheduler', param_name='lr', step_size=30, gamma=0.1)
    """

    def __init__(self, optimizer, param_name: str, step_size: int, gamma: float = 0.1,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        kwargs = dict(kwargs)
        kwargs['step_size'] = kwargs['step_size'] * epoch_length
        return kwargs

    def _get_value(self) -> list[float]:
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return self._current()
        return [v * self.gamma for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` at each milestone (repeated milestones multiply again).

    Example: dict(type='MultiStepParamScheduler', param_name='lr', milestones=[8, 11])
    """

    def __init__(self, optimizer, param_name: str, milestones: list[int], gamma: float = 0.1,
                 last_step: int = -1, begin: int = 0, end: int = INF, by_epoch: bool = True,
                 verbose: bool = False):
        counts: dict[int, int] = {}
        for m in milestones:
            counts[int(m)] = counts.get(int(m), 0) + 1
        self.milestones = counts  # plain dict, not Counter: weights_only checkpoints
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        kwargs = dict(kwargs)
        kwargs['milestones'] = [m * epoch_length for m in kwargs['milestones']]
        return kwargs

    def _get_value(self) -> list[float]:
        if self.last_step not in self.milestones:
            return self._current()
        return [v * self.gamma ** self.milestones[self.last_step] for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` every step.

    Example: dict(type='ExponentialParamScheduler', param_name='lr', gamma=0.99)
    """

    def __init__(self, optimizer, param_name: str, gamma: float, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[float]:
        if self.last_step == 0:
            return self._current()
        return [v * self.gamma for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    """Cosine annealing to ``eta_min`` (or ``base * eta_min_ratio``) over ``T_max`` steps
    (default ``end - begin``).

    Example: dict(type='CosineAnnealingParamScheduler', param_name='lr', T_max=100, eta_min=0)
    """

    def __init__(self, optimizer, param_name: str, T_max: int | None = None,
                 eta_min: float | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False,
                 eta_min_ratio: float | None = None):
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError(f'{type(self).__name__}: set either eta_min or eta_min_ratio, '
                             f'not both')
        self.T_max = T_max or (end - begin)
        self.eta_min, self.eta_min_ratio = eta_min, eta_min_ratio
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        kwargs = dict(kwargs)
        if kwargs.get('T_max') is not None:
            kwargs['T_max'] = kwargs['T_max'] * epoch_length
        return kwargs

    def _eta_min(self, base: float) -> float:
        return self.eta_min if self.eta_min_ratio is None else base * self.eta_min_ratio

    def _get_value(self) -> list[float]:
        t, T = self.last_step, self.T_max
        if t == 0:
            return self._current()
        out = []
        for base, v in zip(self.base_values, self._current()):
            eta_min = self._eta_min(base)
            if (t - 1 - T) % (2 * T) == 0:
                out.append(v + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2)
            else:
                out.append((1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                           * (v - eta_min) + eta_min)
        return out


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    """Polynomial decay to ``eta_min`` with exponent ``power`` over ``[begin, end)``.

    Example: dict(type='PolyParamScheduler', param_name='lr', eta_min=1e-4, power=0.9, end=160)
    """

    def __init__(self, optimizer, param_name: str, eta_min: float = 0, power: float = 1.0,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        self.eta_min, self.power = eta_min, power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list[float]:
        if self.last_step == 0:
            return self._current()
        ratio = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(v - self.eta_min) * ratio + self.eta_min for v in self._current()]


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """1cycle policy: warm up to ``eta_max`` then anneal to ``eta_max / div / final_div``.

    Example: dict(type='OneCycleParamScheduler', param_name='lr', eta_max=0.1,
                  total_steps=1000, pct_start=0.3)
    """

    def __init__(self, optimizer, param_name: str, eta_max: float | list = 0,
                 total_steps: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = 'cos', div_factor: float = 25.,
                 final_div_factor: float = 1e4, three_phase: bool = False, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        self.total_steps = total_steps if total_steps is not None else end - begin
        if self.total_steps <= 0:
            raise ValueError(f'OneCycleParamScheduler: total_steps must be > 0, got '
                             f'{self.total_steps}')
        if not 0 <= pct_start <= 1:
            raise ValueError(f'OneCycleParamScheduler: pct_start must be in [0, 1], got '
                             f'{pct_start}')
        if anneal_strategy not in ('cos', 'linear'):
            raise ValueError(f"OneCycleParamScheduler: anneal_strategy must be 'cos' or "
                             f"'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        p, n = param_name, self.total_steps
        phases = [(float(pct_start * n) - 1, f'initial_{p}', f'max_{p}')]
        if three_phase:
            phases.append((float(2 * pct_start * n) - 2, f'max_{p}', f'initial_{p}'))
            phases.append((n - 1, f'initial_{p}', f'min_{p}'))
        else:
            phases.append((n - 1, f'max_{p}', f'min_{p}'))
        self._schedule_phases = [dict(end_step=e, start_lr=s, end_lr=t) for e, s, t in phases]
        groups = optimizer.param_groups
        max_values = list(eta_max) if isinstance(eta_max, (list, tuple)) else \
            [eta_max] * len(groups)
        if len(max_values) != len(groups):
            raise ValueError(f'OneCycleParamScheduler: eta_max has {len(max_values)} values for '
                             f'{len(groups)} param groups')
        if last_step == -1:
            for group, max_v in zip(groups, max_values):
                group[f'initial_{p}'] = max_v / div_factor
                group[f'max_{p}'] = max_v
                group[f'min_{p}'] = group[f'initial_{p}'] / final_div_factor
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        kwargs = dict(kwargs)
        if kwargs.get('total_steps') is not None:
            kwargs['total_steps'] = kwargs['total_steps'] * epoch_length
        return kwargs

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == 'cos':
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _get_value(self) -> list[float]:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(f'OneCycleParamScheduler: stepped {step} times, more than '
                             f'total_steps={self.total_steps}')
        values = []
        for group in self._groups():
            start = 0
            for i, phase in enumerate(self._schedule_phases):
                end = phase['end_step']
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    values.append(self._anneal(group[phase['start_lr']], group[phase['end_lr']],
                                               pct))
                    break
                start = end
        return values


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    """Cosine annealing with restarts after each of ``periods`` (peak ``base * weight``).

    Example: dict(type='CosineRestartParamScheduler', param_name='lr', periods=[10, 20],
                  restart_weights=[1, 0.5], eta_min=1e-7)
    """

    def __init__(self, optimizer, param_name: str, periods: list[int],
                 restart_weights: list[float] = (1,), eta_min: float | None = None,
                 eta_min_ratio: float | None = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if (eta_min is None) == (eta_min_ratio is None):
            raise ValueError(f'{type(self).__name__}: set exactly one of eta_min and '
                             f'eta_min_ratio')
        if len(periods) != len(restart_weights):
            raise ValueError(f'{type(self).__name__}: periods ({len(periods)}) and '
                             f'restart_weights ({len(restart_weights)}) must have equal length')
        self.periods, self.restart_weights = list(periods), list(restart_weights)
        self.eta_min, self.eta_min_ratio = eta_min, eta_min_ratio
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(self.periods))]
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @staticmethod
    def _epochs_to_iters(kwargs: dict, epoch_length: int) -> dict:
        kwargs = dict(kwargs)
        kwargs['periods'] = [p * epoch_length for p in kwargs['periods']]
        return kwargs

    @staticmethod
    def get_position_from_periods(iteration: int, cumulative_periods: list[int]) -> int | None:
        for i, period in enumerate(cumulative_periods):
            if iteration < period:
                return i
        return None

    def _get_value(self) -> list[float]:
        idx = self.get_position_from_periods(self.last_step, self.cumulative_periods)
        if idx is None:
            return self._current()
        restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period, step = self.periods[idx], self.last_step - restart
        values = []
        for base, v in zip(self.base_values, self._current()):
            eta_max = base * self.restart_weights[idx]
            eta_min = self.eta_min if self.eta_min_ratio is None else base * self.eta_min_ratio
            if step == 0:
                values.append(eta_max)
            else:
                values.append((1 + math.cos(math.pi * step / period))
                              / (1 + math.cos(math.pi * (step - 1) / period))
                              * (v - eta_min) + eta_min)
        return values
