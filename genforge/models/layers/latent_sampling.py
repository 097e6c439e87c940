"""Noise and class-label batches for generators: one sampler each, used by networks and GANs.

A generator's ``noise`` / ``label`` argument is a Tensor (used as given), a sampler called with the
batch shape, or None (standard normal noise, uniform labels).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

NoiseVar = Tensor | Callable | None
LabelVar = Tensor | Callable | Sequence | None


def sample_noise(noise: NoiseVar, num_batches: int, shape: int | Sequence[int],
                 device: torch.device | str | None = None, owner: str = 'generator') -> Tensor:
    """A (N, *shape) noise batch: ``noise`` as given (a 1-D Tensor gets a batch dim),
    ``noise((N, *shape))`` or ``randn(N, *shape)``.

    ``shape`` is one sample's shape, e.g. ``128`` or ``(128, 1, 1)``.
    """
    if isinstance(noise, Tensor):
        batch = noise[None] if noise.ndim == 1 else noise
    else:
        if shape is None:
            raise ValueError(f"{owner}: noise_size is unknown: set model.noise_size (or the "
                             f"generator's) or pass a noise Tensor")
        if num_batches <= 0:
            raise ValueError(f'{owner}: pass a noise Tensor or num_batches > 0 (got '
                             f'noise={noise!r}, num_batches={num_batches})')
        size = (shape,) if isinstance(shape, int) else tuple(shape)
        batch = noise((num_batches, *size)) if callable(noise) else torch.randn(num_batches,
                                                                                *size)
    return batch if device is None else batch.to(device)


def sample_labels(label: LabelVar, num_batches: int, num_classes: int | None,
                  device: torch.device | str | None = None,
                  label_size: int | None = None) -> Tensor | None:
    """(N,) class labels: ``label`` as given (a list, or a Tensor of shape (N,), (N, 1, ...) or
    a scalar), ``label(label_size or N)``, uniform in ``[0, num_classes)``, or None for an
    unconditional generator (``num_classes`` 0 or None and no ``label``). Given labels are checked
    against ``num_classes``."""
    if isinstance(label, (list, tuple)):
        label = torch.as_tensor(label, dtype=torch.long)
    if isinstance(label, Tensor):
        if label.ndim == 0:
            batch = label[None]
        elif label.ndim == 1:
            batch = label
        elif all(s == 1 for s in label.shape[1:]):
            batch = label.reshape(-1)  # (N, 1) -> (N,)
        else:
            raise ValueError(f'label must have shape (N,), got {tuple(label.shape)}')
    elif callable(label):
        batch = label(num_batches if label_size is None else label_size)
    elif not num_classes:
        return None
    else:
        if num_batches <= 0:
            raise ValueError(f'num_batches must be > 0 when label is not given (got '
                             f'{num_batches})')
        batch = torch.randint(0, num_classes, (num_batches,))
    if num_classes and batch.numel() and (batch.min() < 0 or batch.max() >= num_classes):
        raise ValueError(f'labels must be in [0, {num_classes - 1}], got {batch.tolist()}')
    return batch if device is None else batch.to(device)


__all__ = ['NoiseVar', 'LabelVar', 'sample_noise', 'sample_labels']
