"""LSGAN generator and discriminator (Mao et al., 2017), MMagic's layout and names."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import math

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.models.layers.latent_sampling import NoiseVar, check_noise_shape, sample_noise
from genforge.models.utils import get_module_device
from genforge.registry import MODELS


@MODELS.register_module()
class LSGANGenerator(BaseModule):
    """LSGAN generator: linear to (base_channels, input_scale^2), BN, then 3x3 transposed convs
    (stride-2 ones upsample, stride-1 ones refine), Tanh output.

    ``forward(noise, num_batches=0, return_noise=False)``: noise (N, noise_size), a sampler or
    None -> image (N, out_channels, output_scale, output_scale).

    Example: dict(type='LSGANGenerator', output_scale=128, base_channels=256, noise_size=1024)
    """

    def __init__(self, output_scale: int = 128, out_channels: int = 3, base_channels: int = 256,
                 input_scale: int = 8, noise_size: int = 1024,
                 conv_cfg: dict = dict(type='ConvTranspose2d'),
                 default_norm_cfg: dict | None = dict(type='BN'),
                 default_act_cfg: dict | None = dict(type='ReLU'),
                 out_act_cfg: dict | None = dict(type='Tanh'), init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if output_scale % input_scale or output_scale // input_scale < 4:
            raise ValueError(f'LSGANGenerator: output_scale ({output_scale}) must be a multiple '
                             f'of input_scale ({input_scale}) and at least 4x it')
        self.output_scale = output_scale
        self.base_channels = base_channels
        self.input_scale = input_scale
        self.noise_size = noise_size
        self.noise2feat_head = nn.Sequential(
            nn.Linear(noise_size, input_scale * input_scale * base_channels))
        self.noise2feat_tail = nn.Sequential(nn.BatchNorm2d(base_channels))
        if default_act_cfg is not None:
            self.noise2feat_tail.add_module('act', MODELS.build(default_act_cfg))
        # the two output blocks upsample too
        self.num_upsamples = int(math.log2(output_scale // input_scale)) - 2
        up_cfg = dict(conv_cfg, output_padding=1)  # stride-2 3x3 deconv doubles exactly

        def block(cin, cout, stride, cfg, norm=default_norm_cfg, act=default_act_cfg):
            return ConvModule(cin, cout, kernel_size=3, stride=stride, padding=1, conv_cfg=cfg,
                              norm_cfg=norm, act_cfg=act)

        self.conv_blocks = nn.ModuleList()
        for _ in range(self.num_upsamples):
            self.conv_blocks.append(block(base_channels, base_channels, 2, up_cfg))
            self.conv_blocks.append(block(base_channels, base_channels, 1, conv_cfg))
        self.conv_blocks.append(block(base_channels, base_channels // 2, 2, up_cfg))
        self.conv_blocks.append(block(base_channels // 2, base_channels // 4, 2, up_cfg))
        self.conv_blocks.append(block(base_channels // 4, out_channels, 1, conv_cfg, norm=None,
                                      act=out_act_cfg))

    def forward(self, noise: NoiseVar, num_batches: int = 0,
                return_noise: bool = False) -> torch.Tensor | dict:
        noise_batch = sample_noise(noise, num_batches, self.noise_size, owner='LSGANGenerator')
        check_noise_shape(noise_batch, self.noise_size, 'LSGANGenerator')
        noise_batch = noise_batch.to(get_module_device(self))
        x = self.noise2feat_head(noise_batch)
        # (N, C*s*s) -> (N, C, s, s)
        x = x.reshape(-1, self.base_channels, self.input_scale, self.input_scale)
        x = self.noise2feat_tail(x)
        for conv in self.conv_blocks:
            x = conv(x)
        if return_noise:
            return dict(fake_img=x, noise_batch=noise_batch)
        return x


@MODELS.register_module()
class LSGANDiscriminator(BaseModule):
    """LSGAN discriminator: 5x5 stride-2 convs (BN except the first) + LeakyReLU(0.2), then a
    linear decision layer.

    ``forward(x)``: (N, in_channels, input_scale, input_scale) -> (N, out_channels).

    Example: dict(type='LSGANDiscriminator', input_scale=128, base_channels=64)
    """

    def __init__(self, input_scale: int = 128, output_scale: int = 8, out_channels: int = 1,
                 in_channels: int = 3, base_channels: int = 64,
                 conv_cfg: dict = dict(type='Conv2d'),
                 default_norm_cfg: dict | None = dict(type='BN'),
                 default_act_cfg: dict | None = dict(type='LeakyReLU', negative_slope=0.2),
                 out_act_cfg: dict | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if input_scale % output_scale or input_scale // output_scale < 2:
            raise ValueError(f'LSGANDiscriminator: input_scale ({input_scale}) must be a multiple '
                             f'of output_scale ({output_scale}) and at least 2x it')
        self.input_scale = input_scale
        self.output_scale = output_scale
        self.out_channels = out_channels
        self.base_channels = base_channels
        self.with_out_activation = out_act_cfg is not None
        self.conv_blocks = nn.ModuleList([ConvModule(
            in_channels, base_channels, kernel_size=5, stride=2, padding=2, conv_cfg=conv_cfg,
            norm_cfg=None, act_cfg=default_act_cfg)])
        self.num_downsamples = int(math.log2(input_scale // output_scale)) - 1
        curr_channels = base_channels
        for _ in range(self.num_downsamples):
            self.conv_blocks.append(ConvModule(
                curr_channels, curr_channels * 2, kernel_size=5, stride=2, padding=2,
                conv_cfg=conv_cfg, norm_cfg=default_norm_cfg, act_cfg=default_act_cfg))
            curr_channels *= 2
        self.decision = nn.Sequential(
            nn.Linear(output_scale * output_scale * curr_channels, out_channels))
        if self.with_out_activation:
            self.out_activation = MODELS.build(out_act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        for conv in self.conv_blocks:
            x = conv(x)
        x = self.decision(x.reshape(n, -1))  # (N, C, s, s) -> (N, C*s*s) -> (N, out)
        if self.with_out_activation:
            x = self.out_activation(x)
        return x


__all__ = ['LSGANGenerator', 'LSGANDiscriminator']
