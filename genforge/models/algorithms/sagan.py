"""SAGAN (and SNGAN / Proj-GAN, BigGAN): a conditional GAN trained with the hinge loss."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from genforge.registry import MODELS

from .base_conditional_gan import BaseConditionalGAN

__all__ = ['SAGAN']


@MODELS.register_module()
class SAGAN(BaseConditionalGAN):
    """Self-Attention GAN (https://arxiv.org/abs/1805.08318); also SNGAN and Proj-GAN.

    D loss: ``mean(relu(1 - D(x, y))) + mean(relu(1 + D(G(z, y'), y')))``; G loss:
    ``-mean(D(G(z, y'), y'))`` with ``y'`` uniform labels. Real images come from
    ``data_samples.gt_img`` (or ``inputs['img']``), real labels from ``data_samples.gt_label``.

    Example: dict(type='SAGAN', num_classes=10, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='SAGANGenerator', output_scale=32, base_channels=256,
                                 attention_after_nth_block=2, with_spectral_norm=True),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32,
                                     base_channels=128, attention_after_nth_block=1),
                  discriminator_steps=5)
    """

    def __init__(self, generator: dict | nn.Module, discriminator: dict | nn.Module | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, noise_size: int | None = 128,
                 num_classes: int | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None):
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, noise_size, num_classes, ema_config, loss_config)

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """Hinge loss of the discriminator; returns (total, log_vars)."""
        disc_pred_fake, disc_pred_real = outputs['disc_pred_fake'], outputs['disc_pred_real']
        losses = dict(loss_disc_fake=F.relu(1 + disc_pred_fake).mean(),
                      loss_disc_real=F.relu(1 - disc_pred_real).mean())
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """Hinge loss of the generator: ``-mean(D(G(z)))``."""
        return self.parse_losses(dict(loss_gen=-outputs['disc_pred_fake_g'].mean()))
