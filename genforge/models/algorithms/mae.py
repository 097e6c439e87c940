"""MAE: masked autoencoder pre-training (He et al. 2021), MMPretrain ``MAE``."""
from __future__ import annotations

from typing import Any

import torch

from genforge.registry import MODELS

from .base_selfsup import BaseSelfSupervisor

__all__ = ['MAE']


@MODELS.register_module()
class MAE(BaseSelfSupervisor):
    """Encode the visible patches (MAEViT), decode all patches (MAEPretrainDecoder), regress the
    pixels of the removed ones (MAEPretrainHead).

    Example:
        dict(type='MAE', backbone=dict(type='MAEViT', arch='b', patch_size=16, mask_ratio=0.75),
             neck=dict(type='MAEPretrainDecoder', patch_size=16, in_chans=3, embed_dim=768,
                       decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16),
             head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=16,
                       loss=dict(type='PixelReconstructionLoss', criterion='L2')))
    """

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        return self.backbone(inputs, mask=None)

    def loss(self, inputs: torch.Tensor | list, data_samples: Any = None,
             **kwargs) -> dict[str, torch.Tensor]:
        if isinstance(inputs, (list, tuple)):
            inputs = inputs[0]  # one view
        latent, mask, ids_restore = self.backbone(inputs)
        pred = self.neck(latent, ids_restore)
        return {'loss': self.head.loss(pred, inputs, mask)}
