"""ImageClassifier: backbone -> neck -> head (MMPretrain ``ImageClassifier``)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genforge.models.base_model import BaseModel
from genforge.registry import MODELS

__all__ = ['ImageClassifier']


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Image classifier made of a backbone, an optional neck and a classification head.

    ``forward(inputs, data_samples, mode)``: 'tensor' -> head scores (or features without a
    head), 'loss' -> ``{'loss': ...}``, 'predict' -> DataSamples with ``pred_score`` and
    ``pred_label``. ``train_cfg=dict(augments=[...])`` enables Mixup/CutMix in the data
    preprocessor (default type ``ClsDataPreprocessor``).

    Example:
        dict(type='ImageClassifier',
             backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, )),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
                       loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
    """

    def __init__(self, backbone: dict, neck: dict | None = None, head: dict | None = None,
                 pretrained: str | None = None, train_cfg: dict | None = None,
                 data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | list | None = None):
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        data_preprocessor = dict(data_preprocessor or {}) \
            if not isinstance(data_preprocessor, nn.Module) else data_preprocessor
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
            if train_cfg is not None and 'augments' in train_cfg:
                data_preprocessor.setdefault('batch_augments', train_cfg)
            if data_preprocessor.get('batch_augments') and isinstance(head, dict) \
                    and 'num_classes' in head:
                data_preprocessor.setdefault('num_classes', head['num_classes'])
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = backbone if isinstance(backbone, nn.Module) else \
            MODELS.build(backbone, key_path='model.backbone')
        self.neck = None if neck is None else neck if isinstance(neck, nn.Module) else \
            MODELS.build(neck, key_path='model.neck')
        self.head = None if head is None else head if isinstance(head, nn.Module) else \
            MODELS.build(head, key_path='model.head')

    @property
    def with_neck(self) -> bool:
        return self.neck is not None

    @property
    def with_head(self) -> bool:
        return self.head is not None

    def forward(self, inputs: torch.Tensor, data_samples: Any = None,
                mode: str = 'tensor') -> Any:
        if mode == 'tensor':
            feats = self.extract_feat(inputs)
            return self.head(feats) if self.with_head else feats
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'ImageClassifier: invalid mode {mode!r}; use "tensor", "loss" or '
                           f'"predict"')

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck') -> Any:
        """Features after 'backbone', 'neck' or the head's 'pre_logits'."""
        if stage not in ('backbone', 'neck', 'pre_logits'):
            raise ValueError(f'extract_feat: stage={stage!r}; use "backbone", "neck" or '
                             f'"pre_logits"')
        x = self.backbone(inputs)
        if stage == 'backbone':
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == 'neck':
            return x
        if not (self.with_head and hasattr(self.head, 'pre_logits')):
            raise AttributeError(f'extract_feat(stage="pre_logits"): the head '
                                 f'{type(self.head).__name__} has no pre_logits method')
        return self.head.pre_logits(x)

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict:
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self, inputs: torch.Tensor, data_samples: Any = None, **kwargs) -> list:
        return self.head.predict(self.extract_feat(inputs), data_samples, **kwargs)

    def get_layer_depth(self, param_name: str) -> tuple[int, int]:
        """Layer depth for layer-wise lr decay, delegated to the backbone."""
        if hasattr(self.backbone, 'get_layer_depth'):
            return self.backbone.get_layer_depth(param_name, 'backbone.')
        raise NotImplementedError(f"{type(self.backbone).__name__} has no get_layer_depth(); "
                                  f"layer-wise lr decay needs it")
