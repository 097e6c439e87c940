"""Spectral normalisation layers for SNGAN / SAGAN / BigGAN.

Two styles, as in MMagic (``sn_style``):

- ``'torch'``: ``torch.nn.utils.spectral_norm`` (state_dict keys ``weight_orig``, ``weight_u``,
  ``weight_v``);
- ``'ajbrock'``: the BigGAN-PyTorch layers ``SNConv2d`` / ``SNLinear`` / ``SNEmbedding``
  (keys ``weight``, ``u0``, ``sv0``): the weight is divided by its largest singular value,
  estimated by power iteration with Gram-Schmidt over ``num_svs`` singular vectors.

``SNConvModule`` is a ``ConvModule`` whose conv is spectrally normalised in either style.
"""
from __future__ import annotations

from copy import deepcopy

import torch
import torch.nn.functional as F
from torch import nn

from genforge.registry import MODELS

from .conv_module import ConvModule

__all__ = ['SNConv2d', 'SNLinear', 'SNEmbedding', 'SNConvModule', 'power_iteration',
           'build_sn_linear', 'build_sn_embedding', 'check_sn_style', 'sn_weight']

SN_STYLES = ('torch', 'ajbrock')


def check_sn_style(sn_style: str) -> None:
    if sn_style not in SN_STYLES:
        raise NotImplementedError(f"sn_style={sn_style!r} is not supported; use 'torch' or "
                                  f"'ajbrock'")


def _gram_schmidt(x: torch.Tensor, ys: list[torch.Tensor]) -> torch.Tensor:
    """Remove from row vector ``x`` its projections on the row vectors ``ys``."""
    for y in ys:
        x = x - torch.mm(y, x.t()) * y / torch.mm(y, y.t())
    return x


def power_iteration(weight: torch.Tensor, us: list[torch.Tensor], update: bool = True,
                    eps: float = 1e-12) -> tuple[list[torch.Tensor], list, list]:
    """One step of power iteration on ``weight`` (out, in) for each vector in ``us`` (1, out).

    Returns the singular value estimates (with gradient w.r.t. ``weight``), and the new left and
    right singular vectors. With ``update`` the buffers in ``us`` are overwritten in place.
    """
    svs, new_us, new_vs = [], [], []
    for i, u in enumerate(us):
        with torch.no_grad():  # the vectors are constants for the gradient, as in the paper
            v = F.normalize(_gram_schmidt(torch.matmul(u, weight), new_vs), eps=eps)
            new_vs.append(v)
            u = F.normalize(_gram_schmidt(torch.matmul(v, weight.t()), new_us), eps=eps)
            new_us.append(u)
            if update:
                us[i][:] = u
        svs.append(torch.squeeze(torch.matmul(torch.matmul(v, weight.t()), u.t())))
    return svs, new_us, new_vs


class _SNMixin:
    """Buffers ``u{i}`` (1, num_outputs) and ``sv{i}`` (1,) and the normalised weight ``W_()``."""

    def _init_sn(self, num_svs: int, num_itrs: int, num_outputs: int, transpose: bool = False,
                 eps: float = 1e-12) -> None:
        self.num_svs, self.num_itrs, self.transpose, self.eps = num_svs, num_itrs, transpose, eps
        for i in range(num_svs):
            self.register_buffer(f'u{i}', torch.randn(1, num_outputs))
            self.register_buffer(f'sv{i}', torch.ones(1))

    @property
    def u(self) -> list[torch.Tensor]:
        return [getattr(self, f'u{i}') for i in range(self.num_svs)]

    @property
    def sv(self) -> list[torch.Tensor]:
        return [getattr(self, f'sv{i}') for i in range(self.num_svs)]

    def W_(self) -> torch.Tensor:  # noqa: N802 (BigGAN-PyTorch's name)
        """The weight divided by its estimated largest singular value."""
        w_mat = self.weight.view(self.weight.size(0), -1)
        if self.transpose:
            w_mat = w_mat.t()
        svs = None
        for _ in range(self.num_itrs):
            svs, _, _ = power_iteration(w_mat, self.u, update=self.training, eps=self.eps)
        if self.training:
            with torch.no_grad():
                for i, sv in enumerate(svs):
                    self.sv[i][:] = sv
        return self.weight / svs[0]


class SNConv2d(nn.Conv2d, _SNMixin):
    """``nn.Conv2d`` with BigGAN-PyTorch ('ajbrock') spectral norm; same arguments plus
    ``num_svs``, ``num_itrs`` and ``eps``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, num_svs: int = 1,
                 num_itrs: int = 1, eps: float = 1e-12, **kwargs):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, padding,
                           dilation, groups, bias, **kwargs)
        self._init_sn(num_svs, num_itrs, out_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.W_(), self.bias)


class SNLinear(nn.Linear, _SNMixin):
    """``nn.Linear`` with BigGAN-PyTorch ('ajbrock') spectral norm."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 num_svs: int = 1, num_itrs: int = 1, eps: float = 1e-12):
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._init_sn(num_svs, num_itrs, out_features, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.W_(), self.bias)


class SNEmbedding(nn.Embedding, _SNMixin):
    """``nn.Embedding`` with BigGAN-PyTorch ('ajbrock') spectral norm over the (num, dim) table."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type: float = 2., scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, num_svs: int = 1, num_itrs: int = 1,
                 eps: float = 1e-12):
        nn.Embedding.__init__(self, num_embeddings, embedding_dim, padding_idx, max_norm,
                              norm_type, scale_grad_by_freq, sparse, _weight)
        self._init_sn(num_svs, num_itrs, num_embeddings, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.embedding(x, self.W_())


def build_sn_linear(in_features: int, out_features: int, bias: bool = True,
                    with_spectral_norm: bool = True, sn_style: str = 'torch',
                    sn_eps: float = 1e-12) -> nn.Module:
    """``nn.Linear``, torch-SN wrapped ``nn.Linear`` or ``SNLinear`` (by ``sn_style``)."""
    if not with_spectral_norm:
        return nn.Linear(in_features, out_features, bias=bias)
    check_sn_style(sn_style)
    if sn_style == 'torch':
        return nn.utils.spectral_norm(nn.Linear(in_features, out_features, bias=bias), eps=sn_eps)
    return SNLinear(in_features, out_features, bias=bias, eps=sn_eps)


def build_sn_embedding(num_embeddings: int, embedding_dim: int, with_spectral_norm: bool = True,
                       sn_style: str = 'torch', sn_eps: float = 1e-12) -> nn.Module:
    """``nn.Embedding``, torch-SN wrapped ``nn.Embedding`` or ``SNEmbedding``."""
    if not with_spectral_norm:
        return nn.Embedding(num_embeddings, embedding_dim)
    check_sn_style(sn_style)
    if sn_style == 'torch':
        return nn.utils.spectral_norm(nn.Embedding(num_embeddings, embedding_dim), eps=sn_eps)
    return SNEmbedding(num_embeddings, embedding_dim, eps=sn_eps)


def sn_weight(module: nn.Module) -> torch.Tensor:
    """The trainable weight tensor of a (maybe spectrally normalised) layer, for initialisers:
    ``weight_orig`` under torch's spectral norm (``weight`` is recomputed each forward)."""
    weight = getattr(module, 'weight_orig', None)
    return weight if weight is not None else module.weight


@MODELS.register_module()
class SNConvModule(ConvModule):
    """``ConvModule`` whose conv is spectrally normalised in MMagic's ``sn_style``.

    Args:
        with_spectral_norm (bool): apply spectral norm to ``conv``. Default False.
        spectral_norm_cfg (dict | None): ``eps`` (default 1e-6) and ``sn_style`` ('torch' or
            'ajbrock', default 'torch').
        *args, **kwargs: the ``ConvModule`` arguments.

    Example: dict(type='SNConvModule', in_channels=64, out_channels=64, kernel_size=3, padding=1,
                  act_cfg=None, with_spectral_norm=True,
                  spectral_norm_cfg=dict(eps=1e-6, sn_style='ajbrock'))
    """

    def __init__(self, *args, with_spectral_norm: bool = False,
                 spectral_norm_cfg: dict | None = None, **kwargs):
        super().__init__(*args, with_spectral_norm=False, **kwargs)
        self.with_spectral_norm = with_spectral_norm
        self.spectral_norm_cfg = deepcopy(spectral_norm_cfg) if spectral_norm_cfg else dict()
        self.sn_eps = self.spectral_norm_cfg.get('eps', 1e-6)
        self.sn_style = self.spectral_norm_cfg.get('sn_style', 'torch')
        if not with_spectral_norm:
            return
        check_sn_style(self.sn_style)
        if self.sn_style == 'torch':
            self.conv = nn.utils.spectral_norm(self.conv, eps=self.sn_eps)
        else:
            conv = self.conv
            # rebuild the same conv as an ajbrock SNConv2d (its own u0/sv0 buffers)
            self.conv = SNConv2d(conv.in_channels, conv.out_channels, conv.kernel_size,
                                 stride=conv.stride, padding=conv.padding,
                                 dilation=conv.dilation, groups=conv.groups,
                                 bias=conv.bias is not None, eps=self.sn_eps,
                                 device=conv.weight.device)
            with torch.no_grad():  # keep ConvModule's initialisation
                self.conv.weight.copy_(conv.weight)
                if conv.bias is not None:
                    self.conv.bias.copy_(conv.bias)
