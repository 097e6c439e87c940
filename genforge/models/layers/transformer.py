"""Transformer building blocks (MMPretrain / MMCV names and state_dict layouts): patch embedding,
multi-head attention, FFN, LayerScale, stochastic depth (DropPath), the pre-norm encoder layer and
position-embedding resizing. Used by ViT, MAE and ResNet (DropPath)."""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

from .layer_builders import build_activation_layer, build_norm_layer

__all__ = ['DropPath', 'PatchEmbed', 'MultiheadAttention', 'FFN', 'LayerScale',
           'TransformerEncoderLayer', 'resize_pos_embed', 'to_2tuple']

logger = logging.getLogger(__name__)


def to_2tuple(x: int | Sequence[int]) -> tuple[int, int]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


@MODELS.register_module()
class DropPath(nn.Module):
    """Stochastic depth: zero whole samples of a residual branch with probability ``drop_prob``
    and rescale the kept ones by ``1 / (1 - drop_prob)``. Example: dict(type='DropPath',
    drop_prob=0.1)"""

    def __init__(self, drop_prob: float = 0.1):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0. or not self.training:
            return x
        keep = 1 - self.drop_prob
        shape = (x.shape[0], ) + (1, ) * (x.ndim - 1)  # one draw per sample
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask / keep


class PatchEmbed(BaseModule):
    """Image -> patch tokens with a strided conv (MMCV ``PatchEmbed``, padding='corner').

    Returns ``(tokens (N, H'*W', C), (H', W'))``; inputs not divisible by the patch size are
    zero-padded at bottom/right. ``init_out_size`` is (H', W') for ``input_size``.
    """

    def __init__(self, in_channels: int = 3, embed_dims: int = 768, conv_type: str = 'Conv2d',
                 kernel_size: int = 16, stride: int | None = 16, padding: int | str = 'corner',
                 dilation: int = 1, bias: bool = True, norm_cfg: dict | None = None,
                 input_size: int | Sequence[int] | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg)
        self.embed_dims = embed_dims
        k = to_2tuple(kernel_size)
        self.stride = to_2tuple(stride if stride is not None else kernel_size)
        self.dilation = to_2tuple(dilation)
        self.adaptive = padding in ('corner', 'same')
        if isinstance(padding, str) and not self.adaptive:
            raise ValueError(f"PatchEmbed: padding must be an int, 'corner' or 'same', got {padding!r}")
        self.projection = nn.Conv2d(in_channels, embed_dims, k, self.stride,
                                    0 if self.adaptive else padding, self.dilation, bias=bias)
        self.kernel_size = k
        self._pad = 0 if self.adaptive else padding
        if norm_cfg is not None:
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        else:
            self.norm = None
        self.init_input_size = to_2tuple(input_size) if input_size is not None else None
        self.init_out_size = None
        if input_size is not None:
            h, w = self._padded(self.init_input_size)
            self.init_out_size = (self._out(h, 0), self._out(w, 1))

    def _pad_amount(self, size: int, i: int) -> int:
        k, s, d = self.kernel_size[i], self.stride[i], self.dilation[i]
        out = math.ceil(size / s)
        return max((out - 1) * s + (k - 1) * d + 1 - size, 0)

    def _padded(self, hw: tuple[int, int]) -> tuple[int, int]:
        if not self.adaptive:
            return hw[0] + 2 * self._pad, hw[1] + 2 * self._pad
        return hw[0] + self._pad_amount(hw[0], 0), hw[1] + self._pad_amount(hw[1], 1)

    def _out(self, size: int, i: int) -> int:
        return (size - self.dilation[i] * (self.kernel_size[i] - 1) - 1) // self.stride[i] + 1

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        if self.adaptive:
            ph, pw = self._pad_amount(x.shape[-2], 0), self._pad_amount(x.shape[-1], 1)
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph))
        x = self.projection(x)
        out_size = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)  # (N, C, H', W') -> (N, H'*W', C)
        if self.norm is not None:
            x = self.norm(x)
        return x, out_size


class LayerScale(nn.Module):
    """Per-channel learnable scale ``x * weight`` (CaiT). Parameter name ``weight``."""

    def __init__(self, dim: int, layer_scale_init_value: float = 1e-5, inplace: bool = False):
        super().__init__()
        self.inplace = inplace
        self.weight = nn.Parameter(torch.ones(dim) * layer_scale_init_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul_(self.weight) if self.inplace else x * self.weight


class MultiheadAttention(BaseModule):
    """Self-attention with a fused ``qkv`` projection and ``proj`` output (MMPretrain layout)."""

    def __init__(self, embed_dims: int, num_heads: int, input_dims: int | None = None,
                 attn_drop: float = 0., proj_drop: float = 0., dropout_layer: dict | None = None,
                 qkv_bias: bool = True, qk_scale: float | None = None, proj_bias: bool = True,
                 v_shortcut: bool = False, layer_scale_init_value: float = 0.,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'MultiheadAttention: embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.input_dims = input_dims or embed_dims
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.v_shortcut = v_shortcut
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale or self.head_dims ** -0.5
        self.qkv = nn.Linear(self.input_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        drop_prob = (dropout_layer or {}).get('drop_prob', 0.)
        self.out_drop = DropPath(drop_prob) if drop_prob > 0 else nn.Identity()
        self.gamma1 = LayerScale(embed_dims, layer_scale_init_value) \
            if layer_scale_init_value > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, _ = x.shape
        # (B, N, 3*C) -> (3, B, heads, N, head_dims)
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        drop = self.attn_drop if self.training else 0.
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, scale=self.scale)
        x = x.transpose(1, 2).reshape(B, N, self.embed_dims)
        x = self.proj_drop(self.proj(x))
        x = self.out_drop(self.gamma1(x))
        if self.v_shortcut:
            x = v.squeeze(1) + x
        return x


class FFN(BaseModule):
    """MLP ``layers = [Sequential(Linear, act, Dropout), ..., Linear, Dropout]`` with residual
    (MMCV ``FFN``; keys ``layers.0.0`` and ``layers.1``)."""

    def __init__(self, embed_dims: int = 256, feedforward_channels: int = 1024, num_fcs: int = 2,
                 act_cfg: dict = dict(type='ReLU', inplace=True), ffn_drop: float = 0.,
                 dropout_layer: dict | None = None, add_identity: bool = True,
                 layer_scale_init_value: float = 0., init_cfg: dict | None = None):
        super().__init__(init_cfg)
        if num_fcs < 2:
            raise ValueError(f'FFN: num_fcs should be no less than 2, got {num_fcs}')
        self.embed_dims, self.feedforward_channels = embed_dims, feedforward_channels
        layers: list[nn.Module] = []
        in_ch = embed_dims
        for _ in range(num_fcs - 1):
            layers.append(nn.Sequential(nn.Linear(in_ch, feedforward_channels),
                                        build_activation_layer(act_cfg), nn.Dropout(ffn_drop)))
            in_ch = feedforward_channels
        layers += [nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop)]
        self.layers = nn.Sequential(*layers)
        drop_prob = (dropout_layer or {}).get('drop_prob', 0.)
        self.dropout_layer = DropPath(drop_prob) if drop_prob > 0 else nn.Identity()
        self.add_identity = add_identity
        self.gamma2 = LayerScale(embed_dims, layer_scale_init_value) \
            if layer_scale_init_value > 0 else nn.Identity()

    def forward(self, x: torch.Tensor, identity: torch.Tensor | None = None) -> torch.Tensor:
        out = self.gamma2(self.layers(x))
        if not self.add_identity:
            return self.dropout_layer(out)
        return (x if identity is None else identity) + self.dropout_layer(out)


class TransformerEncoderLayer(BaseModule):
    """Pre-norm encoder block: ``x + attn(ln1(x))`` then ``x + ffn(ln2(x))``.

    Example: TransformerEncoderLayer(embed_dims=64, num_heads=4, feedforward_channels=256)
    """

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 layer_scale_init_value: float = 0., drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., num_fcs: int = 2,
                 qkv_bias: bool = True, ffn_type: str = 'origin',
                 act_cfg: dict = dict(type='GELU'), norm_cfg: dict = dict(type='LN'),
                 init_cfg: dict | None = None):
        super().__init__(init_cfg)
        if ffn_type != 'origin':
            raise NotImplementedError(f"TransformerEncoderLayer: ffn_type={ffn_type!r}; only "
                                      f"'origin' is supported")
        self.embed_dims = embed_dims
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = MultiheadAttention(embed_dims, num_heads, attn_drop=attn_drop_rate,
                                       proj_drop=drop_rate,
                                       dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
                                       qkv_bias=qkv_bias,
                                       layer_scale_init_value=layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims, feedforward_channels, num_fcs, act_cfg=act_cfg,
                       ffn_drop=drop_rate,
                       dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
                       layer_scale_init_value=layer_scale_init_value)

    @property
    def norm1(self) -> nn.Module:
        return self.ln1

    @property
    def norm2(self) -> nn.Module:
        return self.ln2

    def init_weights(self) -> None:
        super().init_weights()
        for m in self.ffn.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


def resize_pos_embed(pos_embed: torch.Tensor, src_shape: Sequence[int], dst_shape: Sequence[int],
                     mode: str = 'bicubic', num_extra_tokens: int = 1) -> torch.Tensor:
    """Resize a (1, extra + H*W, C) position embedding from grid ``src_shape`` to ``dst_shape``;
    the extra (cls) tokens are kept as they are."""
    if tuple(src_shape) == tuple(dst_shape):
        return pos_embed
    if pos_embed.ndim != 3:
        raise ValueError(f'resize_pos_embed: expected (1, L, C), got {tuple(pos_embed.shape)}')
    _, length, c = pos_embed.shape
    src_h, src_w = src_shape
    if length != src_h * src_w + num_extra_tokens:
        raise ValueError(f'resize_pos_embed: length {length} != {src_h}*{src_w}+'
                         f'{num_extra_tokens}; check src_shape / num_extra_tokens')
    extra = pos_embed[:, :num_extra_tokens]
    grid = pos_embed[:, num_extra_tokens:].reshape(1, src_h, src_w, c).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=tuple(dst_shape), align_corners=False, mode=mode)
    grid = grid.flatten(2).transpose(1, 2).to(pos_embed.dtype)  # (1, C, h, w) -> (1, h*w, C)
    return torch.cat((extra, grid), dim=1)
