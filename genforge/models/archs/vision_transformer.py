"""Vision Transformer (MMPretrain ``VisionTransformer``) and its building blocks.

Submodule names follow MMPretrain/MMCV (``patch_embed.projection``, ``layers.N.ln1``,
``layers.N.attn.qkv``, ``layers.N.ffn.layers.0.0`` ..., ``ln1``), so MMPretrain checkpoints load
with ``strict=True``. A checkpoint or input of another image size gets its position embedding
resized (bicubic by default).
"""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from genforge.models.base_module import BaseModule, ModuleList
from genforge.models.layers import build_norm_layer
from genforge.models.layers.transformer import (
    PatchEmbed,
    TransformerEncoderLayer,
    resize_pos_embed,
    to_2tuple,
)
from genforge.registry import MODELS

__all__ = ['VisionTransformer']

logger = logging.getLogger(__name__)


def _arch(embed_dims: int, num_layers: int, num_heads: int, ffn: int) -> dict:
    return dict(embed_dims=embed_dims, num_layers=num_layers, num_heads=num_heads,
                feedforward_channels=ffn)


@MODELS.register_module()
class VisionTransformer(BaseModule):
    """ViT (MMPretrain ``VisionTransformer``).

    Args:
        arch: a name ('tiny', 'small', 'base', 'large', 'huge', 'deit-tiny', 'deit-small',
            'deit-base'; also 't', 's', 'b', 'l', 'h') or a dict with embed_dims, num_layers,
            num_heads, feedforward_channels.
        out_type: 'raw' (N, L, C) tokens | 'cls_token' (N, C) | 'featmap' (N, C, H', W') |
            'avg_featmap' (N, C): ``ln2`` of the mean patch token.
        final_norm: apply ``ln1`` after the last layer.
        interpolate_mode: how the position embedding is resized for other image sizes.

    Example: dict(type='VisionTransformer', arch='b', img_size=224, patch_size=16, drop_rate=0.1)
    """

    arch_zoo = {
        **dict.fromkeys(['t', 'tiny', 'deit-t', 'deit-tiny'], _arch(192, 12, 3, 768)),
        **dict.fromkeys(['s', 'small'], _arch(768, 8, 8, 768 * 3)),
        **dict.fromkeys(['b', 'base', 'deit-b', 'deit-base'], _arch(768, 12, 12, 3072)),
        **dict.fromkeys(['l', 'large'], _arch(1024, 24, 16, 4096)),
        **dict.fromkeys(['h', 'huge'], _arch(1280, 32, 16, 5120)),
        **dict.fromkeys(['deit-s', 'deit-small'], _arch(384, 12, 6, 1536)),
    }
    num_extra_tokens = 1  # the cls token
    OUT_TYPES = {'raw', 'cls_token', 'featmap', 'avg_featmap'}

    def __init__(self, arch: str | dict = 'base', img_size: int | Sequence[int] = 224,
                 patch_size: int = 16, in_channels: int = 3, out_indices: int | Sequence[int] = -1,
                 drop_rate: float = 0., drop_path_rate: float = 0., qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6), final_norm: bool = True,
                 out_type: str = 'cls_token', with_cls_token: bool = True,
                 frozen_stages: int = -1, interpolate_mode: str = 'bicubic',
                 layer_scale_init_value: float = 0., patch_cfg: dict = dict(),
                 layer_cfgs: dict | Sequence[dict] = dict(), pre_norm: bool = False,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg)
        self.arch_settings = self._parse_arch(arch)
        self.embed_dims = self.arch_settings['embed_dims']
        self.num_layers = self.arch_settings['num_layers']
        self.img_size = to_2tuple(img_size)
        self.patch_embed = PatchEmbed(**{**dict(in_channels=in_channels, input_size=img_size,
                                                embed_dims=self.embed_dims, conv_type='Conv2d',
                                                kernel_size=patch_size, stride=patch_size,
                                                bias=not pre_norm), **patch_cfg})
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'VisionTransformer: out_type={out_type!r}; use one of '
                             f'{sorted(self.OUT_TYPES)}')
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        elif out_type == 'cls_token':
            raise ValueError('VisionTransformer: out_type="cls_token" needs with_cls_token=True')
        else:
            self.cls_token = None
            self.num_extra_tokens = 0
        self.interpolate_mode = interpolate_mode
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        self.out_indices = self._parse_out_indices(out_indices)
        dpr = np.linspace(0, drop_path_rate, self.num_layers)
        self.layers = ModuleList()
        for i in range(self.num_layers):
            cfg = layer_cfgs[i] if isinstance(layer_cfgs, Sequence) else layer_cfgs
            self.layers.append(TransformerEncoderLayer(**{**dict(
                embed_dims=self.embed_dims, num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.arch_settings['feedforward_channels'],
                layer_scale_init_value=layer_scale_init_value, drop_rate=drop_rate,
                drop_path_rate=float(dpr[i]), qkv_bias=qkv_bias, norm_cfg=norm_cfg), **cfg}))
        self.frozen_stages = frozen_stages
        self.pre_norm = build_norm_layer(norm_cfg, self.embed_dims)[1] if pre_norm \
            else nn.Identity()
        self.final_norm = final_norm
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if out_type == 'avg_featmap':
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if frozen_stages > 0:
            self._freeze_stages()

    def _parse_arch(self, arch: str | dict) -> dict:
        if isinstance(arch, str):
            key = arch.lower()
            if key not in self.arch_zoo:
                raise KeyError(f'{type(self).__name__}: arch={arch!r} is unknown; use one of '
                               f'{sorted(self.arch_zoo)} or a dict')
            return dict(self.arch_zoo[key])
        needed = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'}
        if not isinstance(arch, dict) or not needed <= set(arch):
            raise KeyError(f'{type(self).__name__}: a custom arch must be a dict with keys '
                           f'{sorted(needed)}, got {arch!r}')
        return dict(arch)

    def _parse_out_indices(self, out_indices: int | Sequence[int]) -> list[int]:
        idx = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        out = [i + self.num_layers if i < 0 else i for i in idx]
        bad = [i for i in out if not 0 <= i < self.num_layers]
        if bad:
            raise ValueError(f'{type(self).__name__}: out_indices {idx} out of range for '
                             f'{self.num_layers} layers')
        return out

    @property
    def norm1(self) -> nn.Module:
        """``ln1`` under MMCV's ``norm1`` name (MMPretrain 0.x code calls it this way)."""
        return self.ln1

    @property
    def norm2(self) -> nn.Module:
        return self.ln2

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'
        if not pretrained and self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def _prepare_pos_embed(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Load hook: resize a checkpoint's position embedding to this model's patch grid."""
        name = prefix + 'pos_embed'
        if name not in state_dict:
            return
        ckpt = state_dict[name]
        if not self.with_cls_token and ckpt.shape[1] == self.pos_embed.shape[1] + 1:
            ckpt = ckpt[:, 1:]  # the checkpoint has a cls token this model does not use
        if ckpt.shape != self.pos_embed.shape:
            side = int(math.sqrt(ckpt.shape[1] - self.num_extra_tokens))
            logger.info('Resize the pos_embed shape from %s to %s.', tuple(ckpt.shape),
                        tuple(self.pos_embed.shape))
            ckpt = resize_pos_embed(ckpt, (side, side), self.patch_resolution,
                                    self.interpolate_mode, self.num_extra_tokens)
        state_dict[name] = ckpt

    def _freeze_stages(self) -> None:
        frozen: list[nn.Module] = [self.patch_embed, self.pre_norm, self.drop_after_pos]
        frozen += list(self.layers[:self.frozen_stages])
        if self.frozen_stages >= len(self.layers) and self.final_norm:
            frozen.append(self.ln1)
        for p in (self.pos_embed, self.cls_token):
            if p is not None:
                p.requires_grad = False
        for m in frozen:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True) -> VisionTransformer:
        super().train(mode)
        if self.frozen_stages > 0:
            self._freeze_stages()
        return self

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Patches + cls token + (resized) position embedding: (N, C, H, W) -> (N, L, D)."""
        B = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=self.num_extra_tokens)
        return self.pre_norm(self.drop_after_pos(x)), patch_resolution

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x, patch_resolution = self._embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        patch_token = x[:, self.num_extra_tokens:]
        if self.out_type == 'featmap':
            # (N, H'*W', C) -> (N, C, H', W')
            return patch_token.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_token.mean(dim=1))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> tuple[int, int]:
        """Layer id for layer-wise lr decay: embeddings 0, ``layers.N`` N + 1, the rest last."""
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_layers
        if name.startswith('layers.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers
