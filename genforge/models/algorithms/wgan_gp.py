"""WGAN-GP (Gulrajani et al., 2017): Wasserstein critic with a gradient penalty."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from genforge.models.losses import gradient_penalty_loss
from genforge.registry import MODELS

from .dcgan import _SimpleGANSteps


@MODELS.register_module()
class WGANGP(_SimpleGANSteps):
    """WGAN-GP: D minimises mean(D(fake)) - mean(D(real)) + w * GP; G minimises -mean(D(fake)).

    ``loss_config``: ``gp_loss_weight`` (default 10) and ``gp_norm_mode`` ('HWC' default, or
    'pixel'); MMagic's ``loss_weight`` / ``norm_mode`` spellings are accepted too.

    Example: dict(type='WGANGP', discriminator_steps=5,
                  loss_config=dict(gp_norm_mode='HWC', gp_loss_weight=10),
                  generator=dict(type='WGANGPGenerator', noise_size=128, out_scale=128),
                  discriminator=dict(type='WGANGPDiscriminator', in_channel=3, in_scale=128))
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cfg = self.loss_config
        self.gp_norm_mode = cfg.get('gp_norm_mode', cfg.get('norm_mode', 'HWC'))
        self.gp_loss_weight = cfg.get('gp_loss_weight', cfg.get('loss_weight', 10))

    def disc_loss(self, real_data: Tensor, fake_data: Tensor, disc_pred_fake: Tensor,
                  disc_pred_real: Tensor) -> tuple:
        losses = dict(
            loss_disc_fake=disc_pred_fake.mean(),
            loss_disc_real=-disc_pred_real.mean(),
            loss_gp=self.gp_loss_weight * gradient_penalty_loss(
                self.discriminator, real_data, fake_data, norm_mode=self.gp_norm_mode))
        return self.parse_losses(losses)

    def gen_loss(self, disc_pred_fake: Tensor) -> tuple:
        return self.parse_losses(dict(loss_gen=-disc_pred_fake.mean()))

    def train_discriminator(self, inputs: Any, data_samples: Any, optimizer_wrapper) -> dict:
        """Critic step; the penalty needs the real and fake images too."""
        real_imgs = self.get_real_imgs(inputs, data_samples)
        noise = self.noise_fn(num_batches=real_imgs.shape[0])
        with torch.no_grad():  # D's loss must not build a graph through G
            fake_imgs = self.generator(noise=noise, return_noise=False)
        loss, log_vars = self.disc_loss(real_imgs, fake_imgs, self.discriminator(fake_imgs),
                                        self.discriminator(real_imgs))
        optimizer_wrapper.update_params(loss)
        return log_vars


__all__ = ['WGANGP']
