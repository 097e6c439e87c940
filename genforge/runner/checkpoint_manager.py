"""CheckpointManager: what the Runner saves, resumes from and loads (torchtitan's idea).

The Runner coordinates; this component knows the checkpoint's contents: weights (plain model
keys), optimizer and scheduler states, the message hub, the sampler position, RNG streams and a
model's extra training state (CycleGAN's image pools). ``runner.save_checkpoint`` /
``resume`` / ``load_checkpoint`` (MMEngine's API, used by hooks) call it.
"""
from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

import genforge
from genforge.checkpoint import (
    _extract_state_dict,
    _load_checkpoint,
    check_finite_weights,
    get_state_dict,
    load_state_dict,
    save_checkpoint,
    weights_to_cpu,
)
from genforge.dist import is_main_process

from .resume import (
    check_coverage,
    find_resume_checkpoint,
    resume_mismatch_error,
    training_state_problem,
)
from .utils import config_text, get_rng_state, set_rng_state

logger = logging.getLogger('genforge.runner')


class CheckpointManager:
    """Save / resume / load for one Runner.

    Args:
        runner: the Runner whose model, optimizers, schedulers, loops and hub are saved.
        load_from (str, optional): weights to start from (``load_from`` in a config).
        resume (bool | str): True = the work dir's latest checkpoint (or ``load_from``),
            a path = that file.
    """

    def __init__(self, runner, load_from: str | None = None, resume: bool | str = False):
        self.runner = runner
        self.load_from, self.resume_from = load_from, resume
        self.has_loaded = False

    def load_or_resume(self) -> None:
        """Resume when asked (and a train loop exists), else load weights, once per run."""
        if self.has_loaded:
            return
        runner = self.runner
        resume_from = None
        if isinstance(self.resume_from, str):
            resume_from = self.resume_from
        elif self.resume_from:
            resume_from = self.load_from or find_resume_checkpoint(runner.work_dir)
            if resume_from is None:
                logger.warning('resume=True but %s has no last_checkpoint; training from '
                               'scratch', runner.work_dir)
        if resume_from is not None and runner.train_loop is not None:
            self.resume(resume_from)
        elif self.load_from is not None or resume_from is not None:
            # load_strict: None = load what matches but refuse a file that fits under half the
            # model (another model's checkpoint), True = every key, False = whatever matches
            strict = runner.cfg.get('load_strict') if runner.cfg is not None else None
            self.load(self.load_from or resume_from, strict=bool(strict),
                      min_coverage=0.0 if strict is False else 0.5)
            self.has_loaded = True

    def load(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
             revise_keys: list = ((r'^module\.', ''),), min_coverage: float = 0.0) -> dict:
        """Load weights (hooks may adjust the checkpoint first, e.g. EMAHook); refuse a file that
        holds under ``min_coverage`` of the model's tensors. Returns the checkpoint."""
        runner = self.runner
        model = runner._plain_model
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        state = _extract_state_dict(checkpoint, filename)
        for pattern, repl in revise_keys:
            state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        check_coverage(checkpoint, state, model, filename, min_coverage)
        load_state_dict(model, state, strict=strict, logger=logger)
        logger.info('loaded checkpoint %s', filename)
        return checkpoint

    def resume(self, filename: str) -> None:
        """Restore model, optimizers, schedulers, hub, loop counters, sampler and RNG."""
        runner = self.runner
        if str(filename).endswith('.safetensors'):
            raise ValueError(f'resume={filename!r}: a .safetensors file holds weights only (no '
                             f'optimizer, counters or RNG state); resume from a .pth checkpoint, '
                             f'or start from these weights with load_from={filename!r}')
        try:
            checkpoint = self.load(filename, strict=True)
        except RuntimeError as exc:
            if 'load_state_dict:' not in str(exc):
                raise
            raise resume_mismatch_error(filename, runner._plain_model, exc) from None
        problem = training_state_problem(checkpoint)
        if problem is not None:
            raise ValueError(f'resume={filename!r}: {problem}, so there is nothing to continue '
                             f'from; start from these weights with --load-from {filename} '
                             f'(load_from=...) instead')
        meta = checkpoint.get('meta', {})
        runner.train_loop.restore_progress(int(meta.get('epoch', 0)), int(meta.get('iter', 0)))
        if 'optimizer' in checkpoint and runner.optim_wrapper is not None:
            runner.optim_wrapper.load_state_dict(checkpoint['optimizer'])
        if 'param_schedulers' in checkpoint and runner.param_schedulers:
            _load_schedulers(runner.param_schedulers, checkpoint['param_schedulers'])
        if 'message_hub' in checkpoint:
            runner.message_hub.load_state_dict(checkpoint['message_hub'])
        if 'sampler' in checkpoint:
            runner.train_loop.load_state_dict(checkpoint['sampler'])
        if 'rng_state' in checkpoint:
            set_rng_state(checkpoint['rng_state'])
        model = runner._plain_model
        if 'model_train_state' in checkpoint and hasattr(model, 'load_train_state_dict'):
            model.load_train_state_dict(checkpoint['model_train_state'])
        self.has_loaded = True
        logger.info('resumed from %s at epoch %d, iter %d', filename, runner.epoch, runner.iter)

    def save(self, out_dir: str, filename: str, save_optimizer: bool = True,
             save_param_scheduler: bool = True, meta: dict | None = None,
             by_epoch: bool = True) -> None:
        """Write ``out_dir/filename`` (rank 0) with everything ``resume`` needs."""
        runner = self.runner
        train_loop = runner.train_loop
        if train_loop is not None:
            train_loop.nan_guard.check(runner)  # never save weights poisoned unnoticed
        meta = dict(meta or {})
        # the counters the run will continue from: the epoch or iteration that just ended
        meta.setdefault('epoch', runner.epoch + 1 if by_epoch else runner.epoch)
        meta.setdefault('iter', runner.iter if by_epoch else runner.iter + 1)
        meta.update(seed=runner.seed, experiment_name=runner.experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S'), genforge_version=genforge.__version__,
                    cfg=config_text(runner.cfg), metric_protocols=self.metric_protocols())
        checkpoint = dict(meta=meta,
                          state_dict=weights_to_cpu(get_state_dict(runner.model)),
                          message_hub=runner.message_hub.state_dict(),
                          rng_state=get_rng_state())
        if train_loop is not None:
            checkpoint['sampler'] = train_loop.state_dict()
        model = runner._plain_model
        if hasattr(model, 'train_state_dict'):
            # training state outside the weights (CycleGAN's image pools): kept apart so the
            # state_dict keeps MMagic's exact layout
            checkpoint['model_train_state'] = model.train_state_dict()
        if save_optimizer and runner.optim_wrapper is not None:
            checkpoint['optimizer'] = runner.optim_wrapper.state_dict()
        if save_param_scheduler and runner.param_schedulers:
            checkpoint['param_schedulers'] = _scheduler_states(runner.param_schedulers)
        runner.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        if is_main_process():
            path = os.path.join(out_dir, filename)
            check_finite_weights(checkpoint['state_dict'], path, runner.work_dir)
            save_checkpoint(checkpoint, path)

    def metric_protocols(self) -> dict:
        """What the last evaluation published, then every built evaluator's metrics (Multi*Loop
        keeps one inner loop per dataloader)."""
        runner = self.runner
        out = dict(runner.message_hub.get_info('eval_protocols') or {})
        for outer in (runner.val_loop, runner.test_loop):
            for loop in getattr(outer, 'loops', None) or [outer]:
                for metric in getattr(getattr(loop, 'evaluator', None), 'metrics', None) or []:
                    protocol = getattr(metric, 'protocol', None)
                    if isinstance(protocol, str):
                        out[metric.prefix or type(metric).__name__] = protocol
        return out


def _scheduler_states(schedulers):
    if isinstance(schedulers, dict):
        return {k: _scheduler_states(v) for k, v in schedulers.items()}
    return [s.state_dict() for s in schedulers]


def _load_schedulers(schedulers, states) -> None:
    if isinstance(schedulers, dict):
        for key, group in schedulers.items():
            _load_schedulers(group, states[key])
        return
    if len(schedulers) != len(states):
        raise ValueError(f'checkpoint has {len(states)} param schedulers, the config builds '
                         f'{len(schedulers)}; resume with the same param_scheduler config')
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)


__all__ = ['CheckpointManager']
