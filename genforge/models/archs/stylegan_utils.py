"""Latent-space helpers shared by the style-based generators: mean latent, style mixing grid,
checked ``out_size`` and loading MMagic-style ``pretrained=dict(ckpt_path, prefix)``."""
from __future__ import annotations

import math
import random
from collections.abc import Callable

import torch
from torch import Tensor, nn

from genforge.models.utils import get_module_device

__all__ = ['get_mean_latent', 'style_mixing', 'check_power_of_two', 'load_pretrained_prefix',
           'StyleLatentsMixin']


def check_power_of_two(value: int, key: str, low: int = 8, high: int = 1024) -> int:
    """log2(value); a ValueError naming ``key`` unless value is a power of two in [low, high]."""
    if not isinstance(value, int) or value < low or value > high or value & (value - 1):
        raise ValueError(f'{key}={value!r} must be a power of two between {low} and {high} '
                         f'(e.g. 64, 256, 1024); pad or resize the images to such a size')
    return int(math.log2(value))


@torch.no_grad()
def get_mean_latent(generator: nn.Module, num_samples: int = 4096,
                    bs_per_repeat: int = 1024) -> Tensor:
    """Average of ``generator.style_mapping(z)`` over ``num_samples`` z ~ N(0, I): (1, C)."""
    if num_samples % bs_per_repeat:
        raise ValueError(f'get_mean_latent: num_samples={num_samples} must be a multiple of '
                         f'bs_per_repeat={bs_per_repeat}')
    device = get_module_device(generator)
    total = None
    for _ in range(num_samples // bs_per_repeat):
        z = torch.randn(bs_per_repeat, generator.noise_size, device=device)
        mean = generator.style_mapping(z).mean(0, keepdim=True)
        total = mean if total is None else total + mean
    return total / (num_samples // bs_per_repeat)


@torch.no_grad()
def style_mixing(generator: nn.Module, n_source: int, n_target: int, inject_index: int = 1,
                 truncation_latent: Tensor | None = None, truncation: float = 0.7,
                 style_channels: int = 512, **kwargs) -> Tensor:
    """A style-mixing grid: a blank corner, ``n_source`` source images on the first row, then
    per target: the target image followed by the targets' coarse styles (layers before
    ``inject_index``) mixed with each source's fine styles.

    Returns ((n_target + 1) * (n_source + 1), C, H, W).
    """
    device = get_module_device(generator)
    source = torch.randn(n_source, style_channels, device=device)
    target = torch.randn(n_target, style_channels, device=device)
    common = dict(truncation_latent=truncation_latent, truncation=truncation, **kwargs)
    source_imgs = generator(source, **common)
    target_imgs = generator(target, **common)
    blank = -torch.ones(1, *source_imgs.shape[1:], device=device)
    rows = [blank, source_imgs]
    for i in range(n_target):
        mixed = generator([target[i:i + 1].repeat(n_source, 1), source],
                          inject_index=inject_index, **common)
        rows += [target_imgs[i:i + 1], mixed]
    return torch.cat(rows, 0)


def load_pretrained_prefix(module: nn.Module, ckpt_path: str, prefix: str = '',
                           map_location: str = 'cpu', strict: bool = True) -> None:
    """MMagic's ``pretrained=dict(ckpt_path, prefix)``: load ``prefix.*`` keys of a checkpoint.

    Mismatching shapes (e.g. a checkpoint of another resolution) raise, naming each key with the
    checkpoint's and the model's shape.
    """
    from genforge.checkpoint import load_state_dict, load_state_dict_from_file
    state_dict = load_state_dict_from_file(ckpt_path, map_location=map_location)
    if prefix:
        dotted = prefix.rstrip('.') + '.'
        state_dict = {k[len(dotted):]: v for k, v in state_dict.items() if k.startswith(dotted)}
        if not state_dict:
            raise KeyError(f'pretrained: no key of {ckpt_path} starts with prefix {prefix!r} '
                           f"(try 'generator_ema.module', 'generator' or 'discriminator')")
    try:
        load_state_dict(module, state_dict, strict=strict)
    except RuntimeError as exc:
        raise RuntimeError(f'pretrained={ckpt_path!r} (prefix {prefix!r}) does not fit '
                           f'{type(module).__name__}: {exc}') from None


class StyleLatentsMixin:
    """Latent handling shared by the style-based generators: sampling z (with style mixing
    during training), truncation towards the mean w, one w per layer (``num_latents``).

    The generator sets ``noise_size``, ``style_channels``, ``num_latents``, ``mix_prob``,
    ``_default_style_mode``/``default_style_mode``/``eval_style_mode``, ``style_mapping``.
    """

    def train(self, mode: bool = True) -> nn.Module:
        """Training mixes styles (``default_style_mode``); eval uses ``eval_style_mode``."""
        self.default_style_mode = self._default_style_mode if mode else self.eval_style_mode
        return super().train(mode)

    def get_mean_latent(self, num_samples: int = 4096, **kwargs) -> Tensor:
        """Mean w (1, style_channels): the EMA ``w_avg`` when tracked, else sampled."""
        if hasattr(self, 'w_avg'):
            return self.w_avg
        return get_mean_latent(self, num_samples, **kwargs)

    def _sample_styles(self, styles, num_batches: int, input_dim: int,
                       input_is_latent: bool) -> list[Tensor]:
        """Tensor / list / sampler / None -> a list of one or two style batches (checked)."""
        if isinstance(styles, Tensor):
            styles = [styles]
        if isinstance(styles, (list, tuple)) and all(isinstance(s, Tensor) for s in styles):
            for s in styles:
                if s.shape[-1] != input_dim:
                    kind = 'w latent (input_is_latent=True)' if input_is_latent else 'noise z'
                    raise ValueError(
                        f'{type(self).__name__}: the {kind} must have width {input_dim}, got a '
                        f'tensor of shape {tuple(s.shape)}')
            return list(styles)
        if styles is not None and not callable(styles):
            raise TypeError(f'styles must be a Tensor, a list of Tensors, a sampler or None, '
                            f'got {type(styles).__name__}')
        if num_batches <= 0:
            raise ValueError('num_batches must be > 0 when styles is a sampler or None')
        if styles is None and input_is_latent:
            raise ValueError('input_is_latent=True needs latent tensors, not styles=None')
        sampler: Callable = styles if callable(styles) else \
            (lambda size: torch.randn(size))
        mix = self.default_style_mode == 'mix' and random.random() < self.mix_prob
        device = get_module_device(self)
        return [sampler((num_batches, input_dim)).to(device) for _ in range(2 if mix else 1)]

    def _truncate(self, styles: list[Tensor], truncation: float,
                  truncation_latent: Tensor | None) -> list[Tensor]:
        if truncation >= 1:
            return styles
        if truncation_latent is None:
            # computed once and cached, as MMagic does (sampling 4096 latents per call is slow)
            if not hasattr(self, 'truncation_latent'):
                self.truncation_latent = self.get_mean_latent()
            truncation_latent = self.truncation_latent
        return [truncation_latent + truncation * (s - truncation_latent) for s in styles]

    def _latent_codes(self, styles: list[Tensor], inject_index: int | None) -> tuple[Tensor, int]:
        """(N, num_latents, C): one w per layer; two styles switch at ``inject_index``."""
        if len(styles) < 2:
            inject_index = self.num_latents
            s = styles[0]
            return (s.unsqueeze(1).repeat(1, inject_index, 1) if s.ndim < 3 else s), inject_index
        if inject_index is None:
            inject_index = random.randint(1, self.num_latents - 1)
        latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1)
        latent2 = styles[1].unsqueeze(1).repeat(1, self.num_latents - inject_index, 1)
        return torch.cat([latent, latent2], 1), inject_index
