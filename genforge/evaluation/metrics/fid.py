"""Fréchet Inception Distance (MMagic's ``FrechetInceptionDistance``, aliases FID / TransFID)."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from ...registry import METRICS
from ..functional.gen_metrics import feature_stats, frechet_distance_terms
from .base_gen_metric import GenMetric
from .inception_cache import InceptionGenMetric

__all__ = ['FrechetInceptionDistance', 'TransFID']


@METRICS.register_module(name=['FrechetInceptionDistance', 'FID', 'FID-Full'])
class FrechetInceptionDistance(InceptionGenMetric):
    """FID between ``fake_nums`` generated images and ``real_nums`` real ones (-1 = all).

    Inception pool3 features (2048-d) of quantised images, statistics in float64, sqrtm by
    scipy. Real statistics are computed once and cached in ``inception_pkl`` (reused when the
    file exists). Results: ``fid``, ``mean`` (|mu_r - mu_f|^2), ``cov`` (trace term); the
    protocol string is ``self.protocol``.

    Example:
        dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=50000,
             inception_style='PyTorch', inception_pkl='work_dirs/celeba_stats.pkl',
             sample_model='ema')
    """
    name = 'FID'

    def compute_metrics(self, fake_results: list) -> dict:
        mean, cov = feature_stats(torch.stack(fake_results))
        fid, mean_term, trace_term = frechet_distance_terms(
            mean, cov, self.real_stats['mean'], self.real_stats['cov'])
        return {'fid': fid, 'mean': mean_term, 'cov': trace_term}


@METRICS.register_module()
class TransFID(FrechetInceptionDistance):
    """FID for translation models: fakes come from ``val_step`` on the real dataloader.

    Example: dict(type='TransFID', prefix='FID-Full', fake_nums=-1, real_key='img_a',
                  fake_key='fake_b', inception_style='PyTorch', sample_model='ema')
    """
    SAMPLER_MODE = 'normal'

    def __init__(self, fake_nums: int, real_nums: int = -1, inception_style: str = 'StyleGAN',
                 inception_path: str | None = None, inception_pkl: str | None = None,
                 fake_key: str | None = None, real_key: str | None = 'img',
                 sample_model: str = 'ema', collect_device: str = 'cpu',
                 prefix: str | None = None):
        super().__init__(fake_nums, real_nums, inception_style, inception_path, inception_pkl,
                         fake_key, real_key, False, sample_model, collect_device, prefix)

    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader, metrics: list):
        return dataloader  # the model translates each real batch

    @property
    def fake_nums_per_device(self) -> int:
        return 10 ** 12 if self.fake_nums == -1 else GenMetric.fake_nums_per_device.fget(self)
