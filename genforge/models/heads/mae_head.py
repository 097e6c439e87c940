"""MAE pre-training decoder (MMPretrain's ``MAEPretrainDecoder`` neck) and loss head."""
# ruff: noqa: B006  (MMPretrain's signatures default to dict configs; they are never mutated)
from __future__ import annotations

import torch
from torch import nn

from genforge.models.archs.mae_vit import build_2d_sincos_position_embedding
from genforge.models.base_module import BaseModule
from genforge.models.layers import build_norm_layer
from genforge.models.layers.transformer import TransformerEncoderLayer
from genforge.registry import MODELS

__all__ = ['MAEPretrainDecoder', 'MAEPretrainHead']


@MODELS.register_module()
class MAEPretrainDecoder(BaseModule):
    """Lightweight ViT decoder: fills removed patches with ``mask_token``, restores the patch
    order and predicts each patch's pixels. ``forward(latent (N, 1 + L_keep, C), ids_restore
    (N, L)) -> (N, L, patch_size**2 * in_chans)``.

    Example: dict(type='MAEPretrainDecoder', patch_size=16, in_chans=3, embed_dim=768,
                  decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16, mlp_ratio=4.)
    """

    def __init__(self, num_patches: int = 196, patch_size: int = 16, in_chans: int = 3,
                 embed_dim: int = 1024, decoder_embed_dim: int = 512, decoder_depth: int = 8,
                 decoder_num_heads: int = 16, mlp_ratio: float = 4.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 predict_feature_dim: int | None = None, init_cfg: dict | list | None = None):
        super().__init__(init_cfg)
        self.num_patches = num_patches
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim, bias=True)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        # fixed sin-cos table, not learned
        self.decoder_pos_embed = nn.Parameter(
            torch.zeros(1, num_patches + 1, decoder_embed_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList([
            TransformerEncoderLayer(decoder_embed_dim, decoder_num_heads,
                                    int(mlp_ratio * decoder_embed_dim), qkv_bias=True,
                                    norm_cfg=norm_cfg) for _ in range(decoder_depth)])
        self.decoder_norm_name, decoder_norm = build_norm_layer(norm_cfg, decoder_embed_dim,
                                                                postfix=1)
        self.add_module(self.decoder_norm_name, decoder_norm)
        self.decoder_pred = nn.Linear(decoder_embed_dim,
                                      predict_feature_dim or patch_size ** 2 * in_chans, bias=True)

    @property
    def decoder_norm(self) -> nn.Module:
        return getattr(self, self.decoder_norm_name)

    def init_weights(self) -> None:
        super().init_weights()
        side = int(self.num_patches ** .5)
        pos = build_2d_sincos_position_embedding(side, self.decoder_pos_embed.shape[-1],
                                                 cls_token=True)
        self.decoder_pos_embed.data.copy_(pos.float())
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(x)
        n_missing = ids_restore.shape[1] + 1 - x.shape[1]
        mask_tokens = self.mask_token.repeat(x.shape[0], n_missing, 1)
        x_ = torch.cat([x[:, 1:, :], mask_tokens], dim=1)  # kept patches, then mask tokens
        # unshuffle: (N, L, D) back to the original patch order
        x_ = torch.gather(x_, dim=1, index=ids_restore.unsqueeze(-1).repeat(1, 1, x.shape[2]))
        x = torch.cat([x[:, :1, :], x_], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        x = self.decoder_pred(self.decoder_norm(x))
        return x[:, 1:, :]  # drop the cls token


@MODELS.register_module()
class MAEPretrainHead(BaseModule):
    """Reconstruction target (optionally per-patch normalised pixels) and masked loss.

    Example: dict(type='MAEPretrainHead', norm_pix=True, patch_size=16,
                  loss=dict(type='PixelReconstructionLoss', criterion='L2'))
    """

    def __init__(self, loss: dict, norm_pix: bool = False, patch_size: int = 16,
                 in_channels: int = 3, init_cfg: dict | None = None):
        super().__init__(init_cfg)
        self.norm_pix, self.patch_size, self.in_channels = norm_pix, patch_size, in_channels
        self.loss_module = MODELS.build(loss, key_path='model.head.loss')

    def patchify(self, imgs: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, H/p * W/p, p*p*C), pixels in (p, p, C) order as MAE's."""
        p, c = self.patch_size, self.in_channels
        if imgs.shape[2] != imgs.shape[3] or imgs.shape[2] % p:
            raise ValueError(f'MAEPretrainHead: images must be square with a side divisible by '
                             f'patch_size={p}, got {tuple(imgs.shape)}')
        h = w = imgs.shape[2] // p
        x = imgs.reshape(imgs.shape[0], c, h, p, w, p)
        x = torch.einsum('nchpwq->nhwpqc', x)
        return x.reshape(imgs.shape[0], h * w, p ** 2 * c)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, p*p*C) -> (N, C, H, W), the inverse of ``patchify``."""
        p, c = self.patch_size, self.in_channels
        h = w = int(x.shape[1] ** .5)
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = torch.einsum('nhwpqc->nchpwq', x)
        return x.reshape(x.shape[0], c, h * p, w * p)

    def construct_target(self, target: torch.Tensor) -> torch.Tensor:
        target = self.patchify(target)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6) ** .5
        return target

    def loss(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """pred (N, L, p*p*C), target images (N, C, H, W), mask (N, L) with 1 = removed."""
        return self.loss_module(pred, self.construct_target(target), mask)
