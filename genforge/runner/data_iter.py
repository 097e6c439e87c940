"""The training data stream: epochs of a dataloader, with a saved position for exact resume.

A checkpoint records ``{'epoch': pass number, 'batches': batches used in that pass}``. On resume
the next pass starts after those batches: through the sampler's ``load_state_dict`` when it has
one (DefaultSampler/InfiniteSampler skip indices without loading data), otherwise by skipping
whole batches of indices of the batch sampler (still no data loaded).
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)


class _SkipBatches:
    """A batch sampler that drops the first ``skip`` batches of another one."""

    def __init__(self, batch_sampler, skip: int):
        self.batch_sampler, self.skip = batch_sampler, skip

    def __iter__(self) -> Iterator:
        return itertools.islice(iter(self.batch_sampler), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.batch_sampler) - self.skip, 0)


def _loader_without_first(loader: DataLoader, skip: int) -> DataLoader:
    """Same dataset/collate/workers as ``loader`` but starting at batch ``skip``."""
    return DataLoader(
        loader.dataset, batch_sampler=_SkipBatches(loader.batch_sampler, skip),
        num_workers=loader.num_workers, collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory, timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn, generator=loader.generator,
        prefetch_factor=loader.prefetch_factor if loader.num_workers > 0 else None,
        persistent_workers=False)


def _iter_keep_rng(loader) -> Iterator:
    # iter(DataLoader) draws a base seed from torch's global RNG. A resumed run restores the RNG
    # state saved after that draw, so it must not draw again.
    state = torch.get_rng_state()
    it = iter(loader)
    torch.set_rng_state(state)
    return it


class TrainDataIter:
    """Yields training batches pass after pass and knows where it stands."""

    def __init__(self, dataloader):
        self.dataloader = dataloader
        self.epoch = 0          # dataloader passes started
        self.batches = 0        # batches taken in the current pass
        self._resume: dict | None = None
        self._it: Iterator | None = None
        if self._len() == 0 and not _is_infinite(self.sampler):
            raise ValueError(_no_full_batch(dataloader))

    @property
    def sampler(self):
        return getattr(self.dataloader, 'sampler', None)

    def _len(self) -> int | None:
        try:
            return len(self.dataloader)
        except TypeError:
            return None

    def state_dict(self) -> dict:
        epoch, batches = self.epoch, self.batches
        total = self._len()
        if total is not None and batches >= total and not _is_infinite(self.sampler):
            epoch, batches = epoch + 1, 0   # pass finished: resume at the next one
        state = dict(epoch=epoch, batches=batches)
        batch_size = getattr(self.dataloader, 'batch_size', None)
        if hasattr(self.sampler, 'state_dict') and batch_size:
            state['sampler'] = self.sampler.state_dict(num_consumed=batches * batch_size)
            state['sampler']['epoch'] = epoch
        return state

    def load_state_dict(self, state: dict) -> None:
        self._resume = dict(state)
        self.epoch = int(state['epoch'])

    def _open_pass(self, epoch: int) -> Iterator:
        """A fresh iterator over the dataloader for pass ``epoch`` (resumed position if any)."""
        resume, self._resume = self._resume, None
        self.epoch, self.batches = epoch, 0
        if resume is None:
            return iter(self.dataloader)
        skip = int(resume['batches']) if int(resume['epoch']) == epoch else 0
        self.batches = skip
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)
        if 'sampler' in resume and hasattr(self.sampler, 'load_state_dict'):
            sampler_state = dict(resume['sampler'])
            sampler_state['epoch'] = epoch
            if skip == 0:
                sampler_state['num_consumed'] = 0
            self.sampler.load_state_dict(sampler_state)
            return self._iter_resumed(self.dataloader, skip)
        if skip and getattr(self.dataloader, 'batch_sampler', None) is not None:
            logger.info('resuming mid-pass: skipping %d batches of indices', skip)
            return _iter_keep_rng(_loader_without_first(self.dataloader, skip))
        return self._iter_resumed(self.dataloader, skip)

    @staticmethod
    def _iter_resumed(loader, skip: int) -> Iterator:
        # skip == 0: the uninterrupted run opened this pass after the checkpoint (a new epoch, a
        # loader a hook switched to), drawing its base seed then, so the resumed run draws too
        return _iter_keep_rng(loader) if skip else iter(loader)

    def epoch_batches(self, epoch: int) -> Iterator[tuple[int, Any]]:
        """``(batch_idx, batch)`` of one pass (epoch-based training)."""
        it = self._open_pass(epoch)
        for batch in it:
            idx = self.batches
            self.batches += 1
            yield idx, batch

    def next_batch(self) -> Any:
        """Next batch, starting a new pass (and ``set_epoch``) when one ends (iteration-based)."""
        if self._it is None:
            self._it = self._open_pass(self.epoch)
        try:
            batch = next(self._it)
        except StopIteration:
            epoch = self.epoch + 1
            for sampler in (self.sampler, getattr(self.dataloader, 'batch_sampler', None)):
                if hasattr(sampler, 'set_epoch'):
                    sampler.set_epoch(epoch)
            self._it = self._open_pass(epoch)
            batch = next(self._it)
        self.batches += 1
        return batch


def _no_full_batch(loader) -> str:
    """Why a dataloader yields no batch at all, with the numbers (not a bare StopIteration)."""
    batch_size = getattr(loader, 'batch_size', None)
    drop_last = getattr(loader, 'drop_last', None)
    try:
        samples = len(loader.dataset)
        per_rank = len(loader.sampler)
    except TypeError:
        return 'train_dataloader yields no batch at all; check the dataset and the sampler'
    rank = f' ({per_rank} per process)' if per_rank != samples else ''
    if samples == 0:
        return 'train_dataloader: the dataset is empty; check data_root and data_prefix'
    fix = f'lower train_dataloader.batch_size to at most {per_rank}'
    if drop_last:
        fix += ' or set drop_last=False'
    return (f'train_dataloader: batch_size={batch_size} with drop_last={drop_last}, but the '
            f'dataset has {samples} sample(s){rank}: no full batch can be formed; {fix}')


def _is_infinite(sampler) -> bool:
    return type(sampler).__name__ == 'InfiniteSampler'


__all__ = ['TrainDataIter']
