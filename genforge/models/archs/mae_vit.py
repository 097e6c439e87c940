"""MAEViT: the ViT encoder of MAE pre-training (MMPretrain ``MAEViT``)."""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from genforge.registry import MODELS

from .vision_transformer import VisionTransformer

__all__ = ['MAEViT', 'build_2d_sincos_position_embedding']


def build_2d_sincos_position_embedding(patches_resolution: int | Sequence[int], embed_dims: int,
                                       temperature: float = 10000., cls_token: bool = False
                                       ) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding, (1, [1 +] H*W, embed_dims) (MoCo v3 / MAE)."""
    h, w = (patches_resolution, ) * 2 if isinstance(patches_resolution, int) \
        else patches_resolution
    if embed_dims % 4:
        raise ValueError(f'embed_dims={embed_dims} must be divisible by 4 for 2-D sin-cos '
                         f'position embedding')
    grid_w, grid_h = torch.meshgrid(torch.arange(w, dtype=torch.float32),
                                    torch.arange(h, dtype=torch.float32), indexing='ij')
    pos_dim = embed_dims // 4
    omega = 1. / (temperature ** (torch.arange(pos_dim, dtype=torch.float32) / pos_dim))
    out_w = torch.einsum('m,d->md', grid_w.flatten(), omega)
    out_h = torch.einsum('m,d->md', grid_h.flatten(), omega)
    pos = torch.cat([out_w.sin(), out_w.cos(), out_h.sin(), out_h.cos()], dim=1)[None]
    if cls_token:
        pos = torch.cat([torch.zeros(1, 1, embed_dims), pos], dim=1)
    return pos


@MODELS.register_module()
class MAEViT(VisionTransformer):
    """ViT that encodes only a random ``1 - mask_ratio`` share of the patches.

    ``forward(x)`` returns ``(latent (N, 1 + L_keep, C), mask (N, L) with 1 = removed,
    ids_restore (N, L))``; ``forward(x, mask=None)`` is the plain ViT forward. The position
    embedding is a fixed 2-D sin-cos table.

    Example: dict(type='MAEViT', arch='b', patch_size=16, mask_ratio=0.75)
    """

    def __init__(self, arch: str | dict = 'b', img_size: int = 224, patch_size: int = 16,
                 out_indices: int | Sequence[int] = -1, drop_rate: float = 0,
                 drop_path_rate: float = 0, norm_cfg: dict = dict(type='LN', eps=1e-6),
                 final_norm: bool = True, out_type: str = 'raw',
                 interpolate_mode: str = 'bicubic', patch_cfg: dict = dict(),
                 layer_cfgs: dict = dict(), mask_ratio: float = 0.75,
                 init_cfg: dict | list | None = None):
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size,
                         out_indices=out_indices, drop_rate=drop_rate,
                         drop_path_rate=drop_path_rate, norm_cfg=norm_cfg, final_norm=final_norm,
                         out_type=out_type, with_cls_token=True,
                         interpolate_mode=interpolate_mode, patch_cfg=patch_cfg,
                         layer_cfgs=layer_cfgs, init_cfg=init_cfg)
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'MAEViT: mask_ratio must be in [0, 1), got {mask_ratio}')
        # the position embedding is a fixed sin-cos table during pre-training
        self.pos_embed.requires_grad = False
        self.mask_ratio = mask_ratio
        self.num_patches = self.patch_resolution[0] * self.patch_resolution[1]

    def init_weights(self) -> None:
        super().init_weights()
        pos = build_2d_sincos_position_embedding(self.patch_resolution, self.pos_embed.shape[-1],
                                                 cls_token=True)
        self.pos_embed.data.copy_(pos.float())
        w = self.patch_embed.projection.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))  # as a Linear layer
        nn.init.normal_(self.cls_token, std=.02)

    def random_masking(self, x: torch.Tensor, mask_ratio: float = 0.75
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Keep a random ``int(L * (1 - mask_ratio))`` tokens of each sample.

        x: (N, L, D) -> (x_kept (N, L_keep, D), mask (N, L) 0 = kept / 1 = removed,
        ids_restore (N, L) that undoes the shuffle: ``shuffled.gather(1, ids_restore) = orig``).
        """
        N, L, D = x.shape
        len_keep = int(L * (1 - mask_ratio))
        noise = torch.rand(N, L, device=x.device)
        ids_shuffle = torch.argsort(noise, dim=1)  # ascending: small noise is kept
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :len_keep]
        x_masked = torch.gather(x, 1, ids_keep.unsqueeze(-1).repeat(1, 1, D))
        mask = torch.ones(N, L, device=x.device)
        mask[:, :len_keep] = 0
        mask = torch.gather(mask, 1, ids_restore)  # back to the original patch order
        return x_masked, mask, ids_restore

    def forward(self, x: torch.Tensor, mask: bool | None = True
                ) -> tuple[torch.Tensor, ...]:
        if mask is None or mask is False:
            return super().forward(x)
        B = x.shape[0]
        x = self.patch_embed(x)[0]
        x = x + self.pos_embed[:, 1:, :]  # position embedding without the cls token
        x, mask, ids_restore = self.random_masking(x, self.mask_ratio)
        cls_tokens = (self.cls_token + self.pos_embed[:, :1, :]).expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        for layer in self.layers:
            x = layer(x)
        if self.final_norm:
            x = self.ln1(x)
        return x, mask, ids_restore
