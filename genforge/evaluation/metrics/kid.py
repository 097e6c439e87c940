"""Kernel Inception Distance (unbiased polynomial-kernel MMD^2 over subsets)."""
from __future__ import annotations

import torch

from ...registry import METRICS
from ..functional.gen_metrics import kernel_inception_distance
from .inception_cache import InceptionGenMetric

__all__ = ['KernelInceptionDistance']


@METRICS.register_module(name=['KernelInceptionDistance', 'KID'])
class KernelInceptionDistance(InceptionGenMetric):
    """KID (Bińkowski et al.): mean/std of unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 over
    ``num_subsets`` subsets of ``min(n_real, n_fake, max_subset_size)`` Inception features.

    Shares the Inception pass (and real features) with FID/IS/PR of the same evaluator.
    Results: ``kid``, ``kid_std``.

    Example:
        dict(type='KernelInceptionDistance', prefix='KID-10k', fake_nums=10000,
             real_nums=10000, inception_style='PyTorch', num_subsets=100,
             max_subset_size=1000)
    """
    name = 'KID'
    needs_raw_real = True

    def __init__(self, fake_nums: int, real_nums: int = -1, num_subsets: int = 100,
                 max_subset_size: int = 1000, seed: int = 0, **kwargs):
        super().__init__(fake_nums, real_nums, **kwargs)
        self.num_subsets, self.max_subset_size, self.seed = num_subsets, max_subset_size, seed

    def _protocol_fields(self) -> list:
        return super()._protocol_fields() + [('subsets', f'{self.num_subsets}x'
                                                         f'{self.max_subset_size}')]

    def compute_metrics(self, fake_results: list) -> dict:
        kid, std = kernel_inception_distance(self.real_stats['feats'], torch.stack(fake_results),
                                             self.num_subsets, self.max_subset_size, self.seed)
        return {'kid': kid, 'kid_std': std}
