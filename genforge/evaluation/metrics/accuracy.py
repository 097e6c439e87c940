"""Top-k classification accuracy, in percent (MMPretrain ``Accuracy``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genforge.registry import METRICS

from .base import BaseMetric

__all__ = ['Accuracy', 'to_tensor']


def to_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.as_tensor(np.asarray(value))
    if isinstance(value, (int, float)):
        return torch.tensor([value])
    raise TypeError(f'{type(value).__name__} cannot be converted to a tensor')


def _sample_get(sample: Any, key: str) -> Any:
    return sample.get(key) if hasattr(sample, 'get') else None


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy (%) from ``pred_score`` (or top-1 from ``pred_label``) vs ``gt_label``.

    Keys: ``accuracy/top1``, ``accuracy/top5`` ...; with several ``thrs`` a suffix
    ``_thr-0.50`` / ``_no-thr`` (a score must exceed the threshold to count as correct).

    Example: val_evaluator = dict(type='Accuracy', topk=(1, 5))
    """

    default_prefix = 'accuracy'

    def __init__(self, topk: int | Sequence[int] = (1, ),
                 thrs: float | Sequence[float | None] | None = 0.,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        self.thrs = (thrs, ) if isinstance(thrs, float) or thrs is None else tuple(thrs)

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            score = _sample_get(sample, 'pred_score')
            result = {'pred_score': score.detach().cpu()} if score is not None else \
                {'pred_label': _sample_get(sample, 'pred_label').detach().cpu()}
            result['gt_label'] = _sample_get(sample, 'gt_label').cpu()
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        metrics: dict[str, float] = {}
        target = torch.cat([r['gt_label'] for r in results])
        if 'pred_score' not in results[0]:
            pred = torch.cat([r['pred_label'] for r in results])
            metrics['top1'] = self.calculate(pred, target, self.topk, self.thrs).item()
            return metrics
        pred = torch.stack([r['pred_score'] for r in results])
        try:
            acc = self.calculate(pred, target, self.topk, self.thrs)
        except ValueError as exc:
            raise ValueError(f'{exc} Please check the val_evaluator / test_evaluator topk in '
                             f'your config.') from None
        multi_thrs = len(self.thrs) > 1
        for i, k in enumerate(self.topk):
            for j, thr in enumerate(self.thrs):
                name = f'top{k}'
                if multi_thrs:
                    name += '_no-thr' if thr is None else f'_thr-{thr:.2f}'
                metrics[name] = acc[i][j].item()
        return metrics

    @staticmethod
    def calculate(pred: torch.Tensor | np.ndarray | Sequence,
                  target: torch.Tensor | np.ndarray | Sequence,
                  topk: int | Sequence[int] = (1, ),
                  thrs: float | Sequence[float | None] | None = (0., )
                  ) -> torch.Tensor | list[list[torch.Tensor]]:
        """Accuracy in %. ``pred`` (N,) labels -> tensor([acc]); (N, C) scores -> per k, per
        threshold a tensor([acc])."""
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        thrs = (thrs, ) if isinstance(thrs, float) or thrs is None else tuple(thrs)
        pred, target = to_tensor(pred), to_tensor(target).to(torch.int64).view(-1)
        num = pred.size(0)
        if num != target.size(0):
            raise ValueError(f'Accuracy: {num} predictions but {target.size(0)} targets')
        if pred.ndim == 1:
            return pred.to(torch.int64).eq(target).float().sum(0, keepdim=True).mul_(100. / num)
        pred = pred.float()
        maxk = max(topk)
        if maxk > pred.size(1):
            raise ValueError(f'Top-{maxk} accuracy is unavailable since the number of categories '
                             f'is {pred.size(1)}.')
        pred_score, pred_label = pred.topk(maxk, dim=1)
        pred_score, pred_label = pred_score.t(), pred_label.t()  # (maxk, N)
        correct = pred_label.eq(target.view(1, -1).expand_as(pred_label))
        results = []
        for k in topk:
            row = []
            for thr in thrs:
                ok = correct if thr is None else correct & (pred_score > thr)
                row.append(ok[:k].reshape(-1).float().sum(0, keepdim=True).mul_(100. / num))
            results.append(row)
        return results
