"""Geometric GAN (Lim & Ye, 2017): hinge loss for D, -mean(D(G(z))) for G."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_gan import BaseGAN


@MODELS.register_module()
class GGAN(BaseGAN):
    """GGAN: D minimises mean(relu(1 + D(fake))) + mean(relu(1 - D(real))); G: -mean(D(fake)).

    Example: dict(type='GGAN', noise_size=1024, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='LSGANGenerator', output_scale=64),
                  discriminator=dict(type='LSGANDiscriminator', input_scale=64))
    """

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake, disc_pred_real = outputs['disc_pred_fake'], outputs['disc_pred_real']
        losses = dict(loss_disc_fake=F.relu(1 + disc_pred_fake).mean(),
                      loss_disc_real=F.relu(1 - disc_pred_real).mean())
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        disc_pred_fake = outputs['disc_pred_fake_g']
        return self.parse_losses(dict(loss_gen=-disc_pred_fake.mean()))


__all__ = ['GGAN']
