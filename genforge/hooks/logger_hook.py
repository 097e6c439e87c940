"""LoggerHook: text log lines and JSON-lines scalars every ``interval`` iterations."""
from __future__ import annotations

import json
import math
import os

from genforge.dist import is_main_process
from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class LoggerHook(Hook):
    """Logs ``Iter(train) [10/1000]  lr: ..  loss_gen: ..`` to ``<log_dir>/<timestamp>.log`` and
    the same numbers as one JSON object per line to ``<log_dir>/vis_data/scalars.json`` (through
    the Visualizer's backends when there is one).

    Scalars are read from the MessageHub only here, at the interval: that is where device tensors
    become Python floats (one sync per interval, none per iteration).

    Example: default_hooks=dict(logger=dict(type='LoggerHook', interval=100))
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 10, ignore_last: bool = True,
                 interval_exp_name: int = 1000, out_dir: str | None = None,
                 out_suffix=('.json', '.log', '.py', 'yaml'), keep_local: bool = True,
                 file_client_args: dict | None = None, log_metric_by_epoch: bool = True,
                 backend_args: dict | None = None):
        if interval <= 0:
            raise ValueError(f'default_hooks.logger.interval must be positive, got {interval}')
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.out_dir = out_dir
        self.log_metric_by_epoch = log_metric_by_epoch

    # -- train ------------------------------------------------------------------------------
    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        loader = runner.train_dataloader
        end = loader is not None and hasattr(loader, '__len__') and \
            self.end_of_epoch(loader, batch_idx) and getattr(runner.train_loop, 'by_epoch', False)
        if self.every_n_train_iters(runner, self.interval_exp_name):
            runner.logger.info('Exp name: %s', runner.experiment_name)
        if not (self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner)
                or (end and (not self.ignore_last or len(loader) <= self.interval))):
            return
        tag, line = runner.log_processor.get_log_after_iter(runner, batch_idx, 'train')
        runner.logger.info(line)
        self._check_finite(runner, tag)
        self._write_scalars(runner, tag, step=runner.iter + 1)

    def _check_finite(self, runner, tag: dict) -> None:
        # The cheap place for the NaN policy: values are already on the CPU here.
        loop = getattr(runner, 'train_loop', None)
        guard = getattr(loop, 'nan_guard', None)
        if guard is not None:
            guard.check(runner)

    # -- val / test -------------------------------------------------------------------------
    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs=None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, line = runner.log_processor.get_log_after_iter(runner, batch_idx, 'val')
            runner.logger.info(line)

    def after_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs=None) -> None:
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, line = runner.log_processor.get_log_after_iter(runner, batch_idx, 'test')
            runner.logger.info(line)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        loader = runner.val_dataloader
        n = len(loader) if loader is not None and hasattr(loader, '__len__') else 0
        tag, line = runner.log_processor.get_log_after_epoch(runner, n, 'val')
        runner.logger.info(line)
        by_epoch = self.log_metric_by_epoch and getattr(runner.train_loop, 'by_epoch', False) \
            if getattr(runner, 'train_loop', None) is not None else False
        step = runner.epoch if by_epoch else runner.iter
        scalars = {k: v for k, v in tag.items() if isinstance(v, (int, float))}
        self._write_scalars(runner, scalars, step=step)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        loader = runner.test_dataloader
        n = len(loader) if loader is not None and hasattr(loader, '__len__') else 0
        tag, line = runner.log_processor.get_log_after_epoch(runner, n, 'test')
        runner.logger.info(line)
        if is_main_process() and metrics:
            path = os.path.join(runner.log_dir, f'{runner.timestamp}.json')
            with open(path, 'a') as f:
                f.write(json.dumps({k: _plain(v) for k, v in metrics.items()}) + '\n')

    # -- output -----------------------------------------------------------------------------
    @staticmethod
    def _write_scalars(runner, scalars: dict, step: int) -> None:
        if not is_main_process():
            return
        scalars = {k: _plain(v) for k, v in scalars.items()}
        visualizer = getattr(runner, 'visualizer', None)
        if visualizer is not None and hasattr(visualizer, 'add_scalars'):
            visualizer.add_scalars(scalars, step=step)
            return
        folder = os.path.join(runner.log_dir, 'vis_data')
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'scalars.json'), 'a') as f:
            f.write(json.dumps({**scalars, 'step': step}) + '\n')


def _plain(value):
    if hasattr(value, 'item') and getattr(value, 'numel', lambda: 1)() == 1:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf literal
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)


__all__ = ['LoggerHook']
