"""BigGAN-Deep networks (MMagic names): bottleneck residual blocks, ``block_depth`` blocks per
resolution, noise concatenated with the class embedding (``concat_noise``) instead of split.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

import torch
from torch import nn

from genforge.models.layers.conditional_bn import BigGANConditionBN
from genforge.models.layers.self_attention import SelfAttentionBlock
from genforge.models.layers.spectral_norm import build_sn_linear
from genforge.registry import MODELS

from .biggan import (
    BigGANNetBase,
    _sn_conv,
    class_vector_and_noise,
    project_and_decide,
    sn_decision_and_projection,
)

__all__ = ['BigGANDeepGenResBlock', 'BigGANDeepDiscResBlock', 'BigGANDeepGenerator',
           'BigGANDeepDiscriminator']


@MODELS.register_module()
class BigGANDeepGenResBlock(nn.Module):
    """Bottleneck block: 4 x (cBN-act-conv) with 1x1 / 3x3 / 3x3 / 1x1 convs on
    ``in_channels // channel_ratio`` hidden channels; the identity shortcut drops channels.

    Example: dict(type='BigGANDeepGenResBlock', in_channels=256, out_channels=128,
                  dim_after_concat=256)
    """

    def __init__(self, in_channels: int, out_channels: int, dim_after_concat: int,
                 act_cfg: dict = dict(type='ReLU'),
                 upsample_cfg: dict | None = dict(type='nearest', scale_factor=2),
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', bn_eps: float = 1e-5,
                 with_spectral_norm: bool = True, input_is_label: bool = False,
                 auto_sync_bn: bool = True, channel_ratio: int = 4):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden_channels = in_channels // channel_ratio
        self.activation = MODELS.build(act_cfg)
        self.upsample_cfg = deepcopy(upsample_cfg)
        self.with_upsample = upsample_cfg is not None
        if self.with_upsample:
            self.upsample_layer = MODELS.build(self.upsample_cfg)
        bn_args = dict(sn_eps=sn_eps, sn_style=sn_style, bn_eps=bn_eps,
                       input_is_label=input_is_label, with_spectral_norm=with_spectral_norm,
                       auto_sync_bn=auto_sync_bn)
        hidden = self.hidden_channels
        self.bn1 = BigGANConditionBN(in_channels, dim_after_concat, **bn_args)
        self.bn2 = BigGANConditionBN(hidden, dim_after_concat, **bn_args)
        self.bn3 = BigGANConditionBN(hidden, dim_after_concat, **bn_args)
        self.bn4 = BigGANConditionBN(hidden, dim_after_concat, **bn_args)
        sn = dict(with_sn=with_spectral_norm, sn_eps=sn_eps, sn_style=sn_style, act_cfg=None,
                  stride=1)
        self.conv1 = _sn_conv(in_channels, hidden, kernel_size=1, padding=0, **sn)
        self.conv2 = _sn_conv(hidden, hidden, kernel_size=3, padding=1, **sn)
        self.conv3 = _sn_conv(hidden, hidden, kernel_size=3, padding=1, **sn)
        self.conv4 = _sn_conv(hidden, out_channels, kernel_size=1, padding=0, **sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        x0 = self.conv1(self.activation(self.bn1(x, y)))
        x0 = self.activation(self.bn2(x0, y))
        if self.in_channels != self.out_channels:
            x = x[:, :self.out_channels]  # the shortcut keeps the first out_channels channels
        if self.with_upsample:
            x0, x = self.upsample_layer(x0), self.upsample_layer(x)
        x0 = self.conv3(self.activation(self.bn3(self.conv2(x0), y)))
        x0 = self.conv4(self.activation(self.bn4(x0, y)))
        return x0 + x


@MODELS.register_module()
class BigGANDeepDiscResBlock(nn.Module):
    """Bottleneck block: (act-conv) 1x1 / 3x3 / 3x3, act, (avgpool), conv 1x1; the shortcut
    concatenates ``x`` with a 1x1 conv of it to ``out_channels`` channels.

    Example: dict(type='BigGANDeepDiscResBlock', in_channels=128, out_channels=256)
    """

    def __init__(self, in_channels: int, out_channels: int, channel_ratio: int = 4,
                 act_cfg: dict = dict(type='ReLU', inplace=False), sn_eps: float = 1e-6,
                 sn_style: str = 'ajbrock', with_downsample: bool = True,
                 with_spectral_norm: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden_channels = out_channels // channel_ratio
        self.activation = MODELS.build(act_cfg)
        self.with_downsample = with_downsample
        if with_downsample:
            self.downsample = nn.AvgPool2d(kernel_size=2, stride=2)
        self.learnable_sc = in_channels != out_channels
        sn = dict(with_sn=with_spectral_norm, sn_eps=sn_eps, sn_style=sn_style, stride=1)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels - in_channels, kernel_size=1,
                                     padding=0, act_cfg=None, **sn)
        hidden, pre_act = self.hidden_channels, dict(act_cfg=act_cfg, order=('act', 'conv', 'norm'))
        self.conv1 = _sn_conv(in_channels, hidden, kernel_size=1, padding=0, **pre_act, **sn)
        self.conv2 = _sn_conv(hidden, hidden, kernel_size=3, padding=1, **pre_act, **sn)
        self.conv3 = _sn_conv(hidden, hidden, kernel_size=3, padding=1, **pre_act, **sn)
        self.conv4 = _sn_conv(hidden, out_channels, kernel_size=1, padding=0, act_cfg=None, **sn)

    def forward_sc(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_downsample:
            x = self.downsample(x)
        if self.learnable_sc:
            x = torch.cat([x, self.shortcut(x)], dim=1)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.activation(self.conv3(self.conv2(self.conv1(x))))
        if self.with_downsample:
            x0 = self.downsample(x0)
        return self.conv4(x0) + self.forward_sc(x)


def _default_deep_gen_arch(output_scale: int, base_channels: int) -> dict:
    from .biggan import _default_gen_arch  # same channel plan as BigGAN
    return _default_gen_arch(output_scale, base_channels)


def _default_deep_disc_arch(input_scale: int, base_channels: int) -> dict:
    ins = {32: [4, 4, 4], 64: [1, 2, 4, 8], 128: [1, 2, 4, 8, 16], 256: [1, 2, 4, 8, 8, 16],
           512: [1, 1, 2, 4, 8, 8, 16]}
    outs = {32: [4, 4, 4], 64: [2, 4, 8, 16], 128: [2, 4, 8, 16, 16],
            256: [2, 4, 8, 8, 16, 16], 512: [1, 2, 4, 8, 8, 16, 16]}
    attention = {32: [], 64: [], 128: [0], 256: [1], 512: [3]}
    if input_scale not in ins:
        raise KeyError(f'input_scale={input_scale} has no default arch; use one of '
                       f'{sorted(ins)} or give arch_cfg')
    n = len(outs[input_scale])
    downsample = [True, True, False, False] if input_scale == 32 else [True] * n + [False]
    return dict(in_channels=[base_channels * f for f in ins[input_scale]],
                out_channels=[base_channels * f for f in outs[input_scale]],
                downsample=downsample, attention=[i in attention[input_scale]
                                                  for i in range(n + 1)])


@MODELS.register_module()
class BigGANDeepGenerator(BigGANNetBase):
    """BigGAN-Deep generator: noise (N, noise_size) [+ label] -> (N, 3, S, S) in [-1, 1].

    Example: dict(type='BigGANDeepGenerator', output_scale=128, noise_size=128,
                  num_classes=1000, base_channels=128, shared_dim=128, sn_style='torch',
                  concat_noise=True, init_cfg=dict(type='ortho'))
    """

    def __init__(self, output_scale: int, noise_size: int = 120, num_classes: int = 0,
                 out_channels: int = 3, base_channels: int = 96, block_depth: int = 2,
                 input_scale: int = 4, with_shared_embedding: bool = True, shared_dim: int = 128,
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', init_type: str | None = None,
                 concat_noise: bool = True, act_cfg: dict = dict(type='ReLU', inplace=False),
                 upsample_cfg: dict = dict(type='nearest', scale_factor=2),
                 with_spectral_norm: bool = True, auto_sync_bn: bool = True,
                 blocks_cfg: dict = dict(type='BigGANDeepGenResBlock'),
                 arch_cfg: dict | None = None, out_norm_cfg: dict = dict(type='BN'),
                 pretrained: str | dict | None = None, rgb2bgr: bool = False,
                 init_cfg: dict | None = None):
        super().__init__()
        self._setup_init(init_type, init_cfg, pretrained)
        self.noise_size, self.num_classes, self.shared_dim = noise_size, num_classes, shared_dim
        self.with_shared_embedding, self.output_scale = with_shared_embedding, output_scale
        self.arch = arch_cfg if arch_cfg else _default_deep_gen_arch(output_scale, base_channels)
        self.input_scale, self.concat_noise, self.block_depth = input_scale, concat_noise, block_depth
        self.rgb2bgr, self.sn_style = rgb2bgr, sn_style
        if num_classes == 0 and (with_shared_embedding or concat_noise):
            raise ValueError('BigGANDeepGenerator: num_classes=0 (unconditional) needs '
                             'with_shared_embedding=False and concat_noise=False')
        if num_classes > 0 and not with_shared_embedding and concat_noise:
            raise ValueError('BigGANDeepGenerator: concat_noise needs with_shared_embedding=True')
        in_features = noise_size + (shared_dim if concat_noise else 0)
        self.noise2feat = build_sn_linear(in_features, self.arch['in_channels'][0] * input_scale**2,
                                          True, with_spectral_norm, sn_style, sn_eps)
        self.shared_embedding = (nn.Embedding(num_classes, shared_dim) if with_shared_embedding
                                 else nn.Identity())
        if num_classes == 0:
            self.dim_after_concat = 0
        elif not with_shared_embedding:
            self.dim_after_concat = num_classes
        else:
            self.dim_after_concat = shared_dim + (noise_size if concat_noise else 0)
        self.blocks_cfg = deepcopy(blocks_cfg)
        self.blocks_cfg.update(dim_after_concat=self.dim_after_concat, act_cfg=act_cfg,
                               sn_eps=sn_eps, sn_style=sn_style,
                               input_is_label=num_classes > 0 and not with_shared_embedding,
                               with_spectral_norm=with_spectral_norm, auto_sync_bn=auto_sync_bn)
        self.conv_blocks = nn.ModuleList()
        for idx, out_ch in enumerate(self.arch['out_channels']):
            in_ch = self.arch['in_channels'][idx]
            for depth in range(block_depth):
                last = depth == block_depth - 1  # the last block changes channels / upsamples
                cfg = dict(self.blocks_cfg, in_channels=in_ch, out_channels=out_ch if last else in_ch,
                           upsample_cfg=upsample_cfg if self.arch['upsample'][idx] and last
                           else None)
                self.conv_blocks.append(MODELS.build(cfg, key_path=f'blocks_cfg[{idx}]'))
            if self.arch['attention'][idx]:
                self.conv_blocks.append(SelfAttentionBlock(
                    out_ch, with_spectral_norm=with_spectral_norm, sn_eps=sn_eps,
                    sn_style=sn_style))
        self.output_layer = _sn_conv(self.arch['out_channels'][-1], out_channels,
                                     with_spectral_norm, sn_eps, sn_style, kernel_size=3,
                                     padding=1, act_cfg=act_cfg, norm_cfg=out_norm_cfg, bias=True,
                                     order=('norm', 'act', 'conv'))

    def forward(self, noise: torch.Tensor | Callable | None, label=None, num_batches: int = 0,
                return_noise: bool = False, truncation: float = -1.0,
                use_outside_embedding: bool = False):
        """Images (N, C, S, S), or dict(fake_img, noise_batch, label) with ``return_noise``."""
        noise_batch, label_batch, class_vector = class_vector_and_noise(
            self, noise, label, num_batches, truncation, use_outside_embedding)
        if self.concat_noise:
            z = y = torch.cat([noise_batch, class_vector], dim=1)
        else:
            z, y = noise_batch, class_vector
        x = self.noise2feat(z)
        # TF layout of the converted weights: (N, s, s, C) -> (N, C, s, s)
        x = x.view(x.size(0), self.input_scale, self.input_scale, -1).permute(0, 3, 1, 2)
        x = x.contiguous()
        for block in self.conv_blocks:
            x = block(x) if isinstance(block, SelfAttentionBlock) else block(x, y)
        out_img = torch.tanh(self.output_layer(x))
        if self.rgb2bgr:
            out_img = out_img[:, [2, 1, 0], ...]
        if return_noise:
            return dict(fake_img=out_img, noise_batch=noise_batch, label=label_batch)
        return out_img


@MODELS.register_module()
class BigGANDeepDiscriminator(BigGANNetBase):
    """BigGAN-Deep discriminator: input conv -> ``block_depth`` bottleneck blocks per stage
    (+ attention) -> sum pool -> linear + class projection: (N, out_channels).

    Example: dict(type='BigGANDeepDiscriminator', input_scale=128, num_classes=1000,
                  base_channels=128, sn_style='torch', init_cfg=dict(type='ortho'))
    """

    def __init__(self, input_scale: int, num_classes: int = 0, in_channels: int = 3,
                 out_channels: int = 1, base_channels: int = 96, block_depth: int = 2,
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', init_type: str | None = None,
                 act_cfg: dict = dict(type='ReLU', inplace=False),
                 with_spectral_norm: bool = True,
                 blocks_cfg: dict = dict(type='BigGANDeepDiscResBlock'),
                 arch_cfg: dict | None = None, pretrained: str | dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__()
        self._setup_init(init_type, init_cfg, pretrained)
        self.num_classes, self.out_channels, self.input_scale = num_classes, out_channels, input_scale
        self.in_channels, self.base_channels, self.block_depth = (in_channels, base_channels,
                                                                  block_depth)
        self.arch = arch_cfg if arch_cfg else _default_deep_disc_arch(input_scale, base_channels)
        self.blocks_cfg = deepcopy(blocks_cfg)
        self.blocks_cfg.update(act_cfg=act_cfg, sn_eps=sn_eps, sn_style=sn_style,
                               with_spectral_norm=with_spectral_norm)
        self.input_conv = _sn_conv(in_channels, self.arch['in_channels'][0], with_spectral_norm,
                                   sn_eps, sn_style, kernel_size=3, padding=1, act_cfg=None)
        self.conv_blocks = nn.ModuleList()
        for idx, out_ch in enumerate(self.arch['out_channels']):
            for depth in range(block_depth):
                cfg = dict(self.blocks_cfg,
                           in_channels=self.arch['in_channels'][idx] if depth == 0 else out_ch,
                           out_channels=out_ch,
                           with_downsample=self.arch['downsample'][idx] and depth == 0)
                self.conv_blocks.append(MODELS.build(cfg, key_path=f'blocks_cfg[{idx}]'))
            if self.arch['attention'][idx]:
                self.conv_blocks.append(SelfAttentionBlock(
                    out_ch, with_spectral_norm=with_spectral_norm, sn_eps=sn_eps,
                    sn_style=sn_style))
        self.activate = MODELS.build(act_cfg)
        sn_decision_and_projection(self, self.arch['out_channels'][-1], out_channels,
                                   num_classes, with_spectral_norm, sn_style, sn_eps)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        x0 = self.input_conv(x)
        for block in self.conv_blocks:
            x0 = block(x0)
        return project_and_decide(self, x0, label)
