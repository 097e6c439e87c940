"""PGGANFetchDataHook: rebuild the training dataloader when PGGAN moves to a new resolution."""
from __future__ import annotations

import logging

import torch
from torch.utils.data import DataLoader

from genforge.datasets.samplers import DefaultSampler, InfiniteSampler
from genforge.models.wrappers import is_model_wrapper
from genforge.registry import HOOKS
from genforge.runner.data_iter import TrainDataIter

from .hook import DATA_BATCH, Hook

logger = logging.getLogger(__name__)


def _scale_of(model, name: str) -> int:
    module = model.module if is_model_wrapper(model) else model
    if not hasattr(module, name):
        raise AttributeError(f'PGGANFetchDataHook needs a progressive model with {name} '
                             f'(ProgressiveGrowingGAN); got {type(module).__name__}')
    value = getattr(module, name)
    return int(value.item() if isinstance(value, torch.Tensor) else value)


@HOOKS.register_module()
class PGGANFetchDataHook(Hook):
    """Before each iteration, ask the dataset (``update_annotations(scale)``, e.g.
    GrowScaleImgDataset) for the model's ``_next_scale_int``; when it changes, train from a
    new DataLoader with the dataset's ``samples_per_gpu`` as batch size and a fresh sampler of
    the same kind and seed (MMagic's behaviour: the batch already fetched this iteration still
    comes from the old loader).

    On resume it first restores the loader of the scale the checkpoint was trained at
    (``_curr_scale_int``) and hands it the saved data position, so the batches after a resume
    are the ones an uninterrupted run would have drawn.

    Example: custom_hooks=[dict(type='PGGANFetchDataHook')]
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if loop.iter == 0:
            return
        pending = loop.data_iter._resume  # the checkpoint's position, not consumed yet
        switched = self._switch(runner, _scale_of(runner.model, '_curr_scale_int'))
        # a loader the run had switched to but not yet iterated starts fresh, as it would have
        if switched and pending and (pending['epoch'] or pending['batches']):
            loop.data_iter.load_state_dict(pending)

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._switch(runner, _scale_of(runner.model, '_next_scale_int'))

    def _switch(self, runner, scale: int) -> bool:
        loop = runner.train_loop
        new_loader = self.update_dataloader(loop.dataloader, scale)
        if new_loader is None:
            return False
        loop.dataloader = new_loader
        loop.data_iter = TrainDataIter(new_loader)
        return True

    def update_dataloader(self, dataloader: DataLoader, curr_scale: int) -> DataLoader | None:
        """A DataLoader for ``curr_scale``, or None when the dataset does not change."""
        dataset = dataloader.dataset
        if not (hasattr(dataset, 'update_annotations') and dataset.update_annotations(curr_scale)):
            return None
        old = dataloader.sampler
        if isinstance(old, InfiniteSampler):
            sampler = InfiniteSampler(dataset, shuffle=old.shuffle, seed=old.seed,
                                      rank=old.rank, world_size=old.world_size)
        elif isinstance(old, DefaultSampler):
            sampler = DefaultSampler(dataset, shuffle=old.shuffle, seed=old.seed,
                                     round_up=old.round_up, rank=old.rank,
                                     world_size=old.world_size)
        else:
            raise ValueError(f'PGGANFetchDataHook supports DefaultSampler and InfiniteSampler, '
                             f'got {type(old).__name__}; set train_dataloader.sampler')
        logger.info('PGGANFetchDataHook: scale %d, batch size %d', curr_scale,
                    dataset.samples_per_gpu)
        return DataLoader(dataset, batch_size=dataset.samples_per_gpu, sampler=sampler,
                          num_workers=dataloader.num_workers, collate_fn=dataloader.collate_fn,
                          worker_init_fn=dataloader.worker_init_fn, shuffle=False)


__all__ = ['PGGANFetchDataHook']
