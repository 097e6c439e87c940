"""MS-PIE's SinGAN generator: padding-free convs, interpolated padding, positional encodings.

("Positional Encoding as Spatial Inductive Bias in GANs", CVPR 2021.)
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import logging

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

from .singan import GeneratorBlock, SinGANMultiScaleGenerator, _level_channels

logger = logging.getLogger(__name__)


@MODELS.register_module()
class SinGANMSGeneratorPE(SinGANMultiScaleGenerator):
    """SinGAN generator with MS-PIE's options.

    Args beyond SinGANMultiScaleGenerator's:
        padding_mode: 'zero' | 'reflect', the convs' (and head padding's) padding.
        pad_at_head: pad noise and image before each level (False with conv ``padding=1``).
        interp_pad: make the head padding by bicubic interpolation to the padded size
            instead of zero/reflect padding.
        noise_with_pad: the fixed noises already carry the padding (PESinGAN
            ``fixed_noise_with_pad=True``).
        positional_encoding: SPE / CSG config; its grid is added to the level-0 noise and
            replaces the (zero) image input there.
        first_stage_in_channels: input channels of level 0 (2 * embedding_dim for SPE, 2 for
            CSG).

    Example: dict(type='SinGANMSGeneratorPE', in_channels=3, out_channels=3, num_scales=10,
                  padding=1, pad_at_head=False, first_stage_in_channels=2,
                  positional_encoding=dict(type='CSG'))
    """

    def __init__(self, in_channels: int, out_channels: int, num_scales: int,
                 kernel_size: int = 3, padding: int = 0, num_layers: int = 5,
                 base_channels: int = 32, min_feat_channels: int = 32,
                 out_act_cfg: dict | None = dict(type='Tanh'), padding_mode: str = 'zero',
                 pad_at_head: bool = True, interp_pad: bool = False,
                 noise_with_pad: bool = False, positional_encoding: dict | None = None,
                 first_stage_in_channels: int | None = None, **kwargs):
        BaseModule.__init__(self)
        if padding_mode not in ('zero', 'reflect'):
            raise ValueError(f"model.generator.padding_mode={padding_mode!r}: use 'zero' or "
                             f"'reflect'")
        self.num_scales = num_scales
        self.pad_at_head, self.interp_pad = pad_at_head, interp_pad
        self.noise_with_pad = noise_with_pad
        self.with_positional_encode = positional_encoding is not None
        if self.with_positional_encode:
            self.head_position_encode = MODELS.build(
                positional_encoding, key_path='model.generator.positional_encoding')
        self.pad_head = int((kernel_size - 1) / 2 * num_layers)
        self.blocks = nn.ModuleList(
            GeneratorBlock(in_channels=(first_stage_in_channels or in_channels) if s == 0
                           else in_channels, out_channels=out_channels, kernel_size=kernel_size,
                           padding=padding, num_layers=num_layers,
                           base_channels=_level_channels(base_channels, s),
                           min_feat_channels=_level_channels(min_feat_channels, s),
                           out_act_cfg=out_act_cfg, padding_mode=padding_mode, **kwargs)
            for s in range(num_scales + 1))
        pad_cls = nn.ZeroPad2d if padding_mode == 'zero' else nn.ReflectionPad2d
        self.noise_padding_layer = pad_cls(self.pad_head)
        self.img_padding_layer = pad_cls(self.pad_head)
        self.mask_padding_layer = nn.ReflectionPad2d(self.pad_head)

    def _unpadded(self, noise: torch.Tensor) -> tuple[int, int]:
        h, w = noise.shape[-2:]
        if self.noise_with_pad:
            h, w = h - 2 * self.pad_head, w - 2 * self.pad_head
        return h, w

    def _head_inputs(self, noise: torch.Tensor,
                     g_res: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise and image brought to the padded size the padding-free convs consume."""
        if not self.pad_at_head:
            return noise, g_res
        if self.interp_pad:
            if self.noise_with_pad:
                size = tuple(noise.shape[-2:])
            else:
                size = (noise.size(2) + 2 * self.pad_head, noise.size(3) + 2 * self.pad_head)
                noise = self.upsample(noise, size)
            return noise, self.upsample(g_res, size)
        if not self.noise_with_pad:
            noise = self.noise_padding_layer(noise)
        return noise, self.img_padding_layer(g_res)

    def forward(self, input_sample: torch.Tensor | None, fixed_noises: list,
                noise_weights: list, rand_mode: str, curr_scale: int, num_batches: int = 1,
                get_prev_res: bool = False, return_noise: bool = False) -> torch.Tensor | dict:
        """As SinGANMultiScaleGenerator.forward; fixed noises may carry the head padding."""
        if rand_mode not in ('rand', 'recon'):
            raise ValueError(f"SinGAN: rand_mode={rand_mode!r} must be 'rand' or 'recon'")
        self.check_curr_scale(curr_scale, fixed_noises)
        if input_sample is None:
            input_sample = torch.zeros(num_batches, 3, *self._unpadded(fixed_noises[0])).to(
                fixed_noises[0])
        g_res, prev_res, noises = input_sample, [], []
        for stage in range(curr_scale + 1):
            noise = fixed_noises[stage] if rand_mode == 'recon' else torch.randn(
                num_batches, *fixed_noises[stage].shape[1:]).to(g_res)
            noises.append(noise)
            first_pe = stage == 0 and self.with_positional_encode
            if first_pe:
                noise = noise + self.head_position_encode(fixed_noises[0])
            noise, g_res_pad = self._head_inputs(noise, g_res)
            # with a positional encoding, level 0 sees the encoded noise only
            x = noise * noise_weights[stage] if first_pe else \
                noise * noise_weights[stage] + g_res_pad
            g_res = self.blocks[stage](x.detach(), g_res)
            if stage != curr_scale:
                if get_prev_res:
                    prev_res.append(g_res)
                g_res = self.upsample(g_res, self._unpadded(fixed_noises[stage + 1]))
        if get_prev_res or return_noise:
            return dict(fake_img=g_res, prev_res_list=prev_res, noise_batch=noises)
        return g_res


__all__ = ['SinGANMSGeneratorPE']
