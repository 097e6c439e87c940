"""StyleGAN1 (Karras et al., CVPR 2019) progressive generator and discriminator with MMagic
1.2's argument names and state_dict layout."""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.models.layers.stylegan1_blocks import StyleConv, _EqualizedLRConvModule
from genforge.models.layers.stylegan2_blocks import (
    EqualLinearActModule,
    ModMBStddevLayer,
    _StylePixelNorm,
)
from genforge.models.layers.upfirdn2d import Blur
from genforge.registry import MODELS

from .stylegan_utils import StyleLatentsMixin, check_power_of_two, style_mixing

__all__ = ['StyleGAN1Generator', 'StyleGAN1Discriminator']

CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}


def _scale_log2(curr_scale: int, max_log: int, key: str) -> int:
    """log2 of the resolution to produce/judge; -1 means the full ``2**max_log``."""
    if curr_scale < 0:
        return max_log
    if curr_scale < 4 or curr_scale > 2 ** max_log or curr_scale & (curr_scale - 1):
        raise ValueError(f'{key}: curr_scale={curr_scale} cannot be produced; use a power of '
                         f'two between 4 and {2 ** max_log} (or -1 for the full size)')
    return int(math.log2(curr_scale))


@MODELS.register_module('StyleGANv1Generator')
@MODELS.register_module()
class StyleGAN1Generator(StyleLatentsMixin, nn.Module):
    """StyleGAN1 generator: mapping MLP, AdaIN style blocks from a learned 4x4 constant, one
    toRGB per resolution; ``curr_scale`` / ``transition_weight`` for progressive growing.

    Output: (N, 3, curr_scale, curr_scale) (full ``out_size`` when curr_scale=-1).

    Example: dict(type='StyleGANv1Generator', out_size=256, style_channels=512)
    """

    def __init__(self, out_size: int, style_channels: int, num_mlps: int = 8,
                 blur_kernel: Sequence[int] = [1, 2, 1], lr_mlp: float = 0.01,
                 default_style_mode: str = 'mix', eval_style_mode: str = 'single',
                 mix_prob: float = 0.9, max_channels: int = 512):
        super().__init__()
        self.log_size = check_power_of_two(out_size, 'model.generator.out_size')
        self.out_size, self.style_channels, self.noise_size = out_size, style_channels, \
            style_channels
        self.num_mlps, self.lr_mlp, self.mix_prob = num_mlps, lr_mlp, mix_prob
        self._default_style_mode = self.default_style_mode = default_style_mode
        self.eval_style_mode = eval_style_mode
        layers: list[nn.Module] = [_StylePixelNorm()]
        for _ in range(num_mlps):
            layers.append(EqualLinearActModule(
                style_channels, style_channels, equalized_lr_cfg=dict(lr_mul=lr_mlp, gain=1.),
                act_cfg=dict(type='LeakyReLU', negative_slope=0.2)))
        self.style_mapping = nn.Sequential(*layers)
        # max_channels: a genforge option for small models (512 = MMagic's table)
        self.channels = {res: min(ch, max_channels) for res, ch in CHANNELS.items()}
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = self.channels[4]
        for i in range(2, self.log_size + 1):
            out_ch = self.channels[2 ** i]
            self.convs.append(StyleConv(in_ch, out_ch, 3, style_channels, initial=i == 2,
                                        blur_kernel=blur_kernel, upsample=True, fused=True))
            self.to_rgbs.append(_EqualizedLRConvModule(out_ch, 3, 1))
            in_ch = out_ch
        self.num_latents = self.log_size * 2 - 2
        self.num_injected_noises = self.num_latents
        for idx in range(self.num_injected_noises):
            res = 2 ** ((idx + 4) // 2)
            self.register_buffer(f'injected_noise_{idx}', torch.randn(1, 1, res, res))

    def make_injected_noise(self) -> list[Tensor]:
        """Fresh per-layer noise maps, two per resolution from 4x4."""
        device = self.injected_noise_0.device
        return [torch.randn(1, 1, 2 ** i, 2 ** i, device=device)
                for i in range(2, self.log_size + 1) for _ in range(2)]

    def style_mixing(self, n_source: int, n_target: int, inject_index: int = 1,
                     truncation_latent: Tensor | None = None, truncation: float = 0.7,
                     curr_scale: int = -1, transition_weight: float = 1) -> Tensor:
        """Style-mixing grid (see ``stylegan_utils.style_mixing``)."""
        return style_mixing(self, n_source=n_source, n_target=n_target,
                            inject_index=inject_index, truncation=truncation,
                            truncation_latent=truncation_latent,
                            style_channels=self.style_channels, curr_scale=curr_scale,
                            transition_weight=transition_weight)

    def forward(self, styles, num_batches: int = -1, return_noise: bool = False,
                return_latents: bool = False, inject_index: int | None = None,
                truncation: float = 1, truncation_latent: Tensor | None = None,
                input_is_latent: bool = False, injected_noise: list | None = None,
                randomize_noise: bool = True, transition_weight: float = 1.,
                curr_scale: int = -1) -> Tensor | dict:
        """Images at ``curr_scale``; a dict when ``return_latents``/``return_noise``."""
        styles = self._sample_styles(styles, num_batches, self.style_channels, input_is_latent)
        noise_batch = None
        if not input_is_latent:
            noise_batch = styles
            styles = [self.style_mapping(s) for s in styles]
        if injected_noise is None:
            injected_noise = [None] * self.num_injected_noises if randomize_noise else [
                getattr(self, f'injected_noise_{i}') for i in range(self.num_injected_noises)]
        styles = self._truncate(styles, truncation, truncation_latent)
        latent, inject_index = self._latent_codes(styles, inject_index)
        step = _scale_log2(curr_scale, self.log_size, 'StyleGANv1Generator') - 2
        out, out_prev = latent, None
        for i in range(step + 1):
            out_prev = out
            out = self.convs[i](out, latent[:, 2 * i], latent[:, 2 * i + 1],
                                noise1=injected_noise[2 * i], noise2=injected_noise[2 * i + 1])
        img = self.to_rgbs[step](out)
        if step > 0 and 0 <= transition_weight < 1:
            # fade in the new resolution over the upsampled previous one
            skip = F.interpolate(self.to_rgbs[step - 1](out_prev), scale_factor=2,
                                 mode='nearest')
            img = (1 - transition_weight) * skip + transition_weight * img
        if return_latents or return_noise:
            return dict(fake_img=img, latent=latent, inject_index=inject_index,
                        noise_batch=noise_batch)
        return img


@MODELS.register_module('StyleGANv1Discriminator')
@MODELS.register_module()
class StyleGAN1Discriminator(nn.Module):
    """StyleGAN1 progressive discriminator (fromRGB per resolution, blur + fused-pool down
    convs, minibatch stddev at 4x4).

    Input (N, 3, curr_scale, curr_scale); output (N, 1).

    Example: dict(type='StyleGANv1Discriminator', in_size=256)
    """

    def __init__(self, in_size: int, blur_kernel: Sequence[int] = [1, 2, 1],
                 mbstd_cfg: dict | None = dict(group_size=4), max_channels: int = 512):
        super().__init__()
        self.log_size = check_power_of_two(in_size, 'model.discriminator.in_size')
        self.in_size = in_size
        channels = {res: min(ch, max_channels) for res, ch in CHANNELS.items()}
        in_ch = channels[in_size]
        self.convs, self.from_rgb = nn.ModuleList(), nn.ModuleList()
        for i in range(self.log_size, 2, -1):
            out_ch = channels[2 ** (i - 1)]
            self.from_rgb.append(_EqualizedLRConvModule(3, in_ch, 3, padding=1, act=True))
            self.convs.append(nn.Sequential(
                _EqualizedLRConvModule(in_ch, out_ch, 3, padding=1, act=True),
                Blur(blur_kernel, pad=(1, 1)),
                _EqualizedLRConvModule(out_ch, out_ch, 3, stride=2, padding=1, fused_pool=True),
                nn.LeakyReLU(negative_slope=0.2)))
            in_ch = out_ch
        # MMagic uses padding=0 here, which turns a 4x4 input into 2x2 that the 4x4 conv below
        # cannot take; padding=1 (same parameters) makes the 4x4 stage and its fade-in work
        self.from_rgb.append(_EqualizedLRConvModule(3, in_ch, 3, padding=1, act=True))
        self.convs.append(nn.Sequential(
            _EqualizedLRConvModule(in_ch + 1, channels[4], 3, padding=1, act=True),
            _EqualizedLRConvModule(channels[4], channels[4], 4)))
        self.with_mbstd = mbstd_cfg is not None
        if self.with_mbstd:
            self.mbstd_layer = ModMBStddevLayer(**mbstd_cfg)
        self.final_linear = nn.Sequential(EqualLinearActModule(channels[4], 1))
        self.n_layer = len(self.convs)

    def forward(self, input: Tensor, transition_weight: float = 1.,
                curr_scale: int = -1) -> Tensor:
        log_size = _scale_log2(curr_scale, self.log_size, 'StyleGANv1Discriminator')
        if tuple(input.shape[-2:]) != (2 ** log_size, 2 ** log_size):
            raise ValueError(f'StyleGANv1Discriminator: images must be {2 ** log_size}x'
                             f'{2 ** log_size} at curr_scale={curr_scale}, got '
                             f'{tuple(input.shape)}')
        step = log_size - 2
        out = self.from_rgb[self.n_layer - step - 1](input)
        for i in range(step, -1, -1):
            index = self.n_layer - i - 1
            if i == 0 and self.with_mbstd:
                out = self.mbstd_layer(out)
            out = self.convs[index](out)
            if i == step and i > 0 and 0 <= transition_weight < 1:
                skip = self.from_rgb[index + 1](F.avg_pool2d(input, 2))
                out = (1 - transition_weight) * skip + transition_weight * out
        return self.final_linear(out.reshape(out.shape[0], -1))
