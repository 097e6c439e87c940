"""SNGAN / Proj-GAN networks (MMagic names): ``SNGANGenerator``, ``ProjDiscriminator`` and their
residual blocks. SAGAN uses the same classes with self-attention blocks (see ``sagan.py``).

Weight initialisation follows ``init_cfg=dict(type=...)`` as in MMagic: 'BigGAN' (xavier
uniform), 'studio' (PyTorch-StudioGAN: orthogonal, zero bias), 'SAGAN' (official TF code) and
'SNGAN' / 'SNGAN-PROJ' / 'GAN-PROJ' (official Chainer code); 'Pretrained' loads a checkpoint.
"""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import logging
from collections.abc import Callable
from copy import deepcopy

import torch
from torch import nn

from genforge.dist import is_multi_process
from genforge.models.base_module import BaseModule
from genforge.models.layers.conditional_bn import SNConditionNorm
from genforge.models.layers.latent_sampling import check_noise_shape, sample_labels, sample_noise
from genforge.models.layers.sngan_init import check_sngan_init_type, sngan_init
from genforge.models.layers.spectral_norm import SNConvModule, build_sn_embedding
from genforge.models.utils import get_module_device, pretrained_to_init_cfg
from genforge.registry import MODELS

logger = logging.getLogger(__name__)

__all__ = ['SNGANGenResBlock', 'SNGANDiscResBlock', 'SNGANDiscHeadResBlock', 'SNGANGenerator',
           'ProjDiscriminator']

_CONV_DEFAULTS = dict(kernel_size=3, stride=1, padding=1, act_cfg=None)


def _sn_conv(cin: int, cout: int, with_sn: bool, sn_cfg: dict, **kwargs) -> SNConvModule:
    return SNConvModule(cin, cout, with_spectral_norm=with_sn, spectral_norm_cfg=sn_cfg, **kwargs)


class _SNGANBlockBase(BaseModule):
    """Shared init: the block's convs (and norms) are initialised by ``sngan_init``."""

    def _setup(self, init_cfg: dict | None, conv_cfg: dict | None) -> None:
        self.init_type = check_sngan_init_type(init_cfg, type(self).__name__)
        self.conv_cfg = deepcopy(_CONV_DEFAULTS)
        self.conv_cfg.update(conv_cfg or {})

    def init_weights(self) -> None:
        super().init_weights()
        sngan_init(self, self.init_type)


@MODELS.register_module()
class SNGANGenResBlock(_SNGANBlockBase):
    """Generator block: cBN-act-up-conv-cBN-act-conv plus a (1x1 conv) shortcut.

    (N, in_channels, H, W) -> (N, out_channels, 2H, 2W) with ``upsample``; ``forward(x, y)``.

    Example: dict(type='SNGANGenResBlock', in_channels=256, out_channels=256, num_classes=10)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None,
                 num_classes: int = 0, use_cbn: bool = True, use_norm_affine: bool = False,
                 act_cfg: dict = dict(type='ReLU'), norm_cfg: dict = dict(type='BN'),
                 upsample_cfg: dict = dict(type='nearest', scale_factor=2),
                 upsample: bool = True, auto_sync_bn: bool = True, conv_cfg: dict | None = None,
                 with_spectral_norm: bool = False,
                 with_embedding_spectral_norm: bool | None = None, sn_style: str = 'torch',
                 norm_eps: float = 1e-4, sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type='BigGAN')):
        super().__init__()
        self._setup(init_cfg, conv_cfg)
        self.learnable_sc = in_channels != out_channels or upsample
        self.with_upsample = upsample
        self.activate = MODELS.build(act_cfg)
        hidden_channels = out_channels if hidden_channels is None else hidden_channels
        if upsample:
            self.upsample = MODELS.build(upsample_cfg)
        if with_embedding_spectral_norm is None:
            with_embedding_spectral_norm = with_spectral_norm
        sn_cfg = dict(eps=sn_eps, sn_style=sn_style)
        self.conv_1 = _sn_conv(in_channels, hidden_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        self.conv_2 = _sn_conv(hidden_channels, out_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        norm_args = (num_classes, use_cbn, norm_cfg, use_norm_affine, auto_sync_bn,
                     with_embedding_spectral_norm, sn_style, norm_eps, sn_eps, init_cfg)
        self.norm_1 = SNConditionNorm(in_channels, *norm_args)
        self.norm_2 = SNConditionNorm(hidden_channels, *norm_args)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, with_spectral_norm, sn_cfg,
                                     kernel_size=1, stride=1, padding=0, act_cfg=None)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.activate(self.norm_1(x, y))
        if self.with_upsample:
            out = self.upsample(out)
        out = self.conv_1(out)
        out = self.conv_2(self.activate(self.norm_2(out, y)))
        return out + self.forward_shortcut(x)

    def forward_shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.learnable_sc:
            if self.with_upsample:
                x = self.upsample(x)
            x = self.shortcut(x)
        return x


@MODELS.register_module()
class SNGANDiscResBlock(_SNGANBlockBase):
    """Discriminator block: act-conv-act-conv(-avgpool) plus a (1x1 conv) shortcut.

    Example: dict(type='SNGANDiscResBlock', in_channels=128, out_channels=128, downsample=True)
    """

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None,
                 downsample: bool = False, act_cfg: dict = dict(type='ReLU'),
                 conv_cfg: dict | None = None, with_spectral_norm: bool = True,
                 sn_style: str = 'torch', sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type='BigGAN')):
        super().__init__()
        self._setup(init_cfg, conv_cfg)
        hidden_channels = out_channels if hidden_channels is None else hidden_channels
        self.with_downsample = downsample
        self.activate = MODELS.build(act_cfg)
        sn_cfg = dict(eps=sn_eps, sn_style=sn_style)
        self.conv_1 = _sn_conv(in_channels, hidden_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        self.conv_2 = _sn_conv(hidden_channels, out_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        if downsample:
            self.downsample = nn.AvgPool2d(2, 2)
        self.learnable_sc = in_channels != out_channels or downsample
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, with_spectral_norm, sn_cfg,
                                     kernel_size=1, stride=1, padding=0, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # As in MMagic, an in-place activation (act_cfg inplace=True, the 'wReLUinplace'
        # configs) also rectifies x for the shortcut; their checkpoints were trained that way.
        out = self.conv_2(self.activate(self.conv_1(self.activate(x))))
        if self.with_downsample:
            out = self.downsample(out)
        return out + self.forward_shortcut(x)

    def forward_shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.learnable_sc:
            x = self.shortcut(x)
            if self.with_downsample:
                x = self.downsample(x)
        return x


@MODELS.register_module()
class SNGANDiscHeadResBlock(_SNGANBlockBase):
    """First discriminator block (no activation before the first conv; always downsamples).

    Example: dict(type='SNGANDiscHeadResBlock', in_channels=3, out_channels=128)
    """

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: dict | None = None,
                 act_cfg: dict = dict(type='ReLU'), with_spectral_norm: bool = True,
                 sn_eps: float = 1e-12, sn_style: str = 'torch',
                 init_cfg: dict = dict(type='BigGAN')):
        super().__init__()
        self._setup(init_cfg, conv_cfg)
        self.activate = MODELS.build(act_cfg)
        sn_cfg = dict(eps=sn_eps, sn_style=sn_style)
        self.conv_1 = _sn_conv(in_channels, out_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        self.conv_2 = _sn_conv(out_channels, out_channels, with_spectral_norm, sn_cfg,
                               **self.conv_cfg)
        self.downsample = nn.AvgPool2d(2, 2)
        self.shortcut = _sn_conv(in_channels, out_channels, with_spectral_norm, sn_cfg,
                                 kernel_size=1, stride=1, padding=0, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.downsample(self.conv_2(self.activate(self.conv_1(x))))
        return out + self.shortcut(self.downsample(x))


def _resolve_scale_cfg(cfg, scale: int, default: dict, name: str) -> list:
    cfg = deepcopy(default) if cfg is None else deepcopy(cfg)
    if isinstance(cfg, dict):
        if scale not in cfg:
            raise KeyError(f'{name}: scale {scale} is not in its keys {sorted(cfg)}; give a list '
                           f'or add an entry for {scale}')
        return cfg[scale]
    if isinstance(cfg, list):
        return cfg
    raise ValueError(f'{name} must be a list or a dict of lists, got {type(cfg).__name__}')


def _check_attention_idx(idx) -> list[int]:
    idx = idx if isinstance(idx, list) else [idx]
    if not all(isinstance(i, int) for i in idx):
        raise ValueError(f'attention_after_nth_block must be an int or a list of int, got {idx!r}')
    return idx



class _SNGANNetBase(BaseModule):
    """Init for whole networks: ``sngan_init`` over all layers, or a Pretrained checkpoint."""

    def _setup_init(self, init_cfg: dict | None, pretrained) -> dict:
        init_cfg = pretrained_to_init_cfg(pretrained, init_cfg or dict(type='BigGAN'))
        self.init_type = check_sngan_init_type(init_cfg, type(self).__name__)
        # BaseModule only runs the Pretrained loader; the named styles are handled below
        self.init_cfg = init_cfg if self.init_type.upper().startswith('PRETRAINED') else None
        return init_cfg if self.init_cfg is None else dict(type='BigGAN')

    def init_weights(self) -> None:
        if self.is_init:
            return
        sngan_init(self, self.init_type)
        super().init_weights()  # loads a Pretrained checkpoint, if any, last


@MODELS.register_module()
class SNGANGenerator(_SNGANNetBase):
    """Generator of SNGAN / Proj-GAN (and SAGAN with ``attention_after_nth_block``).

    noise (N, noise_size) -> linear -> (N, C0, input_scale, input_scale) -> residual blocks with
    class-conditional BN (x2 upsampling each) -> BN-act-conv -> tanh: (N, out_channels, S, S).
    ``channels_cfg`` holds the channel factors (of ``base_channels``) of the blocks.

    Example: dict(type='SNGANGenerator', output_scale=32, base_channels=256, num_classes=10)
    """

    _default_channels_cfg = {32: [1, 1, 1], 64: [16, 8, 4, 2], 128: [16, 16, 8, 4, 2]}

    def __init__(self, output_scale: int, num_classes: int = 0, base_channels: int = 64,
                 out_channels: int = 3, input_scale: int = 4, noise_size: int = 128,
                 attention_cfg: dict = dict(type='SelfAttentionBlock'),
                 attention_after_nth_block: int | list[int] = 0,
                 channels_cfg: list | dict | None = None,
                 blocks_cfg: dict = dict(type='SNGANGenResBlock'),
                 act_cfg: dict = dict(type='ReLU'), use_cbn: bool = True,
                 auto_sync_bn: bool = True, with_spectral_norm: bool = False,
                 with_embedding_spectral_norm: bool | None = None, sn_style: str = 'torch',
                 norm_eps: float = 1e-4, sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type='BigGAN'), pretrained: str | dict | None = None,
                 rgb_to_bgr: bool = False):
        super().__init__()
        block_init_cfg = self._setup_init(init_cfg, pretrained)
        if use_cbn and num_classes == 0:
            # MMGeneration's / MMagic's documented behaviour (their code raises instead): with no
            # classes the conditional norms degrade to unconditional ones (the *_cvt_studioGAN
            # configs of unconditional StudioGAN models rely on it)
            logger.info('%s: num_classes=0, so the conditional norms (use_cbn=True) are built as '
                        'unconditional %s layers', type(self).__name__,
                        blocks_cfg.get('norm_cfg', dict(type='BN'))['type'])
            use_cbn = False
        self.input_scale, self.output_scale = input_scale, output_scale
        self.noise_size, self.num_classes, self.rgb_to_bgr = noise_size, num_classes, rgb_to_bgr
        if with_embedding_spectral_norm is None:
            with_embedding_spectral_norm = with_spectral_norm
        self.blocks_cfg = deepcopy(blocks_cfg)
        for key, value in dict(num_classes=num_classes, act_cfg=act_cfg, use_cbn=use_cbn,
                               auto_sync_bn=auto_sync_bn, with_spectral_norm=with_spectral_norm,
                               with_embedding_spectral_norm=with_embedding_spectral_norm,
                               init_cfg=block_init_cfg, sn_style=sn_style, norm_eps=norm_eps,
                               sn_eps=sn_eps).items():
            self.blocks_cfg.setdefault(key, value)
        self.channel_factor_list = _resolve_scale_cfg(channels_cfg, output_scale,
                                                      self._default_channels_cfg, 'channels_cfg')
        # MMagic wraps this linear with torch's default SN eps (1e-12), not sn_eps
        self.noise2feat = nn.Linear(noise_size,
                                    input_scale**2 * base_channels * self.channel_factor_list[0])
        if with_spectral_norm:
            self.noise2feat = nn.utils.spectral_norm(self.noise2feat)
        attention_idx = _check_attention_idx(attention_after_nth_block)

        self.conv_blocks = nn.ModuleList()
        self.attention_block_idx = []
        factors = self.channel_factor_list + [1]
        for idx in range(len(self.channel_factor_list)):
            block_cfg = deepcopy(self.blocks_cfg)
            block_cfg['in_channels'] = factors[idx] * base_channels
            block_cfg['out_channels'] = factors[idx + 1] * base_channels
            self.conv_blocks.append(MODELS.build(block_cfg, key_path=f'blocks_cfg[{idx}]'))
            if idx + 1 in attention_idx:  # attention after the (idx+1)-th block
                self.attention_block_idx.append(len(self.conv_blocks))
                attn_cfg = deepcopy(attention_cfg)
                attn_cfg['in_channels'] = factors[idx + 1] * base_channels
                attn_cfg['sn_style'] = sn_style
                self.conv_blocks.append(MODELS.build(attn_cfg, key_path='attention_cfg'))

        norm_type = 'SyncBN' if is_multi_process() and auto_sync_bn else 'BN'
        self.to_rgb = SNConvModule(base_channels, out_channels, kernel_size=3, stride=1,
                                   padding=1, bias=True, norm_cfg=dict(type=norm_type, eps=norm_eps),
                                   act_cfg=act_cfg, order=('norm', 'act', 'conv'),
                                   with_spectral_norm=with_spectral_norm,
                                   spectral_norm_cfg=dict(eps=1e-12, sn_style='torch'))
        self.final_act = MODELS.build(dict(type='Tanh'))

    def forward(self, noise: torch.Tensor | Callable | None, num_batches: int = 0,
                label: torch.Tensor | Callable | None = None, return_noise: bool = False):
        """Images (N, out_channels, S, S) in [-1, 1], or dict(fake_img, noise_batch, label)."""
        device = get_module_device(self)
        noise_batch = sample_noise(noise, num_batches, self.noise_size, device,
                                   owner='SNGANGenerator')
        check_noise_shape(noise_batch, self.noise_size, 'SNGANGenerator')
        label_batch = sample_labels(label, num_batches, self.num_classes, device)
        x = self.noise2feat(noise_batch)
        x = x.reshape(x.size(0), -1, self.input_scale, self.input_scale)  # (N, C0, s, s)
        for idx, block in enumerate(self.conv_blocks):
            x = block(x) if idx in self.attention_block_idx else block(x, label_batch)
        out_img = self.final_act(self.to_rgb(x))
        if self.rgb_to_bgr:
            out_img = out_img[:, [2, 1, 0], ...]
        if return_noise:
            return dict(fake_img=out_img, noise_batch=noise_batch, label=label_batch)
        return out_img


@MODELS.register_module()
class ProjDiscriminator(_SNGANNetBase):
    """Projection discriminator of SNGAN / Proj-GAN (and SAGAN with attention).

    (N, C, S, S) -> head block -> residual blocks -> act -> sum over H, W -> linear ``decision``
    plus, with ``num_classes > 0``, the projection ``<proj_y[y], h>``: (N, 1).

    Example: dict(type='ProjDiscriminator', input_scale=32, base_channels=128, num_classes=10)
    """

    _default_channels_cfg = {32: [1, 1, 1], 64: [2, 4, 8, 16], 128: [2, 4, 8, 16, 16]}
    _default_downsample_cfg = {32: [True, False, False], 64: [True, True, True, True],
                               128: [True, True, True, True, False]}

    def __init__(self, input_scale: int, num_classes: int = 0, base_channels: int = 128,
                 input_channels: int = 3, attention_cfg: dict = dict(type='SelfAttentionBlock'),
                 attention_after_nth_block: int | list[int] = -1,
                 channels_cfg: list | dict | None = None,
                 downsample_cfg: list | dict | None = None,
                 from_rgb_cfg: dict = dict(type='SNGANDiscHeadResBlock'),
                 blocks_cfg: dict = dict(type='SNGANDiscResBlock'),
                 act_cfg: dict = dict(type='ReLU'), with_spectral_norm: bool = True,
                 sn_style: str = 'torch', sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type='BigGAN'), pretrained: str | dict | None = None):
        super().__init__()
        block_init_cfg = self._setup_init(init_cfg, pretrained)
        shared = dict(act_cfg=act_cfg, with_spectral_norm=with_spectral_norm, sn_style=sn_style,
                      sn_eps=sn_eps, init_cfg=block_init_cfg)
        self.from_rgb_cfg, self.blocks_cfg = deepcopy(from_rgb_cfg), deepcopy(blocks_cfg)
        for key, value in shared.items():
            self.from_rgb_cfg.setdefault(key, value)
            self.blocks_cfg.setdefault(key, value)
        self.channel_factor_list = _resolve_scale_cfg(channels_cfg, input_scale,
                                                      self._default_channels_cfg, 'channels_cfg')
        self.downsample_list = _resolve_scale_cfg(downsample_cfg, input_scale,
                                                  self._default_downsample_cfg, 'downsample_cfg')
        if len(self.downsample_list) != len(self.channel_factor_list):
            raise ValueError(f'downsample_cfg ({len(self.downsample_list)} entries) and '
                             f'channels_cfg ({len(self.channel_factor_list)}) must match')
        attention_idx = _check_attention_idx(attention_after_nth_block)

        self.from_rgb = MODELS.build(self.from_rgb_cfg, key_path='from_rgb_cfg', default_args=dict(
            in_channels=input_channels, out_channels=base_channels))
        self.conv_blocks = nn.ModuleList()
        if 1 in attention_idx:  # after the head block
            self.conv_blocks.append(MODELS.build(
                dict(attention_cfg, in_channels=base_channels, sn_style=sn_style)))
        factors = [1] + self.channel_factor_list
        for idx, downsample in enumerate(self.downsample_list):
            block_cfg = deepcopy(self.blocks_cfg)
            block_cfg.update(downsample=downsample, in_channels=factors[idx] * base_channels,
                             out_channels=factors[idx + 1] * base_channels)
            self.conv_blocks.append(MODELS.build(block_cfg, key_path=f'blocks_cfg[{idx}]'))
            if idx + 2 in attention_idx:
                # MMagic passes no sn_style here (the block's default, 'ajbrock'); kept so that
                # MMagic checkpoints load.
                self.conv_blocks.append(MODELS.build(
                    dict(attention_cfg, in_channels=factors[idx + 1] * base_channels)))

        out_ch = factors[-1] * base_channels
        self.decision = nn.Linear(out_ch, 1)
        if with_spectral_norm:
            self.decision = nn.utils.spectral_norm(self.decision)
        self.num_classes = num_classes
        if num_classes > 0:
            self.proj_y = build_sn_embedding(num_classes, out_ch, with_spectral_norm, 'torch')
        self.activate = MODELS.build(act_cfg)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (N, 1); ``label`` (N,) is required when ``num_classes > 0``."""
        h = self.from_rgb(x)
        for block in self.conv_blocks:
            h = block(h)
        h = torch.sum(self.activate(h), dim=[2, 3])  # (N, C)
        out = self.decision(h)
        if self.num_classes > 0:
            if label is None:
                raise ValueError('ProjDiscriminator: label is required when num_classes > 0')
            out = out + torch.sum(self.proj_y(label) * h, dim=1, keepdim=True)
        return out.view(out.size(0), -1)
