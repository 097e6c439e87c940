"""Swin Transformer blocks as SwinIR uses them (Liang et al., 2021), with the submodule names of the
official SwinIR code and MMagic 1.2's ``SwinIRNet``, so their state_dicts load strictly.

Tokens are (B, L, C) with L = H * W in row-major order; ``x_size`` = (H, W) travels beside them
because SwinIR runs on any image size (the padded input size, not ``img_size``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as checkpoint
from torch import nn

from .transformer import DropPath, to_2tuple

__all__ = ['window_partition', 'window_reverse', 'relative_position_index', 'shifted_window_mask',
           'WindowAttention', 'SwinTransformerBlock', 'BasicLayer', 'SwinIRPatchEmbed',
           'SwinIRPatchUnEmbed', 'RSTB', 'SwinIRUpsample', 'UpsampleOneStep', 'pad_to_multiple',
           'build_resi_connection']

# Added to the logits of token pairs that a shifted window joins across the image border. The
# official code uses -100 (not -inf) so that fp16 stays finite; kept for identical outputs.
MASK_VALUE = -100.0


def window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * nW, ws, ws, C), windows in row-major order."""
    b, h, w, c = x.shape
    x = x.view(b, h // window_size, window_size, w // window_size, window_size, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window_size, window_size, c)


def window_reverse(windows: torch.Tensor, window_size: int, h: int, w: int) -> torch.Tensor:
    """(B * nW, ws, ws, C) -> (B, H, W, C): the inverse of :func:`window_partition`."""
    b = windows.shape[0] // ((h // window_size) * (w // window_size))
    x = windows.view(b, h // window_size, w // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, -1)


def relative_position_index(window_size: tuple[int, int]) -> torch.Tensor:
    """(N, N) index into the (2Wh-1)*(2Ww-1) bias table for query i, key j (N = Wh * Ww)."""
    wh, ww = window_size
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing='ij'))
    coords = coords.flatten(1)  # (2, N)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 2): query - key
    rel[:, :, 0] += wh - 1  # shift to start from 0
    rel[:, :, 1] += ww - 1
    return rel[:, :, 0] * (2 * ww - 1) + rel[:, :, 1]


def shifted_window_mask(h: int, w: int, window_size: int, shift_size: int) -> torch.Tensor:
    """(nW, N, N) additive mask for the shifted windows of an (h, w) map: 0 where query and key
    come from the same image region before the cyclic shift, ``MASK_VALUE`` where they do not."""
    region = torch.zeros(1, h, w, 1)
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    label = 0
    for hs in slices:
        for ws in slices:
            region[:, hs, ws, :] = label
            label += 1
    regions = window_partition(region, window_size).view(-1, window_size * window_size)
    mask = regions.unsqueeze(1) - regions.unsqueeze(2)  # (nW, N, N), nonzero across regions
    return mask.masked_fill(mask != 0, MASK_VALUE)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside (ws, ws) windows with a learned relative position bias.

    x: (B * nW, N, C) -> same shape; ``mask``: (nW, N, N) additive, or None.
    State: ``relative_position_bias_table`` ((2Wh-1)(2Ww-1), heads), the ``relative_position_index``
    buffer (persistent, as in the official code), ``qkv`` and ``proj`` Linear layers.
    """

    def __init__(self, dim: int, window_size: tuple[int, int], num_heads: int,
                 qkv_bias: bool = True, qk_scale: float | None = None, attn_drop: float = 0.,
                 proj_drop: float = 0.):
        super().__init__()
        self.dim = dim
        self.window_size = window_size
        self.num_heads = num_heads
        self.scale = qk_scale or (dim // num_heads)**-0.5
        table_size = (2 * window_size[0] - 1) * (2 * window_size[1] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(table_size, num_heads))
        self.register_buffer('relative_position_index', relative_position_index(window_size))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=.02)

    def relative_bias(self) -> torch.Tensor:
        """(heads, N, N) bias for query i, key j."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, -1).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b_, n, c = x.shape
        # (B_, N, 3C) -> (3, B_, heads, N, C / heads)
        qkv = self.qkv(x).reshape(b_, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = q @ k.transpose(-2, -1) + self.relative_bias().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(b_ // nw, nw, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(b_, n, c)
        return self.proj_drop(self.proj(x))


class Mlp(nn.Module):
    """fc1 -> GELU -> dropout -> fc2 -> dropout (names as in the official code)."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinTransformerBlock(nn.Module):
    """Pre-norm (shifted-)window attention + MLP, both residual. x: (B, H*W, C) -> same.

    ``input_resolution`` is the training patch size: its shifted-window mask is precomputed into
    the ``attn_mask`` buffer (persistent, so it is part of released state_dicts); other sizes
    compute their mask on the fly. When the resolution is not larger than the window, the window
    shrinks to it and does not shift (as in the official code).
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], num_heads: int,
                 window_size: int = 7, shift_size: int = 0, mlp_ratio: float = 4.,
                 qkv_bias: bool = True, qk_scale: float | None = None, drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0., norm_layer: type = nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.input_resolution = tuple(input_resolution)
        self.num_heads = num_heads
        if min(self.input_resolution) <= window_size:
            window_size, shift_size = min(self.input_resolution), 0
        if not 0 <= shift_size < window_size:
            raise ValueError(f'SwinTransformerBlock: shift_size={shift_size} must be in '
                             f'[0, window_size={window_size})')
        self.window_size = window_size
        self.shift_size = shift_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, to_2tuple(window_size), num_heads, qkv_bias, qk_scale,
                                    attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        mask = shifted_window_mask(*self.input_resolution, window_size, shift_size) \
            if shift_size > 0 else None
        self.register_buffer('attn_mask', mask)  # a None buffer is not in the state_dict

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        h, w = x_size
        b, _, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, h, w, c)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        windows = window_partition(x, self.window_size).view(-1, self.window_size**2, c)
        mask = None
        if self.shift_size > 0:
            mask = self.attn_mask if tuple(x_size) == self.input_resolution else \
                shifted_window_mask(h, w, self.window_size, self.shift_size).to(x)
        windows = self.attn(windows, mask=mask).view(-1, self.window_size, self.window_size, c)
        x = window_reverse(windows, self.window_size, h, w)
        if self.shift_size > 0:
            x = torch.roll(x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        x = shortcut + self.drop_path(x.reshape(b, h * w, c))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    """``depth`` Swin blocks, alternately unshifted and shifted by half a window (``blocks``)."""

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int,
                 window_size: int, mlp_ratio: float = 4., qkv_bias: bool = True,
                 qk_scale: float | None = None, drop: float = 0., attn_drop: float = 0.,
                 drop_path: float | Sequence[float] = 0., norm_layer: type = nn.LayerNorm,
                 use_checkpoint: bool = False):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList([
            SwinTransformerBlock(
                dim, input_resolution, num_heads, window_size,
                shift_size=0 if i % 2 == 0 else window_size // 2, mlp_ratio=mlp_ratio,
                qkv_bias=qkv_bias, qk_scale=qk_scale, drop=drop, attn_drop=attn_drop,
                drop_path=drop_path[i] if isinstance(drop_path, Sequence) else drop_path,
                norm_layer=norm_layer) for i in range(depth)
        ])

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        for blk in self.blocks:
            if self.use_checkpoint and x.requires_grad:
                x = checkpoint.checkpoint(blk, x, x_size, use_reentrant=False)
            else:
                x = blk(x, x_size)
        return x


class SwinIRPatchEmbed(nn.Module):
    """(B, C, H, W) -> (B, H*W, C) tokens, optionally layer-normed (``norm``). SwinIR uses patch
    size 1, so there is no projection: the conv before it already embeds."""

    def __init__(self, embed_dim: int, norm_layer: type | None = None):
        super().__init__()
        self.embed_dim = embed_dim
        self.norm = norm_layer(embed_dim) if norm_layer is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, H*W, C)
        return self.norm(x) if self.norm is not None else x


class SwinIRPatchUnEmbed(nn.Module):
    """(B, H*W, C) tokens -> (B, C, H, W); no parameters."""

    def __init__(self, embed_dim: int):
        super().__init__()
        self.embed_dim = embed_dim

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.shape[0], self.embed_dim, x_size[0], x_size[1])


def build_resi_connection(dim: int, resi_connection: str) -> nn.Module:
    """The conv closing a residual group: one 3x3, or 3x3 -> 1x1 -> 3x3 at dim/4 (saves params)."""
    if resi_connection == '1conv':
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if resi_connection == '3conv':
        return nn.Sequential(
            nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim // 4, 1, 1, 0), nn.LeakyReLU(negative_slope=0.2, inplace=True),
            nn.Conv2d(dim // 4, dim, 3, 1, 1))
    raise ValueError(f"SwinIRNet: resi_connection={resi_connection!r}; use '1conv' or '3conv'")


class RSTB(nn.Module):
    """Residual Swin Transformer Block: Swin blocks -> conv on the image grid -> + input.

    x: (B, H*W, C) -> same. Children: ``residual_group`` (BasicLayer), ``conv``, and the
    parameter-free ``patch_embed``/``patch_unembed``.
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int,
                 window_size: int, mlp_ratio: float = 4., qkv_bias: bool = True,
                 qk_scale: float | None = None, drop: float = 0., attn_drop: float = 0.,
                 drop_path: float | Sequence[float] = 0., norm_layer: type = nn.LayerNorm,
                 use_checkpoint: bool = False, resi_connection: str = '1conv'):
        super().__init__()
        self.residual_group = BasicLayer(dim, input_resolution, depth, num_heads, window_size,
                                         mlp_ratio, qkv_bias, qk_scale, drop, attn_drop,
                                         drop_path, norm_layer, use_checkpoint)
        self.conv = build_resi_connection(dim, resi_connection)
        self.patch_embed = SwinIRPatchEmbed(dim)
        self.patch_unembed = SwinIRPatchUnEmbed(dim)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        y = self.patch_unembed(self.residual_group(x, x_size), x_size)
        return self.patch_embed(self.conv(y)) + x


class SwinIRUpsample(nn.Sequential):
    """Classical-SR upsampler: (conv to 4C, pixel shuffle x2) * log2(scale), or one x3 step."""

    def __init__(self, scale: int, num_feat: int):
        layers: list[nn.Module] = []
        if scale > 0 and scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        else:
            raise ValueError(f'SwinIRNet: upscale={scale} is not supported by the pixelshuffle '
                             'upsampler; use 2^n or 3')
        super().__init__(*layers)


class UpsampleOneStep(nn.Sequential):
    """Lightweight-SR upsampler: one conv straight to out_ch * scale^2, one pixel shuffle."""

    def __init__(self, scale: int, num_feat: int, num_out_ch: int):
        super().__init__(nn.Conv2d(num_feat, scale**2 * num_out_ch, 3, 1, 1), nn.PixelShuffle(scale))


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom/right of (B, C, H, W) to multiples of ``multiple``."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    if pad_h >= h or pad_w >= w:  # reflect needs pad < size; replicate the rest
        return F.pad(x, (0, pad_w, 0, pad_h), 'replicate')
    return F.pad(x, (0, pad_w, 0, pad_h), 'reflect')
