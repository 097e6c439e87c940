"""Hook base class and priorities (MMEngine's call points and names)."""
from __future__ import annotations

from enum import Enum
from typing import Any

DATA_BATCH = dict | tuple | list | None


class Priority(Enum):
    """Hook priorities: a lower value runs earlier."""
    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """Numeric value of ``priority`` ('NORMAL', Priority.NORMAL or 0..100)."""
    if isinstance(priority, Priority):
        return priority.value
    if isinstance(priority, bool):
        raise TypeError(f'priority must be an int, a str or Priority, got {priority!r}')
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f'priority must be between 0 (highest) and 100 (lowest), got {priority}')
        return priority
    if isinstance(priority, str):
        if priority.upper() not in Priority.__members__:
            raise ValueError(f'priority={priority!r} is not one of {list(Priority.__members__)}')
        return Priority[priority.upper()].value
    raise TypeError(f'priority must be an int, a str or Priority, got {type(priority).__name__}')


class Hook:
    """Base of every hook: override the stages you need; all default to doing nothing.

    Example:
        >>> @HOOKS.register_module()
        ... class PrintLossHook(Hook):
        ...     def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        ...         if self.every_n_train_iters(runner, 100):
        ...             runner.logger.info('loss %s', outputs)
    """

    priority: int | str = 'NORMAL'
    stages = ('before_run', 'after_run', 'before_train', 'after_train', 'before_train_epoch',
              'after_train_epoch', 'before_train_iter', 'after_train_iter', 'before_val',
              'after_val', 'before_val_epoch', 'after_val_epoch', 'before_val_iter',
              'after_val_iter', 'before_test', 'after_test', 'before_test_epoch',
              'after_test_epoch', 'before_test_iter', 'after_test_iter', 'before_save_checkpoint',
              'after_load_checkpoint')

    def before_run(self, runner) -> None: ...
    def after_run(self, runner) -> None: ...
    def before_train(self, runner) -> None: ...
    def after_train(self, runner) -> None: ...
    def before_val(self, runner) -> None: ...
    def after_val(self, runner) -> None: ...
    def before_test(self, runner) -> None: ...
    def after_test(self, runner) -> None: ...
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None: ...
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None: ...

    def before_train_epoch(self, runner) -> None:
        self._before_epoch(runner, mode='train')

    def before_val_epoch(self, runner) -> None:
        self._before_epoch(runner, mode='val')

    def before_test_epoch(self, runner) -> None:
        self._before_epoch(runner, mode='test')

    def after_train_epoch(self, runner) -> None:
        self._after_epoch(runner, mode='train')

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._after_epoch(runner, mode='val')

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        self._after_epoch(runner, mode='test')

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx, data_batch, mode='train')

    def before_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx, data_batch, mode='val')

    def before_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._before_iter(runner, batch_idx, data_batch, mode='test')

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='train')

    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs: Any = None) -> None:
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='val')

    def after_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Any = None) -> None:
        self._after_iter(runner, batch_idx, data_batch, outputs, mode='test')

    # Shared implementations for hooks that treat train/val/test alike.
    def _before_epoch(self, runner, mode: str = 'train') -> None: ...
    def _after_epoch(self, runner, mode: str = 'train') -> None: ...
    def _before_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                     mode: str = 'train') -> None: ...
    def _after_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                    outputs: Any = None, mode: str = 'train') -> None: ...

    # -- predicates -------------------------------------------------------------------------
    def every_n_epochs(self, runner, n: int, start: int = 0) -> bool:
        """True after every ``n``-th epoch (counting from ``start``)."""
        done = runner.epoch + 1 - start
        return n > 0 and done >= 0 and done % n == 0

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        return n > 0 and (batch_idx + 1) % n == 0

    def every_n_train_iters(self, runner, n: int, start: int = 0) -> bool:
        """True after every ``n``-th training iteration (counting from ``start``)."""
        done = runner.iter + 1 - start
        return n > 0 and done >= 0 and done % n == 0

    def end_of_epoch(self, dataloader, batch_idx: int) -> bool:
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner) -> bool:
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list[str]:
        """Stages this hook overrides (the Runner only calls those)."""
        shared = {'_before_epoch': ('before_train_epoch', 'before_val_epoch', 'before_test_epoch'),
                  '_after_epoch': ('after_train_epoch', 'after_val_epoch', 'after_test_epoch'),
                  '_before_iter': ('before_train_iter', 'before_val_iter', 'before_test_iter'),
                  '_after_iter': ('after_train_iter', 'after_val_iter', 'after_test_iter')}
        stages = set()
        for stage in self.stages:
            if getattr(type(self), stage) is not getattr(Hook, stage):
                stages.add(stage)
        for private, public in shared.items():
            if getattr(type(self), private) is not getattr(Hook, private):
                stages.update(public)
        return [s for s in self.stages if s in stages]


__all__ = ['Hook', 'Priority', 'get_priority', 'DATA_BATCH']
