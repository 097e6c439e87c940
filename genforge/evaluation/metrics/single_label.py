"""Precision / recall / F1 of single-label classification, in percent (MMPretrain
``SingleLabelMetric``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from genforge.registry import METRICS

from .accuracy import _sample_get, to_tensor
from .base import BaseMetric

__all__ = ['SingleLabelMetric']

_ITEMS = ('precision', 'recall', 'f1-score', 'support')


def _precision_recall_f1_support(pred_positive: torch.Tensor, gt_positive: torch.Tensor,
                                 average: str | None) -> tuple[torch.Tensor, ...]:
    """From (N, C) 0/1 predictions and targets; classes never predicted count precision 0."""
    class_correct = pred_positive & gt_positive
    dims = None if average == 'micro' else 0
    tp = class_correct.sum() if dims is None else class_correct.sum(0)
    pred_sum = pred_positive.sum() if dims is None else pred_positive.sum(0)
    gt_sum = gt_positive.sum() if dims is None else gt_positive.sum(0)
    precision = tp / torch.clamp(pred_sum, min=1).float() * 100
    recall = tp / torch.clamp(gt_sum, min=1).float() * 100
    f1 = 2 * precision * recall / torch.clamp(precision + recall,
                                              min=torch.finfo(torch.float32).eps)
    if average in ('macro', 'micro'):
        return precision.mean(0), recall.mean(0), f1.mean(0), gt_sum.sum(0)
    return precision, recall, f1, gt_sum


@METRICS.register_module()
class SingleLabelMetric(BaseMetric):
    """Precision, recall and F1 (%) with ``average`` 'macro' (mean over classes), 'micro' (keys
    suffixed ``_micro``) or None (per class, keys suffixed ``_classwise``).

    Example: val_evaluator = [dict(type='Accuracy', topk=(1, 5)),
                              dict(type='SingleLabelMetric', items=['precision', 'recall'])]
    """

    default_prefix = 'single-label'

    def __init__(self, thrs: float | Sequence[float | None] | None = 0.,
                 items: Sequence[str] = ('precision', 'recall', 'f1-score'),
                 average: str | None = 'macro', num_classes: int | None = None,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thrs = (thrs, ) if isinstance(thrs, float) or thrs is None else tuple(thrs)
        bad = [i for i in items if i not in _ITEMS]
        if bad:
            raise ValueError(f'SingleLabelMetric: unknown items {bad}; use some of {_ITEMS}')
        if average not in ('macro', 'micro', None):
            raise ValueError(f"SingleLabelMetric: average={average!r}; use 'macro', 'micro' or None")
        self.items, self.average, self.num_classes = tuple(items), average, num_classes

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            score = _sample_get(sample, 'pred_score')
            if score is not None:
                result = {'pred_score': score.detach().cpu()}
            else:
                num_classes = self.num_classes or _sample_get(sample, 'num_classes')
                if num_classes is None:
                    raise ValueError('SingleLabelMetric: predictions carry only pred_label; set '
                                     'num_classes in the metric config')
                result = {'pred_label': _sample_get(sample, 'pred_label').detach().cpu(),
                          'num_classes': num_classes}
            result['gt_label'] = _sample_get(sample, 'gt_label').cpu()
            self.results.append(result)

    def _pack(self, precision, recall, f1, support) -> dict:
        values = {'precision': precision, 'recall': recall, 'f1-score': f1, 'support': support}
        return {k: values[k] for k in self.items}

    def compute_metrics(self, results: list) -> dict:
        target = torch.cat([r['gt_label'] for r in results])
        metrics: dict[str, torch.Tensor] = {}
        if 'pred_score' in results[0]:
            pred = torch.stack([r['pred_score'] for r in results])
            per_thr = self.calculate(pred, target, thrs=self.thrs, average=self.average)
            for thr, res in zip(self.thrs, per_thr):
                suffix = '' if len(self.thrs) == 1 else \
                    '_no-thr' if thr is None else f'_thr-{thr:.2f}'
                metrics.update({k + suffix: v for k, v in self._pack(*res).items()})
        else:
            pred = torch.cat([r['pred_label'] for r in results])
            metrics = self._pack(*self.calculate(pred, target, average=self.average,
                                                 num_classes=results[0]['num_classes']))
        if self.average is None:
            return {f'{k}_classwise': v.cpu().tolist() for k, v in metrics.items()}
        if self.average == 'micro':
            return {f'{k}_micro': v.item() for k, v in metrics.items()}
        return {k: v.item() for k, v in metrics.items()}

    @staticmethod
    def calculate(pred: torch.Tensor | np.ndarray | Sequence,
                  target: torch.Tensor | np.ndarray | Sequence,
                  thrs: Sequence[float | None] = (0., ), average: str | None = 'macro',
                  num_classes: int | None = None) -> tuple | list[tuple]:
        """(N,) labels (needs ``num_classes``) -> one tuple; (N, C) scores -> one per threshold
        (the top-1 class counts as predicted only if its score exceeds the threshold)."""
        pred, target = to_tensor(pred), to_tensor(target).to(torch.int64).view(-1)
        if pred.ndim == 1:
            if num_classes is None:
                raise ValueError('SingleLabelMetric.calculate: label predictions need num_classes')
            return _precision_recall_f1_support(F.one_hot(pred.to(torch.int64), num_classes),
                                                F.one_hot(target, num_classes), average)
        num_classes = pred.size(1)
        pred_score, pred_label = torch.topk(pred, k=1)
        pred_score, pred_label = pred_score.flatten(), pred_label.flatten()
        gt_positive = F.one_hot(target, num_classes)
        results = []
        for thr in thrs:
            pred_positive = F.one_hot(pred_label, num_classes)
            if thr is not None:
                pred_positive[pred_score <= thr] = 0
            results.append(_precision_recall_f1_support(pred_positive, gt_positive, average))
        return results
