"""CheckpointHook: periodic, last and best checkpoints, with rotation and a last_checkpoint file."""
from __future__ import annotations

import math
import os
from collections import deque

from genforge.dist import is_main_process
from genforge.fileio import atomic_write_text
from genforge.registry import HOOKS

from .hook import DATA_BATCH, Hook


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save ``epoch_{N}.pth`` / ``iter_{N}.pth`` every ``interval`` and ``best_{key}_iter_{N}.pth``.

    Args (MMEngine's): interval (-1 = never), by_epoch, save_optimizer, save_param_scheduler,
    out_dir (default work_dir; else ``out_dir/<basename of work_dir>``), max_keep_ckpts (-1 keeps
    all), save_last, save_best (metric key, list of keys or 'auto' = first metric), rule
    ('greater' | 'less' or a list; inferred from greater_keys/less_keys when None),
    filename_tmpl, save_begin.

    Example:
        dict(type='CheckpointHook', interval=10000, by_epoch=False, max_keep_ckpts=3,
             save_best=['FID-Full-50k/fid', 'IS-50k/is'], rule=['less', 'greater'])
    """

    priority = 'VERY_LOW'
    rule_map = {'greater': lambda x, y: x > y, 'less': lambda x, y: x < y}
    init_value_map = {'greater': -math.inf, 'less': math.inf}
    _default_greater_keys = ['acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU',
                             'mAcc', 'aAcc', 'psnr', 'ssim']
    # MMEngine's defaults plus the restoration/generation metrics whose direction is unambiguous.
    _default_less_keys = ['loss', 'fid', 'swd', 'mse', 'mae', 'lpips']
    # Short names too generic for substring matching ('is' is inside 'dist'): exact match only,
    # on the part after the last '/', e.g. 'IS-50k/is'.
    _exact_greater_keys = ('is', 'recall', 'ms-ssim', 'ms_ssim', 'accuracy')
    _exact_less_keys = ('kid', 'ppl', 'ppl_score', 'niqe')

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 save_param_scheduler: bool = True, out_dir: str | None = None,
                 max_keep_ckpts: int = -1, save_last: bool = True,
                 save_best: str | list[str] | None = None, rule: str | list[str] | None = None,
                 greater_keys: list[str] | None = None, less_keys: list[str] | None = None,
                 filename_tmpl: str | None = None, save_begin: int = 0,
                 file_client_args: dict | None = None, backend_args: dict | None = None,
                 published_keys=None, **kwargs):
        if kwargs:  # MMEngine forwards these to save_checkpoint, which accepts none of them
            import difflib
            import inspect
            names = [n for n in inspect.signature(type(self).__init__).parameters
                     if n not in ('self', 'kwargs')]
            key = sorted(kwargs)[0]
            close = difflib.get_close_matches(key, names, n=1)
            hint = f' Did you mean {close[0]!r}?' if close else f' Accepted: {names}.'
            raise TypeError(f'CheckpointHook got an unexpected argument {key!r}.{hint}')
        self.interval, self.by_epoch = interval, by_epoch
        self.save_optimizer, self.save_param_scheduler = save_optimizer, save_param_scheduler
        self.out_dir, self.max_keep_ckpts, self.save_last = out_dir, max_keep_ckpts, save_last
        self.save_begin = save_begin
        self.filename_tmpl = filename_tmpl or ('epoch_{}.pth' if by_epoch else 'iter_{}.pth')
        self.greater_keys = _as_list(greater_keys) if greater_keys is not None \
            else self._default_greater_keys
        self.less_keys = _as_list(less_keys) if less_keys is not None else self._default_less_keys
        self.save_best = _as_list(save_best) if save_best is not None else None
        if self.save_best and 'auto' in self.save_best and len(self.save_best) > 1:
            raise ValueError("default_hooks.checkpoint.save_best: 'auto' must be used alone")
        rules = _as_list(rule) if rule is not None else [None]
        if self.save_best and len(rules) not in (1, len(self.save_best)):
            raise ValueError(f'default_hooks.checkpoint.rule has {len(rules)} entries but save_best '
                             f'has {len(self.save_best)}; give one rule or one per key')
        self.rules: list = rules
        self.is_better_than: dict = {}
        if self.save_best and self.save_best != ['auto']:
            self._init_rule(rules, self.save_best)
        self.best_ckpt_paths: dict[str, str | None] = {}
        self.keep_ckpt_ids: deque = deque()
        self.last_ckpt: str | None = None

    # -- rules ------------------------------------------------------------------------------
    def _infer_rule(self, key: str) -> str:
        low = key.lower()
        short = low.rsplit('/', 1)[-1]
        greater = [k.lower() for k in self.greater_keys]
        less = [k.lower() for k in self.less_keys]
        for candidate in (low, short):
            if candidate in greater:
                return 'greater'
            if candidate in less:
                return 'less'
        if short in self._exact_greater_keys:
            return 'greater'
        if short in self._exact_less_keys:
            return 'less'
        if any(k in low for k in greater):
            return 'greater'
        if any(k in low for k in less):
            return 'less'
        raise ValueError(f'default_hooks.checkpoint: cannot infer whether a larger {key!r} is '
                         f"better; set rule='greater' or rule='less' (or greater_keys/less_keys)")

    def _init_rule(self, rules: list, keys: list[str]) -> None:
        rules = rules * len(keys) if len(rules) == 1 else rules
        self.rules = []
        for rule, key in zip(rules, keys):
            if rule is not None and rule not in self.rule_map:
                raise KeyError(f"default_hooks.checkpoint.rule={rule!r}: use 'greater' or 'less'")
            rule = rule or self._infer_rule(key)
            self.is_better_than[key] = self.rule_map[rule]
            self.rules.append(rule)
        self.save_best = keys

    # -- stages -----------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        if self.out_dir is None:
            self.out_dir = runner.work_dir
        elif os.path.abspath(self.out_dir) != os.path.abspath(runner.work_dir):
            self.out_dir = os.path.join(self.out_dir, os.path.basename(
                os.path.normpath(runner.work_dir)))
        hub = runner.message_hub
        for key in self.save_best or []:
            self.best_ckpt_paths[key] = hub.get_info(self._info_key('best_ckpt', key))
        if self.max_keep_ckpts > 0:
            self.keep_ckpt_ids = deque(hub.get_info('keep_ckpt_ids', []) or [])

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        if self.by_epoch:
            return
        if self.every_n_train_iters(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_iter(runner)):
            self._save_checkpoint(runner, step=runner.iter + 1,
                                  meta=dict(epoch=runner.epoch, iter=runner.iter + 1))

    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        if self.every_n_epochs(runner, self.interval, self.save_begin) or (
                self.save_last and self.is_last_train_epoch(runner)):
            self._save_checkpoint(runner, step=runner.epoch + 1,
                                  meta=dict(epoch=runner.epoch + 1, iter=runner.iter))

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        if not metrics or not self.save_best or getattr(runner, 'train_loop', None) is None:
            return
        self._save_best_checkpoint(runner, metrics)

    # -- saving -----------------------------------------------------------------------------
    def _info_key(self, base: str, key: str) -> str:
        # MMEngine stores one best as 'best_score'/'best_ckpt', several as 'best_score_<key>'.
        return base if len(self.save_best or []) == 1 else f'{base}_{key}'

    def _save_checkpoint(self, runner, step: int, meta: dict) -> None:
        stale = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = os.path.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(self.out_dir, filename, save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta,
                               by_epoch=self.by_epoch)
        if is_main_process():
            atomic_write_text(os.path.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        # Delete old files only once the new one and the pointer are on disk: a kill or a full
        # disk in between must still leave last_checkpoint pointing at a loadable file.
        for old in stale:
            self._remove(os.path.join(self.out_dir, self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        if self.save_best == ['auto']:
            self._init_rule(self.rules, [next(iter(metrics))])
        kind, step = ('epoch', runner.epoch) if self.by_epoch else ('iter', runner.iter)
        ckpt_name = self.filename_tmpl.format(step)
        meta = dict(epoch=runner.epoch, iter=runner.iter)
        updated = False
        for key in self.save_best:
            if key not in metrics:
                raise KeyError(f'default_hooks.checkpoint.save_best={key!r} is not among the '
                               f'evaluated metrics {sorted(metrics)}; use one of them or "auto"')
            score = float(metrics[key])
            score_key = self._info_key('best_score', key)
            best = runner.message_hub.get_info(score_key, self.init_value_map[
                self.rules[self.save_best.index(key)]])
            if math.isnan(score) or not self.is_better_than[key](score, best):
                continue
            updated = True
            runner.message_hub.update_info(score_key, score)
            previous = self.best_ckpt_paths.get(key)
            path = os.path.join(self.out_dir, f'best_{key}_{ckpt_name}'.replace('/', '_'))
            self.best_ckpt_paths[key] = path
            runner.message_hub.update_info(self._info_key('best_ckpt', key), path)
            runner.save_checkpoint(self.out_dir, os.path.basename(path), save_optimizer=False,
                                   save_param_scheduler=False, meta=meta, by_epoch=False)
            # the old best goes only once the new one is on disk (a full disk keeps the old)
            if previous and os.path.abspath(previous) != os.path.abspath(path):
                self._remove(previous)
            runner.logger.info('The best checkpoint with %.4f %s at %d %s is saved to %s.',
                               score, key, step, kind, os.path.basename(path))
        if updated and self.last_ckpt is not None and os.path.exists(self.last_ckpt):
            # Re-save the latest checkpoint so its message hub knows the new best (for resume).
            self._save_checkpoint(runner, step, meta)

    @staticmethod
    def _remove(path: str) -> None:
        if is_main_process() and os.path.isfile(path):
            os.remove(path)


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


__all__ = ['CheckpointHook']
