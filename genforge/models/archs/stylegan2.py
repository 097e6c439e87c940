"""StyleGAN2 generator and discriminator (Karras et al., CVPR 2020) with MMagic 1.2's argument
names and state_dict layout, in pure PyTorch (no compiled ops)."""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genforge.models.layers.stylegan2_blocks import (
    ConstantInput,
    ConvDownLayer,
    EqualLinearActModule,
    ModMBStddevLayer,
    ResBlock,
    _StylePixelNorm,
)
from genforge.models.layers.stylegan2_modulated import ModulatedStyleConv, ModulatedToRGB
from genforge.models.utils import get_module_device
from genforge.registry import MODELS

from .stylegan3 import MappingNetwork
from .stylegan_utils import StyleLatentsMixin, check_power_of_two, load_pretrained_prefix, style_mixing

__all__ = ['StyleGAN2Generator', 'StyleGAN2Discriminator', 'stylegan2_channels']

logger = logging.getLogger(__name__)


def stylegan2_channels(channel_multiplier: int = 2, max_channels: int = 512,
                       channel_base: int | None = None) -> dict[int, int]:
    """Feature channels per resolution (config-e/f); ``max_channels`` caps them (a genforge
    option for small models; 512 = MMagic's). ``channel_base`` switches to NVlabs' rule
    (stylegan2-ada-pytorch / stylegan3): ``min(channel_base // res, max_channels)``, with
    ``max_channels`` as NVlabs' ``channel_max``."""
    if channel_base is not None:
        return {2 ** i: min(int(channel_base) // 2 ** i, max_channels) for i in range(2, 11)}
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * channel_multiplier,
            128: 128 * channel_multiplier, 256: 64 * channel_multiplier,
            512: 32 * channel_multiplier, 1024: 16 * channel_multiplier}
    return {res: min(ch, max_channels) for res, ch in base.items()}


def _clamp_always(module: nn.Module, value: float) -> None:
    """NVlabs' ``conv_clamp``: every conv / toRGB layer clamps its output to ±value whatever
    its precision (residual skip convs excepted, as NVlabs leaves them unclamped)."""
    for name, layer in module.named_modules():
        if isinstance(layer, (ModulatedStyleConv, ModulatedToRGB, ConvDownLayer)) and \
                not name.endswith('.skip'):
            layer.conv_clamp, layer.clamp_always = float(value), True


@MODELS.register_module('StyleGANv2Generator')
@MODELS.register_module()
class StyleGAN2Generator(StyleLatentsMixin, nn.Module):
    """StyleGAN2 generator: mapping MLP z -> w, constant 4x4 input, modulated convs with noise
    injection, skip-connected toRGB outputs.

    Inputs: ``styles`` z (N, noise_size) (or w (N, style_channels) / (N, num_latents, C) with
    ``input_is_latent``), a list of two for style mixing, a sampler, or None (``num_batches``).
    Output: (N, out_channels, out_size, out_size), or a dict with ``fake_img``, ``latent``
    (N, num_latents, style_channels), ``inject_index``, ``noise_batch``.

    Example: dict(type='StyleGANv2Generator', out_size=256, style_channels=512)

    Options beyond MMagic's, so that NVlabs (stylegan2-ada-pytorch / stylegan3) generators
    compute their own function here (``genforge import-weights`` sets them): ``channel_base``
    (NVlabs' channel rule ``min(channel_base // res, max_channels)`` instead of
    ``channel_multiplier``) and ``conv_clamp`` (clamp every conv / toRGB output to
    ``±conv_clamp`` in any precision, as NVlabs' ``conv_clamp``; None = MMagic's clamp at 256 in
    fp16 layers only). Neither adds state_dict entries.
    """

    def __init__(self, out_size: int, style_channels: int, out_channels: int = 3,
                 noise_size: int | None = None, cond_size: int | None = None,
                 cond_mapping_channels: int | None = None, num_mlps: int = 8,
                 channel_multiplier: int = 2, blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 lr_mlp: float = 0.01, default_style_mode: str = 'mix',
                 eval_style_mode: str = 'single', norm_eps: float = 1e-6, mix_prob: float = 0.9,
                 update_mean_latent_with_ema: bool = False, w_avg_beta: float = 0.998,
                 num_fp16_scales: int = 0, fp16_enabled: bool = False, bgr2rgb: bool = False,
                 pretrained: dict | None = None, max_channels: int = 512,
                 channel_base: int | None = None, conv_clamp: float | None = None):
        super().__init__()
        self.channel_base, self.conv_clamp = channel_base, conv_clamp
        self.log_size = check_power_of_two(out_size, 'model.generator.out_size')
        self.out_size, self.style_channels, self.out_channels = out_size, style_channels, \
            out_channels
        self.num_mlps, self.channel_multiplier, self.lr_mlp = num_mlps, channel_multiplier, lr_mlp
        self._default_style_mode = self.default_style_mode = default_style_mode
        self.eval_style_mode, self.mix_prob = eval_style_mode, mix_prob
        self.num_fp16_scales, self.fp16_enabled, self.bgr2rgb = num_fp16_scales, fp16_enabled, \
            bgr2rgb
        self.noise_size = style_channels if noise_size is None else noise_size
        self.cond_size = cond_size if cond_size and cond_size > 0 else None
        self._build_mapping(cond_mapping_channels, norm_eps)
        self.channels = stylegan2_channels(channel_multiplier, max_channels, channel_base)
        self._build_synthesis(blur_kernel)
        if conv_clamp is not None:
            _clamp_always(self, conv_clamp)
        self.num_latents = self.log_size * 2 - 2
        self.num_injected_noises = self.num_latents - 1
        for idx in range(self.num_injected_noises):
            res = 2 ** ((idx + 5) // 2)
            self.register_buffer(f'injected_noise_{idx}', torch.randn(1, 1, res, res))
        if self.cond_size is not None or update_mean_latent_with_ema:
            # get_mean_latent cannot average conditional mappings: track w with an EMA instead
            self.register_buffer('w_avg', torch.zeros(style_channels))
            self.w_avg_beta = w_avg_beta
        if pretrained is not None:
            load_pretrained_prefix(self, **pretrained)

    def _build_mapping(self, cond_mapping_channels: int | None, norm_eps: float) -> None:
        if self.cond_size is not None:
            cond_mapping_channels = cond_mapping_channels or self.style_channels
            self.embed = EqualLinearActModule(self.cond_size, cond_mapping_channels)
            layers: list[nn.Module] = []  # z and the embedding are normalised separately
        else:
            cond_mapping_channels = 0
            layers = [_StylePixelNorm(eps=norm_eps)]
        self.pixel_norm = _StylePixelNorm(eps=norm_eps)
        in_feat = cond_mapping_channels + self.noise_size
        for idx in range(self.num_mlps):
            layers.append(EqualLinearActModule(
                in_feat if idx == 0 else self.style_channels, self.style_channels,
                equalized_lr_cfg=dict(lr_mul=self.lr_mlp, gain=1.),
                act_cfg=dict(type='fused_bias')))
        self.style_mapping = nn.Sequential(*layers)

    def _build_synthesis(self, blur_kernel: Sequence[int]) -> None:
        ch4, style = self.channels[4], self.style_channels
        self.constant_input = ConstantInput(ch4)
        self.conv1 = ModulatedStyleConv(ch4, ch4, 3, style, blur_kernel=blur_kernel,
                                        fp16_enabled=self.fp16_enabled)
        self.to_rgb1 = ModulatedToRGB(ch4, style, out_channels=self.out_channels,
                                      upsample=False, fp16_enabled=self.fp16_enabled)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_ch = ch4
        for i in range(3, self.log_size + 1):
            out_ch = self.channels[2 ** i]
            # num_fp16_scales: only the highest resolutions run in fp16 (as NVlabs)
            fp16 = (self.log_size - i) < self.num_fp16_scales or self.fp16_enabled
            self.convs.append(ModulatedStyleConv(in_ch, out_ch, 3, style, upsample=True,
                                                 blur_kernel=blur_kernel, fp16_enabled=fp16))
            self.convs.append(ModulatedStyleConv(out_ch, out_ch, 3, style,
                                                 blur_kernel=blur_kernel, fp16_enabled=fp16))
            self.to_rgbs.append(ModulatedToRGB(out_ch, style, out_channels=self.out_channels,
                                               upsample=True, fp16_enabled=fp16))
            in_ch = out_ch

    # -- helpers ------------------------------------------------------------------------
    def make_injected_noise(self) -> list[Tensor]:
        """Fresh per-layer noise maps [(1, 1, 4, 4), (1, 1, 8, 8) x 2, ...]."""
        device = get_module_device(self)
        noises = [torch.randn(1, 1, 4, 4, device=device)]
        for i in range(3, self.log_size + 1):
            noises += [torch.randn(1, 1, 2 ** i, 2 ** i, device=device) for _ in range(2)]
        return noises

    def style_mixing(self, n_source: int, n_target: int, inject_index: int = 1,
                     truncation_latent: Tensor | None = None, truncation: float = 0.7) -> Tensor:
        """Style-mixing grid (see ``stylegan_utils.style_mixing``)."""
        return style_mixing(self, n_source=n_source, n_target=n_target,
                            inject_index=inject_index, truncation=truncation,
                            truncation_latent=truncation_latent,
                            style_channels=self.style_channels)

    def _map_styles(self, styles: list[Tensor], label: Tensor | None) -> list[Tensor]:
        """z -> w through the mapping MLP (with the label embedding when conditional)."""
        if self.cond_size is None:
            return [self.style_mapping(s) for s in styles]
        if label is None or label.shape[-1] != self.cond_size:
            got = None if label is None else tuple(label.shape)
            raise ValueError(f'{type(self).__name__}: cond_size={self.cond_size} needs a label '
                             f'of shape (N, {self.cond_size}), got {got}')
        embedding = self.pixel_norm(self.embed(label))
        return [self.style_mapping(torch.cat([self.pixel_norm(s), embedding], dim=1))
                for s in styles]

    def forward(self, styles, label: Tensor | None = None, num_batches: int = -1,
                return_noise: bool = False, return_latents: bool = False,
                inject_index: int | None = None, truncation: float = 1,
                truncation_latent: Tensor | None = None, input_is_latent: bool = False,
                injected_noise: list[Tensor] | None = None, add_noise: bool = True,
                randomize_noise: bool = True, update_ws: bool = False) -> Tensor | dict:
        """Images (N, C, out_size, out_size); a dict when ``return_latents``/``return_noise``."""
        input_dim = self.style_channels if input_is_latent else self.noise_size
        styles = self._sample_styles(styles, num_batches, input_dim, input_is_latent)
        noise_batch = None
        if not input_is_latent:
            noise_batch = styles
            styles = self._map_styles(styles, label)
        if hasattr(self, 'w_avg') and self.training and update_ws:
            with torch.no_grad():
                self.w_avg.copy_(styles[0].detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if injected_noise is None:
            injected_noise = [None] * self.num_injected_noises if randomize_noise else [
                getattr(self, f'injected_noise_{i}') for i in range(self.num_injected_noises)]
        styles = self._truncate(styles, truncation, truncation_latent)
        latent, inject_index = self._latent_codes(styles, inject_index)
        img = self.synthesis(latent, injected_noise, add_noise)
        if self.bgr2rgb:
            img = torch.flip(img, dims=[1])
        if return_latents or return_noise:
            return dict(fake_img=img, latent=latent, inject_index=inject_index,
                        noise_batch=noise_batch)
        return img

    def synthesis(self, latent: Tensor, injected_noise: list, add_noise: bool = True) -> Tensor:
        """(N, num_latents, C) latents -> (N, out_channels, out_size, out_size) float32."""
        out = self.constant_input(latent)
        out = self.conv1(out, latent[:, 0], noise=injected_noise[0], add_noise=add_noise)
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


@MODELS.register_module('StyleGANv2Discriminator')
@MODELS.register_module()
class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2 residual discriminator with minibatch-stddev.

    Input (N, img_channels, in_size, in_size); output scores (N, 1).

    Example: dict(type='StyleGAN2Discriminator', in_size=256, channel_multiplier=2)

    ``channel_base`` and ``conv_clamp`` as in ``StyleGANv2Generator`` (NVlabs' channel rule and
    clamping; the residual skips are not clamped, as NVlabs'). With ``cond_size`` the score is
    NVlabs' projection: ``<out(x), mapping(label)> / sqrt(cond_mapping_channels)``.
    """

    def __init__(self, in_size: int, img_channels: int = 3, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = [1, 3, 3, 1],
                 mbstd_cfg: dict = dict(group_size=4, channel_groups=1),
                 cond_size: int | None = None, cond_mapping_channels: int | None = None,
                 cond_mapping_layers: int | None = None, num_fp16_scales: int = 0,
                 fp16_enabled: bool = False, out_fp32: bool = True,
                 convert_input_fp32: bool = True, input_bgr2rgb: bool = False,
                 init_cfg: dict | None = None, pretrained: dict | None = None,
                 max_channels: int = 512, channel_base: int | None = None,
                 conv_clamp: float | None = None):
        super().__init__()
        log_size = check_power_of_two(in_size, 'model.discriminator.in_size')
        self.in_size, self.img_channels = in_size, img_channels
        self.fp16_enabled, self.convert_input_fp32 = fp16_enabled, convert_input_fp32
        self.out_fp32, self.input_bgr2rgb = out_fp32, input_bgr2rgb
        channels = stylegan2_channels(channel_multiplier, max_channels, channel_base)
        in_ch = channels[in_size]
        convs: list[nn.Module] = [ConvDownLayer(img_channels, in_ch, 1, fp16_enabled=(
            num_fp16_scales > 0 or fp16_enabled))]
        for i in range(log_size, 2, -1):
            out_ch = channels[2 ** (i - 1)]
            fp16 = (log_size - i) < num_fp16_scales or fp16_enabled
            convs.append(ResBlock(in_ch, out_ch, blur_kernel, fp16_enabled=fp16,
                                  convert_input_fp32=convert_input_fp32))
            in_ch = out_ch
        self.mapping = None  # MMagic registers it before the convs (state_dict order)
        score_ch = 1
        if cond_size is not None and cond_size > 0:
            # projection discriminator: the score is <features, mapping(label)> / sqrt(C)
            score_ch = cond_mapping_channels or 512
            self.mapping = MappingNetwork(noise_size=0, style_channels=score_ch,
                                          cond_size=cond_size, num_ws=None,
                                          # 0 layers: TF-ADA's label embedding alone
                                          num_layers=8 if cond_mapping_layers is None
                                          else cond_mapping_layers, w_avg_beta=None)
        self.convs = nn.Sequential(*convs)
        self.mbstd_layer = ModMBStddevLayer(**mbstd_cfg)
        extra = mbstd_cfg.get('channel_groups', 1)
        self.final_conv = ConvDownLayer(in_ch + extra, channels[4], 3, fp16_enabled=fp16_enabled)
        self.final_linear = nn.Sequential(
            EqualLinearActModule(channels[4] * 4 * 4, channels[4], act_cfg=dict(type='fused_bias')),
            EqualLinearActModule(channels[4], score_ch))
        if conv_clamp is not None:
            _clamp_always(self, conv_clamp)
        if pretrained is not None:
            load_pretrained_prefix(self, **pretrained)

    def forward(self, x: Tensor, label: Tensor | None = None) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.img_channels or \
                tuple(x.shape[-2:]) != (self.in_size, self.in_size):
            raise ValueError(
                f'{type(self).__name__}: images must be (N, {self.img_channels}, '
                f'{self.in_size}, {self.in_size}) (model.discriminator.in_size / the '
                f"generator's out_size), got {tuple(x.shape)}; resize or crop the dataset images "
                f'to {self.in_size}x{self.in_size}')
        if self.input_bgr2rgb:
            x = x[:, [2, 1, 0]]
        x = self.mbstd_layer(self.convs(x))
        if not (self.final_conv.fp16_enabled or not self.convert_input_fp32):
            x = x.float()
        x = self.final_linear(self.final_conv(x).reshape(x.shape[0], -1))
        if self.mapping is not None:
            if label is None:
                raise ValueError(f'{type(self).__name__}: cond_size is set, so a label is needed')
            cmap = self.mapping(None, label)
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(cmap.shape[1])
        return x
