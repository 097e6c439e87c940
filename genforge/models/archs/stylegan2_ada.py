"""StyleGAN2-ADA: the discriminator that augments every image it sees, and the controller
that adapts the augmentation strength ``p`` to keep D's overfitting heuristic near a target."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from genforge.models.layers.ada_augment import AugmentPipe
from genforge.registry import MODELS

from .stylegan2 import StyleGAN2Discriminator

__all__ = ['ADAAug', 'ADAStyleGAN2Discriminator']


@MODELS.register_module()
class ADAAug(nn.Module):
    """Holds the ``aug_pipeline`` and adapts its ``p``.

    Every ``update_interval`` iterations, p moves by ``sign(E[sign(D(real))] - ada_target) *
    batch * update_interval / (ada_kimg * 1000)`` (clamped at 0): p goes from 0 to 1 in
    ``ada_kimg`` thousand images when D is confidently overfitting. ``p`` and the running
    ``log_buffer`` (count, sum of signs) are buffers, so checkpoints carry them and a resumed
    run continues with the same strength.

    Example: data_aug=dict(type='ADAAug', update_interval=4, ada_target=0.6, ada_kimg=500,
                           aug_pipeline=dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1,
                                             aniso=1, xfrac=1, brightness=1, contrast=1,
                                             lumaflip=1, hue=1, saturation=1))
    """

    def __init__(self, aug_pipeline: dict | None = None, update_interval: int = 4,
                 augment_initial_p: float = 0., ada_target: float = 0.6, ada_kimg: int = 500):
        super().__init__()
        self.aug_pipeline = AugmentPipe(**(aug_pipeline or {}))
        self.update_interval, self.ada_kimg, self.ada_target = update_interval, ada_kimg, \
            ada_target
        self.aug_pipeline.p.fill_(augment_initial_p)
        self.register_buffer('log_buffer', torch.zeros(2))  # (num_samples, sum of signs)

    @torch.no_grad()
    def log_real_scores(self, disc_pred_real: Tensor) -> None:
        """Accumulate the sign of D's scores on real images (the overfitting heuristic r_t)."""
        self.log_buffer[0] += disc_pred_real.shape[0]
        self.log_buffer[1] += disc_pred_real.detach().sign().sum()

    @torch.no_grad()
    def update(self, iteration: int = 0, num_batches: int = 0) -> None:
        """Adjust p on every ``update_interval``-th iteration, then reset the statistics."""
        if (iteration + 1) % self.update_interval or self.log_buffer[0] == 0:
            return
        step = num_batches * self.update_interval / (self.ada_kimg * 1000.)
        heuristic = float(self.log_buffer[1] / self.log_buffer[0])
        adjust = step * (1. if heuristic > self.ada_target else
                         -1. if heuristic < self.ada_target else 0.)
        self.aug_pipeline.p.copy_((self.aug_pipeline.p + adjust).clamp(min=0))
        self.log_buffer.zero_()


@MODELS.register_module()
class ADAStyleGAN2Discriminator(StyleGAN2Discriminator):
    """StyleGAN2 discriminator that augments its input with ``data_aug`` (an ``ADAAug``).

    Example: dict(type='ADAStyleGAN2Discriminator', in_size=256,
                  data_aug=dict(type='ADAAug', aug_pipeline=dict(xflip=1, rotate90=1, xint=1)))
    """

    def __init__(self, in_size: int, *args, data_aug: dict | None = None, **kwargs):
        super().__init__(in_size, *args, **kwargs)
        self.with_ada = bool(data_aug)
        if self.with_ada:
            self.ada_aug = MODELS.build(data_aug, key_path='model.discriminator.data_aug')
            self.ada_aug.requires_grad_(False)

    def forward(self, x: Tensor, label: Tensor | None = None) -> Tensor:
        if self.with_ada:
            x = self.ada_aug.aug_pipeline(x)
        return super().forward(x, label)
