"""SSIM metric (MMagic ``SSIM``)."""
from __future__ import annotations

import numpy as np

from genforge.evaluation.functional.sr import ssim
from genforge.registry import METRICS

from .base_sample_wise_metric import BaseSampleWiseMetric

__all__ = ['SSIM']


@METRICS.register_module()
class SSIM(BaseSampleWiseMetric):
    """Structural similarity (11x11 Gaussian window, sigma 1.5) of [0, 255] images, per channel
    then averaged; same as MMagic/BasicSR and the reference MATLAB code.

    Args:
        gt_key, pred_key, collect_device, prefix, scaling: see BaseSampleWiseMetric.
        crop_border (int): pixels dropped at each edge. Default: 0.
        input_order (str): 'CHW' (default) or 'HWC'.
        convert_to (str, optional): 'Y' (BasicSR convention) or None (MMagic model zoo).

    Example: dict(type='SSIM', crop_border=4, prefix='Set5')
    """

    metric = 'SSIM'

    def __init__(self, gt_key: str = 'gt_img', pred_key: str = 'pred_img',
                 collect_device: str = 'cpu', prefix: str | None = None, crop_border: int = 0,
                 input_order: str = 'CHW', convert_to: str | None = None, scaling: float = 1):
        super().__init__(gt_key=gt_key, pred_key=pred_key, scaling=scaling,
                         collect_device=collect_device, prefix=prefix)
        self.crop_border = crop_border
        self.input_order = input_order
        self.convert_to = convert_to

    def process_image(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
        return ssim(gt, pred, crop_border=self.crop_border, input_order=self.input_order,
                    convert_to=self.convert_to, channel_order=self.channel_order)
