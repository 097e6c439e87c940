"""MAE metric (MMagic ``MAE``): mean |gt - pred| on [0, 1]-scaled images."""
from __future__ import annotations

import numpy as np

from genforge.registry import METRICS

from .base_sample_wise_metric import BaseSampleWiseMetric

__all__ = ['MAE']


@METRICS.register_module()
class MAE(BaseSampleWiseMetric):
    """Mean absolute error of images divided by 255 (optionally inside ``mask_key``).

    Example: dict(type='MAE')
    """

    metric = 'MAE'

    def process_image(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
        diff = np.abs(gt / 255. - pred / 255.)
        if self.mask_key is None:
            return float(diff.mean())
        diff = diff * mask  # a (1, H, W) mask broadcasts over channels
        scale = diff.size / mask.size
        return float(diff.sum() / (mask.sum() * scale + 1e-12))
