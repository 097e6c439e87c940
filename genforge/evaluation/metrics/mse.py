"""MSE metric (MMagic ``MSE``): mean (gt - pred)^2 on [0, 1]-scaled images."""
from __future__ import annotations

import numpy as np

from genforge.registry import METRICS

from .base_sample_wise_metric import BaseSampleWiseMetric

__all__ = ['MSE']


@METRICS.register_module()
class MSE(BaseSampleWiseMetric):
    """Mean squared error of images divided by 255 (optionally inside ``mask_key``).

    Example: dict(type='MSE')
    """

    metric = 'MSE'

    def process_image(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
        diff = (gt / 255. - pred / 255.) ** 2
        if self.mask_key is None:
            return float(diff.mean())
        diff = diff * mask
        scale = diff.size / mask.size
        return float(diff.sum() / (mask.sum() * scale + 1e-12))
