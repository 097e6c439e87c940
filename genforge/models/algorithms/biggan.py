"""BigGAN: a class-conditional GAN trained with the hinge loss (MMagic's ``BigGAN``)."""
from __future__ import annotations

from torch import nn

from genforge.registry import MODELS

from .sagan import SAGAN

__all__ = ['BigGAN']


@MODELS.register_module()
class BigGAN(SAGAN):
    """BigGAN (https://arxiv.org/abs/1809.11096): SAGAN's hinge-loss training step with
    ``BigGANGenerator`` / ``BigGANDeepGenerator`` and their discriminators; usually with an EMA
    generator. ``noise_size`` defaults to the generator's.

    Example: dict(type='BigGAN', num_classes=10, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='BigGANGenerator', output_scale=32, noise_size=128,
                                 base_channels=64, with_shared_embedding=False,
                                 split_noise=False, sn_style='torch', init_type='N02'),
                  discriminator=dict(type='BigGANDiscriminator', input_scale=32,
                                     base_channels=64, sn_style='torch', init_type='N02'),
                  discriminator_steps=4,
                  ema_config=dict(interval=1, momentum=0.0001, start_iter=1000))
    """

    def __init__(self, generator: dict | nn.Module, discriminator: dict | nn.Module | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, noise_size: int | None = None,
                 num_classes: int | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None):
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, noise_size, num_classes, ema_config, loss_config)
