"""Multi-label classification heads (sigmoid scores, one-hot targets)."""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS
from genforge.structures import DataSample

from .cls_head import _as_list

__all__ = ['MultiLabelClsHead', 'MultiLabelLinearClsHead']


@MODELS.register_module()
class MultiLabelClsHead(BaseModule):
    """Multi-label head without layers; predicts labels with ``thr`` or the ``topk`` classes.

    Example: dict(type='MultiLabelClsHead', loss=dict(type='CrossEntropyLoss',
                  use_sigmoid=True), thr=0.5)
    """

    def __init__(self, loss: dict | nn.Module = dict(type='CrossEntropyLoss', use_sigmoid=True),
                 thr: float | None = None, topk: int | None = None,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg)
        self.loss_module = loss if isinstance(loss, nn.Module) else \
            MODELS.build(loss, key_path='model.head.loss')
        if thr is None and topk is None:
            thr = 0.5
        self.thr, self.topk = thr, topk

    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return feats[-1]

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.pre_logits(feats)

    def loss(self, feats: tuple[torch.Tensor, ...], data_samples, **kwargs) -> dict:
        cls_score = self(feats)
        num_classes = cls_score.size(-1)
        samples = _as_list(data_samples)
        if 'gt_score' in samples[0]:
            target = torch.stack([s.gt_score for s in samples]).float()
        else:
            target = torch.stack([torch.zeros(num_classes).index_fill_(0, s.gt_label.long().cpu(),
                                                                       1.) for s in samples])
        target = target.to(cls_score.device)
        return {'loss': self.loss_module(cls_score, target, avg_factor=cls_score.size(0),
                                         **kwargs)}

    def predict(self, feats: tuple[torch.Tensor, ...], data_samples=None) -> list[DataSample]:
        scores = torch.sigmoid(self(feats))
        samples = [None] * scores.size(0) if data_samples is None else _as_list(data_samples)
        out = []
        for sample, score in zip(samples, scores):
            sample = DataSample() if sample is None else sample
            if self.thr is not None:
                label = torch.where(score >= self.thr)[0]
            else:
                label = score.topk(self.topk).indices
            sample.set_pred_score(score).set_pred_label(label)
            out.append(sample)
        return out


@MODELS.register_module()
class MultiLabelLinearClsHead(MultiLabelClsHead):
    """A linear layer ``fc`` + sigmoid multi-label scores.

    Example: dict(type='MultiLabelLinearClsHead', num_classes=20, in_channels=2048, thr=0.5)
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss: dict | nn.Module = dict(type='CrossEntropyLoss', use_sigmoid=True),
                 thr: float | None = None, topk: int | None = None,
                 init_cfg: dict | list | None = dict(type='Normal', layer='Linear', std=0.01)):
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'MultiLabelLinearClsHead: num_classes={num_classes} must be positive')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.fc(self.pre_logits(feats))
