"""EMAHook: keeps an exponential moving average of the model; validates and saves with it."""
from __future__ import annotations

import copy
import itertools
import logging

from genforge.registry import HOOKS, MODELS

from .hook import DATA_BATCH, Hook

logger = logging.getLogger(__name__)


@HOOKS.register_module()
class EMAHook(Hook):
    """MMEngine's EMAHook: ``ema_model = MODELS.build(dict(type=ema_type, model=model, **kwargs))``.

    The averaged weights replace the model's for validation/testing (swapped in place, then back)
    and are what ``state_dict`` holds in checkpoints; the raw weights go to ``ema_state_dict``
    (swapped back on resume), so a checkpoint's ``state_dict`` is ready for deployment.

    Example: custom_hooks=[dict(type='EMAHook', ema_type='ExponentialMovingAverage',
                                momentum=0.0002, begin_iter=1000)]
    """

    priority = 'NORMAL'

    def __init__(self, ema_type: str = 'ExponentialMovingAverage', strict_load: bool = True,
                 begin_iter: int = 0, begin_epoch: int = 0, **kwargs):
        if begin_iter and begin_epoch:
            raise ValueError('EMAHook: set begin_iter or begin_epoch, not both')
        self.strict_load = strict_load
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.begin_iter, self.begin_epoch = begin_iter, begin_epoch
        self.enabled_by_epoch = begin_epoch > 0
        self.ema_model = None
        self.src_model = None

    def before_run(self, runner) -> None:
        model = runner.model
        self.src_model = model.module if hasattr(model, 'module') else model
        self.ema_model = MODELS.build(self.ema_cfg, default_args=dict(model=self.src_model),
                                      key_path='custom_hooks.EMAHook')

    def before_train(self, runner) -> None:
        if self.enabled_by_epoch and self.begin_epoch > runner.max_epochs:
            raise ValueError(f'EMAHook.begin_epoch={self.begin_epoch} is after max_epochs='
                             f'{runner.max_epochs}: the EMA would never start')
        if not self.enabled_by_epoch and self.begin_iter > runner.max_iters:
            raise ValueError(f'EMAHook.begin_iter={self.begin_iter} is after max_iters='
                             f'{runner.max_iters}: the EMA would never start')

    def _ema_started(self, runner) -> bool:
        if self.enabled_by_epoch:
            return runner.epoch + 1 >= self.begin_epoch
        return runner.iter + 1 >= self.begin_iter

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: dict | None = None) -> None:
        guard = getattr(getattr(runner, 'train_loop', None), 'nan_guard', None)
        if getattr(guard, 'last_skipped', False):
            return   # nan_policy='skip' undid this iteration: the EMA must not move either
        if self._ema_started(runner):
            self.ema_model.update_parameters(self.src_model)
        else:
            # Before the start the EMA simply tracks the model.
            src = self.src_model.state_dict()
            for key, value in self.ema_model.module.state_dict().items():
                value.data.copy_(src[key].data)

    def before_val_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._swap_ema_parameters()

    def before_test_epoch(self, runner) -> None:
        self._swap_ema_parameters()

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        self._swap_ema_parameters()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['ema_state_dict'] = {k: v.detach().cpu().clone() for k, v in
                                        self.ema_model.state_dict().items()}
        self._swap_ema_state_dict(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resuming = getattr(runner, '_resume', False)
        if 'ema_state_dict' in checkpoint and resuming:
            # state_dict holds the averaged weights: swap the raw ones back before loading.
            self._swap_ema_state_dict(checkpoint)
            self.ema_model.load_state_dict(checkpoint['ema_state_dict'], strict=self.strict_load)
        else:
            if resuming:
                logger.warning('no ema_state_dict in the checkpoint; EMAHook starts the average '
                               'from its state_dict')
            state = {k.replace('module.', '', 1) if k.startswith('module.') else k: v
                     for k, v in copy.deepcopy(checkpoint['state_dict']).items()}
            self.ema_model.module.load_state_dict(state, strict=self.strict_load)

    def _swap_ema_state_dict(self, checkpoint: dict) -> None:
        model_state, ema_state = checkpoint['state_dict'], checkpoint['ema_state_dict']
        for key in ema_state:
            if key.startswith('module.') and key[7:] in model_state:
                ema_state[key], model_state[key[7:]] = model_state[key[7:]], ema_state[key]

    def _swap_ema_parameters(self) -> None:
        avg, src = self.ema_model.module.parameters(), self.src_model.parameters()
        if getattr(self.ema_model, 'update_buffers', False):
            avg = itertools.chain(avg, self.ema_model.module.buffers())
            src = itertools.chain(src, self.src_model.buffers())
        for p_avg, p_src in zip(avg, src):
            tmp = p_avg.data.clone()
            p_avg.data.copy_(p_src.data)
            p_src.data.copy_(tmp)


__all__ = ['EMAHook']
