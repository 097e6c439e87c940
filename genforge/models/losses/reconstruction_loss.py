"""Masked pixel reconstruction loss for masked image modeling (MMPretrain)."""
from __future__ import annotations

import torch
from torch import nn

from genforge.registry import MODELS

__all__ = ['PixelReconstructionLoss', 'MAEReconstructionLoss']


@MODELS.register_module()
class PixelReconstructionLoss(nn.Module):
    """L1/L2 between predicted and target patches, averaged over the masked patches only.

    pred, target: (N, L, D) (averaged over D) or (N, C, H, W); mask: (N, L) / (N, H, W) with
    1 = removed (to be reconstructed). ``channel`` repeats a (N, H, W) mask over C channels.

    Example: dict(type='PixelReconstructionLoss', criterion='L2')
    """

    def __init__(self, criterion: str, channel: int | None = None):
        super().__init__()
        if criterion == 'L1':
            self.penalty = nn.L1Loss(reduction='none')
        elif criterion == 'L2':
            self.penalty = nn.MSELoss(reduction='none')
        else:
            raise NotImplementedError(f"PixelReconstructionLoss: criterion={criterion!r}; only "
                                      f"'L1' and 'L2' are supported")
        self.channel = channel

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        loss = self.penalty(pred, target)
        if loss.dim() == 3:
            loss = loss.mean(dim=-1)  # (N, L, D) -> (N, L): mean error per patch
        if mask is None:
            return loss.mean()
        if self.channel is not None:
            mask = mask.unsqueeze(1).repeat(1, self.channel, 1, 1)
            return (loss * mask).sum() / mask.sum() / self.channel
        return (loss * mask).sum() / mask.sum()


@MODELS.register_module()
class MAEReconstructionLoss(PixelReconstructionLoss):
    """MMSelfSup 1.0rc name of the MAE loss: ``PixelReconstructionLoss(criterion='L2')``.

    Example: dict(type='MAEReconstructionLoss')
    """

    def __init__(self, criterion: str = 'L2', channel: int | None = None):
        super().__init__(criterion, channel)
