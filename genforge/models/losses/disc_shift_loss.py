"""Discriminator shift loss (PGGAN): keeps D's raw scores from drifting away from zero."""
from __future__ import annotations

import torch
from torch import nn

from genforge.registry import MODELS


def disc_shift_loss(pred: torch.Tensor) -> torch.Tensor:
    """Element-wise ``pred ** 2`` (average it yourself, as MMagic's function does not)."""
    return pred ** 2


@MODELS.register_module()
class DiscShiftLoss(nn.Module):
    """``loss_weight * mean(pred ** 2)``.

    Example: dict(type='DiscShiftLoss', loss_weight=0.001)
    """

    def __init__(self, loss_weight: float = 0.1):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mean(disc_shift_loss(x)) * self.loss_weight


__all__ = ['disc_shift_loss', 'DiscShiftLoss']
