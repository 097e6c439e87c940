"""SAGAN networks: MMagic registers ``SAGANGenerator`` / ``SAGANDiscriminator`` as other names of
``SNGANGenerator`` / ``ProjDiscriminator``; self-attention comes from ``attention_after_nth_block``.

Example: dict(type='SAGANGenerator', output_scale=32, base_channels=256, num_classes=10,
              attention_cfg=dict(type='SelfAttentionBlock'), attention_after_nth_block=2,
              with_spectral_norm=True)
"""
from genforge.registry import MODELS

from .sngan_proj import ProjDiscriminator, SNGANGenerator

__all__ = ['SAGANGenerator', 'SAGANDiscriminator']

SAGANGenerator = SNGANGenerator
SAGANDiscriminator = ProjDiscriminator
MODELS.register_module(name='SAGANGenerator', module=SNGANGenerator)
MODELS.register_module(name='SAGANDiscriminator', module=ProjDiscriminator)
