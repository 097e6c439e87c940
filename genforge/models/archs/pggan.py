"""PGGAN generator and discriminator (Karras et al., 2018), MMagic's layout and names.

Both networks hold every resolution from 4x4 up to ``out_scale`` / ``in_scale``; ``curr_scale``
picks how much of them runs and ``transition_weight`` fades the newest resolution in:
``out = up(rgb_prev) + w * (rgb_new - up(rgb_prev))``.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import (
    EqualizedLRConvDownModule,
    EqualizedLRConvModule,
    EqualizedLRConvUpModule,
    EqualizedLRLinearModule,
    MiniBatchStddevLayer,
    build_activation_layer,
    build_norm_layer,
    build_upsample_layer,
    pixel_norm,
)
from genforge.models.layers.latent_sampling import sample_noise
from genforge.models.utils import get_module_device
from genforge.registry import MODELS

_LRELU = dict(type='LeakyReLU', negative_slope=0.2)


def pggan_log2_scale(curr_scale: int | float, max_scale: int, key: str) -> int:
    """log2 of a resolution in [4, max_scale] that is a power of two, else a ValueError."""
    log2 = int(round(math.log2(curr_scale))) if curr_scale > 0 else -1
    if 2 ** log2 != curr_scale or not 4 <= curr_scale <= max_scale:
        raise ValueError(f'{key}={curr_scale} is outside the schedule: use a power of two in '
                         f'[4, {max_scale}]')
    return log2


def _num_channels(base: int, decay: float, max_channels: int, log_scale: int) -> int:
    return min(int(base / (2.0 ** (log_scale * decay))), max_channels)


@MODELS.register_module()
class PGGANNoiseTo2DFeat(BaseModule):
    """(N, noise_size) -> (N, out_channels, 4, 4): pixel-normed latent, equalized linear (no
    bias), reshape, per-channel bias, LeakyReLU, PixelNorm.

    Example: dict(type='PGGANNoiseTo2DFeat', noise_size=512, out_channels=512)
    """

    def __init__(self, noise_size: int, out_channels: int, act_cfg: dict | None = _LRELU,
                 norm_cfg: dict | None = dict(type='PixelNorm'), normalize_latent: bool = True,
                 order: tuple = ('linear', 'act', 'norm')):
        super().__init__()
        if len(order) != 3 or set(order) != {'linear', 'act', 'norm'}:
            raise ValueError(f"PGGANNoiseTo2DFeat: order must be a permutation of ('linear', "
                             f"'act', 'norm'), got {order!r}")
        self.noise_size, self.out_channels = noise_size, out_channels
        self.normalize_latent, self.order = normalize_latent, tuple(order)
        self.with_activation, self.with_norm = act_cfg is not None, norm_cfg is not None
        # the bias is added after the reshape, per channel
        self.linear = EqualizedLRLinearModule(noise_size, out_channels * 16, bias=False,
                                              equalized_lr_cfg=dict(gain=math.sqrt(2) / 4))
        if self.with_activation:
            self.activation = build_activation_layer(act_cfg)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        if self.with_norm:
            _, self.norm = build_norm_layer(norm_cfg, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f'PGGANNoiseTo2DFeat: noise must be (N, C), got {tuple(x.shape)}')
        if self.normalize_latent:
            x = pixel_norm(x)
        for step in self.order:
            if step == 'linear':
                x = self.linear(x).reshape(-1, self.out_channels, 4, 4) + self.bias
            elif step == 'act' and self.with_activation:
                x = self.activation(x)
            elif step == 'norm' and self.with_norm:
                x = self.norm(x)
        return x


@MODELS.register_module()
class PGGANGenerator(nn.Module):
    """PGGAN generator: noise (N, noise_size) -> image (N, 3, s, s), s = ``curr_scale``.

    Submodules: ``noise2feat``, ``torgb_layers`` (one per resolution), ``conv_blocks`` (one conv
    at 4x4, then an up-conv and a conv per resolution), ``upsample_layer``.

    Example: dict(type='PGGANGenerator', noise_size=512, out_scale=128)
    """

    _default_fused_upconv_cfg = dict(conv_cfg=dict(type='deconv'), kernel_size=3, stride=2,
                                     padding=1, bias=True, act_cfg=_LRELU,
                                     norm_cfg=dict(type='PixelNorm'),
                                     order=('conv', 'act', 'norm'))
    _default_conv_module_cfg = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
                                    act_cfg=_LRELU, norm_cfg=dict(type='PixelNorm'),
                                    order=('conv', 'act', 'norm'))
    _default_upsample_cfg = dict(type='nearest', scale_factor=2)

    def __init__(self, noise_size: int | None, out_scale: int, label_size: int = 0,
                 base_channels: int = 8192, channel_decay: float = 1., max_channels: int = 512,
                 fused_upconv: bool = True, conv_module_cfg: dict | None = None,
                 fused_upconv_cfg: dict | None = None, upsample_cfg: dict | None = None):
        super().__init__()
        self.out_log2_scale = int(round(math.log2(out_scale))) if out_scale > 0 else 0
        if out_scale < 4 or 2 ** self.out_log2_scale != out_scale:
            raise ValueError(f'model.generator.out_scale={out_scale} must be a power of two '
                             f'>= 4')
        self.noise_size = noise_size if noise_size else min(base_channels, max_channels)
        self.out_scale, self.label_size = out_scale, label_size
        self.base_channels, self.channel_decay = base_channels, channel_decay
        self.max_channels, self.fused_upconv = max_channels, fused_upconv
        self.conv_module_cfg = {**self._default_conv_module_cfg, **(conv_module_cfg or {})}
        self.fused_upconv_cfg = {**self._default_fused_upconv_cfg, **(fused_upconv_cfg or {})}
        self.upsample_cfg = {**self._default_upsample_cfg, **(upsample_cfg or {})}

        self.noise2feat = PGGANNoiseTo2DFeat(self.noise_size + label_size,
                                             self._num_out_channels(1))
        self.torgb_layers = nn.ModuleList()
        self.conv_blocks = nn.ModuleList()
        for s in range(2, self.out_log2_scale + 1):
            in_ch = self._num_out_channels(s - 1 if s == 2 else s - 2)
            self.torgb_layers.append(EqualizedLRConvModule(
                self._num_out_channels(s - 1), 3, kernel_size=1, stride=1, bias=True,
                equalized_lr_cfg=dict(gain=1), norm_cfg=None, act_cfg=None))
            self.conv_blocks.extend(self._upconv_block(in_ch, s))
        # upsamples the previous resolution's RGB output during a transition
        self.upsample_layer = build_upsample_layer(copy.deepcopy(self.upsample_cfg))

    def _num_out_channels(self, log_scale: int) -> int:
        return _num_channels(self.base_channels, self.channel_decay, self.max_channels, log_scale)

    def _upconv_block(self, in_channels: int, log_scale: int) -> list[nn.Module]:
        out_ch = self._num_out_channels(log_scale - 1)
        if log_scale == 2:
            return [EqualizedLRConvModule(in_channels, out_ch, **self.conv_module_cfg)]
        if self.fused_upconv:
            up_cfg = {'upsample': dict(type='fused_nn'), **self.fused_upconv_cfg}
        else:
            up_cfg = {'upsample': self.upsample_cfg, **self.conv_module_cfg}
        return [EqualizedLRConvUpModule(in_channels, out_ch, **up_cfg),
                EqualizedLRConvModule(out_ch, out_ch, **self.conv_module_cfg)]

    def forward(self, noise: torch.Tensor | None, label: torch.Tensor | None = None,
                num_batches: int = 0, return_noise: bool = False,
                transition_weight: float | torch.Tensor = 1.,
                curr_scale: int = -1) -> torch.Tensor | dict:
        """``curr_scale=-1`` means ``out_scale``; returns ``fake_img`` (N, 3, s, s) or a dict
        with ``fake_img``, ``noise_batch`` and ``label`` when ``return_noise``."""
        noise_batch = sample_noise(noise, num_batches, self.noise_size, owner='PGGANGenerator')
        if noise_batch.ndim != 2 or noise_batch.shape[1] != self.noise_size:
            raise ValueError(f'PGGANGenerator: noise must be (N, {self.noise_size}), got '
                             f'{tuple(noise_batch.shape)}')
        noise_batch = noise_batch.to(get_module_device(self))
        x = noise_batch if label is None else torch.cat([noise_batch, label.to(noise_batch)], 1)
        x = self.noise2feat(x)
        log2 = self.out_log2_scale if curr_scale < 0 else pggan_log2_scale(
            curr_scale, self.out_scale, 'PGGANGenerator curr_scale')

        x = self.conv_blocks[0](x)                       # 4x4
        if log2 <= 3:
            out_img = last_img = self.torgb_layers[0](x)
        for s in range(3, log2 + 1):                     # 8x8 ... 2**log2
            x = self.conv_blocks[2 * s - 4](self.conv_blocks[2 * s - 5](x))
            if s + 1 == log2:
                last_img = self.torgb_layers[s - 2](x)
            elif s == log2:
                residual = self.upsample_layer(last_img)
                out_img = residual + transition_weight * (self.torgb_layers[s - 2](x) - residual)
        if return_noise:
            return dict(fake_img=out_img, noise_batch=noise_batch, label=label)
        return out_img


@MODELS.register_module()
class PGGANDecisionHead(BaseModule):
    """Flatten -> equalized linear (gain sqrt 2) -> LeakyReLU -> equalized linear.

    Example: dict(type='PGGANDecisionHead', in_channels=8208, mid_channels=512, out_channels=1)
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int,
                 bias: bool = True, equalized_lr_cfg: dict | None = dict(gain=1),
                 act_cfg: dict | None = _LRELU, out_act: dict | None = None):
        super().__init__()
        self.in_channels, self.mid_channels = in_channels, mid_channels
        self.out_channels = out_channels
        self.with_activation, self.with_out_activation = act_cfg is not None, out_act is not None
        # MMagic: the hidden layer always uses gain sqrt(2) when equalized lr is on
        hidden_cfg = dict(gain=2 ** 0.5) if equalized_lr_cfg else None
        self.linear0 = EqualizedLRLinearModule(in_channels, mid_channels, bias=bias,
                                               equalized_lr_cfg=hidden_cfg)
        self.linear1 = EqualizedLRLinearModule(mid_channels, out_channels, bias=bias,
                                               equalized_lr_cfg=equalized_lr_cfg)
        if self.with_activation:
            self.activation = build_activation_layer(act_cfg)
        if self.with_out_activation:
            self.out_activation = build_activation_layer(out_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear0(x.reshape(x.shape[0], -1) if x.ndim > 2 else x)
        if self.with_activation:
            x = self.activation(x)
        x = self.linear1(x)
        return self.out_activation(x) if self.with_out_activation else x


@MODELS.register_module()
class PGGANDiscriminator(BaseModule):
    """PGGAN discriminator: image (N, 3, s, s) -> score (N, 1) (and (N, label_size) logits).

    Submodules: ``fromrgb_layers``, ``conv_blocks`` (a conv, then a conv + downsample per
    resolution above 4x4), ``mbstd_layer``, ``decision``.

    Example: dict(type='PGGANDiscriminator', in_scale=128)
    """

    _default_fromrgb_cfg = dict(conv_cfg=None, kernel_size=1, stride=1, padding=0, bias=True,
                                act_cfg=_LRELU, norm_cfg=None, order=('conv', 'act', 'norm'))
    _default_conv_module_cfg = dict(kernel_size=3, padding=1, stride=1, norm_cfg=None,
                                    act_cfg=_LRELU)
    _default_convdown_cfg = dict(kernel_size=3, padding=1, stride=2, norm_cfg=None,
                                 act_cfg=_LRELU)

    def __init__(self, in_scale: int, label_size: int = 0, base_channels: int = 8192,
                 max_channels: int = 512, in_channels: int = 3, channel_decay: float = 1.0,
                 mbstd_cfg: dict | None = dict(group_size=4), fused_convdown: bool = True,
                 conv_module_cfg: dict | None = None, fused_convdown_cfg: dict | None = None,
                 fromrgb_layer_cfg: dict | None = None, downsample_cfg: dict | None = None):
        super().__init__()
        self.in_log2_scale = pggan_log2_scale(in_scale, in_scale,
                                              'model.discriminator.in_scale')
        self.in_scale, self.label_size = in_scale, label_size
        self.base_channels, self.max_channels = base_channels, max_channels
        self.in_channels, self.channel_decay = in_channels, channel_decay
        self.with_mbstd, self.fused_convdown = mbstd_cfg is not None, fused_convdown
        self.conv_module_cfg = {**self._default_conv_module_cfg, **(conv_module_cfg or {})}
        self.fused_convdown_cfg = {**self._default_convdown_cfg, **(fused_convdown_cfg or {})}
        self.fromrgb_layer_cfg = {**self._default_fromrgb_cfg, **(fromrgb_layer_cfg or {})}
        self.downsample = self._build_downsample(downsample_cfg)

        self.conv_blocks = nn.ModuleList()
        self.fromrgb_layers = nn.ModuleList()
        for s in range(2, self.in_log2_scale + 1):
            self.fromrgb_layers.append(EqualizedLRConvModule(
                in_channels, self._num_out_channels(s - 1), **self.fromrgb_layer_cfg))
            self.conv_blocks.extend(self._convdown_block(self._num_out_channels(s - 1), s))
        if self.with_mbstd:
            self.mbstd_layer = MiniBatchStddevLayer(**mbstd_cfg)
        # the stddev map adds one 4x4 channel
        decision_in = self._num_out_channels(1) * 16 + (16 if self.with_mbstd else 0)
        self.decision = PGGANDecisionHead(decision_in, self._num_out_channels(0),
                                          1 + label_size)

    @staticmethod
    def _build_downsample(cfg: dict | None):
        """Downsampling of the image for the fading-in path: 2x2 average pooling by default."""
        kind = (cfg or {}).get('type', 'avgpool')
        if kind == 'avgpool':
            return nn.AvgPool2d(kernel_size=2, stride=2)
        if kind in ('nearest', 'bilinear'):
            kwargs = {k: v for k, v in cfg.items() if k != 'type'}
            return lambda x: F.interpolate(x, mode=kind, **kwargs)
        raise ValueError(f"model.discriminator.downsample_cfg type={kind!r} is not supported; "
                         f"use 'avgpool', 'nearest' or 'bilinear'")

    def _num_out_channels(self, log_scale: int) -> int:
        return _num_channels(self.base_channels, self.channel_decay, self.max_channels, log_scale)

    def _convdown_block(self, in_channels: int, log2_scale: int) -> list[nn.Module]:
        out_ch = self._num_out_channels(log2_scale - 1)
        modules = [EqualizedLRConvModule(in_channels, out_ch, **self.conv_module_cfg)]
        if log2_scale > 2:
            if self.fused_convdown:
                cfg = {'downsample': dict(type='fused_pool'), **self.fused_convdown_cfg}
            else:  # conv at stride 1 then the pooling (MMagic's non-fused path)
                cfg = {'downsample': dict(type='avgpool'), **self.conv_module_cfg}
            modules.append(EqualizedLRConvDownModule(out_ch, self._num_out_channels(
                log2_scale - 2), **cfg))
        return modules

    def forward(self, x: torch.Tensor, transition_weight: float | torch.Tensor = 1.,
                curr_scale: int = -1) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``curr_scale < 4`` means ``in_scale``; ``x`` must be (N, C, curr_scale, curr_scale)."""
        log2 = self.in_log2_scale if curr_scale < 4 else pggan_log2_scale(
            curr_scale, self.in_scale, 'PGGANDiscriminator curr_scale')
        original = x
        x = self.fromrgb_layers[log2 - 2](x)
        for s in range(log2, 2, -1):
            x = self.conv_blocks[2 * s - 4](self.conv_blocks[2 * s - 5](x))
            if s == log2:
                y = self.fromrgb_layers[log2 - 3](self.downsample(original))
                x = y + transition_weight * (x - y)
        if self.with_mbstd:
            x = self.mbstd_layer(x)
        x = self.decision(x)
        if self.label_size > 0:
            return x[:, :1], x[:, 1:]
        return x


__all__ = ['PGGANNoiseTo2DFeat', 'PGGANGenerator', 'PGGANDecisionHead', 'PGGANDiscriminator',
           'pggan_log2_scale']
