"""DenoisingUnet: Improved DDPM's U-Net (MMGeneration / MMagic 1.2 argument and key names)."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from genforge.models.base_module import BaseModule
from genforge.models.layers.conv_module import ConvModule
from genforge.models.layers.denoising_blocks import DenoisingResBlock, EmbedSequential, TimeEmbedding
from genforge.registry import MODELS

__all__ = ['DenoisingUnet']

MEAN_MODES = ('EPS', 'START_X', 'PREVIOUS_X')
VAR_MODES = ('LEARNED_RANGE', 'LEARNED', 'FIXED_LARGE', 'FIXED_SMALL')


def _check_output_cfg(output_cfg: dict) -> tuple[str, str]:
    mean = str(output_cfg.get('mean', 'eps'))
    var = str(output_cfg.get('var', 'learned_range'))
    if mean.upper() not in MEAN_MODES:
        raise ValueError(f"model.denoising.output_cfg.mean={mean!r}: use 'eps', 'start_x' or "
                         f"'previous_x'")
    if var.upper() not in VAR_MODES:
        raise ValueError(f"model.denoising.output_cfg.var={var!r}: use 'learned_range', "
                         f"'learned', 'fixed_large' or 'fixed_small'")
    return mean, var


def _with_defaults(cfg: dict, **defaults) -> dict:
    """A copy of a sub-block config with the U-Net's settings as defaults."""
    out = dict(copy.deepcopy(cfg))
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


@MODELS.register_module()
class DenoisingUnet(BaseModule):
    """Improved DDPM's U-Net: predicts the noise (or x_0 / x_{t-1}) and a variance code.

    ``forward(x_t, t, label=None)``: x_t (N, C, H, W), t (N,) int timesteps -> ``dict(sample=
    (N, C_out, H, W))`` as MMagic 1.2 returns it, plus the split fields MMGeneration returned:
    ``eps_t_pred`` / ``x_0_pred`` / ``x_tm1_pred`` (the first C channels) and, for learned
    variances, ``factor`` (= (v + 1) / 2, 'learned_range') or ``log_var`` ('learned').
    C_out = 2C for learned variances, C for fixed ones.

    ``use_rescale_timesteps=True`` feeds ``t * 1000 / num_timesteps`` to the time embedding
    (MMGeneration's behaviour; MMagic 1.2 ignores the flag).

    Example: dict(type='DenoisingUnet', image_size=32, in_channels=3, base_channels=128,
                  resblocks_per_downsample=3, attention_res=[16, 8], use_scale_shift_norm=True,
                  dropout=0.3, num_heads=4, use_rescale_timesteps=True,
                  output_cfg=dict(mean='eps', var='learned_range'))
    """

    _default_channels_cfg = {
        512: [0.5, 1, 1, 2, 2, 4, 4], 256: [1, 1, 2, 2, 4, 4], 128: [1, 1, 2, 3, 4],
        64: [1, 2, 3, 4], 32: [1, 2, 2, 2]}

    def __init__(self, image_size: int | list[int], in_channels: int = 3,
                 base_channels: int = 128, resblocks_per_downsample: int = 3,
                 num_timesteps: int = 1000, use_rescale_timesteps: bool = False,
                 dropout: float = 0., embedding_channels: int = -1, num_classes: int = 0,
                 channels_cfg: list | dict | None = None,
                 output_cfg: dict = dict(mean='eps', var='learned_range'),
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='SiLU', inplace=False),
                 shortcut_kernel_size: int = 1, use_scale_shift_norm: bool = False,
                 resblock_updown: bool = False, num_heads: int = 4,
                 time_embedding_mode: str = 'sin', time_embedding_cfg: dict | None = None,
                 resblock_cfg: dict = dict(type='DenoisingResBlock'),
                 attention_cfg: dict = dict(type='MultiHeadAttention'),
                 downsample_conv: bool = True, upsample_conv: bool = True,
                 downsample_cfg: dict = dict(type='DenoisingDownsample'),
                 upsample_cfg: dict = dict(type='DenoisingUpsample'),
                 attention_res: list[int] | int = [16, 8], pretrained: str | None = None):
        super().__init__()
        self.num_classes = num_classes
        self.num_timesteps = num_timesteps
        self.base_channels = base_channels
        self.use_rescale_timesteps = use_rescale_timesteps
        self.output_cfg = copy.deepcopy(output_cfg)
        self.mean_mode, self.var_mode = _check_output_cfg(self.output_cfg)
        self.in_channels = in_channels
        self.out_channels = in_channels if 'FIXED' in self.var_mode.upper() else 2 * in_channels
        self.image_size = self._check_image_size(image_size)
        self.channel_factor_list = self._channel_factors(channels_cfg, self.image_size)
        self._check_divisible(self.image_size, len(self.channel_factor_list) - 1)
        embedding_channels = base_channels * 4 if embedding_channels == -1 \
            else embedding_channels
        self.embedding_channels = embedding_channels

        self.time_embedding = TimeEmbedding(base_channels, embedding_channels=embedding_channels,
                                            embedding_mode=time_embedding_mode,
                                            embedding_cfg=time_embedding_cfg, act_cfg=act_cfg)

        self.resblock_cfg = _with_defaults(
            resblock_cfg, dropout=dropout, norm_cfg=norm_cfg, act_cfg=act_cfg,
            embedding_channels=embedding_channels, use_scale_shift_norm=use_scale_shift_norm,
            shortcut_kernel_size=shortcut_kernel_size)
        attention_res = [attention_res] if isinstance(attention_res, int) else attention_res
        self.attention_scale = [self.image_size // int(res) for res in attention_res]
        self.attention_cfg = _with_defaults(attention_cfg, num_heads=num_heads, norm_cfg=norm_cfg)
        self.downsample_cfg = _with_defaults(downsample_cfg, with_conv=downsample_conv)
        self.upsample_cfg = _with_defaults(upsample_cfg, with_conv=upsample_conv)
        # a resampling res block (resblock_updown) copies the plain block's settings
        self._updown_args = dict(embedding_channels=embedding_channels,
                                 use_scale_shift_norm=use_scale_shift_norm, dropout=dropout,
                                 norm_cfg=norm_cfg)
        self.resblock_updown = resblock_updown

        ch = int(base_channels * self.channel_factor_list[0])
        self.in_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(in_channels, ch, 3, 1, 1))])
        if num_classes != 0:  # registered after in_blocks: MMagic's state_dict order
            self.label_embedding = nn.Embedding(num_classes, embedding_channels)
        skip_channels = self._build_down_path(ch, resblocks_per_downsample)
        mid_channels = skip_channels[-1]
        self.mid_blocks = EmbedSequential(self._resblock(mid_channels),
                                          self._attention(mid_channels),
                                          self._resblock(mid_channels))
        out_ch = self._build_up_path(mid_channels, skip_channels, resblocks_per_downsample)
        self.out = ConvModule(in_channels=out_ch, out_channels=self.out_channels,
                              kernel_size=3, padding=1, act_cfg=act_cfg, norm_cfg=norm_cfg,
                              bias=True, order=('norm', 'act', 'conv'))
        self.pretrained = pretrained
        self.init_weights()

    # -- construction ---------------------------------------------------------------------
    @staticmethod
    def _check_image_size(image_size: int | list[int]) -> int:
        if isinstance(image_size, (list, tuple)):
            if len(image_size) != 2 or image_size[0] != image_size[1]:
                raise ValueError(f'model.denoising.image_size={list(image_size)}: give one int '
                                 f'or a square [size, size]')
            image_size = image_size[0]
        if not isinstance(image_size, int):
            raise TypeError(f'model.denoising.image_size must be an int or [int, int], got '
                            f'{type(image_size).__name__}')
        return image_size

    @staticmethod
    def _check_divisible(image_size: int, levels: int) -> None:
        if image_size % (2 ** levels):
            raise ValueError(
                f'model.denoising.image_size={image_size} is not divisible by '
                f'2^{levels}={2 ** levels} (channels_cfg has {levels + 1} levels); use a size '
                f'that is a multiple of {2 ** levels} or fewer levels in channels_cfg')

    def _channel_factors(self, channels_cfg: list | dict | None, image_size: int) -> list:
        cfg = copy.deepcopy(self._default_channels_cfg if channels_cfg is None else channels_cfg)
        if isinstance(cfg, dict):
            if image_size not in cfg:
                raise KeyError(f'model.denoising.image_size={image_size} has no default '
                               f'channels_cfg (known: {sorted(cfg)}); pass channels_cfg as a '
                               f'list of channel factors, e.g. [1, 2, 2]')
            return list(cfg[image_size])
        if isinstance(cfg, (list, tuple)):
            return list(cfg)
        raise TypeError(f'model.denoising.channels_cfg must be a list or a dict, got '
                        f'{type(cfg).__name__}')

    def _resblock(self, in_channels: int, out_channels: int | None = None) -> nn.Module:
        args = {'in_channels': in_channels}
        if out_channels is not None:
            args['out_channels'] = out_channels
        return MODELS.build(self.resblock_cfg, default_args=args,
                            key_path='model.denoising.resblock_cfg')

    def _attention(self, in_channels: int) -> nn.Module:
        return MODELS.build(self.attention_cfg, default_args={'in_channels': in_channels},
                            key_path='model.denoising.attention_cfg')

    def _resample(self, channels: int, down: bool) -> nn.Module:
        if self.resblock_updown:
            return DenoisingResBlock(channels, out_channels=channels, down=down, up=not down,
                                     **self._updown_args)
        cfg, key = (self.downsample_cfg, 'downsample_cfg') if down \
            else (self.upsample_cfg, 'upsample_cfg')
        return MODELS.build(cfg, default_args={'in_channels': channels},
                            key_path=f'model.denoising.{key}')

    def _build_down_path(self, ch: int, num_res: int) -> list[int]:
        """Fill ``in_blocks``; return the channels of every skip connection (in order)."""
        skip_channels, scale, in_ch = [ch], 1, ch
        factors = self.channel_factor_list
        for level, factor in enumerate(factors):
            out_ch = int(self.base_channels * factor)
            for _ in range(num_res):
                layers = [self._resblock(in_ch, out_ch)]
                in_ch = out_ch
                if scale in self.attention_scale:
                    layers.append(self._attention(in_ch))
                skip_channels.append(in_ch)
                self.in_blocks.append(EmbedSequential(*layers))
            if level != len(factors) - 1:
                self.in_blocks.append(EmbedSequential(self._resample(in_ch, down=True)))
                skip_channels.append(in_ch)
                scale *= 2
        self._bottom_scale = scale
        return skip_channels

    def _build_up_path(self, in_ch: int, skip_channels: list[int], num_res: int) -> int:
        """Fill ``out_blocks`` (each takes the concat of the path and one skip); return the
        final channel count."""
        skips, scale = list(skip_channels), self._bottom_scale
        factors = self.channel_factor_list
        self.out_blocks = nn.ModuleList()
        for level, factor in enumerate(factors[::-1]):
            for idx in range(num_res + 1):
                out_ch = int(self.base_channels * factor)
                layers = [self._resblock(in_ch + skips.pop(), out_ch)]
                in_ch = out_ch
                if scale in self.attention_scale:
                    layers.append(self._attention(in_ch))
                if level != len(factors) - 1 and idx == num_res:
                    layers.append(self._resample(in_ch, down=False))
                    scale //= 2
                self.out_blocks.append(EmbedSequential(*layers))
        return in_ch

    def init_weights(self) -> None:
        """Improved DDPM's init: zero the second conv of every res block, the output conv and
        the attention projections (PyTorch defaults elsewhere); or load ``pretrained``."""
        if self._is_init:
            return
        if isinstance(self.pretrained, str):
            from genforge.runner.checkpoint import load_checkpoint
            load_checkpoint(self, self.pretrained, map_location='cpu', strict=False)
        else:
            for name, m in self.named_modules():
                if isinstance(m, nn.Conv2d) and ('conv_2' in name or (
                        'out' in name and 'out_blocks' not in name)):
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
                if isinstance(m, nn.Conv1d) and 'proj' in name:
                    nn.init.zeros_(m.weight)
                    nn.init.zeros_(m.bias)
        self._is_init = True

    # -- forward --------------------------------------------------------------------------
    def forward(self, x_t: Tensor, t: Tensor | int, label: Tensor | None = None) -> dict:
        """x_t (N, C, H, W), t (N,) or a scalar -> dict(sample, eps_t_pred | x_0_pred |
        x_tm1_pred[, factor | log_var])."""
        if not torch.is_tensor(t):
            t = torch.tensor([t], dtype=torch.long, device=x_t.device)
        elif t.ndim == 0:
            t = t[None].to(x_t.device)
        factor = 2 ** (len(self.channel_factor_list) - 1)
        if x_t.shape[-1] % factor or x_t.shape[-2] % factor:
            raise ValueError(f'DenoisingUnet: input size {tuple(x_t.shape[-2:])} is not '
                             f'divisible by 2^{len(self.channel_factor_list) - 1}={factor}; '
                             f'resize the images or change channels_cfg')
        if self.use_rescale_timesteps:
            t = t.float() * (1000.0 / self.num_timesteps)
        embedding = self.time_embedding(t)
        if label is not None:
            if not hasattr(self, 'label_embedding'):
                raise ValueError('DenoisingUnet: a label was given to an unconditional model '
                                 '(num_classes=0); drop the label or set model.num_classes')
            embedding = self.label_embedding(label) + embedding

        h, hs = x_t, []
        for block in self.in_blocks:
            h = block(h, embedding)
            hs.append(h)
        h = self.mid_blocks(h, embedding)
        for block in self.out_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), embedding)  # U-Net skip
        sample = self.out(h)
        return dict(sample=sample, **self.split_output(sample))

    def split_output(self, sample: Tensor) -> dict:
        """MMGeneration's named fields of the raw output (mean channels first)."""
        out = {}
        mean = sample
        if 'FIXED' not in self.var_mode.upper():
            mean, var = sample.split(self.in_channels, dim=1)
            if self.var_mode.upper() == 'LEARNED_RANGE':
                out['factor'] = (var + 1) / 2  # [-1, 1] -> [0, 1] interpolation weight
            else:
                out['log_var'] = var
        key = {'EPS': 'eps_t_pred', 'START_X': 'x_0_pred', 'PREVIOUS_X': 'x_tm1_pred'}
        out[key[self.mean_mode.upper()]] = mean
        return out
