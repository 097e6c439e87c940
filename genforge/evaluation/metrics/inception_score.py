"""Inception Score (MMagic's ``InceptionScore``, aliases IS / TransIS)."""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from ...registry import METRICS
from ..functional.gen_metrics import inception_score
from .base_gen_metric import GenMetric
from .inception_cache import InceptionGenMetric

__all__ = ['InceptionScore', 'TransIS']


@METRICS.register_module(name=['InceptionScore', 'IS'])
class InceptionScore(InceptionGenMetric):
    """IS over ``splits`` groups of ``fake_nums`` samples: exp(E KL(p(y|x) || p(y))).

    Class probabilities: softmax of the 1008 Inception logits without the fc bias (the TF graph,
    NVlabs ``no_output_bias``). ``resize=True`` with ``use_pillow_resize=True`` (default, as
    MMagic) pre-resizes uint8 images to 299 with Pillow ``resize_method``; that pass is separate
    from FID's. With ``use_pillow_resize=False`` the network's bilinear resize is used and the
    Inception pass is shared with FID/KID/PR. Results: ``is``, ``is_std``.

    Example: dict(type='InceptionScore', prefix='IS-50k', fake_nums=50000)
    """
    name = 'IS'
    needs_real = False
    feature_name = 'probs'

    def __init__(self, fake_nums: int = 50000, resize: bool = True, splits: int = 10,
                 inception_style: str = 'StyleGAN', inception_path: str | None = None,
                 resize_method: str = 'bicubic', use_pillow_resize: bool = True,
                 fake_key: str | None = None, need_cond_input: bool = False,
                 sample_model: str = 'orig', collect_device: str = 'cpu',
                 prefix: str | None = None):
        super().__init__(fake_nums, 0, inception_style, inception_path, None, fake_key, None,
                         need_cond_input, sample_model, collect_device, prefix)
        if use_pillow_resize and resize_method not in ('bicubic', 'bilinear', 'nearest', 'box'):
            raise ValueError(f"InceptionScore: resize_method={resize_method!r} is not a Pillow "
                             "method; use 'bicubic', 'bilinear', 'nearest' or 'box'")
        self.resize, self.splits = resize, splits
        self.resize_method, self.use_pillow_resize = resize_method, use_pillow_resize
        self.resize_tag = resize_method if resize and use_pillow_resize else None

    def _protocol_fields(self) -> list:
        return super()._protocol_fields() + [('splits', self.splits)]

    def compute_metrics(self, fake_results: list) -> dict:
        mean, std = inception_score(torch.stack(fake_results)[:self.fake_nums], self.splits)
        return {'is': mean, 'is_std': std}


@METRICS.register_module()
class TransIS(InceptionScore):
    """IS for translation models: fakes come from ``val_step`` on the real dataloader.

    Example: dict(type='TransIS', prefix='IS-Full', fake_nums=-1, fake_key='fake_b')
    """
    SAMPLER_MODE = 'normal'

    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader, metrics: list):
        return dataloader

    @property
    def fake_nums_per_device(self) -> int:
        return 10 ** 12 if self.fake_nums == -1 else GenMetric.fake_nums_per_device.fget(self)
