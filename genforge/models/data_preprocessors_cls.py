"""Data preprocessors of classification (``ClsDataPreprocessor``) and self-supervised
pre-training (``SelfSupDataPreprocessor``), MMPretrain semantics on top of ImgDataPreprocessor.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from genforge.registry import MODELS
from genforge.structures import DataSample

from .batch_augments import RandomBatchAugment
from .data_preprocessors import ImgDataPreprocessor

__all__ = ['ClsDataPreprocessor', 'SelfSupDataPreprocessor']

logger = logging.getLogger(__name__)


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Stack + normalise images; in training apply batch augments, which turn the labels into
    ``gt_score`` (N, num_classes). ``data_samples`` stay a list of DataSample.

    Args:
        to_rgb: flip BGR (as loaded) to RGB.
        to_onehot: also store a one-hot ``gt_score`` (needs ``num_classes``); implied by
            ``batch_augments``.
        batch_augments: ``dict(augments=[dict(type='Mixup', alpha=0.8), ...], probs=None)``;
            ImageClassifier passes its ``train_cfg`` here.

    Example: dict(type='ClsDataPreprocessor', num_classes=1000, mean=[123.675, 116.28, 103.53],
                  std=[58.395, 57.12, 57.375], to_rgb=True)
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 pad_size_divisor: int = 1, pad_value: float = 0, to_rgb: bool = False,
                 to_onehot: bool = False, num_classes: int | None = None,
                 batch_augments: dict | None = None, non_blocking: bool = False):
        super().__init__(mean, std, pad_size_divisor, pad_value, bgr_to_rgb=to_rgb,
                         non_blocking=non_blocking)
        self.to_rgb, self.to_onehot, self.num_classes = to_rgb, to_onehot, num_classes
        if batch_augments:
            self.batch_augments = RandomBatchAugment(**batch_augments)
            if not to_onehot:
                logger.info('Batch augmentations are enabled: the data preprocessor turns '
                            'labels into one-hot gt_score (to_onehot=True).')
                self.to_onehot = True
        else:
            self.batch_augments = None

    def _onehot(self, labels: list[torch.Tensor], num_classes: int | None) -> torch.Tensor:
        if num_classes is None:
            raise ValueError('ClsDataPreprocessor: one-hot scores (Mixup/CutMix or to_onehot) '
                             'need the number of classes: set data_preprocessor.num_classes '
                             '(or the head\'s num_classes)')
        return torch.stack([F.one_hot(lb.long().view(-1), num_classes).sum(0).clamp(max=1).float()
                            for lb in labels])

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs, samples = data['inputs'], data.get('data_samples')
        if isinstance(samples, DataSample):
            samples = samples.split()
        if not samples or not isinstance(samples[0], DataSample):
            return data
        first = samples[0]
        scores = None
        if 'gt_score' in first:
            scores = torch.stack([s.gt_score for s in samples]).to(inputs.device)
        elif self.to_onehot and 'gt_label' in first:
            scores = self._onehot([s.gt_label for s in samples], self.num_classes).to(inputs.device)
        if training and self.batch_augments is not None and scores is not None:
            inputs, scores = self.batch_augments(inputs, scores)
        if scores is not None:
            for sample, score in zip(samples, scores):
                sample.set_gt_score(score)
        return {**data, 'inputs': inputs, 'data_samples': samples}


@MODELS.register_module()
class SelfSupDataPreprocessor(ImgDataPreprocessor):
    """Normalise images, or each view of multi-view inputs (a list of (N, C, H, W) tensors).

    Example: dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                  std=[58.395, 57.12, 57.375], to_rgb=True)
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 pad_size_divisor: int = 1, pad_value: float = 0, to_rgb: bool = False,
                 bgr_to_rgb: bool = False, rgb_to_bgr: bool = False, non_blocking: bool = False):
        super().__init__(mean, std, pad_size_divisor, pad_value,
                         bgr_to_rgb=bgr_to_rgb or to_rgb, rgb_to_bgr=rgb_to_bgr,
                         non_blocking=non_blocking)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and inputs and all(
                isinstance(v, torch.Tensor) and v.dim() == 4 for v in inputs):
            # multi-view batch: normalise each (N, C, H, W) view on its own
            views = [super(SelfSupDataPreprocessor, self).forward(
                {'inputs': v, 'data_samples': None}, training)['inputs'] for v in inputs]
            data = self.cast_data(data)
            return {**data, 'inputs': views}
        return super().forward(data, training)
