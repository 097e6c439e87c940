"""Blocks of the denoising U-Net (Improved DDPM), with MMagic 1.2's submodule names.

Submodule names are part of the checkpoint format: ``TimeEmbedding.blocks.{0,2}``,
``DenoisingResBlock.conv_1.{0,2}`` / ``norm_with_embedding.{norm,embedding_layer.1}`` /
``conv_2.2`` / ``shortcut``, ``MultiHeadAttention.{norm,qkv,proj}``,
``DenoisingDownsample.downsample``, ``DenoisingUpsample.conv``.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.registry import MODELS

from .layer_builders import build_activation_layer, build_norm_layer

__all__ = ['EmbedSequential', 'TimeEmbedding', 'NormWithEmbedding', 'DenoisingResBlock',
           'DenoisingDownsample', 'DenoisingUpsample', 'MultiHeadAttention', 'GroupNorm32',
           'sinusoidal_embedding']


def sinusoidal_embedding(timesteps: Tensor, dim: int, max_period: float = 10000) -> Tensor:
    """``[cos(t * f_i), sin(t * f_i)]`` with ``f_i = max_period^(-i / (dim // 2))``.

    timesteps (N,) -> (N, dim); an odd ``dim`` gets a zero last column.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period)
                      * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half)
    args = timesteps[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


@MODELS.register_module('GN32')
class GroupNorm32(nn.GroupNorm):
    """GroupNorm computed in float32 (for half-precision models). Example: dict(type='GN32')"""

    def __init__(self, num_channels: int, num_groups: int = 32, **kwargs):
        super().__init__(num_groups, num_channels, **kwargs)

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        return super().forward(x.float()).type(x.dtype)


def _build_act(act_cfg: dict) -> nn.Module:
    return build_activation_layer(copy.deepcopy(act_cfg))


class EmbedSequential(nn.Sequential):
    """``nn.Sequential`` that also hands the (time + label) embedding to the res blocks."""

    def forward(self, x: Tensor, y: Tensor) -> Tensor:  # noqa: D102
        for layer in self:
            x = layer(x, y) if isinstance(layer, DenoisingResBlock) else layer(x)
        return x


@MODELS.register_module()
class TimeEmbedding(nn.Module):
    """Sinusoidal timestep code -> Linear -> act -> Linear. t (N,) -> (N, embedding_channels).

    Example: dict(type='TimeEmbedding', in_channels=128, embedding_channels=512)
    """

    def __init__(self, in_channels: int, embedding_channels: int, embedding_mode: str = 'sin',
                 embedding_cfg: dict | None = None,
                 act_cfg: dict = dict(type='SiLU', inplace=False)):
        super().__init__()
        if embedding_mode.upper() != 'SIN':
            raise ValueError(f"time_embedding_mode={embedding_mode!r}: only 'sin' is supported")
        self.blocks = nn.Sequential(nn.Linear(in_channels, embedding_channels),
                                    _build_act(act_cfg),
                                    nn.Linear(embedding_channels, embedding_channels))
        self.embedding_cfg = dict(dim=in_channels, **(embedding_cfg or {}))

    def forward(self, t: Tensor) -> Tensor:  # noqa: D102
        return self.blocks(sinusoidal_embedding(t, **self.embedding_cfg))


@MODELS.register_module()
class NormWithEmbedding(nn.Module):
    """Norm conditioned on an embedding: ``norm(x) * (1 + scale) + shift`` when
    ``use_scale_shift`` (scale, shift from the embedding), else ``norm(x + emb)``.

    Example: dict(type='NormWithEmbedding', in_channels=64, embedding_channels=256)
    """

    def __init__(self, in_channels: int, embedding_channels: int,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='SiLU', inplace=False), use_scale_shift: bool = True):
        super().__init__()
        self.use_scale_shift = use_scale_shift
        _, self.norm = build_norm_layer(copy.deepcopy(norm_cfg), in_channels)
        out = in_channels * 2 if use_scale_shift else in_channels
        self.embedding_layer = nn.Sequential(_build_act(act_cfg),
                                             nn.Linear(embedding_channels, out))

    def forward(self, x: Tensor, y: Tensor) -> Tensor:  # noqa: D102
        emb = self.embedding_layer(y).type(x.dtype)[:, :, None, None]  # (N, C', 1, 1)
        if self.use_scale_shift:
            scale, shift = torch.chunk(emb, 2, dim=1)
            return self.norm(x) * (1 + scale) + shift
        return self.norm(x + emb)


@MODELS.register_module()
class DenoisingDownsample(nn.Module):
    """Halve H and W: stride-2 3x3 conv (``with_conv``) or 2x2 average pooling.

    Example: dict(type='DenoisingDownsample', in_channels=64, with_conv=True)
    """

    def __init__(self, in_channels: int, with_conv: bool = True):
        super().__init__()
        self.downsample = nn.Conv2d(in_channels, in_channels, 3, 2, 1) if with_conv \
            else nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        return self.downsample(x)


@MODELS.register_module()
class DenoisingUpsample(nn.Module):
    """Double H and W: nearest interpolation, then a 3x3 conv when ``with_conv``.

    Example: dict(type='DenoisingUpsample', in_channels=64, with_conv=True)
    """

    def __init__(self, in_channels: int, with_conv: bool = True):
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(in_channels, in_channels, 3, 1, 1)

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        x = F.interpolate(x, scale_factor=2, mode='nearest')
        return self.conv(x) if self.with_conv else x


@MODELS.register_module()
class DenoisingResBlock(nn.Module):
    """Res block with the embedding injected between its two convs.

    x (N, in_channels, H, W), y (N, embedding_channels) -> (N, out_channels, H', W'); ``up`` /
    ``down`` resample both branches (H' = 2H / H/2). The second conv starts at zero, so a fresh
    block is the identity (or its shortcut conv).

    Example: dict(type='DenoisingResBlock', in_channels=64, out_channels=128,
                  embedding_channels=256, use_scale_shift_norm=True, dropout=0.1)
    """

    def __init__(self, in_channels: int, embedding_channels: int, use_scale_shift_norm: bool,
                 dropout: float, out_channels: int | None = None,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='SiLU', inplace=False),
                 shortcut_kernel_size: int = 1, up: bool = False, down: bool = False):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if shortcut_kernel_size not in (1, 3):
            raise ValueError(f'shortcut_kernel_size={shortcut_kernel_size}: use 1 or 3')
        _, norm_1 = build_norm_layer(copy.deepcopy(norm_cfg), in_channels)
        self.conv_1 = nn.Sequential(norm_1, _build_act(act_cfg),
                                    nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.norm_with_embedding = NormWithEmbedding(out_channels, embedding_channels,
                                                     norm_cfg=norm_cfg,
                                                     use_scale_shift=use_scale_shift_norm)
        self.conv_2 = nn.Sequential(_build_act(act_cfg), nn.Dropout(dropout),
                                    nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.learnable_shortcut = out_channels != in_channels
        if self.learnable_shortcut:
            self.shortcut = nn.Conv2d(in_channels, out_channels, shortcut_kernel_size,
                                      padding=shortcut_kernel_size // 2)
        self.updown = up or down
        if up:
            self.h_upd, self.x_upd = DenoisingUpsample(in_channels, False), \
                DenoisingUpsample(in_channels, False)
        elif down:
            self.h_upd, self.x_upd = DenoisingDownsample(in_channels, False), \
                DenoisingDownsample(in_channels, False)
        nn.init.zeros_(self.conv_2[-1].weight)
        nn.init.zeros_(self.conv_2[-1].bias)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:  # noqa: D102
        if self.updown:
            # resample after norm + act but before the conv (Improved DDPM's order)
            h = self.h_upd(self.conv_1[:-1](x))
            x = self.x_upd(x)
            h = self.conv_1[-1](h)
        else:
            h = self.conv_1(x)
        shortcut = self.shortcut(x) if self.learnable_shortcut else x
        h = self.conv_2(self.norm_with_embedding(h, y))
        return h + shortcut


@MODELS.register_module()
class MultiHeadAttention(nn.Module):
    """Self-attention over all H*W positions, heads split before q/k/v (Improved DDPM's order).

    x (N, C, H, W) -> (N, C, H, W), residual; ``proj`` starts at zero.

    Example: dict(type='MultiHeadAttention', in_channels=128, num_heads=4,
                  norm_cfg=dict(type='GN', num_groups=32))
    """

    def __init__(self, in_channels: int, num_heads: int = 1,
                 norm_cfg: dict = dict(type='GN', num_groups=32)):
        super().__init__()
        if in_channels % num_heads:
            raise ValueError(f'attention: in_channels={in_channels} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        _, self.norm = build_norm_layer(copy.deepcopy(norm_cfg), in_channels)
        self.qkv = nn.Conv1d(in_channels, in_channels * 3, 1)
        self.proj = nn.Conv1d(in_channels, in_channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    @staticmethod
    def qkv_attention(qkv: Tensor) -> Tensor:
        """(B, 3 * c, T) -> (B, c, T): softmax(q^T k / sqrt(c)) applied to v."""
        channel = qkv.shape[1] // 3
        q, k, v = torch.chunk(qkv, 3, dim=1)
        # scale q and k separately: more stable in half precision than dividing afterwards
        scale = 1 / math.sqrt(math.sqrt(channel))
        weight = torch.einsum('bct,bcs->bts', q * scale, k * scale)
        weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
        return torch.einsum('bts,bcs->bct', weight, v)

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)  # (N, C, H*W)
        qkv = self.qkv(self.norm(x))
        qkv = qkv.reshape(b * self.num_heads, -1, qkv.shape[2])  # (N*heads, 3C/heads, H*W)
        h = self.qkv_attention(qkv).reshape(b, -1, qkv.shape[-1])
        return (self.proj(h) + x).reshape(b, c, *spatial)
