"""DCGAN generator and discriminator (Radford et al., 2016), MMagic's layout and names."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.models.layers.latent_sampling import NoiseVar, check_noise_shape, sample_noise
from genforge.models.utils import get_module_device, normal_init
from genforge.registry import MODELS


def dcgan_init_weights(module: BaseModule) -> None:
    """DCGAN init as MMagic does it: conv ~ N(0, 0.02), BN weight ~ N(0, 1), BN bias = 0.

    A ``Pretrained`` init_cfg takes precedence (loaded by BaseModule).
    """
    if module.init_cfg is not None and module.init_cfg.get('type') in ('Pretrained',
                                                                       'PretrainedInit'):
        BaseModule.init_weights(module)
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            normal_init(m, 0, 0.02)
        elif isinstance(m, _BatchNorm):
            nn.init.normal_(m.weight.data)
            nn.init.constant_(m.bias.data, 0)
    module._is_init = True


@MODELS.register_module()
class DCGANGenerator(BaseModule):
    """DCGAN generator: transposed convs, BN + ReLU inside, Tanh output.

    ``forward(noise, num_batches=0, return_noise=False)``: noise (N, noise_size) or
    (N, noise_size, 1, 1), a sampler ``fn(shape)`` or None -> image (N, out_channels, S, S).

    Example: dict(type='DCGANGenerator', output_scale=64, base_channels=1024, noise_size=100)
    """

    def __init__(self, output_scale: int, out_channels: int = 3, base_channels: int = 1024,
                 input_scale: int = 4, noise_size: int = 100,
                 default_norm_cfg: dict | None = dict(type='BN'),
                 default_act_cfg: dict | None = dict(type='ReLU'),
                 out_act_cfg: dict | None = dict(type='Tanh'), init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.output_scale = output_scale
        self.base_channels = base_channels
        self.input_scale = input_scale
        self.noise_size = noise_size
        # the output layer is one of the upsamplings
        self.num_upsamples = int(math.log2(output_scale // input_scale))
        deconv = dict(type='ConvTranspose2d')
        # (N, noise_size, 1, 1) -> (N, base_channels, 4, 4)
        self.noise2feat = ConvModule(noise_size, base_channels, kernel_size=4, stride=1,
                                     padding=0, conv_cfg=deconv, norm_cfg=default_norm_cfg,
                                     act_cfg=default_act_cfg)
        upsampling = []
        curr_channels = base_channels
        for _ in range(self.num_upsamples - 1):
            upsampling.append(ConvModule(curr_channels, curr_channels // 2, kernel_size=4,
                                         stride=2, padding=1, conv_cfg=deconv,
                                         norm_cfg=default_norm_cfg, act_cfg=default_act_cfg))
            curr_channels //= 2
        self.upsampling = nn.Sequential(*upsampling)
        self.output_layer = ConvModule(curr_channels, out_channels, kernel_size=4, stride=2,
                                       padding=1, conv_cfg=deconv, norm_cfg=None,
                                       act_cfg=out_act_cfg)

    def forward(self, noise: NoiseVar, num_batches: int = 0,
                return_noise: bool = False) -> torch.Tensor | dict:
        noise_batch = sample_noise(noise, num_batches, (self.noise_size, 1, 1),
                                   owner='DCGANGenerator')
        check_noise_shape(noise_batch, self.noise_size, 'DCGANGenerator', (2, 4))
        if noise_batch.ndim == 2:
            noise_batch = noise_batch[:, :, None, None]  # (N, C) -> (N, C, 1, 1)
        noise_batch = noise_batch.to(get_module_device(self))
        x = self.output_layer(self.upsampling(self.noise2feat(noise_batch)))
        if return_noise:
            return dict(fake_img=x, noise_batch=noise_batch)
        return x

    def init_weights(self) -> None:
        dcgan_init_weights(self)


@MODELS.register_module()
class DCGANDiscriminator(BaseModule):
    """DCGAN discriminator: stride-2 4x4 convs, BN (not on the first) + LeakyReLU.

    ``forward(x)``: (N, in_channels, input_scale, input_scale) -> (N, out_channels * k * k)
    where k = output_scale - 3 (1 for the usual output_scale=4).

    Example: dict(type='DCGANDiscriminator', input_scale=64, output_scale=4, out_channels=1)
    """

    def __init__(self, input_scale: int, output_scale: int, out_channels: int,
                 in_channels: int = 3, base_channels: int = 128,
                 default_norm_cfg: dict | None = dict(type='BN'),
                 default_act_cfg: dict | None = dict(type='LeakyReLU'),
                 out_act_cfg: dict | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.input_scale = input_scale
        self.output_scale = output_scale
        self.out_channels = out_channels
        self.base_channels = base_channels
        self.num_downsamples = int(math.log2(input_scale // output_scale))
        downsamples = []
        curr_channels = in_channels
        for i in range(self.num_downsamples):
            downsamples.append(ConvModule(
                curr_channels, base_channels * 2 ** i, kernel_size=4, stride=2, padding=1,
                conv_cfg=dict(type='Conv2d'),
                norm_cfg=None if i == 0 else default_norm_cfg,  # no norm on the input layer
                act_cfg=default_act_cfg))
            curr_channels = base_channels * 2 ** i
        self.downsamples = nn.Sequential(*downsamples)
        self.output_layer = ConvModule(curr_channels, out_channels, kernel_size=4, stride=1,
                                       padding=0, conv_cfg=dict(type='Conv2d'), norm_cfg=None,
                                       act_cfg=out_act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.output_layer(self.downsamples(x))
        return x.view(n, -1)  # (N, C, k, k) -> (N, C*k*k)

    def init_weights(self) -> None:
        dcgan_init_weights(self)


__all__ = ['DCGANGenerator', 'DCGANDiscriminator']
