"""WGAN-GP (Gulrajani et al., 2017): Wasserstein critic with a gradient penalty."""
from __future__ import annotations

from torch import Tensor

from genforge.models.losses import gradient_penalty_loss
from genforge.registry import MODELS

from .base_gan import BaseGAN


@MODELS.register_module()
class WGANGP(BaseGAN):
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

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """Critic loss; the penalty is taken on interpolations of the real and fake images."""
        losses = dict(
            loss_disc_fake=outputs['disc_pred_fake'].mean(),
            loss_disc_real=-outputs['disc_pred_real'].mean(),
            loss_gp=self.gp_loss_weight * gradient_penalty_loss(
                outputs['discriminator'], outputs['real_imgs'], outputs['fake_imgs'],
                norm_mode=self.gp_norm_mode))
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        return self.parse_losses(dict(loss_gen=-outputs['disc_pred_fake_g'].mean()))


__all__ = ['WGANGP']
