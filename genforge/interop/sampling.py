"""Sample and score with NVlabs' semantics, whatever the genforge network's own forward looks like.

``generate(G, z, c, truncation_psi, noise_mode)`` is NVlabs' ``G(z, c, truncation_psi,
noise_mode=...)``: z -> w by the mapping (label ``c`` as a one-hot/embedding vector),
``w_avg.lerp(w, psi)`` towards the source's ``w_avg`` on the first ``truncation_cutoff`` layers
(all by default), then the synthesis; images in [-1, 1], RGB for NVlabs imports.
``noise_mode``: ``'const'`` (the stored per-layer noise), ``'random'`` or ``'none'``.
``discriminate(D, img, c)`` is NVlabs' ``D(img, c)``: logits (N, 1).

Works for genforge's StyleGANv2Generator (and subclasses), StyleGANv3Generator and
StyleGAN2Discriminator, imported or trained in genforge.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ['generate', 'discriminate', 'mapping', 'w_avg_of']


def _label(net: nn.Module, c: Tensor | None, n: int, cond_size: int) -> Tensor | None:
    """NVlabs' c: (N, c_dim) float; class indices (N,) are turned into one-hot vectors."""
    if not cond_size:
        if c is not None and c.numel() > 0:
            raise ValueError(f'{type(net).__name__} is unconditional (c_dim=0); pass c=None')
        return None
    if c is None:
        raise ValueError(f'{type(net).__name__} is conditional (c_dim={cond_size}): pass c, '
                         f'(N, {cond_size}) one-hot rows or (N,) class indices')
    c = torch.as_tensor(c)
    if c.ndim == 1 and not c.is_floating_point():
        c = torch.nn.functional.one_hot(c.long(), cond_size)
    if c.ndim != 2 or c.shape != (n, cond_size):
        raise ValueError(f'c must be ({n}, {cond_size}) or ({n},) class indices, got '
                         f'{tuple(c.shape)}')
    return c.float()


def _device(net: nn.Module) -> torch.device:
    return next(iter(net.parameters())).device


def w_avg_of(net: nn.Module) -> Tensor:
    """The truncation centre: the source's ``w_avg`` (a buffer of imported generators)."""
    for owner in (net, getattr(net, 'style_mapping', None)):
        if owner is not None and isinstance(getattr(owner, 'w_avg', None), Tensor):
            return owner.w_avg
    info = getattr(net, 'interop_info', None) or {}
    if isinstance(info.get('w_avg'), Tensor):
        return info['w_avg'].to(_device(net))
    return net.get_mean_latent().reshape(-1)


def mapping(net: nn.Module, z: Tensor, c: Tensor | None = None, truncation_psi: float = 1.0,
            truncation_cutoff: int | None = None) -> Tensor:
    """NVlabs' ``G.mapping(z, c, truncation_psi, truncation_cutoff)``: ws (N, num_ws, w_dim)."""
    z = torch.as_tensor(z, dtype=torch.float32, device=_device(net))
    if z.ndim != 2:
        raise ValueError(f'z must be (N, z_dim), got {tuple(z.shape)}')
    n = z.shape[0]
    if hasattr(net, 'synthesis') and hasattr(net.synthesis, 'num_ws'):  # StyleGANv3Generator
        cond = getattr(net.style_mapping, 'cond_size', 0)
        label = _label(net, c, n, cond)
        if label is not None:
            label = label.to(z.device)
        ws = net.style_mapping(z, label)  # (N, num_ws, C), untruncated
        num_ws = net.num_ws
    else:  # StyleGANv2Generator
        if z.shape[1] != net.noise_size:
            raise ValueError(f'z must be (N, {net.noise_size}), got {tuple(z.shape)}')
        label = _label(net, c, n, getattr(net, 'cond_size', None) or 0)
        if label is not None:
            label = label.to(z.device)
        w = net._map_styles([z], label)[0]
        num_ws = net.num_latents
        ws = w.unsqueeze(1).repeat(1, num_ws, 1)
    if truncation_psi != 1:
        cut = num_ws if truncation_cutoff is None else truncation_cutoff
        centre = w_avg_of(net).to(ws)
        ws = torch.cat([centre.lerp(ws[:, :cut], truncation_psi), ws[:, cut:]], dim=1)
    return ws


def generate(net: nn.Module, z: Tensor, c: Tensor | None = None, truncation_psi: float = 1.0,
             noise_mode: str = 'const', truncation_cutoff: int | None = None) -> Tensor:
    """Images (N, C, H, W) in [-1, 1] from latents z (N, z_dim), as NVlabs' ``G(z, c, ...)``."""
    if noise_mode not in ('const', 'random', 'none'):
        raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
    ws = mapping(net, z, c, truncation_psi, truncation_cutoff)
    if hasattr(net, 'synthesis') and hasattr(net.synthesis, 'num_ws'):
        img = net.synthesis(ws)  # StyleGAN3 has no noise inputs
        if getattr(net, 'rgb2bgr', False):  # the generator's own output flip (MMagic configs)
            img = img[:, [2, 1, 0]]
    else:
        img = net(ws, input_is_latent=True, randomize_noise=noise_mode == 'random',
                  add_noise=noise_mode != 'none', truncation=1)
        if isinstance(img, dict):
            img = img['fake_img']
    return img.float()


def discriminate(net: nn.Module, img: Tensor, c: Tensor | None = None) -> Tensor:
    """Logits (N, 1), as NVlabs' ``D(img, c)``; ``img`` (N, C, H, W) in [-1, 1]."""
    img = torch.as_tensor(img, dtype=torch.float32, device=_device(net))
    mapping_net = getattr(net, 'mapping', None)
    cond = getattr(mapping_net, 'cond_size', 0) if mapping_net is not None else 0
    label = _label(net, c, img.shape[0], cond)
    if label is not None:
        return net(img, label.to(img.device)).float()
    return net(img).float()
