"""ProgressBarHook: a rich progress bar on a terminal; silent otherwise (LoggerHook prints lines)."""
from __future__ import annotations

import sys

from genforge.dist import is_main_process
from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Iteration/max, elapsed, ETA, it/s and the latest losses as a rich bar when stdout is a TTY.

    Not attached to a terminal (CI, redirected logs) it does nothing: LoggerHook already writes a
    plain line every ``interval`` iterations. Losses are refreshed every ``interval`` iterations
    so the bar adds no per-iteration device sync.

    Example: default_hooks=dict(progress=dict(type='ProgressBarHook', interval=10))
    """

    priority = 'LOWEST'

    def __init__(self, interval: int = 10, enabled: bool | None = None):
        self.interval = interval
        self.enabled = enabled
        self._progress = None
        self._task = None

    def _active(self) -> bool:
        wanted = sys.stdout.isatty() if self.enabled is None else self.enabled
        return bool(wanted) and is_main_process()

    def before_train(self, runner) -> None:
        if not self._active():
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        self._progress = Progress(
            TextColumn('[bold]train'), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), TextColumn('{task.fields[speed]} it/s'),
            TextColumn('{task.fields[losses]}'), transient=False)
        self._progress.start()
        self._task = self._progress.add_task('train', total=runner.max_iters,
                                             completed=runner.iter, speed='-', losses='')

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        if self._progress is None:
            return
        fields = {}
        if self.every_n_train_iters(runner, self.interval):
            hub = runner.message_hub
            losses = [f'{k[6:]}: {v.mean(self.interval):.4f}' for k, v in hub.log_scalars.items()
                      if k.startswith('train/') and 'loss' in k]
            fields['losses'] = '  '.join(losses)
            if 'train/time' in hub.log_scalars:
                fields['speed'] = f'{1.0 / max(hub.get_scalar("train/time").mean(10), 1e-9):.1f}'
        self._progress.update(self._task, completed=runner.iter + 1, **fields)

    def after_train(self, runner) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    after_run = after_train


__all__ = ['ProgressBarHook']
