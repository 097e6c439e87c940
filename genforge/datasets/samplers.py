"""Rank-aware samplers with MMEngine's names and shuffling, plus mid-epoch resume.

Shuffling is a ``torch.randperm`` seeded with ``seed + epoch`` (DefaultSampler) or ``seed`` once
for an endless stream of permutations (InfiniteSampler), so every rank computes the same global
order and takes every ``world_size``-th index starting at its ``rank``.

Resume: ``state_dict()`` / ``load_state_dict()`` carry ``epoch``, ``seed`` and ``num_consumed``
(samples of *this rank* already used). After ``load_state_dict`` the next ``__iter__`` skips those
samples, so training continues with exactly the batches an uninterrupted run would have seen. The
sampler cannot count consumed samples itself when DataLoader workers prefetch, so the Runner passes
``num_consumed = batches_done * batch_size`` to ``state_dict``.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sized

import torch
from torch.utils.data import Sampler

from genforge.dist import get_dist_info, sync_random_seed
from genforge.registry import DATA_SAMPLERS

__all__ = ['DefaultSampler', 'InfiniteSampler']


class _ResumableSampler(Sampler):
    """Shared rank/seed handling and the resume state of both samplers."""

    def __init__(self, dataset: Sized, shuffle: bool, seed: int | None,
                 rank: int | None, world_size: int | None):
        dist_rank, dist_world = get_dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world_size = dist_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'sampler: rank={self.rank} must be in [0, world_size={self.world_size})')
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self._skip = 0          # samples of this rank to skip on the next __iter__ (resume)
        self._yielded = 0       # samples handed out in the current pass (own count, see state_dict)

    def state_dict(self, num_consumed: int | None = None) -> dict:
        """``{'epoch', 'seed', 'num_consumed'}`` for checkpoints.

        Args:
            num_consumed: samples of this rank used so far (in the current epoch for
                DefaultSampler, since the start for InfiniteSampler). Defaults to the number the
                sampler handed out, which includes samples prefetched by DataLoader workers.
        """
        n = self._yielded if num_consumed is None else int(num_consumed)
        return dict(epoch=int(self.epoch), seed=int(self.seed), num_consumed=n)

    def load_state_dict(self, state: dict) -> None:
        """Restore epoch and seed; the next ``__iter__`` starts after ``num_consumed`` samples."""
        missing = {'epoch', 'seed', 'num_consumed'} - set(state)
        if missing:
            raise KeyError(f'sampler state is missing {sorted(missing)}; got keys {sorted(state)}')
        self.epoch = int(state['epoch'])
        self.seed = int(state['seed'])
        self._skip = int(state['num_consumed'])

    def _take_skip(self) -> int:
        skip, self._skip = self._skip, 0
        self._yielded = skip
        return skip

    def _count(self, it: Iterator[int]) -> Iterator[int]:
        for i in it:
            self._yielded += 1
            yield i


@DATA_SAMPLERS.register_module()
class DefaultSampler(_ResumableSampler):
    """One pass over the dataset per epoch, sharded over ranks (MMEngine's DefaultSampler).

    With ``round_up=True`` the index list is repeated so that every rank gets
    ``ceil(len(dataset) / world_size)`` samples; otherwise ranks get what is left.
    Call ``set_epoch(epoch)`` before each epoch (DistSamplerSeedHook does) to reshuffle.

    Example: sampler=dict(type='DefaultSampler', shuffle=True)

    ``rank``/``world_size`` default to the torch.distributed group (genforge extension for tests).
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None,
                 round_up: bool = True, rank: int | None = None, world_size: int | None = None):
        super().__init__(dataset, shuffle, seed, rank, world_size)
        self.round_up = round_up
        n = len(dataset)
        if round_up:
            self.num_samples = math.ceil(n / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((n - self.rank) / self.world_size)
            self.total_size = n

    def _global_indices(self) -> list[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.round_up and n > 0:
            indices = (indices * int(self.total_size / n + 1))[:self.total_size]
        return indices

    def __iter__(self) -> Iterator[int]:
        indices = self._global_indices()[self.rank:self.total_size:self.world_size]
        skip = self._take_skip()
        if skip > len(indices):
            raise ValueError(f'DefaultSampler: resume position num_consumed={skip} is past the end of '
                             f'the epoch ({len(indices)} samples on rank {self.rank}); was the '
                             'dataset or batch size changed since the checkpoint?')
        return self._count(iter(indices[skip:]))

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``seed + epoch`` for the next shuffle."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class InfiniteSampler(_ResumableSampler):
    """An endless stream of shuffled passes, sharded over ranks (MMEngine's InfiniteSampler).

    Used by iteration-based training: the generator is seeded once with ``seed`` and yields
    permutation after permutation; ``set_epoch`` has no effect (as in MMEngine).

    Example: sampler=dict(type='InfiniteSampler', shuffle=True)
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None,
                 rank: int | None = None, world_size: int | None = None):
        super().__init__(dataset, shuffle, seed, rank, world_size)
        self.size = len(dataset)
        if self.size == 0:
            raise ValueError('InfiniteSampler: the dataset is empty; nothing to sample')

    def _infinite_indices(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed)
        while True:
            if self.shuffle:
                yield from torch.randperm(self.size, generator=g).tolist()
            else:
                yield from range(self.size)

    def __iter__(self) -> Iterator[int]:
        skip = self._take_skip()
        # this rank's k-th sample is global sample rank + k * world_size
        start = self.rank + skip * self.world_size
        stream = itertools.islice(self._infinite_indices(), start, None, self.world_size)
        return self._count(stream)

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Kept for API compatibility: the infinite stream ignores epochs."""
        self.epoch = epoch
