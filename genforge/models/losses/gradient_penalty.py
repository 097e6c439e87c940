"""Gradient penalties: WGAN-GP (interpolates) and R1 (real data only).

Both are computed in float32 with autocast disabled: second-order gradients of half-precision
discriminators overflow easily, so AMP-fragile regularisers run in fp32.
"""
from __future__ import annotations

import torch
from torch import autograd, nn

from genforge.registry import MODELS


def _autocast_off(tensor: torch.Tensor):
    return torch.autocast(device_type=tensor.device.type, enabled=False)


def _penalty_norm(gradients: torch.Tensor, norm_mode: str, center: float) -> torch.Tensor:
    """(||g|| - center)^2 averaged; 'pixel': norm over channels, 'HWC': over all but batch."""
    if norm_mode == 'pixel':
        norms = gradients.norm(2, dim=1)
    elif norm_mode == 'HWC':
        norms = gradients.reshape(gradients.shape[0], -1).norm(2, dim=1)
    else:
        raise NotImplementedError(f'norm_mode={norm_mode!r} is not supported; use "pixel" or "HWC"')
    return ((norms - center) ** 2).mean()


def gradient_penalty_loss(discriminator: nn.Module, real_data: torch.Tensor,
                          fake_data: torch.Tensor, mask: torch.Tensor | None = None,
                          norm_mode: str = 'pixel') -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad D(x_hat)|| - 1)^2]`` at ``x_hat = a*real + (1-a)*fake``.

    ``a ~ U[0, 1)`` per sample; ``mask`` (inpainting) multiplies the gradients and the result is
    divided by ``mean(mask)``.
    """
    with _autocast_off(real_data):
        real_data, fake_data = real_data.float(), fake_data.float()
        alpha = torch.rand(real_data.shape[0], 1, 1, 1, device=real_data.device)
        # (N, C, H, W); detached so the penalty only reaches D through the interpolates
        interpolates = (alpha * real_data + (1. - alpha) * fake_data).detach().requires_grad_(True)
        disc_pred = discriminator(interpolates).float()
        gradients = autograd.grad(outputs=disc_pred, inputs=interpolates,
                                  grad_outputs=torch.ones_like(disc_pred), create_graph=True,
                                  retain_graph=True, only_inputs=True)[0]
        if mask is not None:
            gradients = gradients * mask
        penalty = _penalty_norm(gradients, norm_mode, center=1.)
        if mask is not None:
            penalty = penalty / torch.mean(mask.float())
    return penalty


@MODELS.register_module()
class GradientPenaltyLoss(nn.Module):
    """``loss_weight * gradient_penalty_loss(discriminator, real_data, fake_data, mask)``.

    Example: dict(type='GradientPenaltyLoss', loss_weight=10.)
    """

    def __init__(self, loss_weight: float = 1., norm_mode: str = 'pixel'):
        super().__init__()
        self.loss_weight = loss_weight
        self.norm_mode = norm_mode

    def forward(self, discriminator: nn.Module, real_data: torch.Tensor, fake_data: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.loss_weight * gradient_penalty_loss(discriminator, real_data, fake_data,
                                                        mask=mask, norm_mode=self.norm_mode)


def r1_gradient_penalty_loss(discriminator: nn.Module, real_data: torch.Tensor,
                             mask: torch.Tensor | None = None, norm_mode: str = 'pixel',
                             loss_scaler=None, use_apex_amp: bool = False) -> torch.Tensor:
    """R1 penalty ``E[||grad D(real)||^2]`` (Mescheder et al., 2018).

    ``loss_scaler`` and ``use_apex_amp`` are accepted for MMagic compatibility; the penalty is
    computed in fp32 with autocast off, so no scaling is needed (apex is not supported).
    """
    if use_apex_amp:
        raise NotImplementedError('r1_gradient_penalty_loss: apex AMP is not supported; use '
                                  'AmpOptimWrapper (native AMP)')
    with _autocast_off(real_data):
        real_data = real_data.detach().float().requires_grad_(True)
        disc_pred = discriminator(real_data).float()
        gradients = autograd.grad(outputs=disc_pred, inputs=real_data,
                                  grad_outputs=torch.ones_like(disc_pred), create_graph=True,
                                  retain_graph=True, only_inputs=True)[0]
        if mask is not None:
            gradients = gradients * mask
        if norm_mode == 'pixel':
            penalty = (gradients.norm(2, dim=1) ** 2).mean()
        elif norm_mode == 'HWC':
            penalty = gradients.pow(2).reshape(gradients.shape[0], -1).sum(1).mean()
        else:
            raise NotImplementedError(f'norm_mode={norm_mode!r} is not supported; use "pixel" '
                                      f'or "HWC"')
        if mask is not None:
            penalty = penalty / torch.mean(mask.float())
    return penalty


__all__ = ['gradient_penalty_loss', 'GradientPenaltyLoss', 'r1_gradient_penalty_loss']
