"""BigGAN networks (MMagic names): ``BigGANGenerator``, ``BigGANDiscriminator`` and their blocks.

Class-conditional BN in every generator block, a shared class embedding, hierarchical
("split") noise, self-attention, spectral norm in both networks ('ajbrock' or 'torch' style) and
orthogonal init. ``init_cfg=dict(type='ortho' | 'N02' | 'xavier' | 'Pretrained', ...)`` (MMagic
1.x) and ``init_type='ortho'`` (MMGeneration 1.x) are both accepted.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.conditional_bn import BigGANConditionBN
from genforge.models.layers.latent_sampling import check_noise_shape, sample_labels, sample_noise
from genforge.models.layers.self_attention import SelfAttentionBlock
from genforge.models.layers.spectral_norm import SNConvModule, build_sn_embedding, build_sn_linear, sn_weight
from genforge.models.utils import get_module_device, pretrained_to_init_cfg
from genforge.registry import MODELS

__all__ = ['BigGANGenResBlock', 'BigGANDiscResBlock', 'BigGANGenerator', 'BigGANDiscriminator',
           'biggan_init']

_INIT_TYPES = ('ortho', 'N02', 'xavier')


@torch.no_grad()
def biggan_init(root: nn.Module, init_type: str) -> None:
    """BigGAN-PyTorch init of every Conv2d / Linear / Embedding weight under ``root``."""
    for m in root.modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            continue
        weight, bias = sn_weight(m), getattr(m, 'bias', None)
        if init_type == 'ortho':  # bias keeps PyTorch's default, as in BigGAN-PyTorch
            nn.init.orthogonal_(weight)
            continue
        if init_type == 'N02':
            nn.init.normal_(weight, 0., 0.02)
        else:
            nn.init.xavier_normal_(weight, gain=1)
        if isinstance(bias, torch.Tensor):
            nn.init.constant_(bias, 0)


class BigGANNetBase(BaseModule):
    """Resolves ``init_type`` / ``init_cfg`` / ``pretrained``; ``init_weights`` applies them."""

    def _setup_init(self, init_type: str | None, init_cfg: dict | None, pretrained) -> None:
        name = type(self).__name__
        init_cfg = pretrained_to_init_cfg(pretrained, init_cfg)
        cfg_type = (init_cfg or {}).get('type')
        is_pretrained = cfg_type in ('Pretrained', 'PretrainedInit')
        if cfg_type is not None and not is_pretrained:
            if init_type is not None and init_type != cfg_type:
                raise ValueError(f'{name}: init_type={init_type!r} and init_cfg type='
                                 f'{cfg_type!r} disagree; give only one of them')
            init_type = cfg_type
        self.init_type = init_type or 'ortho'
        if self.init_type not in _INIT_TYPES:
            raise NotImplementedError(f'{name}: init type {self.init_type!r} is not supported; '
                                      f'use one of {_INIT_TYPES} or Pretrained')
        # BaseModule only loads a checkpoint; the random init is ``biggan_init``
        self.init_cfg = init_cfg if is_pretrained else None

    def init_weights(self) -> None:
        if self.is_init:
            return
        biggan_init(self, self.init_type)
        super().init_weights()


def _sn_conv(cin: int, cout: int, with_sn: bool, sn_eps: float, sn_style: str,
             **kwargs) -> SNConvModule:
    return SNConvModule(cin, cout, with_spectral_norm=with_sn,
                        spectral_norm_cfg=dict(eps=sn_eps, sn_style=sn_style), **kwargs)


@MODELS.register_module()
class BigGANGenResBlock(nn.Module):
    """cBN-act-up-conv3x3-cBN-act-conv3x3 plus (up, 1x1 conv) shortcut; ``forward(x, y)`` with
    ``y`` the (N, dim_after_concat) class vector (or (N,) labels with ``input_is_label``).

    Example: dict(type='BigGANGenResBlock', in_channels=256, out_channels=128,
                  dim_after_concat=148)
    """

    def __init__(self, in_channels: int, out_channels: int, dim_after_concat: int,
                 act_cfg: dict = dict(type='ReLU'),
                 upsample_cfg: dict | None = dict(type='nearest', scale_factor=2),
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', with_spectral_norm: bool = True,
                 input_is_label: bool = False, auto_sync_bn: bool = True):
        super().__init__()
        self.activation = MODELS.build(act_cfg)
        self.upsample_cfg = deepcopy(upsample_cfg)
        self.with_upsample = upsample_cfg is not None
        if self.with_upsample:
            self.upsample_layer = MODELS.build(self.upsample_cfg)
        self.learnable_sc = in_channels != out_channels or self.with_upsample
        sn = dict(with_sn=with_spectral_norm, sn_eps=sn_eps, sn_style=sn_style)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, kernel_size=1, stride=1,
                                     padding=0, act_cfg=None, **sn)
        bn_args = dict(sn_eps=sn_eps, sn_style=sn_style, input_is_label=input_is_label,
                       with_spectral_norm=with_spectral_norm, auto_sync_bn=auto_sync_bn)
        self.bn1 = BigGANConditionBN(in_channels, dim_after_concat, **bn_args)
        self.bn2 = BigGANConditionBN(out_channels, dim_after_concat, **bn_args)
        self.conv1 = _sn_conv(in_channels, out_channels, kernel_size=3, stride=1, padding=1,
                              act_cfg=None, **sn)
        self.conv2 = _sn_conv(out_channels, out_channels, kernel_size=3, stride=1, padding=1,
                              act_cfg=None, **sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        x0 = self.activation(self.bn1(x, y))
        if self.with_upsample:
            x0, x = self.upsample_layer(x0), self.upsample_layer(x)
        x0 = self.conv2(self.activation(self.bn2(self.conv1(x0), y)))
        if self.learnable_sc:
            x = self.shortcut(x)
        return x0 + x


@MODELS.register_module()
class BigGANDiscResBlock(nn.Module):
    """(act)-conv3x3-act-conv3x3(-avgpool) plus a 1x1-conv shortcut; the head block has no
    leading activation and pools before its shortcut conv.

    Example: dict(type='BigGANDiscResBlock', in_channels=3, out_channels=96, is_head_block=True)
    """

    def __init__(self, in_channels: int, out_channels: int,
                 act_cfg: dict = dict(type='ReLU', inplace=False), sn_eps: float = 1e-6,
                 sn_style: str = 'ajbrock', with_downsample: bool = True,
                 with_spectral_norm: bool = True, is_head_block: bool = False):
        super().__init__()
        self.activation = MODELS.build(act_cfg)
        self.with_downsample, self.is_head_block = with_downsample, is_head_block
        if with_downsample:
            self.downsample = nn.AvgPool2d(kernel_size=2, stride=2)
        self.learnable_sc = in_channels != out_channels or with_downsample
        sn = dict(with_sn=with_spectral_norm, sn_eps=sn_eps, sn_style=sn_style)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, kernel_size=1, stride=1,
                                     padding=0, act_cfg=None, **sn)
        self.conv1 = _sn_conv(in_channels, out_channels, kernel_size=3, stride=1, padding=1,
                              act_cfg=None, **sn)
        self.conv2 = _sn_conv(out_channels, out_channels, kernel_size=3, stride=1, padding=1,
                              act_cfg=None, **sn)

    def forward_sc(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_head_block and self.with_downsample:
            x = self.downsample(x)
        if self.learnable_sc:
            x = self.shortcut(x)
        if not self.is_head_block and self.with_downsample:
            x = self.downsample(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # an in-place activation also rectifies x for the shortcut, exactly as in MMagic
        x0 = x if self.is_head_block else self.activation(x)
        x0 = self.conv2(self.activation(self.conv1(x0)))
        if self.with_downsample:
            x0 = self.downsample(x0)
        return x0 + self.forward_sc(x)


def _default_gen_arch(output_scale: int, base_channels: int) -> dict:
    """Channel factors per resolution (BigGAN-PyTorch's ``G_arch``)."""
    ins = {32: [4, 4, 4], 64: [16, 16, 8, 4], 128: [16, 16, 8, 4, 2],
           256: [16, 16, 8, 8, 4, 2], 512: [16, 16, 8, 8, 4, 2, 1]}
    outs = {32: [4, 4, 4], 64: [16, 8, 4, 2], 128: [16, 8, 4, 2, 1],
            256: [16, 8, 8, 4, 2, 1], 512: [16, 8, 8, 4, 2, 1, 1]}
    if output_scale not in ins:
        raise KeyError(f'output_scale={output_scale} has no default arch; use one of '
                       f'{sorted(ins)} or give arch_cfg')
    n = len(ins[output_scale])
    return dict(in_channels=[base_channels * f for f in ins[output_scale]],
                out_channels=[base_channels * f for f in outs[output_scale]],
                upsample=[True] * n, resolution=[8 * 2**i for i in range(n)],
                attention=[i == 3 for i in range(n)])  # attention at 64x64


def class_vector_and_noise(gen: nn.Module, noise, label, num_batches: int, truncation: float,
                           use_outside_embedding: bool):
    """Sample noise (clamped when ``truncation >= 0``), labels and the shared class vector."""
    device = get_module_device(gen)
    noise_batch = sample_noise(noise, num_batches, gen.noise_size, device,
                               owner=type(gen).__name__)
    check_noise_shape(noise_batch, gen.noise_size, type(gen).__name__)
    if truncation >= 0.0:
        noise_batch = torch.clamp(noise_batch, -truncation, truncation)
    if gen.num_classes == 0:
        return noise_batch, None, None
    if use_outside_embedding and isinstance(label, torch.Tensor):
        return noise_batch, label.to(device), label.to(device)  # label is the class vector
    label_batch = sample_labels(label, num_batches, gen.num_classes, device,
                                label_size=(num_batches, ))
    return noise_batch, label_batch, gen.shared_embedding(label_batch)


@MODELS.register_module()
class BigGANGenerator(BigGANNetBase):
    """BigGAN generator. noise (N, noise_size) [+ label (N,)] -> image (N, 3, S, S) in [-1, 1].

    With ``split_noise`` the noise is cut into one chunk for the first linear and one per block;
    each block's conditional BN sees ``cat(shared_embedding(label), chunk)``.

    Example: dict(type='BigGANGenerator', output_scale=128, noise_size=120, num_classes=1000,
                  base_channels=96, shared_dim=128, with_shared_embedding=True, sn_eps=1e-6,
                  split_noise=True, init_cfg=dict(type='ortho'))
    """

    def __init__(self, output_scale: int, noise_size: int = 120, num_classes: int = 0,
                 out_channels: int = 3, base_channels: int = 96, input_scale: int = 4,
                 with_shared_embedding: bool = True, shared_dim: int = 128,
                 sn_eps: float = 1e-6, sn_style: str = 'ajbrock', init_type: str | None = None,
                 split_noise: bool = True, act_cfg: dict = dict(type='ReLU'),
                 upsample_cfg: dict = dict(type='nearest', scale_factor=2),
                 with_spectral_norm: bool = True, auto_sync_bn: bool = True,
                 blocks_cfg: dict = dict(type='BigGANGenResBlock'), arch_cfg: dict | None = None,
                 out_norm_cfg: dict = dict(type='BN'), pretrained: str | dict | None = None,
                 rgb2bgr: bool = False, init_cfg: dict | None = None):
        super().__init__()
        self._setup_init(init_type, init_cfg, pretrained)
        self.noise_size, self.num_classes, self.shared_dim = noise_size, num_classes, shared_dim
        self.with_shared_embedding, self.output_scale = with_shared_embedding, output_scale
        self.arch = arch_cfg if arch_cfg else _default_gen_arch(output_scale, base_channels)
        self.input_scale, self.split_noise, self.rgb2bgr = input_scale, split_noise, rgb2bgr
        self.sn_style = sn_style
        if num_classes == 0 and with_shared_embedding:
            raise ValueError('BigGANGenerator: num_classes=0 (unconditional) needs '
                             'with_shared_embedding=False')
        if num_classes > 0 and not with_shared_embedding and split_noise:
            raise ValueError('BigGANGenerator: without a shared embedding the BN layers embed '
                             'the label directly; set split_noise=False')
        if split_noise:
            self.num_slots = len(self.arch['in_channels']) + 1
            self.noise_chunk_size = self.noise_size // self.num_slots
            self.noise_size = self.noise_chunk_size * self.num_slots  # even chunks
        else:
            self.num_slots, self.noise_chunk_size = 1, 0
        self.noise2feat = build_sn_linear(self.noise_size // self.num_slots,
                                          self.arch['in_channels'][0] * input_scale**2, True,
                                          with_spectral_norm, sn_style, sn_eps)
        self.shared_embedding = (nn.Embedding(num_classes, shared_dim) if with_shared_embedding
                                 else nn.Identity())
        if num_classes > 0:
            self.dim_after_concat = (shared_dim + self.noise_chunk_size if with_shared_embedding
                                     else num_classes)
        else:
            self.dim_after_concat = self.noise_chunk_size
        self.blocks_cfg = deepcopy(blocks_cfg)
        self.blocks_cfg.update(dim_after_concat=self.dim_after_concat, act_cfg=act_cfg,
                               sn_eps=sn_eps, sn_style=sn_style,
                               input_is_label=num_classes > 0 and not with_shared_embedding,
                               with_spectral_norm=with_spectral_norm, auto_sync_bn=auto_sync_bn)
        self.conv_blocks = nn.ModuleList()
        for idx, out_ch in enumerate(self.arch['out_channels']):
            self.blocks_cfg.update(in_channels=self.arch['in_channels'][idx], out_channels=out_ch,
                                   upsample_cfg=upsample_cfg if self.arch['upsample'][idx]
                                   else None)
            self.conv_blocks.append(MODELS.build(self.blocks_cfg, key_path=f'blocks_cfg[{idx}]'))
            if self.arch['attention'][idx]:
                self.conv_blocks.append(SelfAttentionBlock(
                    out_ch, with_spectral_norm=with_spectral_norm, sn_eps=sn_eps,
                    sn_style=sn_style))
        self.output_layer = _sn_conv(self.arch['out_channels'][-1], out_channels,
                                     with_spectral_norm, sn_eps, sn_style, kernel_size=3,
                                     padding=1, act_cfg=act_cfg, norm_cfg=out_norm_cfg, bias=True,
                                     order=('norm', 'act', 'conv'))

    def forward(self, noise: torch.Tensor | Callable | None, label=None, num_batches: int = 0,
                return_noise: bool = False, truncation: float = -1.0,
                use_outside_embedding: bool = False):
        """Images (N, C, S, S), or dict(fake_img, noise_batch, label) with ``return_noise``."""
        noise_batch, label_batch, class_vector = class_vector_and_noise(
            self, noise, label, num_batches, truncation, use_outside_embedding)
        if self.split_noise:
            zs = torch.split(noise_batch, self.noise_chunk_size, dim=1)
            z = zs[0]
            ys = [torch.cat([class_vector, chunk], 1) for chunk in zs[1:]] \
                if class_vector is not None else list(zs[1:])
        else:
            z, ys = noise_batch, [class_vector] * len(self.conv_blocks)
        x = self.noise2feat(z)
        x = x.view(x.size(0), -1, self.input_scale, self.input_scale)  # (N, C0, s, s)
        counter = 0
        for block in self.conv_blocks:
            if isinstance(block, SelfAttentionBlock):
                x = block(x)
            else:
                x = block(x, ys[counter])
                counter += 1
        out_img = torch.tanh(self.output_layer(x))
        if self.rgb2bgr:
            out_img = out_img[:, [2, 1, 0], ...]
        if return_noise:
            return dict(fake_img=out_img, noise_batch=noise_batch, label=label_batch)
        return out_img


def _default_disc_arch(input_scale: int, in_channels: int, base_channels: int) -> dict:
    ins = {32: [4, 4, 4], 64: [1, 2, 4, 8], 128: [1, 2, 4, 8, 16], 256: [1, 2, 4, 8, 8, 16],
           512: [1, 1, 2, 4, 8, 8, 16]}
    outs = {32: [4, 4, 4, 4], 64: [1, 2, 4, 8, 16], 128: [1, 2, 4, 8, 16, 16],
            256: [1, 2, 4, 8, 8, 16, 16], 512: [1, 1, 2, 4, 8, 8, 16, 16]}
    attention = {32: [], 64: [], 128: [0], 256: [1], 512: [3]}
    if input_scale not in ins:
        raise KeyError(f'input_scale={input_scale} has no default arch; use one of '
                       f'{sorted(ins)} or give arch_cfg')
    n = len(outs[input_scale])
    downsample = [True, True, False, False] if input_scale == 32 else [True] * (n - 1) + [False]
    return dict(in_channels=[in_channels] + [base_channels * f for f in ins[input_scale]],
                out_channels=[base_channels * f for f in outs[input_scale]],
                downsample=downsample, attention=[i in attention[input_scale] for i in range(n)])


def sn_decision_and_projection(disc: nn.Module, out_ch: int, out_channels: int, num_classes: int,
                               with_spectral_norm: bool, sn_style: str, sn_eps: float) -> None:
    """The final linear ``decision`` and the class projection ``proj_y`` of a BigGAN D."""
    disc.decision = build_sn_linear(out_ch, out_channels, True, with_spectral_norm, sn_style,
                                    sn_eps)
    if num_classes > 0:
        disc.proj_y = build_sn_embedding(num_classes, out_ch, with_spectral_norm, sn_style,
                                         sn_eps)


def project_and_decide(disc: nn.Module, x0: torch.Tensor, label) -> torch.Tensor:
    x0 = torch.sum(disc.activate(x0), dim=[2, 3])  # (N, C)
    out = disc.decision(x0)
    if disc.num_classes > 0:
        if label is None:
            raise ValueError(f'{type(disc).__name__}: label is required when num_classes > 0')
        out = out + torch.sum(disc.proj_y(label) * x0, dim=1, keepdim=True)
    return out


@MODELS.register_module()
class BigGANDiscriminator(BigGANNetBase):
    """BigGAN discriminator: residual blocks (+ attention) -> sum pool -> linear + projection.

    (N, 3, S, S) [+ label (N,)] -> (N, out_channels).

    Example: dict(type='BigGANDiscriminator', input_scale=128, num_classes=1000,
                  base_channels=96, sn_eps=1e-6, init_cfg=dict(type='ortho'))
    """

    def __init__(self, input_scale: int, num_classes: int = 0, in_channels: int = 3,
                 out_channels: int = 1, base_channels: int = 96, sn_eps: float = 1e-6,
                 sn_style: str = 'ajbrock', init_type: str | None = None,
                 act_cfg: dict = dict(type='ReLU'), with_spectral_norm: bool = True,
                 blocks_cfg: dict = dict(type='BigGANDiscResBlock'), arch_cfg: dict | None = None,
                 pretrained: str | dict | None = None, init_cfg: dict | None = None):
        super().__init__()
        self._setup_init(init_type, init_cfg, pretrained)
        self.num_classes, self.out_channels = num_classes, out_channels
        self.input_scale, self.in_channels, self.base_channels = (input_scale, in_channels,
                                                                  base_channels)
        self.arch = arch_cfg if arch_cfg else _default_disc_arch(input_scale, in_channels,
                                                                 base_channels)
        self.sn_style = sn_style
        self.blocks_cfg = deepcopy(blocks_cfg)
        self.blocks_cfg.update(act_cfg=act_cfg, sn_eps=sn_eps, sn_style=sn_style,
                               with_spectral_norm=with_spectral_norm)
        self.conv_blocks = nn.ModuleList()
        for idx, out_ch in enumerate(self.arch['out_channels']):
            self.blocks_cfg.update(in_channels=self.arch['in_channels'][idx], out_channels=out_ch,
                                   with_downsample=self.arch['downsample'][idx],
                                   is_head_block=idx == 0)
            self.conv_blocks.append(MODELS.build(self.blocks_cfg, key_path=f'blocks_cfg[{idx}]'))
            if self.arch['attention'][idx]:
                self.conv_blocks.append(SelfAttentionBlock(
                    out_ch, with_spectral_norm=with_spectral_norm, sn_eps=sn_eps,
                    sn_style=sn_style))
        self.activate = MODELS.build(act_cfg)
        sn_decision_and_projection(self, self.arch['out_channels'][-1], out_channels,
                                   num_classes, with_spectral_norm, sn_style, sn_eps)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.conv_blocks:
            x = block(x)
        return project_and_decide(self, x, label)
