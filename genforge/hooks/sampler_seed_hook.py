"""DistSamplerSeedHook: gives the sampler the epoch so each epoch shuffles differently."""
from __future__ import annotations

from genforge.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Calls ``sampler.set_epoch(epoch)`` (and on the batch sampler) before every train epoch.

    Example: default_hooks=dict(sampler_seed=dict(type='DistSamplerSeedHook'))
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_loop.dataloader
        for sampler in (getattr(loader, 'sampler', None), getattr(loader, 'batch_sampler', None)):
            if sampler is not None and hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(runner.train_loop.epoch)


__all__ = ['DistSamplerSeedHook']
