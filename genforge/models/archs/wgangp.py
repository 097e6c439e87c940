"""WGAN-GP generator and discriminator (Gulrajani et al., 2017; PGGAN appendix A.2 layout).

Names, submodules and defaults follow MMagic, so its checkpoints load unchanged.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule, build_norm_layer, build_upsample_layer
from genforge.models.layers.latent_sampling import NoiseVar, check_noise_shape, sample_noise
from genforge.models.utils import constant_init, get_module_device
from genforge.registry import MODELS

# channels at each feature-map resolution (PGGAN's configuration (a))
_CHANNELS_PER_SCALE = {'4': 512, '8': 512, '16': 256, '32': 128, '64': 64, '128': 32}


@MODELS.register_module()
class WGANNoiseTo2DFeat(nn.Module):
    """Noise (N, noise_size) -> feature (N, out_channels, 4, 4) by a bias-free linear layer,
    a per-channel bias added after the reshape, then activation and norm (in ``order``).

    Example: dict(type='WGANNoiseTo2DFeat', noise_size=128, out_channels=512)
    """

    def __init__(self, noise_size: int, out_channels: int,
                 act_cfg: dict | None = dict(type='ReLU'), norm_cfg: dict | None = dict(type='BN'),
                 order: tuple = ('linear', 'act', 'norm')):
        super().__init__()
        if len(order) != 3 or set(order) != {'linear', 'act', 'norm'}:
            raise ValueError(f"WGANNoiseTo2DFeat: order must permute ('linear', 'act', 'norm'), "
                             f'got {order!r}')
        self.noise_size = noise_size
        self.out_channels = out_channels
        self.with_activation = act_cfg is not None
        self.with_norm = norm_cfg is not None
        self.order = tuple(order)
        # no bias here: it is added per channel after the reshape
        self.linear = nn.Linear(noise_size, out_channels * 16, bias=False)
        if self.with_activation:
            self.activation = MODELS.build(act_cfg)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        if self.with_norm:
            _, self.norm = build_norm_layer(norm_cfg, out_channels)
        nn.init.normal_(self.linear.weight, 0., 1.)
        if self.with_norm:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f'WGANNoiseTo2DFeat: expected noise (N, C), got {tuple(x.shape)}')
        for layer in self.order:
            if layer == 'linear':
                # (N, C*16) -> (N, C, 4, 4)
                x = self.linear(x).reshape(-1, self.out_channels, 4, 4) + self.bias
            elif layer == 'act' and self.with_activation:
                x = self.activation(x)
            elif layer == 'norm' and self.with_norm:
                x = self.norm(x)
        return x


@MODELS.register_module()
class ConvLNModule(ConvModule):
    """ConvModule whose norm may be 'LN2d' (LayerNorm over (C, H, W)) or 'GN' (GroupNorm with
    one group, the WGAN-GP stand-in for layer norm); the norm submodule is named by the type.

    Example: dict(type='ConvLNModule', in_channels=32, out_channels=64, kernel_size=3,
                  padding=1, feature_shape=(64, 16, 16), norm_cfg=dict(type='LN2d'))
    """

    def __init__(self, *args, feature_shape: tuple | None = None, **kwargs):
        norm_cfg = kwargs.get('norm_cfg')
        if norm_cfg is None or norm_cfg.get('type') not in ('LN2d', 'GN'):
            super().__init__(*args, **kwargs)
            return
        if feature_shape is None:
            raise ValueError('ConvLNModule: feature_shape=(C, H, W) is required with '
                             f"norm_cfg type {norm_cfg['type']!r}")
        super().__init__(*args, **dict(kwargs, norm_cfg=None))
        self.with_norm = True
        self.norm_cfg = norm_cfg
        self.norm_name = norm_cfg['type']
        norm = (nn.LayerNorm(tuple(feature_shape)) if self.norm_name == 'LN2d'
                else nn.GroupNorm(1, feature_shape[0]))
        self.add_module(self.norm_name, norm)


class WGANDecisionHead(nn.Module):
    """4x4 conv (+ LN/GN + activation) to (N, mid, 1, 1), flatten, linear to ``out_channels``."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, bias: bool = True,
                 act_cfg: dict | None = dict(type='ReLU'), out_act: dict | None = None,
                 norm_cfg: dict | None = dict(type='LN2d')):
        super().__init__()
        self.in_channels, self.mid_channels, self.out_channels = (in_channels, mid_channels,
                                                                  out_channels)
        self.with_out_activation = out_act is not None
        self.conv = ConvLNModule(in_channels, feature_shape=(mid_channels, 1, 1), kernel_size=4,
                                 out_channels=mid_channels, act_cfg=act_cfg, norm_cfg=norm_cfg,
                                 order=('conv', 'norm', 'act'))
        self.linear = nn.Linear(mid_channels, out_channels, bias=bias)
        if self.with_out_activation:
            self.out_activation = MODELS.build(out_act)
        nn.init.normal_(self.linear.weight, 0., 1.)
        if bias:
            nn.init.constant_(self.linear.bias, 0.)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = self.linear(x.reshape(x.shape[0], -1))  # (N, mid, 1, 1) -> (N, mid) -> (N, out)
        return self.out_activation(x) if self.with_out_activation else x


@MODELS.register_module()
class WGANGPGenerator(BaseModule):
    """WGAN-GP generator: noise -> 4x4 feature, [nearest x2, conv3x3, conv3x3] per scale, 1x1
    to RGB with Tanh. BN + ReLU in every conv block.

    ``forward(noise, num_batches=0, return_noise=False)`` -> (N, 3, out_scale, out_scale).

    Example: dict(type='WGANGPGenerator', noise_size=128, out_scale=128)
    """

    _default_channels_per_scale = _CHANNELS_PER_SCALE
    _default_conv_module_cfg = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
                                    act_cfg=dict(type='ReLU'), norm_cfg=dict(type='BN'),
                                    order=('conv', 'norm', 'act'))
    _default_upsample_cfg = dict(type='nearest', scale_factor=2)

    def __init__(self, noise_size: int, out_scale: int, conv_module_cfg: dict | None = None,
                 upsample_cfg: dict | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if str(out_scale) not in _CHANNELS_PER_SCALE:
            raise ValueError(f'WGANGPGenerator: out_scale must be one of 4, 8, 16, 32, 64, 128, '
                             f'got {out_scale}')
        self.noise_size = noise_size
        self.out_scale = out_scale
        self.conv_module_cfg = copy.deepcopy(self._default_conv_module_cfg)
        self.conv_module_cfg.update(conv_module_cfg or {})
        self.upsample_cfg = copy.deepcopy(upsample_cfg or self._default_upsample_cfg)
        ch = self._default_channels_per_scale
        self.noise2feat = WGANNoiseTo2DFeat(noise_size, ch['4'])
        self.conv_blocks = nn.ModuleList([ConvModule(ch['4'], ch['4'], **self.conv_module_cfg)])
        for i in range(3, int(math.log2(out_scale)) + 1):
            self.conv_blocks.append(build_upsample_layer(self.upsample_cfg))
            self.conv_blocks.append(ConvModule(ch[str(2 ** (i - 1))], ch[str(2 ** i)],
                                               **self.conv_module_cfg))
            self.conv_blocks.append(ConvModule(ch[str(2 ** i)], ch[str(2 ** i)],
                                               **self.conv_module_cfg))
        self.to_rgb = ConvModule(ch[str(out_scale)], kernel_size=1, out_channels=3,
                                 act_cfg=dict(type='Tanh'))

    def forward(self, noise: NoiseVar, num_batches: int = 0,
                return_noise: bool = False) -> torch.Tensor | dict:
        noise_batch = sample_noise(noise, num_batches, self.noise_size, owner='WGANGPGenerator')
        check_noise_shape(noise_batch, self.noise_size, 'WGANGPGenerator')
        noise_batch = noise_batch.to(get_module_device(self))
        x = self.noise2feat(noise_batch)
        for block in self.conv_blocks:
            x = block(x)
        out_img = self.to_rgb(x)
        if return_noise:
            return dict(fake_img=out_img, noise_batch=noise_batch)
        return out_img


@MODELS.register_module()
class WGANGPDiscriminator(BaseModule):
    """WGAN-GP discriminator: 1x1 from RGB, [conv3x3, conv3x3, avgpool] per scale with LN (or
    GN) + LeakyReLU(0.2), then a 4x4 conv + linear decision head.

    ``forward(x)``: (N, in_channel, in_scale, in_scale) -> (N, 1).

    Example: dict(type='WGANGPDiscriminator', in_channel=3, in_scale=128,
                  conv_module_cfg=dict(norm_cfg=dict(type='GN')))
    """

    _default_channels_per_scale = _CHANNELS_PER_SCALE
    _default_conv_module_cfg = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
                                    act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
                                    norm_cfg=dict(type='LN2d'), order=('conv', 'norm', 'act'))
    _default_upsample_cfg = dict(type='nearest', scale_factor=2)

    def __init__(self, in_channel: int, in_scale: int, conv_module_cfg: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if str(in_scale) not in _CHANNELS_PER_SCALE:
            raise ValueError(f'WGANGPDiscriminator: in_scale must be one of 4, 8, 16, 32, 64, 128, '
                             f'got {in_scale}')
        self.in_channel = in_channel
        self.in_scale = in_scale
        self.conv_module_cfg = copy.deepcopy(self._default_conv_module_cfg)
        self.conv_module_cfg.update(conv_module_cfg or {})
        ch = self._default_channels_per_scale
        self.from_rgb = ConvModule(in_channel, kernel_size=1, out_channels=ch[str(in_scale)],
                                   act_cfg=dict(type='LeakyReLU', negative_slope=0.2))
        self.conv_blocks = nn.ModuleList()
        for i in range(int(math.log2(in_scale)), 2, -1):
            c_in, c_out = ch[str(2 ** i)], ch[str(2 ** (i - 1))]
            self.conv_blocks.append(ConvLNModule(c_in, c_in, feature_shape=(c_in, 2 ** i, 2 ** i),
                                                 **self.conv_module_cfg))
            self.conv_blocks.append(ConvLNModule(c_in, c_out,
                                                 feature_shape=(c_out, 2 ** i, 2 ** i),
                                                 **self.conv_module_cfg))
            self.conv_blocks.append(nn.AvgPool2d(kernel_size=2, stride=2))
        self.decision = WGANDecisionHead(ch['4'], ch['4'], 1,
                                         act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
                                         norm_cfg=self.conv_module_cfg['norm_cfg'])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.from_rgb(x)
        for block in self.conv_blocks:
            x = block(x)
        return self.decision(x)


__all__ = ['WGANNoiseTo2DFeat', 'ConvLNModule', 'WGANGPGenerator', 'WGANGPDiscriminator']
