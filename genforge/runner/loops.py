"""Training, validation and test loops (MMEngine's names, arguments and hook call points).

One training iteration is: ``before_train_iter`` hooks -> ``model.train_step(batch,
optim_wrapper)`` -> NaN guard -> ``after_train_iter`` hooks (logging, schedulers, checkpoints).
"""
from __future__ import annotations

import logging
import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from genforge.models.wrappers import unwrap_model
from genforge.optim.amp import autocast_for
from genforge.registry import LOOPS

from .data_iter import TrainDataIter
from .nan_guard import NanGuard

logger = logging.getLogger(__name__)


def _as_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise TypeError(f'{key}={value!r} must be a whole number, e.g. {key.split(".")[-1]}=1000')
    return int(value)


class BaseLoop:
    """Holds the runner and a dataloader (built from a dict with the runner's seed)."""

    def __init__(self, runner, dataloader: DataLoader | dict):
        self._runner = runner
        if isinstance(dataloader, dict):
            # errors name the config key: 'train_dataloader.dataset.type', not 'dataloader...'
            name = type(self).__name__
            key = 'test_dataloader' if 'Test' in name else 'val_dataloader' if 'Val' in name \
                else 'train_dataloader' if 'Train' in name else 'dataloader'
            dataloader = runner.build_dataloader(dataloader, seed=runner.seed,
                                                 diff_rank_seed=runner._diff_rank_seed,
                                                 key_path=key)
        self.dataloader = dataloader

    @property
    def runner(self):
        return self._runner

    def run(self) -> Any:
        raise NotImplementedError


class _TrainLoop(BaseLoop):
    """Shared parts of the epoch- and iteration-based training loops."""

    by_epoch = False

    def __init__(self, runner, dataloader, val_begin: int, val_interval: int,
                 dynamic_intervals: list | None, nan_policy: str):
        super().__init__(runner, dataloader)
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.dynamic_milestones, self.dynamic_intervals = _parse_dynamic(
            dynamic_intervals, val_interval)
        self.data_iter = TrainDataIter(self.dataloader)
        self.nan_guard = NanGuard(nan_policy)
        self.stop_training = False

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    def restore_progress(self, epoch: int, iteration: int) -> None:
        """Continue counting from a checkpoint's epoch and iteration (resume)."""
        self._epoch, self._iter = epoch, iteration

    def state_dict(self) -> dict:
        """Where the data stream stands: sampler epoch and position (for bit-exact resume)."""
        return self.data_iter.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.data_iter.load_state_dict(state)

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    def _validate_if_due(self, progress: int, end: int) -> bool:
        """Run the val loop when ``progress`` (epochs or iterations done) hits the interval or the
        end; dynamic intervals switch first. Returns whether it ran."""
        for milestone, interval in zip(self.dynamic_milestones, self.dynamic_intervals):
            if progress >= milestone:
                self.val_interval = interval
        if (self.runner.val_loop is None or progress < self.val_begin
                or (progress % self.val_interval != 0 and progress != end)):
            return False
        self.runner.val_loop.run()
        return True

    def run_iter(self, idx: int, data_batch: Any) -> None:
        runner = self.runner
        runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        # The loop, not a hook, tells the model where it is: GANs schedule D/G steps on it.
        runner.message_hub.update_info('iter', self._iter)
        self.nan_guard.begin_iter(runner)   # 'skip' undoes a non-finite iteration entirely
        outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        self.nan_guard.observe(self._iter, outputs, runner)
        runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch, outputs=outputs)
        self._iter += 1

    def _start(self) -> None:
        self.runner.call_hook('before_train')
        self.nan_guard.install(self.runner.optim_wrapper)

    def _finish(self) -> None:
        self.nan_guard.check(self.runner)
        self.nan_guard.uninstall()
        self.runner.call_hook('after_train')


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoop):
    """Train ``max_epochs`` passes over the dataloader; validate every ``val_interval`` epochs.

    ``nan_policy``: 'stop' (raise naming the iteration and loss key) or 'skip' (drop the update).

    Example: train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100, val_interval=5)
    """

    by_epoch = True

    def __init__(self, runner, dataloader: DataLoader | dict, max_epochs: int,
                 val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: list | None = None, nan_policy: str = 'stop'):
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals,
                         nan_policy)
        self._max_epochs = _as_int(max_epochs, 'train_cfg.max_epochs')
        self._max_iters = self._max_epochs * len(self.dataloader)

    def run(self):
        self._start()
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._validate_if_due(self._epoch, self._max_epochs)
        self._finish()
        return self.runner.model

    def run_epoch(self) -> None:
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        for idx, data_batch in self.data_iter.epoch_batches(self._epoch):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoop):
    """Train ``max_iters`` iterations, re-iterating the dataloader as needed; validate every
    ``val_interval`` iterations.

    Example: train_cfg = dict(type='IterBasedTrainLoop', max_iters=100000, val_interval=10000)
    """

    def __init__(self, runner, dataloader: DataLoader | dict, max_iters: int,
                 val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: list | None = None, nan_policy: str = 'stop'):
        super().__init__(runner, dataloader, val_begin, val_interval, dynamic_intervals,
                         nan_policy)
        self._max_iters = _as_int(max_iters, 'train_cfg.max_iters')
        self._max_epochs = 1

    def run(self):
        self._start()
        # One "epoch" wraps the whole run, as in MMEngine (epoch hooks fire once).
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        while self._iter < self._max_iters and not self.stop_training:
            data_batch = self.data_iter.next_batch()
            self.run_iter(self._iter, data_batch)
            if self._validate_if_due(self._iter, self._max_iters):
                self.runner.model.train()
        self.runner.call_hook('after_train_epoch')
        self._finish()
        return self.runner.model


@LOOPS.register_module(name=['ValLoop', 'EditValLoop', 'GenValLoop'])
class ValLoop(BaseLoop):
    """Run ``model.val_step`` on what the evaluator asks for and evaluate.

    The evaluator groups its metrics and gives each group a sampler: the dataloader itself for
    sample-wise metrics (PSNR, accuracy, SWD on real batches), a generator of sampling requests
    (``inputs=dict(num_batches=N, sample_model=...)``) for generative metrics (FID, IS, KID...),
    which ask for ``fake_nums`` samples. Each metric's protocol string is logged and kept in the
    message hub under ``'eval_protocols'`` (``{prefix: 'fid@inception=pt2015,...'}``).
    ``GenValLoop`` and ``EditValLoop`` (MMagic's names) are this loop.

    Example: val_cfg = dict(type='ValLoop'); val_evaluator = dict(type='Evaluator', metrics=...)
    """

    mode = 'val'

    def __init__(self, runner, dataloader: DataLoader | dict, evaluator: Any,
                 fp16: bool = False):
        super().__init__(runner, dataloader)
        self.evaluator = runner.build_evaluator(evaluator, key_path=f'{self.mode}_evaluator')
        meta = getattr(getattr(self.dataloader, 'dataset', None), 'metainfo', None)
        if meta is not None and self.evaluator is not None:
            self.evaluator.dataset_meta = meta
        self.fp16 = fp16

    def run(self) -> dict:
        runner, mode = self.runner, self.mode
        was_training = runner.model.training
        runner.call_hook(f'before_{mode}')
        runner.call_hook(f'before_{mode}_epoch')
        runner.model.eval()
        module = unwrap_model(runner.model)
        # metrics precompute what they need once (real-image statistics for FID/KID/PR)
        self.evaluator.prepare_metrics(module, self.dataloader)
        idx = 0
        samplers = self.evaluator.prepare_samplers(module, self.dataloader)
        # the log line's [i/total] counts the batches really run, over every sampler
        runner.message_hub.update_info(f'{mode}_num_batches', _num_batches(samplers))
        for metrics, batches in samplers:
            for data_batch in batches:
                self.run_iter(idx, data_batch, metrics)
                idx += 1
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        self._publish_protocols()
        runner.call_hook(f'after_{mode}_epoch', metrics=metrics)
        runner.call_hook(f'after_{mode}')
        runner.model.train(was_training)
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any, metrics: list | None = None) -> None:
        """One batch: the model predicts (or generates), ``metrics`` (default: all) consume."""
        runner, mode = self.runner, self.mode
        runner.call_hook(f'before_{mode}_iter', batch_idx=idx, data_batch=data_batch)
        # fp16 on CUDA, bf16 on a CPU with native bf16, fp32 (no autocast) on other CPUs
        with autocast_for(_device_type(runner.model), enabled=self.fp16):
            outputs = getattr(runner.model, f'{mode}_step')(data_batch)
        self.evaluator.process(outputs, data_batch, metrics)
        runner.call_hook(f'after_{mode}_iter', batch_idx=idx, data_batch=data_batch,
                         outputs=outputs)

    def _publish_protocols(self) -> None:
        protocols = {}
        for metric in self.evaluator.metrics or []:
            proto = getattr(metric, 'protocol', None)
            if proto is not None:
                name = metric.prefix or type(metric).__name__
                protocols[name] = proto
                logger.info('%s protocol: %s', name, proto)
        if protocols:
            self.runner.message_hub.update_info('eval_protocols', protocols)


@LOOPS.register_module(name=['TestLoop', 'EditTestLoop', 'GenTestLoop'])
class TestLoop(ValLoop):
    """Run ``model.test_step`` and evaluate (``GenTestLoop``/``EditTestLoop`` are this loop).

    Example: test_cfg = dict(type='TestLoop')
    """

    mode = 'test'


# MMagic's names for the same loops, importable as before
GenValLoop = ValLoop
GenTestLoop = TestLoop


def _num_batches(samplers: list) -> int | None:
    try:
        return sum(len(batches) for _, batches in samplers)
    except TypeError:  # a sampler without a length
        return None


def _device_type(model: torch.nn.Module) -> str:
    param = next(model.parameters(), None)
    return param.device.type if param is not None else 'cpu'


@LOOPS.register_module()
class MultiValLoop(BaseLoop):
    """Validate on several dataloaders, each with its evaluator; metrics merged into one dict.

    Example: val_dataloader=[dict(...), dict(...)], val_evaluator=[dict(...), dict(...)],
             val_cfg=dict(type='MultiValLoop')
    """

    loop_cls = ValLoop

    def __init__(self, runner, dataloader: Sequence, evaluator: Sequence | dict,
                 fp16: bool = False):
        loaders = list(dataloader) if isinstance(dataloader, (list, tuple)) else [dataloader]
        evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) and \
            len(evaluator) == len(loaders) else [evaluator] * len(loaders)
        self._runner = runner
        self.loops = [self.loop_cls(runner, d, e, fp16) for d, e in zip(loaders, evaluators)]
        self.dataloader = self.loops[0].dataloader if self.loops else None

    def run(self) -> dict:
        merged: dict = {}
        for loop in self.loops:
            for key, value in loop.run().items():
                if key in merged:
                    raise ValueError(f'{type(self).__name__}: metric {key!r} is reported by two '
                                     f'dataloaders; give their metrics different prefix=')
                merged[key] = value
        return merged


@LOOPS.register_module()
class MultiTestLoop(MultiValLoop):
    """MultiValLoop for testing. Example: test_cfg = dict(type='MultiTestLoop')"""

    loop_cls = TestLoop


def _parse_dynamic(dynamic_intervals: list | None, val_interval: int) -> tuple[list, list]:
    milestones, intervals = [0], [val_interval]
    for milestone, interval in dynamic_intervals or []:
        milestones.append(milestone)
        intervals.append(interval)
    if milestones != sorted(milestones):
        raise ValueError(f'train_cfg.dynamic_intervals must be sorted by milestone, got '
                         f'{dynamic_intervals}')
    return milestones, intervals


__all__ = ['BaseLoop', 'EpochBasedTrainLoop', 'IterBasedTrainLoop', 'ValLoop', 'TestLoop',
           'GenValLoop', 'GenTestLoop', 'MultiValLoop', 'MultiTestLoop']
