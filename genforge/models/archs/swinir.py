"""SwinIR (Liang et al., ICCV-W 2021): image restoration with residual Swin Transformer groups.

One network for classical SR (``upsampler='pixelshuffle'``), lightweight SR
(``'pixelshuffledirect'``), real-world SR (``'nearest+conv'``) and, with ``upscale=1`` and
``upsampler=''``, denoising and JPEG artifact reduction. Parameter names are those of the official
SwinIR code and of MMagic 1.2's ``SwinIRNet``, which share one state_dict layout.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.swin_blocks import (
    RSTB,
    SwinIRPatchEmbed,
    SwinIRPatchUnEmbed,
    SwinIRUpsample,
    UpsampleOneStep,
    build_resi_connection,
    pad_to_multiple,
)
from genforge.models.layers.transformer import to_2tuple
from genforge.registry import MODELS

__all__ = ['SwinIRNet', 'SWINIR_UPSAMPLERS']

SWINIR_UPSAMPLERS = ('pixelshuffle', 'pixelshuffledirect', 'nearest+conv', '')
NUM_FEAT = 64  # channels of the reconstruction head (fixed in SwinIR)


@MODELS.register_module()
class SwinIRNet(BaseModule):
    """SwinIR: conv -> RSTB groups (window attention) -> conv + skip -> reconstruction head.

    ``lq`` (N, in_chans, H, W) in [0, 1] -> (N, in_chans, H*upscale, W*upscale). Any H, W: the
    input is reflect-padded to a multiple of ``window_size`` and the output cropped back.
    ``img_range`` scales the mean-shifted input (255 for the JPEG-CAR models); for 3 channels the
    DIV2K RGB mean is subtracted first, as in the official code.

    Args:
        img_size (int): training patch size; sets the precomputed shifted-window masks (part of
            the state_dict: ``layers.i.residual_group.blocks.j.attn_mask``). Default: 64.
        patch_size (int): must be 1 (SwinIR embeds pixels). Default: 1.
        in_chans (int): image channels (1 gray, 3 color). Default: 3.
        embed_dim (int): token channels. Default: 96.
        depths, num_heads (list[int]): Swin blocks and heads per RSTB. Default: [6, 6, 6, 6].
        window_size (int): attention window. Default: 7.
        mlp_ratio (float): MLP hidden/embed ratio. Default: 4.
        qkv_bias (bool), qk_scale (float | None): attention options. Defaults: True, None.
        drop_rate, attn_drop_rate, drop_path_rate (float): dropout / stochastic depth (linearly
            increasing over all blocks). Defaults: 0, 0, 0.1.
        norm_layer (type): Default: nn.LayerNorm.
        ape (bool): absolute position embedding (only for inputs of ``img_size``). Default: False.
        patch_norm (bool): LayerNorm after the patch embedding. Default: True.
        use_checkpoint (bool): gradient checkpointing per Swin block. Default: False.
        upscale (int): 2/3/4/8 for SR, 1 for denoising and JPEG CAR. Default: 2.
        img_range (float): 1. or 255. Default: 1.
        upsampler (str): 'pixelshuffle' | 'pixelshuffledirect' | 'nearest+conv' | '' (none).
        resi_connection (str): '1conv' | '3conv'. Default: '1conv'.

    Example: dict(type='SwinIRNet', upscale=2, in_chans=3, img_size=48, window_size=8,
                  img_range=1.0, depths=[6] * 6, embed_dim=180, num_heads=[6] * 6, mlp_ratio=2,
                  upsampler='pixelshuffle', resi_connection='1conv')
    """

    def __init__(self, img_size: int | Sequence[int] = 64, patch_size: int = 1, in_chans: int = 3,
                 embed_dim: int = 96, depths: Sequence[int] = (6, 6, 6, 6),
                 num_heads: Sequence[int] = (6, 6, 6, 6), window_size: int = 7,
                 mlp_ratio: float = 4., qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.1,
                 norm_layer: type = nn.LayerNorm, ape: bool = False, patch_norm: bool = True,
                 use_checkpoint: bool = False, upscale: int = 2, img_range: float = 1.,
                 upsampler: str | None = '', resi_connection: str = '1conv',
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        upsampler = upsampler or ''
        self._check_args(patch_size, depths, num_heads, upscale, upsampler, embed_dim)
        self.img_range = img_range
        self.upscale = upscale
        self.upsampler = upsampler
        self.window_size = window_size
        self.in_chans = in_chans
        self.embed_dim = embed_dim
        self.ape = ape
        mean = (0.4488, 0.4371, 0.4040) if in_chans == 3 else (0., ) * in_chans
        # Non-persistent: follows .to(device) but stays out of the state_dict, as in SwinIR.
        self.register_buffer('mean', torch.tensor(mean).view(1, in_chans, 1, 1), persistent=False)

        # 1. shallow features
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        # 2. deep features: tokens through residual Swin groups
        resolution = tuple(s // patch_size for s in to_2tuple(img_size))
        self.patches_resolution = resolution
        self.patch_embed = SwinIRPatchEmbed(embed_dim, norm_layer if patch_norm else None)
        self.patch_unembed = SwinIRPatchUnEmbed(embed_dim)
        if ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, resolution[0] * resolution[1],
                                                               embed_dim))
            nn.init.trunc_normal_(self.absolute_pos_embed, std=.02)
        self.pos_drop = nn.Dropout(p=drop_rate)
        dpr = torch.linspace(0, drop_path_rate, sum(depths), device="cpu").tolist()  # depth decay
        self.layers = nn.ModuleList()
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            start = sum(depths[:i])
            self.layers.append(
                RSTB(embed_dim, resolution, depth, heads, window_size, mlp_ratio, qkv_bias,
                     qk_scale, drop_rate, attn_drop_rate, dpr[start:start + depth], norm_layer,
                     use_checkpoint, resi_connection))
        self.norm = norm_layer(embed_dim)
        self.conv_after_body = build_resi_connection(embed_dim, resi_connection)
        # 3. reconstruction
        self._build_head(upsampler, upscale, embed_dim, in_chans)
        self.apply(self._init_linear_and_norm)

    @staticmethod
    def _check_args(patch_size, depths, num_heads, upscale, upsampler, embed_dim) -> None:
        if patch_size != 1:
            raise ValueError(f'SwinIRNet: patch_size={patch_size}; SwinIR embeds single pixels, '
                             'use patch_size=1')
        if len(depths) != len(num_heads):
            raise ValueError(f'SwinIRNet: depths={list(depths)} and num_heads={list(num_heads)} '
                             'must have the same length (one entry per RSTB)')
        if upsampler not in SWINIR_UPSAMPLERS:
            raise ValueError(f'SwinIRNet: upsampler={upsampler!r}; use one of {SWINIR_UPSAMPLERS}')
        if upsampler == '' and upscale != 1:
            raise ValueError(f"SwinIRNet: upscale={upscale} with upsampler='' (denoising / JPEG "
                             "CAR) must be 1; pick an upsampler for super-resolution")
        if upsampler == 'nearest+conv' and upscale not in (2, 4):
            raise ValueError(f"SwinIRNet: upsampler='nearest+conv' supports upscale 2 or 4, "
                             f'got {upscale}')
        if any(embed_dim % h for h in num_heads):
            raise ValueError(f'SwinIRNet: embed_dim={embed_dim} must be divisible by every '
                             f'num_heads entry {list(num_heads)}')

    def _build_head(self, upsampler: str, upscale: int, embed_dim: int, out_ch: int) -> None:
        if upsampler == 'pixelshuffle':  # classical SR
            # default LeakyReLU slope (0.01) here, 0.2 elsewhere: as in the official code
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, NUM_FEAT, 3, 1, 1),
                                                      nn.LeakyReLU(inplace=True))
            self.upsample = SwinIRUpsample(upscale, NUM_FEAT)
            self.conv_last = nn.Conv2d(NUM_FEAT, out_ch, 3, 1, 1)
        elif upsampler == 'pixelshuffledirect':  # lightweight SR: fewer parameters
            self.upsample = UpsampleOneStep(upscale, embed_dim, out_ch)
        elif upsampler == 'nearest+conv':  # real-world SR: fewer checkerboard artifacts
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, NUM_FEAT, 3, 1, 1),
                                                      nn.LeakyReLU(inplace=True))
            self.conv_up1 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            if upscale == 4:
                self.conv_up2 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            self.conv_hr = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            self.conv_last = nn.Conv2d(NUM_FEAT, out_ch, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        else:  # denoising / JPEG CAR: predict a residual at input resolution
            self.conv_last = nn.Conv2d(embed_dim, out_ch, 3, 1, 1)

    @staticmethod
    def _init_linear_and_norm(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C, H, W) through the RSTB groups and the final LayerNorm."""
        x_size = (x.shape[2], x.shape[3])
        x = self.patch_embed(x)
        if self.ape:
            x = x + self.absolute_pos_embed
        x = self.pos_drop(x)
        for layer in self.layers:
            x = layer(x, x_size)
        return self.patch_unembed(self.norm(x), x_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, H, W) in [0, 1] -> (N, C, H * upscale, W * upscale)."""
        h, w = x.shape[2:]
        x = pad_to_multiple(x, self.window_size)
        mean = self.mean.to(x.dtype)
        x = (x - mean) * self.img_range
        if self.upsampler == '':
            feat = self.conv_first(x)
            res = self.conv_after_body(self.forward_features(feat)) + feat
            x = x + self.conv_last(res)
        else:
            x = self.conv_first(x)
            x = self.conv_after_body(self.forward_features(x)) + x
            x = self._reconstruct(x)
        x = x / self.img_range + mean
        return x[:, :, :h * self.upscale, :w * self.upscale]

    def _reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsampler == 'pixelshuffle':
            return self.conv_last(self.upsample(self.conv_before_upsample(x)))
        if self.upsampler == 'pixelshuffledirect':
            return self.upsample(x)
        x = self.conv_before_upsample(x)  # nearest+conv
        x = self.lrelu(self.conv_up1(F.interpolate(x, scale_factor=2, mode='nearest')))
        if self.upscale == 4:
            x = self.lrelu(self.conv_up2(F.interpolate(x, scale_factor=2, mode='nearest')))
        return self.conv_last(self.lrelu(self.conv_hr(x)))
