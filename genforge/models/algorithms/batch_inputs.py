"""What generative models read from a preprocessed batch: the real images and the batch size.

Both MMGeneration's ``PackGenInputs`` layout (``inputs['img']``) and MMagic's ``PackInputs``
layout (``data_samples.gt_img``) are accepted, so GANs and diffusion models read batches alike.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genforge.structures import DataSample


def get_real_imgs(inputs: Any, data_samples: Any = None) -> Tensor:
    """Real images (N, C, H, W), preprocessed: ``inputs['img']`` (MMGeneration PackGenInputs),
    a Tensor ``inputs``, or ``data_samples.gt_img`` (MMagic PackInputs(key='gt'))."""
    if isinstance(inputs, Tensor):
        return inputs
    if isinstance(inputs, dict) and isinstance(inputs.get('img'), Tensor):
        return inputs['img']
    gt = data_samples.get('gt_img') if isinstance(data_samples, DataSample) else None
    if isinstance(gt, list) and gt:
        gt = torch.stack(gt)
    if isinstance(gt, Tensor):
        return gt
    keys = list(inputs) if isinstance(inputs, dict) else type(inputs).__name__
    raise KeyError(f'No real images in the batch: expected inputs["img"] or '
                   f'data_samples.gt_img (got inputs {keys}); pack images with '
                   f"PackGenInputs(keys=['img']) or LoadImageFromFile(key='gt') + PackInputs")


def get_valid_num_batches(inputs: Any, data_samples: Any = None) -> int:
    """Batch size implied by tensors in ``inputs``, ``inputs['num_batches']`` and data_samples."""
    if isinstance(inputs, Tensor):
        return inputs.shape[0]
    sizes = {}
    if isinstance(inputs, dict):
        sizes = {k: v.shape[0] for k, v in inputs.items() if isinstance(v, Tensor)}
        if inputs.get('num_batches') is not None:
            sizes['num_batches'] = inputs['num_batches']
    if data_samples is not None and len(data_samples) > 0:
        sizes['data_samples'] = len(data_samples)
    if len(set(sizes.values())) > 1:
        raise ValueError(f'Inconsistent batch sizes in the sampling inputs: {sizes}')
    return next(iter(sizes.values())) if sizes else 1



__all__ = ['get_real_imgs', 'get_valid_num_batches']
