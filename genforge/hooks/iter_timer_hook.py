"""IterTimerHook: data-loading and iteration times, and the ETA."""
from __future__ import annotations

import time

from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


@HOOKS.register_module(name=['IterTimerHook', 'GenIterTimerHook'])
class IterTimerHook(Hook):
    """Records ``<mode>/data_time`` and ``<mode>/time`` per iteration and the ``eta`` (seconds).

    Example: default_hooks=dict(timer=dict(type='IterTimerHook'))
    """

    priority = 'NORMAL'

    def __init__(self):
        self.t = time.time()
        self.time_sec_tot = 0.0
        self.start_iter = 0

    def before_train(self, runner) -> None:
        self.start_iter = runner.iter
        self.time_sec_tot = 0.0

    def _before_epoch(self, runner, mode: str = 'train') -> None:
        self.t = time.time()

    def _before_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None:
        runner.message_hub.update_scalar(f'{mode}/data_time', time.time() - self.t)

    def _after_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs=None,
                    mode: str = 'train') -> None:
        now = time.time()
        iter_time = now - self.t
        self.t = now
        runner.message_hub.update_scalar(f'{mode}/time', iter_time)
        if mode == 'train':
            self.time_sec_tot += iter_time
            done = runner.iter - self.start_iter + 1
            eta = self.time_sec_tot / max(done, 1) * (runner.max_iters - runner.iter - 1)
            runner.message_hub.update_info('eta', eta)


__all__ = ['IterTimerHook']
