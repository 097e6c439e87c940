"""MS-PIE StyleGAN2 networks ("Positional Encoding as Spatial Inductive Bias in GANs", Xu et
al., CVPR 2021) with MMagic 1.2's names and state_dict layout.

The generator is StyleGAN2's with a positional-encoding head (SPE / CSG grids instead of the
learned 4x4 constant) and MS-PIE's conv options; ``chosen_scale=s`` starts from a (4 + s) head,
so one generator makes (4 + s) * 2 ** (log2(out_size) - 2) pixel images. The discriminator can
pool its last feature map to a fixed size, so it scores every such size.
"""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.models.layers.mspie_modulated import ModulatedPEStyleConv
from genforge.models.layers.stylegan2_blocks import ConstantInput, EqualLinearActModule
from genforge.models.layers.stylegan2_modulated import ModulatedToRGB
from genforge.models.utils import get_module_device
from genforge.registry import MODELS

from .stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, stylegan2_channels
from .stylegan_utils import style_mixing

__all__ = ['MSStyleGANv2Generator', 'MSStyleGAN2Discriminator']

CSG_TYPES = ('CatersianGrid', 'CSG', 'CSG2d')

# fixed noise for chosen_scale != 0 comes from this seed (the buffers only hold scale 0)
SCALED_NOISE_SEED = 2021


@MODELS.register_module()
class MSStyleGANv2Generator(StyleGAN2Generator):
    """StyleGAN2 generator for MS-PIE: positional-encoding head and multi-scale outputs.

    ``head_pos_encoding``: None (learned constant), ``dict(type='SPE', embedding_dim=C/2, ...)``
    (C = channels at 4x4) or ``dict(type='CSG')`` (2 channels); its grid has ``head_pos_size``
    (+ ``chosen_scale``); ``interp_head`` makes the ``head_pos_size`` grid and resizes it
    bilinearly instead. ``no_pad`` / ``deconv2conv`` / ``interp_pad`` / ``up_config`` /
    ``up_after_conv``: see ``layers/mspie_modulated.py``.

    Inputs as ``StyleGANv2Generator`` (z (N, style_channels), a list of two for mixing, a
    sampler or None with ``num_batches``). Output (N, 3, H, W) with
    H = (4 + s_h) * 2 ** (log2(out_size) - 2) for ``chosen_scale`` = s or (s_h, s_w).

    Example: dict(type='MSStyleGANv2Generator', out_size=256, style_channels=512,
                  head_pos_encoding=dict(type='CSG'), deconv2conv=True, up_after_conv=True,
                  up_config=dict(scale_factor=2, mode='bilinear', align_corners=True))
    """

    def __init__(self, out_size: int, style_channels: int, num_mlps: int = 8,
                 channel_multiplier: int = 2, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 lr_mlp: float = 0.01, default_style_mode: str = 'mix',
                 eval_style_mode: str = 'single', mix_prob: float = 0.9, no_pad: bool = False,
                 deconv2conv: bool = False, interp_pad: int | None = None,
                 up_config: dict = dict(scale_factor=2, mode='nearest'),
                 up_after_conv: bool = False, head_pos_encoding: dict | None = None,
                 head_pos_size: Sequence[int] = (4, 4), interp_head: bool = False,
                 max_channels: int = 512):
        # plain attributes read by _build_synthesis, which StyleGAN2Generator.__init__ calls
        self.no_pad, self.deconv2conv, self.interp_pad = no_pad, deconv2conv, interp_pad
        self.up_config, self.up_after_conv = copy.deepcopy(dict(up_config)), up_after_conv
        self.head_pos_encoding = copy.deepcopy(head_pos_encoding)
        self.head_pos_size, self.interp_head = tuple(head_pos_size), interp_head
        super().__init__(out_size, style_channels, num_mlps=num_mlps,
                         channel_multiplier=channel_multiplier, blur_kernel=blur_kernel,
                         lr_mlp=lr_mlp, default_style_mode=default_style_mode,
                         eval_style_mode=eval_style_mode, mix_prob=mix_prob,
                         max_channels=max_channels)
        # no_pad changes the noise map sizes (the up-conv's map is 2 px larger): re-register
        for idx, noise in enumerate(self.make_injected_noise()):
            self.register_buffer(f'injected_noise_{idx}', noise)

    def _build_synthesis(self, blur_kernel: Sequence[int]) -> None:
        ch4, style = self.channels[4], self.style_channels
        pe_kwargs = dict(no_pad=self.no_pad, deconv2conv=self.deconv2conv,
                         interp_pad=self.interp_pad, up_config=self.up_config)
        in_ch = ch4
        if self.head_pos_encoding:
            self.head_pos_enc = MODELS.build(self.head_pos_encoding,
                                             key_path='model.generator.head_pos_encoding')
            is_csg = self.head_pos_encoding['type'] in CSG_TYPES
            in_ch = 2 if is_csg else 2 * self.head_pos_enc.embedding_dim
            if not is_csg and in_ch != ch4:
                raise ValueError(
                    f'model.generator.head_pos_encoding.embedding_dim='
                    f'{self.head_pos_enc.embedding_dim}: the SPE grid has 2 * embedding_dim '
                    f'channels and must feed the {ch4}-channel 4x4 block; set embedding_dim='
                    f'{ch4 // 2}')
        else:
            self.constant_input = ConstantInput(ch4, size=4 + 2 * self.no_pad)
        self.conv1 = ModulatedPEStyleConv(in_ch, ch4, 3, style, blur_kernel=blur_kernel,
                                          **pe_kwargs)
        self.to_rgb1 = ModulatedToRGB(ch4, style, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = ch4
        for i in range(3, self.log_size + 1):
            out_ch = self.channels[2 ** i]
            for upsample, ch in ((True, in_ch), (False, out_ch)):
                self.convs.append(ModulatedPEStyleConv(
                    ch, out_ch, 3, style, upsample=upsample, blur_kernel=blur_kernel,
                    up_after_conv=self.up_after_conv, **pe_kwargs))
            self.to_rgbs.append(ModulatedToRGB(out_ch, style, upsample=True))
            in_ch = out_ch

    # -- scales ---------------------------------------------------------------------------
    def _head_size(self) -> tuple[int, int]:
        if self.head_pos_encoding:
            return self.head_pos_size
        return (4 + 2 * self.no_pad,) * 2

    def _base_size(self, chosen_scale: tuple[int, int]) -> tuple[int, int]:
        """(h, w) after the first conv: 4 + s for every MMagic config."""
        return tuple(h - 2 * self.no_pad + s for h, s in zip(self._head_size(), chosen_scale))

    def check_chosen_scale(self, chosen_scale: int | Sequence[int]) -> tuple[int, int]:
        """``chosen_scale`` as (s_h, s_w); a ValueError when the head would be too small."""
        pair = (chosen_scale, chosen_scale) if isinstance(chosen_scale, int) else \
            tuple(chosen_scale) if isinstance(chosen_scale, (list, tuple)) else (chosen_scale,)
        if len(pair) != 2 or not all(isinstance(s, int) and not isinstance(s, bool)
                                     for s in pair):
            raise ValueError(f'{type(self).__name__}: chosen_scale must be an int or a pair of '
                             f'ints, got {chosen_scale!r}')
        head = self._head_size()
        # the first 3x3 conv drops 2 px without padding; it must leave at least 1x1
        smallest = 1 + 2 * self.no_pad
        if min(h + s for h, s in zip(head, pair)) < smallest:
            lowest = smallest - min(head)
            raise ValueError(
                f'{type(self).__name__}: chosen_scale={chosen_scale!r} is not reachable: the '
                f'{head[0]}x{head[1]} head would shrink below {smallest}x{smallest}; use '
                f'chosen_scale >= {lowest} (outputs (4 + s) * {2 ** (self.log_size - 2)} px)')
        return pair

    def output_size(self, chosen_scale: int | Sequence[int] = 0) -> tuple[int, int]:
        """(H, W) of the images made at ``chosen_scale``."""
        base_h, base_w = self._base_size(self.check_chosen_scale(chosen_scale))
        up = 2 ** (self.log_size - 2)
        return base_h * up, base_w * up

    def make_injected_noise(self, chosen_scale: int | Sequence[int] = 0,
                            generator: torch.Generator | None = None) -> list[Tensor]:
        """Per-layer noise maps for ``chosen_scale``: (1, 1, 4 + s, 4 + s), then two per
        block; with ``no_pad`` (and not ``up_after_conv``) the up-conv's map is 2 px larger."""
        base_h, base_w = self._base_size(self.check_chosen_scale(chosen_scale))
        device = get_module_device(self)

        def noise(h: int, w: int) -> Tensor:
            return torch.randn(1, 1, h, w, generator=generator,
                               device='cpu' if generator is not None else device).to(device)

        noises = [noise(base_h, base_w)]
        for i in range(3, self.log_size + 1):
            up = 2 ** (i - 2)
            for first in (True, False):
                pad = 2 if self.no_pad and not self.up_after_conv and first else 0
                noises.append(noise(base_h * up + pad, base_w * up + pad))
        return noises

    def _fixed_noise(self, chosen_scale: tuple[int, int]) -> list[Tensor]:
        if chosen_scale == (0, 0):
            return [getattr(self, f'injected_noise_{i}') for i in range(self.num_injected_noises)]
        # MMagic draws these randomly once per process; a seeded draw makes
        # randomize_noise=False reproducible across processes and checkpoint reloads
        gen = torch.Generator().manual_seed(SCALED_NOISE_SEED + 1000 * chosen_scale[0]
                                            + chosen_scale[1])
        return self.make_injected_noise(chosen_scale, generator=gen)

    def style_mixing(self, n_source: int, n_target: int, inject_index: int = 1,
                     truncation_latent: Tensor | None = None, truncation: float = 0.7,
                     chosen_scale: int | Sequence[int] = 0) -> Tensor:
        """Style-mixing grid (see ``stylegan_utils.style_mixing``) at ``chosen_scale``."""
        return style_mixing(self, n_source=n_source, n_target=n_target,
                            inject_index=inject_index, truncation=truncation,
                            truncation_latent=truncation_latent,
                            style_channels=self.style_channels, chosen_scale=chosen_scale)

    # -- forward --------------------------------------------------------------------------
    def forward(self, styles, num_batches: int = -1, return_noise: bool = False,
                return_latents: bool = False, inject_index: int | None = None,
                truncation: float = 1, truncation_latent: Tensor | None = None,
                input_is_latent: bool = False, injected_noise: list[Tensor] | None = None,
                randomize_noise: bool = True, chosen_scale: int | Sequence[int] = 0
                ) -> Tensor | dict:
        """Images (N, 3, H, W) (see ``output_size``); a dict with ``fake_img``, ``latent``,
        ``inject_index``, ``noise_batch``, ``injected_noise`` when ``return_latents`` /
        ``return_noise``."""
        scale = self.check_chosen_scale(chosen_scale)
        input_dim = self.style_channels if input_is_latent else self.noise_size
        styles = self._sample_styles(styles, num_batches, input_dim, input_is_latent)
        noise_batch = None
        if not input_is_latent:
            noise_batch = styles
            styles = self._map_styles(styles, None)
        if injected_noise is None:
            injected_noise = [None] * self.num_injected_noises if randomize_noise else \
                self._fixed_noise(scale)
        styles = self._truncate(styles, truncation, truncation_latent)
        latent, inject_index = self._latent_codes(styles, inject_index)
        img = self.synthesis(latent, injected_noise, chosen_scale=scale)
        if return_latents or return_noise:
            return dict(fake_img=img, latent=latent, inject_index=inject_index,
                        noise_batch=noise_batch, injected_noise=injected_noise)
        return img

    def head(self, latent: Tensor, chosen_scale: tuple[int, int] = (0, 0)) -> Tensor:
        """The first feature map: the positional grid or the constant, (N, C, h + s_h,
        w + s_w)."""
        n, (s_h, s_w) = latent.shape[0], chosen_scale
        if self.head_pos_encoding:
            h, w = self.head_pos_size
            if self.interp_head:  # one grid, stretched: the codes keep their range
                grid = self.head_pos_enc.make_grid2d(h, w, n)
                grid = F.interpolate(grid, size=(h + s_h, w + s_w), mode='bilinear',
                                     align_corners=True)
            else:  # a bigger grid: new positions beyond the trained ones
                grid = self.head_pos_enc.make_grid2d(h + s_h, w + s_w, n)
            return grid.to(latent)
        out = self.constant_input(latent)
        if s_h or s_w:
            out = F.interpolate(out, size=(out.shape[2] + s_h, out.shape[3] + s_w),
                                mode='bilinear', align_corners=True)
        return out

    def synthesis(self, latent: Tensor, injected_noise: list, add_noise: bool = True,
                  chosen_scale: tuple[int, int] = (0, 0)) -> Tensor:
        """(N, num_latents, C) latents -> (N, 3, H, W) float32."""
        out = self.conv1(self.head(latent, chosen_scale), latent[:, 0],
                         noise=injected_noise[0], add_noise=add_noise)
        skip = self.to_rgb1(out, latent[:, 1])
        idx = 1
        for up_conv, conv, noise1, noise2, to_rgb in zip(
                self.convs[::2], self.convs[1::2], injected_noise[1::2], injected_noise[2::2],
                self.to_rgbs):
            out = up_conv(out, latent[:, idx], noise=noise1, add_noise=add_noise)
            out = conv(out, latent[:, idx + 1], noise=noise2, add_noise=add_noise)
            skip = to_rgb(out, latent[:, idx + 2], skip)
            idx += 2
        return skip.float()


@MODELS.register_module()
class MSStyleGAN2Discriminator(StyleGAN2Discriminator):
    """StyleGAN2 discriminator that scores any image size with ``with_adaptive_pool``: the last
    feature map is average-pooled to ``pool_size`` before the linear layers.

    Input (N, 3, H, W): H = W = in_size without the pool; with it, any H, W >= in_size / 4
    (e.g. the (4 + s) * 2 ** k images of MSStyleGANv2Generator). Output scores (N, 1).

    Example: dict(type='MSStyleGAN2Discriminator', in_size=256, with_adaptive_pool=True)
    """

    def __init__(self, in_size: int, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 mbstd_cfg: dict = dict(group_size=4, channel_groups=1),
                 with_adaptive_pool: bool = False, pool_size: Sequence[int] = (2, 2),
                 max_channels: int = 512):
        super().__init__(in_size, channel_multiplier=channel_multiplier, blur_kernel=blur_kernel,
                         mbstd_cfg=mbstd_cfg, max_channels=max_channels)
        self.with_adaptive_pool, self.pool_size = with_adaptive_pool, tuple(pool_size)
        if with_adaptive_pool:
            self.adaptive_pool = nn.AdaptiveAvgPool2d(self.pool_size)
            ch4 = stylegan2_channels(channel_multiplier, max_channels)[4]
            # the pooled map is pool_size, not 4x4: the first linear layer's fan-in follows
            self.final_linear[0] = EqualLinearActModule(
                ch4 * self.pool_size[0] * self.pool_size[1], ch4,
                act_cfg=dict(type='fused_bias'))

    def forward(self, x: Tensor, label: Tensor | None = None) -> Tensor:
        if not self.with_adaptive_pool:
            return super().forward(x, label)
        smallest = self.in_size // 4
        if x.ndim != 4 or x.shape[1] != self.img_channels or min(x.shape[-2:]) < smallest:
            raise ValueError(
                f'{type(self).__name__}: images must be (N, {self.img_channels}, H, W) with '
                f'H, W >= {smallest} (model.discriminator.in_size={self.in_size} / 4), got '
                f'{tuple(x.shape)}')
        x = self.final_conv(self.mbstd_layer(self.convs(x)))
        return self.final_linear(self.adaptive_pool(x).flatten(1))
