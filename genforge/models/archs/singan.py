"""SinGAN (Shaham et al., ICCV 2019) multi-scale generator and discriminator, MMagic's layout.

One fully convolutional block per pyramid level. The generator runs levels 0..curr_scale: each
adds weighted noise to the (bicubic-upsampled) previous output and predicts a residual.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import logging
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from genforge.models.base_module import BaseModule
from genforge.models.layers import ConvModule
from genforge.models.utils import constant_init, normal_init
from genforge.registry import MODELS

logger = logging.getLogger(__name__)
_LRELU = dict(type='LeakyReLU', negative_slope=0.2)


def _init_singan(module: nn.Module) -> None:
    """SinGAN's init: convs N(0, 0.02) with zero bias, norm weights 1."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            normal_init(m, 0, 0.02)
        elif isinstance(m, (_BatchNorm, nn.InstanceNorm2d)):
            constant_init(m, 1)


def _conv_stack(owner, in_channels: int, out_channels: int, kernel_size: int, padding: int,
                num_layers: int, base_channels: int, min_feat_channels: int, stride: int,
                norm_cfg: dict | None, act_cfg: dict | None, out_act_cfg: dict | None,
                **kwargs) -> None:
    """``head`` -> ``body.block1..block{num_layers-2}`` (halving channels, floored at
    ``min_feat_channels``) -> ``tail`` (no norm, ``out_act_cfg``)."""
    if num_layers < 3:
        raise ValueError(f'{type(owner).__name__}: num_layers={num_layers} must be >= 3 (head, '
                         f'at least one body block, tail)')
    owner.head = ConvModule(in_channels, base_channels, kernel_size=kernel_size, padding=padding,
                            stride=1, norm_cfg=norm_cfg, act_cfg=act_cfg, **kwargs)
    owner.body = nn.Sequential()
    for i in range(num_layers - 2):
        feat = int(base_channels / 2 ** (i + 1))
        owner.body.add_module(f'block{i + 1}', ConvModule(
            max(2 * feat, min_feat_channels), max(feat, min_feat_channels),
            kernel_size=kernel_size, padding=padding, stride=stride, norm_cfg=norm_cfg,
            act_cfg=act_cfg, **kwargs))
    owner.tail = ConvModule(max(feat, min_feat_channels), out_channels, kernel_size=kernel_size,
                            padding=padding, stride=1, norm_cfg=None, act_cfg=out_act_cfg,
                            **kwargs)


class GeneratorBlock(nn.Module):
    """One SinGAN generator level: (N, in, H+2p, W+2p) noisy input -> residual added to
    ``prev`` (N, out, H, W). BN + LeakyReLU convs, Tanh output."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int,
                 num_layers: int, base_channels: int, min_feat_channels: int,
                 out_act_cfg: dict | None = dict(type='Tanh'), stride: int = 1,
                 allow_no_residual: bool = False, **kwargs):
        super().__init__()
        self.in_channels, self.base_channels = in_channels, base_channels
        self.kernel_size, self.num_layers = kernel_size, num_layers
        self.allow_no_residual = allow_no_residual
        _conv_stack(self, in_channels, out_channels, kernel_size, padding, num_layers,
                    base_channels, min_feat_channels, stride, dict(type='BN'), _LRELU,
                    out_act_cfg, **kwargs)
        _init_singan(self)

    def forward(self, x: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        x = self.tail(self.body(self.head(x)))
        if self.allow_no_residual and x.shape[1] != prev.shape[1]:
            return x
        return x + prev


class DiscriminatorBlock(nn.Module):
    """One SinGAN discriminator level: (N, C, H, W) -> patch scores (N, 1, H', W')."""

    def __init__(self, in_channels: int, base_channels: int, min_feat_channels: int,
                 kernel_size: int, padding: int, num_layers: int,
                 norm_cfg: dict | None = dict(type='BN'), act_cfg: dict | None = _LRELU,
                 stride: int = 1, **kwargs):
        super().__init__()
        self.base_channels, self.stride = base_channels, stride
        _conv_stack(self, in_channels, 1, kernel_size, padding, num_layers, base_channels,
                    min_feat_channels, stride, norm_cfg, act_cfg, None, **kwargs)
        _init_singan(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(self.head(x)))


def _level_channels(base: int, scale: int) -> int:
    # channels double every 4 levels, capped at 128
    return min(base * 2 ** math.floor(scale / 4), 128)


def _copy_prev_block(blocks: nn.ModuleList, curr_scale: int, same_shape: bool,
                     reason: str) -> None:
    if curr_scale == 0:
        return
    if same_shape:
        blocks[curr_scale].load_state_dict(blocks[curr_scale - 1].state_dict())
        logger.info('SinGAN: level %d starts from the weights of level %d', curr_scale,
                    curr_scale - 1)
    else:
        logger.info('SinGAN: level %d starts fresh (%s)', curr_scale, reason)


@MODELS.register_module()
class SinGANMultiScaleGenerator(BaseModule):
    """SinGAN generator over ``num_scales + 1`` levels (``num_scales`` counts from 0).

    Example: dict(type='SinGANMultiScaleGenerator', in_channels=3, out_channels=3,
                  num_scales=10)
    """

    def __init__(self, in_channels: int, out_channels: int, num_scales: int,
                 kernel_size: int = 3, padding: int = 0, num_layers: int = 5,
                 base_channels: int = 32, min_feat_channels: int = 32,
                 out_act_cfg: dict | None = dict(type='Tanh'), init_cfg: dict | None = None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg)
        self.num_scales = num_scales
        # padding that keeps the size through num_layers unpadded convs
        self.pad_head = int((kernel_size - 1) / 2 * num_layers)
        self.blocks = nn.ModuleList(
            GeneratorBlock(in_channels=in_channels, out_channels=out_channels,
                           kernel_size=kernel_size, padding=padding, num_layers=num_layers,
                           base_channels=_level_channels(base_channels, s),
                           min_feat_channels=_level_channels(min_feat_channels, s),
                           out_act_cfg=out_act_cfg, **kwargs)
            for s in range(num_scales + 1))
        self.noise_padding_layer = nn.ZeroPad2d(self.pad_head)
        self.img_padding_layer = nn.ZeroPad2d(self.pad_head)

    def upsample(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(x, size, mode='bicubic', align_corners=True)

    def check_curr_scale(self, curr_scale: int, fixed_noises: list) -> None:
        if not 0 <= curr_scale <= min(self.num_scales, len(fixed_noises) - 1):
            raise ValueError(f'SinGAN: curr_scale={curr_scale} is outside the trained pyramid '
                             f'(levels 0..{min(self.num_scales, len(fixed_noises) - 1)})')

    def forward(self, input_sample: torch.Tensor | None, fixed_noises: list,
                noise_weights: list, rand_mode: str, curr_scale: int, num_batches: int = 1,
                get_prev_res: bool = False, return_noise: bool = False) -> torch.Tensor | dict:
        """Run levels 0..``curr_scale``. ``rand_mode``: 'rand' (fresh N(0, 1) noise of the
        fixed noises' shapes) or 'recon' (the fixed noises: reconstructs the training image).
        Output (N, out, H_s, W_s) with H_s, W_s of ``fixed_noises[curr_scale]``."""
        if rand_mode not in ('rand', 'recon'):
            raise ValueError(f"SinGAN: rand_mode={rand_mode!r} must be 'rand' or 'recon'")
        self.check_curr_scale(curr_scale, fixed_noises)
        if input_sample is None:
            h, w = fixed_noises[0].shape[-2:]
            input_sample = torch.zeros(num_batches, 3, h, w).to(fixed_noises[0])
        g_res, prev_res, noises = input_sample, [], []
        pad = (self.pad_head, ) * 4
        for stage in range(curr_scale + 1):
            noise = fixed_noises[stage] if rand_mode == 'recon' else torch.randn(
                num_batches, *fixed_noises[stage].shape[1:]).to(g_res)
            noises.append(noise)
            x = F.pad(noise, pad) * noise_weights[stage] + F.pad(g_res, pad)
            g_res = self.blocks[stage](x.detach(), g_res)
            if stage != curr_scale:
                if get_prev_res:
                    prev_res.append(g_res)
                g_res = self.upsample(g_res, tuple(fixed_noises[stage + 1].shape[-2:]))
        if get_prev_res or return_noise:
            return dict(fake_img=g_res, prev_res_list=prev_res, noise_batch=noises)
        return g_res

    def check_and_load_prev_weight(self, curr_scale: int) -> None:
        """Start level ``curr_scale`` from level ``curr_scale - 1`` when their shapes agree."""
        if curr_scale == 0:
            return
        prev, curr = self.blocks[curr_scale - 1], self.blocks[curr_scale]
        same = (prev.base_channels, prev.in_channels) == (curr.base_channels, curr.in_channels)
        _copy_prev_block(self.blocks, curr_scale, same,
                         f'channels {prev.base_channels} -> {curr.base_channels}')


@MODELS.register_module()
class SinGANMultiScaleDiscriminator(BaseModule):
    """SinGAN patch discriminator, one block per level; ``forward(x, curr_scale)``.

    Example: dict(type='SinGANMultiScaleDiscriminator', in_channels=3, num_scales=10)
    """

    def __init__(self, in_channels: int, num_scales: int, kernel_size: int = 3,
                 padding: int = 0, num_layers: int = 5, base_channels: int = 32,
                 min_feat_channels: int = 32, init_cfg: dict | None = None, **kwargs):
        super().__init__(init_cfg=init_cfg)
        self.num_scales = num_scales
        self.blocks = nn.ModuleList(
            DiscriminatorBlock(in_channels=in_channels, kernel_size=kernel_size, padding=padding,
                               num_layers=num_layers,
                               base_channels=_level_channels(base_channels, s),
                               min_feat_channels=_level_channels(min_feat_channels, s),
                               **kwargs)
            for s in range(num_scales + 1))

    def forward(self, x: torch.Tensor, curr_scale: int) -> torch.Tensor:
        return self.blocks[curr_scale](x)

    def check_and_load_prev_weight(self, curr_scale: int) -> None:
        if curr_scale == 0:
            return
        prev, curr = self.blocks[curr_scale - 1], self.blocks[curr_scale]
        _copy_prev_block(self.blocks, curr_scale, prev.base_channels == curr.base_channels,
                         f'channels {prev.base_channels} -> {curr.base_channels}')


__all__ = ['GeneratorBlock', 'DiscriminatorBlock', 'SinGANMultiScaleGenerator',
           'SinGANMultiScaleDiscriminator']
