"""Improved Precision and Recall (Kynkäänniemi et al. 2019) on Inception features."""
from __future__ import annotations

import torch

from ...registry import METRICS
from ..functional.gen_metrics import precision_recall
from .inception_cache import InceptionGenMetric

__all__ = ['PrecisionAndRecall']


@METRICS.register_module(name=['PrecisionAndRecall', 'PR'])
class PrecisionAndRecall(InceptionGenMetric):
    """Precision (fakes inside the real k-NN manifold) and recall (reals inside the fake one).

    Deviation from MMagic, stated in the protocol: features are the shared Inception pool3
    features (genforge has no VGG16 weights); MMagic/NVlabs use VGG16 fc2 features, so the
    numbers are not directly comparable to papers using VGG16. Results: ``precision``,
    ``recall``.

    Example:
        dict(type='PrecisionAndRecall', prefix='PR-10K', fake_nums=10000, real_nums=10000,
             k=3, inception_style='PyTorch')
    """
    name = 'PR'
    needs_raw_real = True

    def __init__(self, fake_nums: int, real_nums: int = -1, k: int = 3,
                 row_batch_size: int = 10000, **kwargs):
        super().__init__(fake_nums, real_nums, **kwargs)
        self.k, self.row_batch_size = k, row_batch_size

    def _protocol_fields(self) -> list:
        return super()._protocol_fields() + [('k', self.k), ('features', 'inception-pool3')]

    def compute_metrics(self, fake_results: list) -> dict:
        precision, recall = precision_recall(self.real_stats['feats'], torch.stack(fake_results),
                                             self.k, self.row_batch_size)
        return {'precision': precision, 'recall': recall}
