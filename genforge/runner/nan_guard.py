"""NaN policy for training losses: stop with a clear message, or skip the poisoned update.

'stop' collects the loss tensors of each iteration and checks them in one batch: every
iteration on the CPU (free), every few iterations on accelerators (the LoggerHook triggers a check
at its interval and the Runner before each checkpoint), so there is no per-iteration sync.
'skip' checks the gradients right before each optimizer step and drops the step when any is
non-finite (one sync per step: the price of the opt-in). An iteration with a non-finite loss or
gradient is then undone as a whole: the forward pass already changed buffers (BatchNorm running
statistics), another optimizer of the same iteration (D before G) may have stepped and the EMA
may have averaged; so 'skip' keeps a copy of the model's tensors and the optimizer states from
before each iteration and puts it back (a second copy of the weights and optimizer state in
memory, and one copy per iteration: also part of the price).
"""
from __future__ import annotations

import copy
import logging
import math
from typing import Any

import torch

logger = logging.getLogger(__name__)

NAN_POLICIES = ('stop', 'skip')


class NanGuard:
    """Watches the ``*loss*`` outputs of ``train_step``.

    Args:
        policy: 'stop' (raise FloatingPointError naming the iteration and the loss key) or
            'skip' (skip optimizer steps whose gradients are non-finite, log a warning).
        max_pending: on accelerators, check at the latest after this many iterations.
    """

    def __init__(self, policy: str = 'stop', max_pending: int = 100):
        if policy not in NAN_POLICIES:
            raise ValueError(f'train_cfg.nan_policy={policy!r} is not one of {NAN_POLICIES}')
        self.policy = policy
        self.max_pending = max_pending
        self._pending: list[tuple[int, str, torch.Tensor]] = []
        self._handles: list = []
        self.skipped_steps = 0
        self.last_skipped = False      # the iteration just observed was undone ('skip')
        self._snapshot: tuple | None = None
        self._bad_step = False

    # -- 'stop' -----------------------------------------------------------------------------
    def observe(self, iteration: int, outputs: Any, runner=None) -> None:
        on_cpu = True
        for key, value in (outputs.items() if isinstance(outputs, dict) else ()):
            if 'loss' in key and isinstance(value, torch.Tensor) and value.numel() == 1:
                self._pending.append((iteration, key, value.detach().reshape(())))
                on_cpu = on_cpu and value.device.type == 'cpu'
        if self.policy == 'skip':
            self._undo_if_bad(iteration, runner)
            self._warn_skipped(runner)
        elif on_cpu or len(self._pending) >= self.max_pending * 4:
            self.check(runner)

    def check(self, runner=None) -> None:
        """Raise on the first non-finite loss seen since the last check ('stop')."""
        if not self._pending or self.policy != 'stop':
            self._pending.clear()
            return
        pending, self._pending = self._pending, []
        if all(v.device.type == 'cpu' for _, _, v in pending):
            # CPU scalars: reading them costs no sync; skip building tensors in the common case
            if all(math.isfinite(v.item()) for _, _, v in pending):
                return
        values = torch.stack([v.float().cpu() for _, _, v in pending])   # one sync
        bad = (~torch.isfinite(values)).nonzero()
        if len(bad):
            iteration = pending[int(bad[0])][0]
            # Name the component (loss_gen) rather than the sum 'loss' when both are bad.
            hits = [(pending[int(i)][1], values[int(i)].item()) for i in bad.flatten()
                    if pending[int(i)][0] == iteration]
            hits.sort(key=lambda kv: kv[0] == 'loss')
            key, value = hits[0]
            others = ', '.join(k for k, _ in hits[1:])
            raise FloatingPointError(
                f'non-finite loss at iteration {iteration + 1}: {key}={value}'
                f'{f" (also {others})" if others else ""}; train_cfg.nan_policy=\'stop\'. '
                f'Lower the learning rate, enable gradient clipping (optim_wrapper.clip_grad='
                f'dict(max_norm=...)), check the input data, or set '
                f"train_cfg.nan_policy='skip' to drop such updates.")

    # -- 'skip' -----------------------------------------------------------------------------
    def begin_iter(self, runner) -> None:
        """'skip': remember the model tensors and optimizer states before this iteration."""
        self.last_skipped = False
        if self.policy != 'skip':
            return
        self._bad_step = False
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        tensors = {k: v.detach().clone() for k, v in model.state_dict().items()
                   if isinstance(v, torch.Tensor)}
        optims = [(opt, copy.deepcopy(opt.state_dict())) for opt in _optimizers(
            runner.optim_wrapper)]
        self._snapshot = (model, tensors, optims)

    def _undo_if_bad(self, iteration: int, runner) -> None:
        bad = self._bad_step or any(
            it == iteration and not bool(torch.isfinite(v)) for it, _, v in self._pending)
        self._bad_step = False
        if not bad or self._snapshot is None:
            return
        model, tensors, optims = self._snapshot
        with torch.no_grad():
            for key, value in model.state_dict().items():
                if key in tensors:
                    value.copy_(tensors[key])
        for opt, state in optims:
            opt.load_state_dict(state)
        self.last_skipped = True
        if not any(it == iteration for it, _, v in self._pending if not bool(torch.isfinite(v))):
            logger.warning("non-finite gradients at iteration %d; update skipped "
                           "(train_cfg.nan_policy='skip')", iteration + 1)
            if runner is not None:
                hub = runner.message_hub
                hub.update_info('nan_skipped_iters', hub.get_info('nan_skipped_iters', 0) + 1)

    def install(self, optim_wrapper) -> None:
        """In 'skip' mode, hook every optimizer so non-finite gradients cancel the step."""
        if self.policy != 'skip' or optim_wrapper is None:
            return
        for optimizer in _optimizers(optim_wrapper):
            self._handles.append(optimizer.register_step_pre_hook(self._pre_step))

    def uninstall(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre_step(self, optimizer, args, kwargs) -> None:
        params = [p for group in optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return
        finite = torch.stack([torch.isfinite(p.grad).all() for p in params]).all()
        if not bool(finite):
            for p in params:
                p.grad = None   # optimizers skip parameters without gradients
            self.skipped_steps += 1
            self._bad_step = True

    def _warn_skipped(self, runner) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        values = torch.stack([v.float().cpu() for _, _, v in pending])
        bad_iters: dict[int, list[str]] = {}
        for (iteration, key, _), value in zip(pending, values.tolist()):
            if value != value or value in (float('inf'), float('-inf')):
                bad_iters.setdefault(iteration, []).append(f'{key}={value}')
        for iteration, items in bad_iters.items():
            logger.warning("non-finite loss at iteration %d: %s; update skipped "
                           "(train_cfg.nan_policy='skip')", iteration + 1, ', '.join(items))
        if bad_iters and runner is not None:
            hub = runner.message_hub
            hub.update_info('nan_skipped_iters',
                            hub.get_info('nan_skipped_iters', 0) + len(bad_iters))


def _optimizers(optim_wrapper) -> list:
    """The torch optimizers inside an OptimWrapper / OptimWrapperDict (or a bare optimizer)."""
    if optim_wrapper is None:
        return []
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    return [getattr(wrapper, 'optimizer', wrapper) for wrapper in wrappers]


__all__ = ['NanGuard', 'NAN_POLICIES']
