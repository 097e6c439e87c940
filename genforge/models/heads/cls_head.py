"""Classification heads: ``ClsHead`` (loss / predict logic) and ``LinearClsHead``.

Targets: a batch augment's ``gt_score`` (N, num_classes) if present, else the ``gt_label``
indices (N,). Losses that want class indices (CrossEntropyLoss, LabelSmoothLoss, focal, NLL) get
indices; other losses (L1Loss, MSELoss, a user's loss comparing two distributions) get one-hot
scores of the score's shape. MMPretrain always hands indices, which stops seed 003's L1Loss head
on a size assertion.
"""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS
from genforge.structures import DataSample

__all__ = ['ClsHead', 'LinearClsHead', 'takes_label_indices', 'gather_targets']

# Class-name fragments of losses whose target is a class index (MMPretrain / torch losses).
_INDEX_LOSS_NAMES = ('CrossEntropy', 'LabelSmooth', 'Focal', 'NLL', 'Asymmetric', 'SeesawLoss')


def takes_label_indices(loss_module: nn.Module) -> bool:
    """Whether ``loss_module`` expects class indices (else one-hot scores).

    A loss can say so itself with a ``requires_label_indices`` attribute.
    """
    flag = getattr(loss_module, 'requires_label_indices', None)
    if flag is not None:
        return bool(flag)
    return any(part in type(loss_module).__name__ for part in _INDEX_LOSS_NAMES)


def _as_list(data_samples) -> list[DataSample]:
    if isinstance(data_samples, DataSample):
        return data_samples.split() if len(data_samples) > 1 or 'gt_label' not in data_samples \
            or data_samples.gt_label.numel() > 1 else [data_samples]
    return list(data_samples)


def gather_targets(data_samples) -> torch.Tensor:
    """(N, C) ``gt_score`` if the samples carry one, else (N,) ``gt_label``."""
    samples = _as_list(data_samples)
    if not samples:
        raise ValueError('ClsHead: got no data_samples to take targets from')
    if 'gt_score' in samples[0]:
        return torch.stack([s.gt_score for s in samples])
    if 'gt_label' not in samples[0]:
        raise KeyError(f'ClsHead: data_samples have neither gt_label nor gt_score (fields: '
                       f'{samples[0].keys()}); PackInputs puts gt_label from the dataset')
    return torch.cat([s.gt_label for s in samples])


@MODELS.register_module()
class ClsHead(BaseModule):
    """Classification head without layers: the last stage's features are the scores.

    Args:
        loss: the loss config (or module). Default CrossEntropyLoss.
        topk: k values of the training accuracy logged when ``cal_acc``.
        cal_acc: log ``accuracy_top-k`` during training (meaningless with Mixup/CutMix).

    Example: dict(type='ClsHead', loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5))
    """

    def __init__(self, loss: dict | nn.Module = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: int | Sequence[int] = (1, ), cal_acc: bool = False,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg)
        self.topk = topk
        self.loss_module = loss if isinstance(loss, nn.Module) else \
            MODELS.build(loss, key_path='model.head.loss')
        self.cal_acc = cal_acc

    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Features before the final classifier: the last stage's."""
        return feats[-1]

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.pre_logits(feats)

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples, **kwargs) -> dict:
        """Scores from ``feats``, loss against the samples' targets -> ``{'loss': ...}``."""
        cls_score = self(feats)
        return self._get_loss(cls_score, data_samples, **kwargs)

    def _get_loss(self, cls_score: torch.Tensor, data_samples, **kwargs) -> dict:
        target = gather_targets(data_samples).to(cls_score.device)
        labels = target
        if target.ndim == 1 and not takes_label_indices(self.loss_module):
            target = F.one_hot(target, cls_score.shape[-1]).to(cls_score.dtype)
        losses = {'loss': self.loss_module(cls_score, target, avg_factor=cls_score.size(0),
                                           **kwargs)}
        if self.cal_acc:
            if labels.ndim != 1:
                raise ValueError('ClsHead: cal_acc needs class labels; with batch augments like '
                                 'Mixup the targets are mixed scores, so set cal_acc=False')
            # lazy: importing genforge.evaluation loads the generative metrics, which import
            # genforge.models (a cycle at import time)
            from genforge.evaluation.metrics.accuracy import Accuracy
            acc = Accuracy.calculate(cls_score, labels, topk=self.topk)
            topk = (self.topk, ) if isinstance(self.topk, int) else self.topk
            losses.update({f'accuracy_top-{k}': a for k, a in zip(topk, acc)})
        return losses

    def predict(self, feats: tuple[torch.Tensor, ...], data_samples=None) -> list[DataSample]:
        """Softmax scores and argmax labels as ``pred_score`` / ``pred_label`` per sample."""
        return self._get_predictions(self(feats), data_samples)

    def _get_predictions(self, cls_score: torch.Tensor, data_samples) -> list[DataSample]:
        pred_scores = F.softmax(cls_score, dim=1)
        pred_labels = pred_scores.argmax(dim=1, keepdim=True).detach()
        samples = [None] * pred_scores.size(0) if data_samples is None else _as_list(data_samples)
        out = []
        for sample, score, label in zip(samples, pred_scores, pred_labels):
            sample = DataSample() if sample is None else sample
            sample.set_pred_score(score).set_pred_label(label)
            out.append(sample)
        return out


@MODELS.register_module()
class LinearClsHead(ClsHead):
    """One fully-connected layer ``fc`` on the last stage's (N, in_channels) features.

    Example: dict(type='LinearClsHead', num_classes=10, in_channels=512,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5))
    """

    def __init__(self, num_classes: int, in_channels: int,
                 init_cfg: dict | list | None = dict(type='Normal', layer='Linear', std=0.01),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'LinearClsHead: num_classes={num_classes} must be positive')
        self.in_channels, self.num_classes = in_channels, num_classes
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
