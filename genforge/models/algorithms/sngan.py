"""SNGAN / Proj-GAN: MMagic's ``SNGAN`` is ``SAGAN`` under another name (same hinge training)."""
from __future__ import annotations

from genforge.registry import MODELS

from .sagan import SAGAN

__all__ = ['SNGAN']


@MODELS.register_module()
class SNGAN(SAGAN):
    """SNGAN (https://arxiv.org/abs/1802.05957) with a projection discriminator
    (https://arxiv.org/abs/1802.05637): ``SAGAN`` without attention blocks.

    Example: dict(type='SNGAN', num_classes=10, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='SNGANGenerator', output_scale=32, base_channels=256),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32,
                                     base_channels=128),
                  discriminator_steps=5)
    """
