"""Class-conditional normalisation: SNGAN/SAGAN's ``SNConditionNorm`` and ``BigGANConditionBN``.

Both normalise without affine parameters and then apply a per-sample gain and bias:
``out = norm(x) * gain(y) + bias(y)``. SNConditionNorm looks the gain/bias up in embeddings of the
class label; BigGANConditionBN computes them with linear layers from a class vector (shared
embedding, possibly concatenated with a noise chunk) or, with ``input_is_label``, from embeddings.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

from copy import deepcopy

import torch
from torch import nn

from genforge.dist import is_multi_process
from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

from .layer_builders import build_norm_layer
from .sngan_init import check_sngan_init_type
from .spectral_norm import build_sn_embedding, build_sn_linear, sn_weight

__all__ = ['SNConditionNorm', 'BigGANConditionBN']




@MODELS.register_module()
class SNConditionNorm(BaseModule):
    """Conditional BN/IN of SNGAN-proj and SAGAN: ``norm(x) * w[y] + b[y]``.

    Args:
        in_channels (int): channels of the (N, C, H, W) input.
        num_classes (int): number of classes; must be > 0 when ``use_cbn``.
        use_cbn (bool): class-conditional gain/bias (embeddings ``weight_embedding`` and
            ``bias_embedding``); otherwise a plain norm layer. Default True.
        norm_cfg (dict): 'BN' | 'SyncBN' | 'IN'. Default dict(type='BN').
        cbn_norm_affine (bool): affine parameters in the norm layer under ``use_cbn``.
        auto_sync_bn (bool): use SyncBN under distributed training. Default True.
        with_spectral_norm (bool): spectral norm on the embeddings. Default False.
        sn_style, norm_eps, sn_eps: spectral norm style, norm epsilon (1e-4), SN epsilon (1e-12).
        init_cfg (dict): dict(type='BigGAN' | 'studio' | 'SAGAN' | 'SNGAN'); with 'BigGAN' and
            'studio' the gain is ``1 + w[y]``.

    Example: dict(type='SNConditionNorm', in_channels=64, num_classes=10)
    """

    def __init__(self, in_channels: int, num_classes: int, use_cbn: bool = True,
                 norm_cfg: dict = dict(type='BN'), cbn_norm_affine: bool = False,
                 auto_sync_bn: bool = True, with_spectral_norm: bool = False,
                 sn_style: str = 'torch', norm_eps: float = 1e-4, sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type='BigGAN')):
        super().__init__()
        self.use_cbn = use_cbn
        self.init_type = check_sngan_init_type(init_cfg, 'SNConditionNorm')
        norm_cfg = deepcopy(norm_cfg)
        norm_type = norm_cfg['type']
        if norm_type not in ('IN', 'BN', 'SyncBN'):
            raise ValueError(f"SNConditionNorm: norm_cfg type={norm_type!r} is not supported; "
                             f"use 'BN', 'SyncBN' or 'IN'")
        if use_cbn:
            norm_cfg.setdefault('affine', cbn_norm_affine)
        norm_cfg.setdefault('eps', norm_eps)
        if is_multi_process() and auto_sync_bn and norm_type == 'BN':
            norm_cfg['type'] = 'SyncBN'
        _, self.norm = build_norm_layer(norm_cfg, in_channels)

        if use_cbn:
            if num_classes <= 0:
                raise ValueError(f'SNConditionNorm: num_classes={num_classes} must be > 0 with '
                                 f'use_cbn=True (or set use_cbn=False)')
            # BigGAN-style initialisations centre the gain on 1 by adding 1 at run time
            self.reweight_embedding = self.init_type.upper() in ('BIGGAN', 'STUDIO')
            self.weight_embedding = build_sn_embedding(num_classes, in_channels,
                                                       with_spectral_norm, sn_style, sn_eps)
            self.bias_embedding = build_sn_embedding(num_classes, in_channels,
                                                     with_spectral_norm, sn_style, sn_eps)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.norm(x)
        if self.use_cbn:
            weight = self.weight_embedding(y)[:, :, None, None]  # (N, C) -> (N, C, 1, 1)
            bias = self.bias_embedding(y)[:, :, None, None]
            if self.reweight_embedding:
                weight = weight + 1.
            out = out * weight + bias
        return out

    def init_weights(self) -> None:
        if not self.use_cbn:
            return
        kind = self.init_type.upper()
        w, b = sn_weight(self.weight_embedding), sn_weight(self.bias_embedding)
        with torch.no_grad():
            if kind == 'STUDIO':
                nn.init.orthogonal_(w)
                nn.init.orthogonal_(b)
            elif kind == 'BIGGAN':
                nn.init.xavier_uniform_(w, gain=1)
                nn.init.xavier_uniform_(b, gain=1)
            elif kind in ('SNGAN', 'SNGAN-PROJ', 'GAN-PROJ', 'SAGAN'):
                nn.init.constant_(w, 1)
                nn.init.constant_(b, 0)


@MODELS.register_module()
class BigGANConditionBN(nn.Module):
    """BigGAN's conditional BatchNorm: ``bn(x) * (1 + gain(y)) + bias(y)``.

    Args:
        num_features (int): channels of the (N, C, H, W) input.
        linear_input_channels (int): size of the conditioning vector ``y`` (N, L); 0 makes a
            plain affine BatchNorm; with ``input_is_label`` the number of classes (y is (N,)).
        bn_eps (float): BatchNorm epsilon. Default 1e-5.
        sn_eps (float), sn_style (str): spectral norm of the gain/bias linears ('ajbrock').
        momentum (float): BatchNorm momentum. Default 0.1.
        input_is_label (bool): ``y`` is a label; gain/bias are ``nn.Embedding``. Default False.
        with_spectral_norm (bool): spectral norm on gain/bias linears. Default True.
        auto_sync_bn (bool): SyncBN under distributed training. Default True.

    Example: dict(type='BigGANConditionBN', num_features=256, linear_input_channels=148)
    """

    def __init__(self, num_features: int, linear_input_channels: int, bn_eps: float = 1e-5,
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', momentum: float = 0.1,
                 input_is_label: bool = False, with_spectral_norm: bool = True,
                 auto_sync_bn: bool = True):
        super().__init__()
        if num_features <= 0:
            raise ValueError(f'BigGANConditionBN: num_features={num_features} must be > 0')
        self.use_cbn = linear_input_channels > 0
        if self.use_cbn:
            if input_is_label:
                self.gain = nn.Embedding(linear_input_channels, num_features)
                self.bias = nn.Embedding(linear_input_channels, num_features)
            else:
                self.gain = build_sn_linear(linear_input_channels, num_features, False,
                                            with_spectral_norm, sn_style, sn_eps)
                self.bias = build_sn_linear(linear_input_channels, num_features, False,
                                            with_spectral_norm, sn_style, sn_eps)
        self.bn = nn.BatchNorm2d(num_features, eps=bn_eps, momentum=momentum,
                                 affine=not self.use_cbn)
        if auto_sync_bn and is_multi_process():
            self.bn = nn.SyncBatchNorm.convert_sync_batchnorm(self.bn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = self.bn(x)
        if self.use_cbn:
            gain = (1. + self.gain(y)).view(y.size(0), -1, 1, 1)  # (N, C) -> (N, C, 1, 1)
            bias = self.bias(y).view(y.size(0), -1, 1, 1)
            out = out * gain + bias
        return out
