"""ParamSchedulerHook: steps the parameter schedulers after each iteration or epoch."""
from __future__ import annotations

from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


def _iter_schedulers(param_schedulers):
    if param_schedulers is None:
        return []
    if isinstance(param_schedulers, dict):  # OptimWrapperDict: one list per key
        return [s for group in param_schedulers.values() for s in _iter_schedulers(group)]
    if isinstance(param_schedulers, (list, tuple)):
        return list(param_schedulers)
    return [param_schedulers]


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Calls ``scheduler.step()`` after every train iteration (``by_epoch=False`` schedulers) or
    epoch (``by_epoch=True``).

    Example: default_hooks=dict(param_scheduler=dict(type='ParamSchedulerHook'))
    """

    priority = 'LOW'

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        for scheduler in _iter_schedulers(runner.param_schedulers):
            if not getattr(scheduler, 'by_epoch', False):
                scheduler.step()

    def after_train_epoch(self, runner) -> None:
        for scheduler in _iter_schedulers(runner.param_schedulers):
            if getattr(scheduler, 'by_epoch', False):
                scheduler.step()


__all__ = ['ParamSchedulerHook']
