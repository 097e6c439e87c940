"""Latent-space helpers shared by the style-based generators: mean latent, style mixing grid,
checked ``out_size`` and loading MMagic-style ``pretrained=dict(ckpt_path, prefix)``."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genforge.models.utils import get_module_device

__all__ = ['get_mean_latent', 'style_mixing', 'check_power_of_two', 'load_pretrained_prefix']


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
    from genforge.runner.checkpoint import load_state_dict, load_state_dict_from_file
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
