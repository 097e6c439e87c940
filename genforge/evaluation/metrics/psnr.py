"""PSNR metric (MMagic ``PSNR``)."""
from __future__ import annotations

import numpy as np

from genforge.evaluation.functional.sr import psnr
from genforge.registry import METRICS

from .base_sample_wise_metric import BaseSampleWiseMetric

__all__ = ['PSNR']


@METRICS.register_module()
class PSNR(BaseSampleWiseMetric):
    """Peak signal-to-noise ratio (dB) of [0, 255] images, averaged over images.

    Args:
        gt_key, pred_key, collect_device, prefix, scaling: see BaseSampleWiseMetric.
        crop_border (int): pixels dropped at each edge. Default: 0.
        input_order (str): 'CHW' (default, tensors from the model) or 'HWC'.
        convert_to (str, optional): 'Y' for the BT.601 luma (as BasicSR's test_y_channel);
            None for all channels (MMagic model-zoo numbers).

    Example: dict(type='PSNR', crop_border=4, convert_to='Y', prefix='Set5')
    """

    metric = 'PSNR'

    def __init__(self, gt_key: str = 'gt_img', pred_key: str = 'pred_img',
                 collect_device: str = 'cpu', prefix: str | None = None, crop_border: int = 0,
                 input_order: str = 'CHW', convert_to: str | None = None, scaling: float = 1):
        super().__init__(gt_key=gt_key, pred_key=pred_key, scaling=scaling,
                         collect_device=collect_device, prefix=prefix)
        self.crop_border = crop_border
        self.input_order = input_order
        self.convert_to = convert_to

    # the per-image function; SSIM shares these arguments and swaps only this
    image_metric = staticmethod(psnr)

    def process_image(self, gt: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
        return self.image_metric(gt, pred, crop_border=self.crop_border,
                                 input_order=self.input_order, convert_to=self.convert_to,
                                 channel_order=self.channel_order)
