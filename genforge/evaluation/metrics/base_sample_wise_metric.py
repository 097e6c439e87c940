"""BaseSampleWiseMetric: a metric computed per image and averaged (MMagic's PSNR/SSIM/MAE/MSE).

Each evaluated sample is a DataSample or its ``to_dict()``; the prediction is read from
``sample.output.<pred_key>`` (MMagic's layout) or ``sample.<pred_key>``, the ground truth from
``sample.<gt_key>``. Images are (C, H, W) or (T, C, H, W) in [0, 255], BGR, as the
``DataPreprocessor`` leaves them in evaluation (``destruct`` for predictions).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .base import BaseMetric

__all__ = ['BaseSampleWiseMetric', 'fetch_field']


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    getter = getattr(obj, 'get', None)
    return getter(key) if callable(getter) else getattr(obj, key, None)


def fetch_field(sample: Any, key: str, prefer_output: bool = False) -> Any:
    """``sample.output.<key>`` (if ``prefer_output``) or ``sample.<key>``; KeyError names both."""
    places = [_get(sample, 'output'), sample] if prefer_output else [sample, _get(sample, 'output')]
    for place in places:
        value = _get(place, key)
        if value is not None:
            return value
    raise KeyError(f'metric: no field {key!r} in the evaluated sample (looked in sample.{key} '
                   f'and sample.output.{key}); set gt_key=/pred_key= to the field names')


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


class BaseSampleWiseMetric(BaseMetric):
    """Per-sample metric averaged over the dataset; subclasses define ``metric`` and
    ``process_image(gt, pred, mask)``.

    Args:
        gt_key (str): Default: 'gt_img'.
        pred_key (str): Default: 'pred_img'.
        mask_key (str, optional): evaluate only where the mask is non-zero.
        scaling (float): multiply the final value (e.g. 100). Default: 1.
        device (str): unused, MMagic compatibility.
        collect_device (str), prefix (str, optional): see BaseMetric.
    """

    metric: str | None = None
    SAMPLER_MODE = 'normal'
    sample_model = 'orig'

    def __init__(self, gt_key: str = 'gt_img', pred_key: str = 'pred_img',
                 mask_key: str | None = None, scaling: float = 1, device: str = 'cpu',
                 collect_device: str = 'cpu', prefix: str | None = None):
        if self.metric is None:
            raise TypeError(f'{type(self).__name__} must set the class attribute "metric"')
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.mask_key = mask_key
        self.scaling = scaling
        self.device = device
        # The eval-mode DataPreprocessor hands over BGR images (as in MMagic).
        self.channel_order = 'BGR'

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for sample in data_samples:
            gt = _to_numpy(fetch_field(sample, self.gt_key))
            pred = _to_numpy(fetch_field(sample, self.pred_key, prefer_output=True))
            if self.mask_key is not None:
                mask = (_to_numpy(fetch_field(sample, self.mask_key)) != 0).astype(np.float64)
            else:
                mask = np.ones_like(pred)
            if gt.ndim <= 3:
                result = self.process_image(gt, pred, mask)
            else:  # (T, C, H, W): average over frames
                result = float(np.mean([self.process_image(gt[i], pred[i], mask[i])
                                        for i in range(gt.shape[0])]))
            self.results.append({self.metric: float(result)})

    def process_image(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
        raise NotImplementedError

    def compute_metrics(self, results: list[dict]) -> dict[str, float]:
        if not results:
            raise ValueError(f'{self.metric}: no results to average (empty dataset?)')
        total = sum(r[self.metric] * r.get('batch_size', 1) for r in results)
        count = sum(r.get('batch_size', 1) for r in results)
        return {self.metric: total / count * self.scaling}

    def prepare(self, module: Any, dataloader: Any) -> None:
        """MMagic hook: remember the dataset size (used by ``evaluate()`` without a size)."""
        dataset = getattr(dataloader, 'dataset', None)
        if dataset is not None:
            self.size = len(dataset)
