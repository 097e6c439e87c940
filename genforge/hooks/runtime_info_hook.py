"""RuntimeInfoHook: publishes loop counters, learning rates, losses and metrics to the MessageHub."""
from __future__ import annotations

import numbers

import torch

from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


def _is_scalar(value) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Keeps ``iter``/``epoch``/``max_iters``/``max_epochs`` and ``train/<loss>`` in the hub.

    Losses are stored as (device) tensors; the MessageHub converts them lazily, so this hook adds
    no per-iteration GPU sync.

    Example: default_hooks=dict(runtime_info=dict(type='RuntimeInfoHook'))
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        runner.message_hub.update_info_dict(dict(
            epoch=runner.epoch, iter=runner.iter, max_epochs=runner.max_epochs,
            max_iters=runner.max_iters))

    def before_train_epoch(self, runner) -> None:
        runner.message_hub.update_info('epoch', runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        hub = runner.message_hub
        hub.update_info('iter', runner.iter)
        if runner.optim_wrapper is not None and hasattr(runner.optim_wrapper, 'get_lr'):
            for name, lr in runner.optim_wrapper.get_lr().items():
                hub.update_scalar(f'train/{name}', lr[0] if isinstance(lr, (list, tuple)) else lr)

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        if not outputs:
            return
        for key, value in outputs.items():
            if _is_scalar(value):
                runner.message_hub.update_scalar(f'train/{key}', value)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._publish(runner, 'val', metrics)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        self._publish(runner, 'test', metrics)

    @staticmethod
    def _publish(runner, mode: str, metrics: dict | None) -> None:
        for key, value in (metrics or {}).items():
            if _is_scalar(value):
                runner.message_hub.update_scalar(f'{mode}/{key}', value)
            else:
                runner.message_hub.update_info(f'{mode}/{key}', value)


__all__ = ['RuntimeInfoHook']
