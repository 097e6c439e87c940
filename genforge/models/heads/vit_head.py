"""VisionTransformerClsHead: optional hidden ``pre_logits`` layer + ``head`` linear layer."""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from genforge.models.layers import build_activation_layer
from genforge.registry import MODELS

from .cls_head import ClsHead

__all__ = ['VisionTransformerClsHead']


@MODELS.register_module()
class VisionTransformerClsHead(ClsHead):
    """ViT classifier on the cls token: ``layers.head`` (and ``layers.pre_logits`` + ``act`` when
    ``hidden_dim`` is set, as in the original ViT pre-training head).

    Example: dict(type='VisionTransformerClsHead', num_classes=1000, in_channels=768,
                  hidden_dim=3072, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1))
    """

    def __init__(self, num_classes: int, in_channels: int, hidden_dim: int | None = None,
                 act_cfg: dict = dict(type='Tanh'),
                 init_cfg: dict | list | None = dict(type='Constant', layer='Linear', val=0),
                 **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'VisionTransformerClsHead: num_classes={num_classes} must be '
                             f'positive')
        self.in_channels, self.num_classes = in_channels, num_classes
        self.hidden_dim, self.act_cfg = hidden_dim, act_cfg
        if hidden_dim is None:
            layers = [('head', nn.Linear(in_channels, num_classes))]
        else:
            layers = [('pre_logits', nn.Linear(in_channels, hidden_dim)),
                      ('act', build_activation_layer(act_cfg)),
                      ('head', nn.Linear(hidden_dim, num_classes))]
        self.layers = nn.Sequential(OrderedDict(layers))

    def init_weights(self) -> None:
        super().init_weights()
        if self.hidden_dim is not None:
            # LeCun-normal pre-logits layer, as in the original ViT
            w = self.layers.pre_logits.weight
            nn.init.trunc_normal_(w, std=math.sqrt(1 / w.shape[1]))
            nn.init.zeros_(self.layers.pre_logits.bias)

    def pre_logits(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        feat = feats[-1]
        # MMPretrain 0.x ViT returned [patch_token, cls_token]
        cls_token = feat[-1] if isinstance(feat, (list, tuple)) else feat
        if self.hidden_dim is None:
            return cls_token
        return self.layers.act(self.layers.pre_logits(cls_token))

    def forward(self, feats: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.layers.head(self.pre_logits(feats))
