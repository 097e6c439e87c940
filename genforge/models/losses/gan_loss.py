"""GANLoss: the adversarial loss of MMagic (vanilla / lsgan / wgan / wgan-logistic-ns / hinge)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

_GAN_TYPES = ('vanilla', 'lsgan', 'wgan', 'wgan-logistic-ns', 'hinge')


@MODELS.register_module()
class GANLoss(nn.Module):
    """Adversarial loss on discriminator predictions.

    ``forward(input, target_is_real, is_disc=False, mask=None)``:
      - vanilla: BCE-with-logits against ``real_label_val`` / ``fake_label_val``;
      - lsgan: MSE against the same labels;
      - wgan: ``-mean(input)`` for real, ``mean(input)`` for fake;
      - wgan-logistic-ns: ``mean(softplus(-input))`` real, ``mean(softplus(input))`` fake;
      - hinge: D: ``mean(relu(1 - input))`` real / ``mean(relu(1 + input))`` fake; G: ``-mean``.
    ``loss_weight`` applies to generator losses only (D losses keep weight 1, as in MMagic).
    ``mask`` (same shape as ``input``) averages the element-wise loss over masked entries.

    Example: dict(type='GANLoss', gan_type='vanilla', real_label_val=1.0, fake_label_val=0.0,
                  loss_weight=1.0)
    """

    def __init__(self, gan_type: str, real_label_val: float = 1.0, fake_label_val: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in _GAN_TYPES:
            raise NotImplementedError(f'GANLoss: gan_type={gan_type!r} is not implemented; '
                                      f'choose one of {_GAN_TYPES}')
        self.gan_type = gan_type
        self.real_label_val = real_label_val
        self.fake_label_val = fake_label_val
        self.loss_weight = loss_weight

    def get_target_label(self, input: torch.Tensor, target_is_real: bool) -> torch.Tensor | bool:
        """Label tensor shaped like ``input`` (a bool for the wgan-style losses)."""
        if self.gan_type in ('wgan', 'wgan-logistic-ns'):
            return target_is_real
        value = self.real_label_val if target_is_real else self.fake_label_val
        return input.new_ones(input.size()) * value

    def _elementwise(self, input: torch.Tensor, target_is_real: bool,
                     is_disc: bool) -> torch.Tensor:
        """Per-element loss before averaging."""
        if self.gan_type == 'vanilla':
            target = self.get_target_label(input, target_is_real)
            return F.binary_cross_entropy_with_logits(input, target, reduction='none')
        if self.gan_type == 'lsgan':
            target = self.get_target_label(input, target_is_real)
            return (input - target) ** 2
        if self.gan_type == 'wgan':
            return -input if target_is_real else input
        if self.gan_type == 'wgan-logistic-ns':
            return F.softplus(-input) if target_is_real else F.softplus(input)
        # hinge: the margin only exists for D; G maximises D's raw score
        if is_disc:
            return F.relu(1 - input) if target_is_real else F.relu(1 + input)
        return -input

    def forward(self, input: torch.Tensor, target_is_real: bool, is_disc: bool = False,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        loss = self._elementwise(input, target_is_real, is_disc)
        if mask is None:
            loss = loss.mean()
        else:
            mask = mask.expand_as(loss).to(loss.dtype)
            loss = (loss * mask).sum() / mask.sum().clamp_min(1e-12)
        return loss if is_disc else loss * self.loss_weight


__all__ = ['GANLoss']
