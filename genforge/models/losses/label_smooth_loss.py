"""Label-smoothing cross-entropy (MMPretrain ``LabelSmoothLoss``)."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .cross_entropy_loss import CrossEntropyLoss

__all__ = ['LabelSmoothLoss']

logger = logging.getLogger(__name__)


@MODELS.register_module()
class LabelSmoothLoss(nn.Module):
    """Cross-entropy against smoothed one-hot labels.

    Modes (eps = ``label_smooth_val``, K classes):
      'original': ``(1 - eps) * one_hot + eps / K``;
      'classy_vision': the same with ``eps / (1 + eps)`` (ClassyVision's normalisation);
      'multi_label': positives ``1 - eps``, negatives ``eps``, with sigmoid BCE.

    Example: dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='classy_vision')
    """

    requires_label_indices = True

    def __init__(self, label_smooth_val: float, num_classes: int | None = None,
                 use_sigmoid: bool | None = None, mode: str = 'original',
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 class_weight: Sequence[float] | None = None,
                 pos_weight: Sequence[float] | None = None):
        super().__init__()
        if not isinstance(label_smooth_val, float) or not 0 <= label_smooth_val < 1:
            raise ValueError(f'LabelSmoothLoss: label_smooth_val must be a float in [0, 1), got '
                             f'{label_smooth_val!r}')
        if mode not in ('original', 'classy_vision', 'multi_label'):
            raise ValueError(f"LabelSmoothLoss: mode={mode!r}; use 'original', 'classy_vision' "
                             f"or 'multi_label'")
        self.num_classes, self.loss_weight = num_classes, loss_weight
        self.label_smooth_val, self.mode = label_smooth_val, mode
        self._eps = label_smooth_val / (1 + label_smooth_val) if mode == 'classy_vision' \
            else label_smooth_val
        if mode == 'multi_label':
            if not use_sigmoid:
                logger.warning('LabelSmoothLoss: multi_label mode uses binary cross-entropy; set '
                               'use_sigmoid=True')
            use_sigmoid = True
        elif use_sigmoid is None:
            use_sigmoid = False
        self.ce = CrossEntropyLoss(use_sigmoid=use_sigmoid, use_soft=not use_sigmoid,
                                   reduction=reduction, class_weight=class_weight,
                                   pos_weight=pos_weight)

    def generate_one_hot_like_label(self, label: torch.Tensor, num_classes: int) -> torch.Tensor:
        if label.dim() == 1 or (label.dim() == 2 and label.shape[1] == 1):
            label = F.one_hot(label.view(-1).long(), num_classes)
        return label.float()

    def smooth_label(self, one_hot_like: torch.Tensor, num_classes: int) -> torch.Tensor:
        if self.mode == 'multi_label':
            smooth = torch.full_like(one_hot_like, self._eps)
            return smooth.masked_fill_(one_hot_like > 0, 1 - self._eps)
        return one_hot_like * (1 - self._eps) + self._eps / num_classes

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                weight: torch.Tensor | None = None, avg_factor: float | None = None,
                reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        num_classes = cls_score.shape[1]
        if self.num_classes is not None and self.num_classes != num_classes:
            raise ValueError(f'LabelSmoothLoss: num_classes={self.num_classes} but the score has '
                             f'{num_classes} classes')
        one_hot_like = self.generate_one_hot_like_label(label, num_classes)
        if one_hot_like.shape != cls_score.shape:
            raise ValueError(f'LabelSmoothLoss: label shape {tuple(one_hot_like.shape)} != score '
                             f'shape {tuple(cls_score.shape)}')
        smoothed = self.smooth_label(one_hot_like, num_classes)
        return self.loss_weight * self.ce(cls_score, smoothed, weight=weight,
                                          avg_factor=avg_factor,
                                          reduction_override=reduction_override, **kwargs)
