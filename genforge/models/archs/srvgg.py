"""SRVGGNetCompact: Real-ESRGAN's small VGG-style SR network (realesr-general-x4v3,
realesr-animevideov3)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

__all__ = ['SRVGGNetCompact']

_ACT_TYPES = ('relu', 'prelu', 'leakyrelu')


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == 'relu':
        return nn.ReLU(inplace=True)
    if act_type == 'prelu':
        return nn.PReLU(num_parameters=num_feat)  # one learned slope per channel
    return nn.LeakyReLU(negative_slope=0.1, inplace=True)


@MODELS.register_module()
class SRVGGNetCompact(BaseModule):
    """Conv + activation pairs at input resolution, a last conv to ``num_out_ch * upscale**2``
    channels, one pixel shuffle, plus the nearest-upsampled input (the network learns the
    residual). Argument names and the ``body.N`` state-dict layout are Real-ESRGAN's, so its
    released weights load as they are.

    Args:
        num_in_ch (int), num_out_ch (int): image channels. Default: 3.
        num_feat (int): feature channels. Default: 64.
        num_conv (int): convs between the first and the last. Default: 16.
        upscale (int): upsampling factor. Default: 4.
        act_type (str): 'prelu' (per-channel learned slope), 'relu' or 'leakyrelu' (slope 0.1).

    Shapes: (N, num_in_ch, H, W) in [0, 1] -> (N, num_out_ch, H*upscale, W*upscale).

    Example: dict(type='SRVGGNetCompact', num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=32,
                  upscale=4, act_type='prelu')
    """

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_conv: int = 16, upscale: int = 4, act_type: str = 'prelu',
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        if act_type not in _ACT_TYPES:
            raise ValueError(f'SRVGGNetCompact: act_type={act_type!r} is not supported; use one '
                             f'of {_ACT_TYPES}')
        if upscale < 1:
            raise ValueError(f'SRVGGNetCompact: upscale={upscale} must be >= 1')
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        self.num_feat = num_feat
        self.num_conv = num_conv
        self.upscale = upscale
        self.act_type = act_type
        # body.0 conv, body.1 act, ..., body.2k conv, body.2k+1 act, last conv: Real-ESRGAN's
        # indices, which name the weights in its files.
        layers = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C_in, H, W) -> (N, C_out, H*s, W*s)."""
        out = x
        for layer in self.body:
            out = layer(out)
        # (N, C_out*s*s, H, W) -> (N, C_out, H*s, W*s)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=float(self.upscale), mode='nearest')
