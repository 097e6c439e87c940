"""SSIM metric (MMagic ``SSIM``)."""
from __future__ import annotations

from genforge.evaluation.functional.sr import ssim
from genforge.registry import METRICS

from .psnr import PSNR

__all__ = ['SSIM']


@METRICS.register_module()
class SSIM(PSNR):
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
    image_metric = staticmethod(ssim)
