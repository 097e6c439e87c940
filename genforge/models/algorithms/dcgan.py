"""DCGAN (Radford et al., 2016): non-saturating BCE losses on D's logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_gan import BaseGAN


@MODELS.register_module()
class DCGAN(BaseGAN):
    """DCGAN: D minimises BCE(D(fake), 0) + BCE(D(real), 1); G minimises BCE(D(fake), 1).

    Example: dict(type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='DCGANGenerator', output_scale=64, base_channels=1024),
                  discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4,
                                     out_channels=1))
    """

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake, disc_pred_real = outputs['disc_pred_fake'], outputs['disc_pred_real']
        losses = dict(
            loss_disc_fake=F.binary_cross_entropy_with_logits(
                disc_pred_fake, torch.zeros_like(disc_pred_fake)),
            loss_disc_real=F.binary_cross_entropy_with_logits(
                disc_pred_real, torch.ones_like(disc_pred_real)))
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake = outputs['disc_pred_fake_g']
        losses = dict(loss_gen=F.binary_cross_entropy_with_logits(
            disc_pred_fake, torch.ones_like(disc_pred_fake)))
        return self.parse_losses(losses)


__all__ = ['DCGAN']
