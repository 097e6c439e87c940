"""Classification cross-entropy losses (MMPretrain ``CrossEntropyLoss`` semantics).

Element losses are reduced with ``weight_reduce_loss``: ``mean(loss * weight)``, or
``sum(loss * weight) / avg_factor`` when the head passes ``avg_factor`` (the batch size).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .loss_wrapper import weight_reduce_loss

__all__ = ['CrossEntropyLoss', 'cross_entropy', 'soft_cross_entropy', 'binary_cross_entropy']

_REDUCTIONS = ('none', 'mean', 'sum')


def cross_entropy(pred: torch.Tensor, label: torch.Tensor, weight: torch.Tensor | None = None,
                  reduction: str = 'mean', avg_factor: float | None = None,
                  class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax CE; pred (N, C) logits, label (N,) indices or (N, C) probabilities."""
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction='none')
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def soft_cross_entropy(pred: torch.Tensor, label: torch.Tensor,
                       weight: torch.Tensor | None = None, reduction: str = 'mean',
                       class_weight: torch.Tensor | None = None,
                       avg_factor: float | None = None) -> torch.Tensor:
    """``-sum_c label_c * log_softmax(pred)_c`` for (N, C) soft labels (Mixup/CutMix scores)."""
    loss = -label * F.log_softmax(pred, dim=-1)
    if class_weight is not None:
        loss = loss * class_weight
    loss = loss.sum(dim=-1)
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def binary_cross_entropy(pred: torch.Tensor, label: torch.Tensor,
                         weight: torch.Tensor | None = None, reduction: str = 'mean',
                         avg_factor: float | None = None,
                         class_weight: torch.Tensor | None = None,
                         pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Sigmoid BCE per class; pred and label (N, C); ``weight`` (N,) per sample."""
    if pred.dim() != label.dim():
        raise ValueError(f'binary_cross_entropy: pred {tuple(pred.shape)} and label '
                         f'{tuple(label.shape)} must have the same number of dims; give one-hot '
                         f'labels')
    if class_weight is not None:
        class_weight = class_weight.repeat(pred.size(0), 1)
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), weight=class_weight,
                                              pos_weight=pos_weight, reduction='none')
    if weight is not None:
        if weight.dim() != 1:
            raise ValueError(f'binary_cross_entropy: weight must be (N,), got {tuple(weight.shape)}')
        weight = weight.float()
        if pred.dim() > 1:
            weight = weight.reshape(-1, 1)
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax (default), soft-label (``use_soft``) or sigmoid (``use_sigmoid``) cross-entropy.

    ``forward(cls_score, label, weight=None, avg_factor=None, reduction_override=None)``.

    Example: dict(type='CrossEntropyLoss', loss_weight=1.0, use_soft=True)
    """

    requires_label_indices = True  # ClsHead hands class indices (or Mixup scores) as they are

    def __init__(self, use_sigmoid: bool = False, use_soft: bool = False,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 class_weight: Sequence[float] | None = None,
                 pos_weight: Sequence[float] | None = None):
        super().__init__()
        if use_sigmoid and use_soft:
            raise ValueError('CrossEntropyLoss: use_sigmoid and use_soft cannot both be True')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'CrossEntropyLoss: reduction={reduction!r}; use one of {_REDUCTIONS}')
        self.use_sigmoid, self.use_soft = use_sigmoid, use_soft
        self.reduction, self.loss_weight = reduction, loss_weight
        self.class_weight, self.pos_weight = class_weight, pos_weight
        self.cls_criterion = binary_cross_entropy if use_sigmoid else \
            soft_cross_entropy if use_soft else cross_entropy

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor,
                weight: torch.Tensor | None = None, avg_factor: float | None = None,
                reduction_override: str | None = None, **kwargs) -> torch.Tensor:
        if reduction_override not in (None, *_REDUCTIONS):
            raise ValueError(f'CrossEntropyLoss: reduction_override={reduction_override!r}')
        reduction = reduction_override or self.reduction
        class_weight = None if self.class_weight is None else \
            cls_score.new_tensor(self.class_weight)
        if self.pos_weight is not None and self.use_sigmoid:
            kwargs['pos_weight'] = cls_score.new_tensor(self.pos_weight)
        return self.loss_weight * self.cls_criterion(
            cls_score, label, weight, class_weight=class_weight, reduction=reduction,
            avg_factor=avg_factor, **kwargs)
