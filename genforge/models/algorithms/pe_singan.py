"""PESinGAN: SinGAN with MS-PIE's fixed-noise options (padded noises, multi-channel level 0)."""
from __future__ import annotations

import torch
from torch import nn

from genforge.registry import MODELS

from .base_gan import ModelType
from .singan import SinGAN


@MODELS.register_module()
class PESinGAN(SinGAN):
    """SinGAN for "Positional Encoding as Spatial Inductive Bias in GANs" (CVPR 2021).

    ``fixed_noise_with_pad``: the fixed noises include the generator's head padding (pair with
    ``SinGANMSGeneratorPE(noise_with_pad=True)``); ``first_fixed_noises_ch``: channels of the
    level-0 noise (2 for CSG, 2 * embedding_dim for SPE).

    Example: dict(type='PESinGAN', num_scales=10, first_fixed_noises_ch=2,
                  generator=dict(type='SinGANMSGeneratorPE', in_channels=3, out_channels=3,
                                 num_scales=10, padding=1, pad_at_head=False,
                                 first_stage_in_channels=2, positional_encoding=dict(type='CSG')),
                  discriminator=dict(type='SinGANMultiScaleDiscriminator', in_channels=3,
                                     num_scales=10))
    """

    def __init__(self, generator: ModelType, discriminator: ModelType | None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, num_scales: int | None = None,
                 fixed_noise_with_pad: bool = False, first_fixed_noises_ch: int = 1,
                 iters_per_scale: int = 200, noise_weight_init: float = 0.1,
                 lr_scheduler_args: dict | None = None, test_pkl_data: str | None = None,
                 ema_confg: dict | None = None, ema_config: dict | None = None):
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, num_scales, iters_per_scale, noise_weight_init,
                         lr_scheduler_args, test_pkl_data, ema_confg, ema_config)
        self.fixed_noise_with_pad = fixed_noise_with_pad
        self.first_fixed_noises_ch = first_fixed_noises_ch

    def construct_fixed_noises(self) -> None:
        pad = self.generator.pad_head if self.fixed_noise_with_pad else 0
        noises = []
        for i, real in enumerate(self.reals):
            h, w = real.shape[-2] + 2 * pad, real.shape[-1] + 2 * pad
            noises.append(torch.randn(1, self.first_fixed_noises_ch, h, w).to(real) if i == 0
                          else torch.zeros(1, 1, h, w).to(real))
        self.fixed_noises = noises


__all__ = ['PESinGAN']
