"""LSGAN (Mao et al., 2017): least-squares losses with labels real=1, fake=0."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_gan import BaseGAN


@MODELS.register_module()
class LSGAN(BaseGAN):
    """LSGAN: D minimises (D(fake))^2 + (D(real) - 1)^2 (means); G minimises (D(fake) - 1)^2.

    Example: dict(type='LSGAN', noise_size=1024, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='LSGANGenerator', output_scale=128, base_channels=256,
                                 noise_size=1024),
                  discriminator=dict(type='LSGANDiscriminator', input_scale=128,
                                     base_channels=64))
    """

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake, disc_pred_real = outputs['disc_pred_fake'], outputs['disc_pred_real']
        losses = dict(loss_disc_fake=F.mse_loss(disc_pred_fake, torch.zeros_like(disc_pred_fake)),
                      loss_disc_real=F.mse_loss(disc_pred_real, torch.ones_like(disc_pred_real)))
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake = outputs['disc_pred_fake_g']
        losses = dict(loss_gen=F.mse_loss(disc_pred_fake, torch.ones_like(disc_pred_fake)))
        return self.parse_losses(losses)


__all__ = ['LSGAN']
