"""DCGAN (Radford et al., 2016): non-saturating BCE losses on D's logits."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_gan import BaseGAN


class _SimpleGANSteps(BaseGAN):
    """Shared D/G steps of the unconditional GANs: subclasses define ``disc_loss`` and
    ``gen_loss`` (each returning ``(loss, log_vars)`` via ``parse_losses``)."""

    def disc_loss(self, disc_pred_fake: Tensor, disc_pred_real: Tensor) -> tuple:
        raise NotImplementedError

    def gen_loss(self, disc_pred_fake: Tensor) -> tuple:
        raise NotImplementedError

    def train_discriminator(self, inputs: Any, data_samples: Any, optimizer_wrapper) -> dict:
        """D step: fake images from a frozen-graph G, real images from the batch."""
        real_imgs = self.get_real_imgs(inputs, data_samples)
        noise = self.noise_fn(num_batches=real_imgs.shape[0])
        with torch.no_grad():  # D's loss must not build a graph through G
            fake_imgs = self.generator(noise=noise, return_noise=False)
        loss, log_vars = self.disc_loss(self.discriminator(fake_imgs),
                                        self.discriminator(real_imgs))
        optimizer_wrapper.update_params(loss)
        return log_vars

    def train_generator(self, inputs: Any, data_samples: Any, optimizer_wrapper) -> dict:
        """G step: D's parameters are frozen by ``train_step``; gradients flow through D."""
        num_batches = self.get_real_imgs(inputs, data_samples).shape[0]
        fake_imgs = self.generator(noise=self.noise_fn(num_batches=num_batches),
                                   return_noise=False)
        loss, log_vars = self.gen_loss(self.discriminator(fake_imgs))
        optimizer_wrapper.update_params(loss)
        return log_vars


@MODELS.register_module()
class DCGAN(_SimpleGANSteps):
    """DCGAN: D minimises BCE(D(fake), 0) + BCE(D(real), 1); G minimises BCE(D(fake), 1).

    Example: dict(type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='DCGANGenerator', output_scale=64, base_channels=1024),
                  discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4,
                                     out_channels=1))
    """

    def disc_loss(self, disc_pred_fake: Tensor, disc_pred_real: Tensor) -> tuple:
        losses = dict(
            loss_disc_fake=F.binary_cross_entropy_with_logits(
                disc_pred_fake, torch.zeros_like(disc_pred_fake)),
            loss_disc_real=F.binary_cross_entropy_with_logits(
                disc_pred_real, torch.ones_like(disc_pred_real)))
        return self.parse_losses(losses)

    def gen_loss(self, disc_pred_fake: Tensor) -> tuple:
        losses = dict(loss_gen=F.binary_cross_entropy_with_logits(
            disc_pred_fake, torch.ones_like(disc_pred_fake)))
        return self.parse_losses(losses)


__all__ = ['DCGAN']
