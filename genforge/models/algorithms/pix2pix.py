"""Pix2Pix: paired translation with a conditional PatchGAN and an L1 term (MMagic's ``Pix2Pix``)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from genforge.registry import MODELS

from .base_translation_model import BaseTranslationModel

__all__ = ['Pix2Pix']


@MODELS.register_module()
class Pix2Pix(BaseTranslationModel):
    """Paired image-to-image translation (Isola et al., 2017).

    One generator translates ``img_<source>`` into ``default_domain``; the discriminator sees the
    channel-concatenated (source, target) pair, (N, 2C, H, W). Losses: D: BCE(real pair, 1) +
    BCE(fake pair, 0), halved; G: BCE(fake pair, 1) + ``pixel_loss_weight`` * L1(fake, real).

    Example:
        dict(type='Pix2Pix', data_preprocessor=dict(type='DataPreprocessor',
                                                    data_keys=['img_photo', 'img_mask']),
             generator=dict(type='UnetGenerator', in_channels=3, out_channels=3),
             discriminator=dict(type='PatchDiscriminator', in_channels=6),
             loss_config=dict(pixel_loss_weight=100.0), default_domain='photo',
             reachable_domains=['photo'], related_domains=['photo', 'mask'])
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pixel_loss_weight = self.loss_config.get('pixel_loss_weight', 100)

    def _source_domain(self) -> str:
        return self.get_other_domains(self._default_domain)[0]

    def forward_outputs(self, inputs: dict[str, Tensor]) -> dict[str, Any]:
        src, tgt = self._source_domain(), self._default_domain
        fake = self.forward_train(inputs[f'img_{src}'], target_domain=tgt)['target']
        return {f'real_{src}': inputs[f'img_{src}'], f'fake_{tgt}': fake,
                f'real_{tgt}': inputs[f'img_{tgt}']}

    def disc_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        src, tgt = self._source_domain(), self._default_domain
        disc = self._get_target_discriminator(tgt)
        # detach: D's loss must not reach G
        fake_pred = disc(torch.cat((outputs[f'real_{src}'], outputs[f'fake_{tgt}']), 1).detach())
        real_pred = disc(torch.cat((outputs[f'real_{src}'], outputs[f'real_{tgt}']), 1))
        losses = dict(
            loss_gan_d_fake=F.binary_cross_entropy_with_logits(fake_pred,
                                                               torch.zeros_like(fake_pred)),
            loss_gan_d_real=F.binary_cross_entropy_with_logits(real_pred,
                                                               torch.ones_like(real_pred)))
        loss, log_vars = self.parse_losses(losses)
        return loss * 0.5, log_vars  # MMagic halves D's loss but logs the unhalved terms

    def gen_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        src, tgt = self._source_domain(), self._default_domain
        disc = self._get_target_discriminator(tgt)
        fake_pred = disc(torch.cat((outputs[f'real_{src}'], outputs[f'fake_{tgt}']), 1))
        losses = dict(
            loss_gan_g=F.binary_cross_entropy_with_logits(fake_pred, torch.ones_like(fake_pred)),
            loss_pixel=self.pixel_loss_weight * F.l1_loss(outputs[f'fake_{tgt}'],
                                                          outputs[f'real_{tgt}']))
        return self.parse_losses(losses)
