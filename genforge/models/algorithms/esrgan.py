"""ESRGAN (Wang et al., 2018): SRGAN with a relativistic average discriminator."""
from __future__ import annotations

import torch

from genforge.registry import MODELS

from .srgan import SRGAN

__all__ = ['ESRGAN']


@MODELS.register_module()
class ESRGAN(SRGAN):
    """SRGAN whose GAN terms compare each prediction with the mean prediction of the other side
    (RaGAN): D learns 'real is more realistic than fake on average', and G the reverse.

    Example: dict(type='ESRGAN',
                  generator=dict(type='RRDBNet', in_channels=3, out_channels=3,
                                 mid_channels=64, num_blocks=23, growth_channels=32),
                  discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=64),
                  pixel_loss=dict(type='L1Loss', loss_weight=1e-2),
                  perceptual_loss=dict(type='PerceptualLoss', layer_weights={'34': 1.0},
                                       style_weight=0, norm_img=False),
                  gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-3))
    """

    def g_gan_loss(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor
                   ) -> torch.Tensor:
        """Relativistic average: fakes should look more real than the mean real, and reals
        less real than the mean fake."""
        real_d_pred = self.discriminator(batch_gt_data).detach()
        fake_g_pred = self.discriminator(batch_outputs)
        loss_fake = self.gan_loss(fake_g_pred - torch.mean(real_d_pred), target_is_real=True,
                                  is_disc=False)
        loss_real = self.gan_loss(real_d_pred - torch.mean(fake_g_pred), target_is_real=False,
                                  is_disc=False)
        return (loss_fake + loss_real) / 2

    def d_step_real(self, batch_outputs: torch.Tensor, batch_gt_data: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (loss, mean real prediction) -- the mean is reused by ``d_step_fake``."""
        fake_d_pred = self.discriminator(batch_outputs)
        real_d_pred = self.discriminator(batch_gt_data)
        # 0.5: the real and fake terms are averaged
        loss = self.gan_loss(real_d_pred - torch.mean(fake_d_pred.detach()), target_is_real=True,
                             is_disc=True) * 0.5
        return loss, torch.mean(real_d_pred.detach())

    def d_step_fake(self, batch_outputs: torch.Tensor, real_d_pred_mean: torch.Tensor
                    ) -> torch.Tensor:
        fake_d_pred = self.discriminator(batch_outputs.detach())
        return self.gan_loss(fake_d_pred - real_d_pred_mean, target_is_real=False,
                             is_disc=True) * 0.5
