"""BaseSelfSupervisor: the base of self-supervised pre-training algorithms (MMPretrain)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genforge.models.base_model import BaseModel
from genforge.registry import MODELS

__all__ = ['BaseSelfSupervisor', 'BaseSelfSupvisor']


@MODELS.register_module(name=['BaseSelfSupervisor', 'BaseSelfSupvisor'])
class BaseSelfSupervisor(BaseModel):
    """Backbone, optional neck / head / target generator; subclasses implement ``loss``.

    ``forward(inputs, data_samples, mode)``: 'tensor' -> ``extract_feat(inputs)``, 'loss' ->
    ``loss(inputs, data_samples)``. The data preprocessor defaults to
    ``SelfSupDataPreprocessor``. Also registered under MMPretrain's doc spelling
    ``BaseSelfSupvisor``.

    Example: dict(type='MAE', backbone=dict(type='MAEViT', arch='b'), neck=..., head=...)
    """

    def __init__(self, backbone: dict | nn.Module | None = None, neck: dict | None = None,
                 head: dict | None = None, target_generator: dict | None = None,
                 pretrained: str | None = None,
                 data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | list | None = None):
        if pretrained is not None:
            init_cfg = dict(type='Pretrained', checkpoint=pretrained)
        data_preprocessor = dict(data_preprocessor or {}) \
            if not isinstance(data_preprocessor, nn.Module) else data_preprocessor
        if isinstance(data_preprocessor, dict):
            data_preprocessor.setdefault('type', 'SelfSupDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # backbone=None is allowed so that subclasses may build their parts themselves
        self.backbone = self._build(backbone, 'backbone')
        self.neck = self._build(neck, 'neck')
        self.head = self._build(head, 'head')
        self.target_generator = self._build(target_generator, 'target_generator')

    @staticmethod
    def _build(cfg: dict | nn.Module | None, name: str) -> nn.Module | None:
        if cfg is None or isinstance(cfg, nn.Module):
            return cfg
        return MODELS.build(cfg, key_path=f'model.{name}')

    @property
    def with_neck(self) -> bool:
        return self.neck is not None

    @property
    def with_head(self) -> bool:
        return self.head is not None

    @property
    def with_target_generator(self) -> bool:
        return self.target_generator is not None

    def forward(self, inputs: torch.Tensor | list, data_samples: Any = None,
                mode: str = 'tensor') -> Any:
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise RuntimeError(f'{type(self).__name__}: invalid mode {mode!r}; self-supervised '
                           f'models support "tensor" and "loss"')

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        return self.backbone(inputs)

    def loss(self, inputs: torch.Tensor | list, data_samples: Any) -> dict:
        raise NotImplementedError(f'{type(self).__name__} must implement loss(inputs, '
                                  f'data_samples) -> dict of losses')

    def get_layer_depth(self, param_name: str) -> tuple[int, int]:
        if hasattr(self.backbone, 'get_layer_depth'):
            return self.backbone.get_layer_depth(param_name, 'backbone.')
        raise NotImplementedError(f"{type(self.backbone).__name__} has no get_layer_depth()")


BaseSelfSupvisor = BaseSelfSupervisor  # MMPretrain's "customize models" doc spelling
