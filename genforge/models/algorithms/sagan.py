"""SAGAN (and SNGAN / Proj-GAN, BigGAN): a conditional GAN trained with the hinge loss."""
from __future__ import annotations

from typing import Any

import torch
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

    def disc_loss(self, disc_pred_fake: Tensor, disc_pred_real: Tensor) -> tuple[Tensor, dict]:
        """Hinge loss of the discriminator; returns (total, log_vars)."""
        losses = dict(loss_disc_fake=F.relu(1 + disc_pred_fake).mean(),
                      loss_disc_real=F.relu(1 - disc_pred_real).mean())
        return self.parse_losses(losses)

    def gen_loss(self, disc_pred_fake: Tensor) -> tuple[Tensor, dict]:
        """Hinge loss of the generator: ``-mean(D(G(z)))``."""
        return self.parse_losses(dict(loss_gen=-disc_pred_fake.mean()))

    def train_discriminator(self, inputs: Any, data_samples: Any,
                            optimizer_wrapper) -> dict[str, Tensor]:
        real_imgs = self.get_real_imgs(inputs, data_samples)
        real_labels = None if self.is_unconditional else self.data_sample_to_label(data_samples)
        if real_labels is None and not self.is_unconditional:
            raise KeyError(f"{type(self).__name__}: data_samples have no 'gt_label'; a "
                           f'conditional GAN needs a labelled dataset (e.g. CIFAR10, ImageNet)')
        num_batches = real_imgs.shape[0]
        noise = self.noise_fn(num_batches=num_batches)
        fake_labels = self.label_fn(num_batches=num_batches)
        with torch.no_grad():  # D's step must not build a graph through G
            fake_imgs = self.generator(noise=noise, label=fake_labels, return_noise=False)
        disc_pred_fake = self.discriminator(fake_imgs, label=fake_labels)
        disc_pred_real = self.discriminator(
            real_imgs, label=None if real_labels is None else real_labels.to(real_imgs.device))
        loss, log_vars = self.disc_loss(disc_pred_fake, disc_pred_real)
        optimizer_wrapper.update_params(loss)
        return log_vars

    def train_generator(self, inputs: Any, data_samples: Any,
                        optimizer_wrapper) -> dict[str, Tensor]:
        num_batches = self.get_real_imgs(inputs, data_samples).shape[0]
        noise = self.noise_fn(num_batches=num_batches)
        fake_labels = self.label_fn(num_batches=num_batches)
        fake_imgs = self.generator(noise=noise, label=fake_labels, return_noise=False)
        loss, log_vars = self.gen_loss(self.discriminator(fake_imgs, label=fake_labels))
        optimizer_wrapper.update_params(loss)
        return log_vars
