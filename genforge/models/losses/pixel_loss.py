"""Pixel-wise losses: L1, MSE and Charbonnier (MMagic signatures)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .loss_wrapper import masked_loss, weight_reduce_loss

__all__ = ['L1Loss', 'MSELoss', 'CharbonnierLoss', 'l1_loss', 'mse_loss', 'charbonnier_loss']

_REDUCTIONS = ['none', 'mean', 'sum']


@masked_loss
def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target, reduction='none')


@masked_loss
def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target, reduction='none')


@masked_loss
def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return torch.sqrt((pred - target) ** 2 + eps)


class _PixelLoss(nn.Module):
    """Shared constructor/forward of the pixel losses."""

    _func = None

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 sample_wise: bool = False):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: unsupported reduction={reduction!r}; '
                             f'use one of {_REDUCTIONS}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.sample_wise = sample_wise

    def _extra(self) -> dict:
        return {}

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                weight: torch.Tensor | None = None, avg_factor: float | None = None,
                reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        """pred, target: (N, C, H, W); weight: optional (N, C|1, H, W) element weights.

        Called MMPretrain's way (``avg_factor`` or ``reduction_override`` given, e.g. by a
        ClsHead), it reduces like MMPretrain: ``sum(loss * weight) / avg_factor`` or
        ``mean(loss * weight)``; otherwise MMagic's weighted-region mean.
        """
        func = type(self)._func
        if avg_factor is None and reduction_override is None:
            return self.loss_weight * func(pred, target, weight, reduction=self.reduction,
                                           sample_wise=self.sample_wise, **self._extra())
        if reduction_override not in (None, *_REDUCTIONS):
            raise ValueError(f'{type(self).__name__}: reduction_override={reduction_override!r}; '
                             f'use one of {_REDUCTIONS}')
        loss = func(pred, target, None, reduction='none', **self._extra())
        return self.loss_weight * weight_reduce_loss(loss, weight,
                                                     reduction_override or self.reduction,
                                                     avg_factor)


@MODELS.register_module()
class L1Loss(_PixelLoss):
    """L1 (mean absolute error) loss.

    With a ``weight`` and reduction 'mean', averages over the weighted region
    (per sample first if ``sample_wise=True``).

    Example: dict(type='L1Loss', loss_weight=1.0, reduction='mean', sample_wise=False)
    """

    _func = staticmethod(l1_loss)


@MODELS.register_module()
class MSELoss(_PixelLoss):
    """MSE (L2) loss.

    Example: dict(type='MSELoss', loss_weight=1.0, reduction='mean')
    """

    _func = staticmethod(mse_loss)


@MODELS.register_module()
class CharbonnierLoss(_PixelLoss):
    """Charbonnier loss ``sqrt((pred - target)^2 + eps)``, a differentiable robust L1.

    Example: dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean', eps=1e-12)
    """

    _func = staticmethod(charbonnier_loss)

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 sample_wise: bool = False, eps: float = 1e-12):
        super().__init__(loss_weight, reduction, sample_wise)
        self.eps = eps

    def _extra(self) -> dict:
        return {'eps': self.eps}
