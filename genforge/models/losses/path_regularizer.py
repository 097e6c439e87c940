"""StyleGAN2's path-length regulariser: ``E[(||J_w^T y|| - a)^2]`` with ``a`` a running mean.

``J_w`` is the Jacobian of the image with respect to the per-layer latents ``w`` and ``y`` a
random image scaled by 1/sqrt(H*W); the penalty's gradient needs double backward through the
generator (all genforge ops support it).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genforge.models.wrappers import is_model_wrapper

__all__ = ['gen_path_regularizer']


def gen_path_regularizer(generator: nn.Module, num_batches: int, mean_path_length: Tensor,
                         pl_batch_shrink: int = 1, decay: float = 0.01, weight: float = 1.,
                         pl_batch_size: int | None = None, loss_scaler=None,
                         use_apex_amp: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Path-length penalty on ``num_batches // pl_batch_shrink`` fresh samples.

    The generator must accept ``(None, num_batches=n, return_latents=True)`` and return a dict
    with ``fake_img`` (N, C, H, W) and ``latent`` (N, L, C_w).

    Returns ``(penalty * weight, updated mean path length (detached), path lengths (N,))``.
    ``mean_path_length`` moves towards the batch mean by ``decay``.
    """
    if use_apex_amp:
        raise NotImplementedError('gen_path_regularizer: apex AMP is not supported; use '
                                  'AmpOptimWrapper (native AMP)')
    if pl_batch_shrink > 1:
        num_batches = max(1, num_batches // pl_batch_shrink)
    if pl_batch_size is not None:
        num_batches = pl_batch_size
    generator = generator.module if is_model_wrapper(generator) else generator
    out = generator(None, num_batches=num_batches, return_latents=True)
    fake_img, latents = out['fake_img'], out['latent']
    noise = torch.randn_like(fake_img) / math.sqrt(fake_img.shape[2] * fake_img.shape[3])
    outputs = (fake_img * noise).sum()
    if loss_scaler is not None:  # fp16: scale before the first backward, unscale after
        outputs = loss_scaler.scale(outputs)
    grad, = torch.autograd.grad(outputs=outputs, inputs=latents, create_graph=True,
                                retain_graph=True, only_inputs=True)
    if loss_scaler is not None:
        grad = grad / loss_scaler.get_scale()
    # (N, L, C) -> (N,): norm over C, averaged over the L layers' latents
    path_lengths = torch.sqrt(grad.pow(2).sum(2).mean(1))
    path_mean = mean_path_length + decay * (path_lengths.mean() - mean_path_length)
    penalty = (path_lengths - path_mean).pow(2).mean() * weight
    return penalty, path_mean.detach(), path_lengths
