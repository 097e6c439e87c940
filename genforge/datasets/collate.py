"""Collate functions (MMEngine names, registered in FUNCTIONS) and the DataLoader worker seed.

``pseudo_collate`` only transposes: a list of ``dict(inputs=CHW, data_samples=DataSample)`` becomes
``dict(inputs=[CHW, ...], data_samples=[DataSample, ...])``; the data preprocessor stacks later.
``default_collate`` also stacks tensors/arrays and turns numbers into tensors.
"""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from genforge.registry import FUNCTIONS

__all__ = ['pseudo_collate', 'default_collate', 'worker_init_fn']


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """Seed python, numpy and torch in a DataLoader worker: ``num_workers * rank + worker_id + seed``.

    Each worker of each rank gets a distinct, reproducible seed (MMEngine's formula), so random
    transforms differ between workers but repeat across runs. Use with ``functools.partial``.
    """
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2 ** 32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        import warnings
        warnings.simplefilter('ignore')


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, '_fields')


def _transpose(data_batch: Sequence, fn) -> Any:
    """Shared Sequence/Mapping recursion of both collate functions."""
    item = data_batch[0]
    if _is_namedtuple(item):
        return type(item)(*(fn(list(samples)) for samples in zip(*data_batch)))
    if isinstance(item, Sequence):
        size = len(item)
        if any(len(x) != size for x in data_batch):
            raise RuntimeError('collate: every sample of a batch must have the same length, got '
                               f'lengths {[len(x) for x in data_batch]}')
        transposed = [fn(list(samples)) for samples in zip(*data_batch)]
        if isinstance(item, tuple):
            return transposed
        try:
            return type(item)(transposed)
        except TypeError:
            return transposed
    # Mapping
    keys = list(item)
    for i, x in enumerate(data_batch):
        if set(x) != set(keys):
            raise KeyError(f'collate: sample {i} has keys {sorted(x)} but sample 0 has {sorted(keys)}; '
                           'every pipeline output of a batch must have the same keys')
    out = {key: fn([x[key] for x in data_batch]) for key in keys}
    try:
        return type(item)(out)
    except TypeError:
        return out


@FUNCTIONS.register_module()
def pseudo_collate(data_batch: Sequence) -> Any:
    """Transpose a batch (list of samples) into a sample of lists; tensors are NOT stacked.

    Example: collate_fn=dict(type='pseudo_collate')
    """
    item = data_batch[0]
    if isinstance(item, (str, bytes)):
        return list(data_batch)
    if isinstance(item, (Sequence, Mapping)):
        return _transpose(data_batch, pseudo_collate)
    return list(data_batch)


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    shapes = [tuple(t.shape) for t in tensors]
    if len(set(shapes)) > 1:
        raise RuntimeError(_shape_mismatch_message(shapes))
    return torch.stack(tensors, 0)


def _shape_mismatch_message(shapes: list[tuple], paths: list | None = None) -> str:
    first = shapes[0]
    odd = [i for i, s in enumerate(shapes) if s != first]
    lines = [f'  sample {i}: shape {shapes[i]}' + (f' ({paths[i]})' if paths and paths[i] else '')
             for i in [0] + odd[:5]]
    return ('default_collate: cannot stack a batch of tensors with different shapes:\n'
            + '\n'.join(lines) + '\nImages of one batch need the same channel count and size: load '
            "them with color_type='color' (3 channels) or 'grayscale' (1), and Resize/Crop to a fixed "
            "size, or use batch_size=1 / collate_fn=dict(type='pseudo_collate').")


def _sample_paths(data_samples: Sequence) -> list | None:
    paths = []
    for ds in data_samples:
        meta = getattr(ds, 'metainfo', None) or {}
        paths.append(meta.get('img_path') or meta.get('gt_path'))
    return paths if any(paths) else None


@FUNCTIONS.register_module()
def default_collate(data_batch: Sequence) -> Any:
    """Transpose a batch and stack tensors / arrays / numbers (other objects stay lists).

    Example: collate_fn=dict(type='default_collate')
    """
    item = data_batch[0]
    if isinstance(item, torch.Tensor):
        return _stack(list(data_batch))
    if isinstance(item, np.ndarray):
        return _stack([torch.as_tensor(x) for x in data_batch])
    if isinstance(item, np.generic):
        return torch.as_tensor(np.asarray(data_batch))
    if isinstance(item, bool):
        return torch.tensor(data_batch, dtype=torch.bool)
    if isinstance(item, float):
        return torch.tensor(data_batch, dtype=torch.float64)
    if isinstance(item, int):
        return torch.tensor(data_batch)
    if isinstance(item, (str, bytes)):
        return list(data_batch)
    if isinstance(item, Mapping) and 'data_samples' in item:
        try:
            return _transpose(data_batch, default_collate)
        except RuntimeError as exc:
            paths = _sample_paths([x['data_samples'] for x in data_batch])
            if paths is None or 'different shapes' not in str(exc):
                raise
            shapes = [tuple(torch.as_tensor(x['inputs']).shape) if not isinstance(x['inputs'], dict)
                      else None for x in data_batch]
            if None in shapes:
                raise
            raise RuntimeError(_shape_mismatch_message(shapes, paths)) from None
    if isinstance(item, (Sequence, Mapping)):
        return _transpose(data_batch, default_collate)
    return list(data_batch)
