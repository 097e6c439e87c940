"""Perceptual Path Length (MMagic's ``PerceptualPathLength``) with a pixel distance.

genforge ships no LPIPS/VGG16 weights, so the distance between the two images of each path
step is the mean squared pixel difference in [-1, 1] (not LPIPS). The protocol string says
``distance=pixel-mse``; such numbers are for monitoring and are NOT comparable to published PPL.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from ...registry import METRICS
from .base_gen_metric import GenerativeMetric, unwrap_model

__all__ = ['PerceptualPathLength', 'slerp']


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Spherical interpolation between the directions of ``a`` and ``b`` (N, C)."""
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    d = (a * b).sum(-1, keepdim=True)
    p = t * torch.acos(d.clamp(-1, 1))
    c = F.normalize(b - d * a, dim=-1)
    return F.normalize(a * torch.cos(p) + c * torch.sin(p), dim=-1)


class _PathSampler:
    """Yields ``2 * batch`` latents: pairs (t, t + epsilon) along random paths."""

    def __init__(self, generator: nn.Module | None, num_images: int, batch_size: int,
                 space: str, sampling: str, epsilon: float, latent_dim: int,
                 sample_model: str, device):
        self.sizes = [batch_size] * (num_images // batch_size)
        if num_images % batch_size:
            self.sizes.append(num_images % batch_size)
        self.generator, self.space, self.sampling = generator, space, sampling
        self.epsilon, self.latent_dim = epsilon, latent_dim
        self.sample_model, self.device = sample_model, device

    def __len__(self) -> int:
        return len(self.sizes)

    @torch.no_grad()
    def _latents(self, n: int) -> torch.Tensor:
        z = torch.randn(2 * n, self.latent_dim, device=self.device)
        t = torch.rand(n, 1, device=self.device) if self.sampling == 'full' \
            else torch.zeros(n, 1, device=self.device)
        if self.space == 'W':
            w = self.generator.style_mapping(z)
            e0, e1 = torch.lerp(w[::2], w[1::2], t), torch.lerp(w[::2], w[1::2], t + self.epsilon)
        else:
            e0, e1 = slerp(z[::2], z[1::2], t), slerp(z[::2], z[1::2], t + self.epsilon)
        return torch.stack([e0, e1], 1).reshape(2 * n, -1)  # (n, 2, C) -> (2n, C)

    def __iter__(self):
        for n in self.sizes:
            kwargs = dict(input_is_latent=True) if self.space == 'W' else {}
            yield dict(inputs=dict(noise=self._latents(n), num_batches=2 * n,
                                   sample_model=self.sample_model, sample_kwargs=kwargs))


@METRICS.register_module(name=['PerceptualPathLength', 'PPL'])
class PerceptualPathLength(GenerativeMetric):
    """PPL: E[d(G(l(t)), G(l(t + eps))) / eps^2] over ``fake_nums`` paths, 1%/99% trimmed.

    ``space='Z'`` slerps input noise (any generator); ``space='W'`` lerps the generator's
    ``style_mapping`` output (StyleGAN). ``d`` is the pixel MSE (see module docstring).
    Result: ``ppl_score``.

    Example: dict(type='PPL', prefix='ppl-z', fake_nums=10000, space='Z', sampling='full',
                  latent_dim=100)
    """
    SAMPLER_MODE = 'path'
    name = 'PPL'

    def __init__(self, fake_nums: int, real_nums: int = 0, fake_key: str | None = None,
                 real_key: str | None = 'gt_img', need_cond_input: bool = False,
                 sample_model: str = 'ema', collect_device: str = 'cpu',
                 prefix: str | None = None, crop: bool = True, epsilon: float = 1e-4,
                 space: str = 'W', sampling: str = 'end', latent_dim: int = 512):
        super().__init__(fake_nums, real_nums, fake_key, real_key, need_cond_input,
                         sample_model, collect_device, prefix)
        if space not in ('Z', 'W') or sampling not in ('full', 'end'):
            raise ValueError(f"PPL: space must be 'Z' or 'W' and sampling 'full' or 'end', got "
                             f'space={space!r}, sampling={sampling!r}')
        self.crop, self.epsilon, self.space = crop, epsilon, space
        self.sampling, self.latent_dim = sampling, latent_dim

    def _protocol_fields(self) -> list:
        return [('paths', self.fake_nums), ('space', self.space), ('sampling', self.sampling),
                ('eps', self.epsilon), ('distance', 'pixel-mse(not LPIPS)')]

    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader, metrics: list):
        module = unwrap_model(model)
        gen = getattr(module, 'generator_ema' if self.sample_model == 'ema' else 'generator',
                      None) or getattr(module, 'generator', None)
        if self.space == 'W' and not hasattr(gen, 'style_mapping'):
            raise ValueError("PPL: space='W' needs a generator with style_mapping (StyleGAN); "
                             "use space='Z' for other generators")
        params = list(module.parameters())
        device = params[0].device if params else 'cpu'
        return _PathSampler(gen, max(m.fake_nums_per_device for m in metrics),
                            dataloader.batch_size, self.space, self.sampling, self.epsilon,
                            self.latent_dim, self.sample_model, device)

    def process(self, data_batch: dict, data_samples) -> None:
        if len(self.fake_results) >= self.fake_nums_per_device:
            return
        imgs = (torch.stack(self.fake_images(data_samples)).float() - 127.5) / 127.5
        if self.crop:  # MMagic's face crop: central rows 3/8..7/8, columns 2/8..6/8
            c = imgs.shape[2] // 8
            imgs = imgs[:, :, c * 3:c * 7, c * 2:c * 6]
        dist = (imgs[0::2] - imgs[1::2]).pow(2).flatten(1).mean(1) / self.epsilon ** 2
        self.fake_results += list(dist.cpu().double())

    def compute_metrics(self, fake_results: list) -> dict:
        d = torch.stack(fake_results).numpy()
        lo = np.percentile(d, 1, method='lower')
        hi = np.percentile(d, 99, method='higher')
        kept = d[(lo <= d) & (d <= hi)]
        score = float(kept.mean()) if kept.size else math.nan
        return {'ppl_score': score}
