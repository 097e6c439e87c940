"""Improved DDPM's losses (MMGeneration's ``DDPMVLBLoss`` / ``DDPMMSELoss``) and their maths.

Each loss maps the diffusion model's output dict to one value per sample (shape (N,)), logs it
per quarter of the timestep range (``log_cfgs``), rescales it (``rescale_mode``) and reduces it.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from genforge.registry import MODELS

__all__ = ['normal_kl', 'approx_standard_normal_cdf', 'discretized_gaussian_log_likelihood',
           'mean_flat', 'DDPMLoss', 'DDPMVLBLoss', 'DDPMMSELoss']

_REDUCTIONS = ('mean', 'sum', 'none')


def mean_flat(x: Tensor) -> Tensor:
    """Mean over every dim but the batch: (N, ...) -> (N,)."""
    return x.mean(dim=list(range(1, x.ndim)))


def normal_kl(mean1: Tensor, logvar1: Tensor, mean2: Tensor, logvar2: Tensor) -> Tensor:
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)), element-wise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2)
                  + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def approx_standard_normal_cdf(x: Tensor) -> Tensor:
    """Φ(x) by the tanh approximation Improved DDPM uses (|error| < 2e-4)."""
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def discretized_gaussian_log_likelihood(x: Tensor, mean: Tensor, logvar: Tensor) -> Tensor:
    """log P(x) of 8-bit data x in [-1, 1] under N(mean, e^logvar) integrated over x's bin
    (width 2/255; the end bins extend to ±inf). Element-wise, in nats."""
    centered = x - mean
    inv_std = torch.exp(-0.5 * logvar)
    cdf_plus = approx_standard_normal_cdf(inv_std * (centered + 1.0 / 255.0))
    cdf_min = approx_standard_normal_cdf(inv_std * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_cdf_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_one_minus_cdf_min, log_cdf_delta))


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == 'mean':
        return loss.mean()
    return loss.sum() if reduction == 'sum' else loss


class DDPMLoss(nn.Module):
    """Base of the DDPM losses: per-sample loss -> logs -> rescale -> reduction.

    Args:
        rescale_mode: None, 'constant' (``rescale_cfg=dict(scale=s)``: loss * s) or
            'timestep_weight' (loss * weight[t] * scale; weight from ``weight`` or the sampler).
        log_cfgs: dict or list of dicts; ``dict(type='quartile', prefix_name='loss_vlb',
            total_timesteps=T)`` logs ``{prefix}_quartile_{0..3}``: the mean loss of the samples
            whose t falls in each quarter [0, T/4), [T/4, T/2), ... (before rescaling; a quarter
            with no sample in the batch is not logged). ``type='name'`` is DDPMVLBLoss's.
        reduction: 'mean' | 'sum' | 'none'. loss_name: key of the loss in the log.
    """
    uses_variance = False

    def __init__(self, rescale_mode: str | None = None, rescale_cfg: dict | None = None,
                 log_cfgs: dict | list[dict] | None = None, weight: Tensor | None = None,
                 sampler=None, reduction: str = 'mean', loss_name: str | None = None):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'{type(self).__name__}: reduction={reduction!r}; use one of '
                             f'{_REDUCTIONS}')
        self.reduction = reduction
        self._loss_name = loss_name
        self.log_cfgs = self._check_log_cfgs(log_cfgs)
        self.rescale_mode = rescale_mode
        self.rescale_cfg = dict(rescale_cfg or {})
        if rescale_mode not in (None, 'constant', 'timestep_weight'):
            raise ValueError(f"{type(self).__name__}: rescale_mode={rescale_mode!r}; use None, "
                             f"'constant' or 'timestep_weight'")
        if rescale_mode == 'constant' and 'scale' not in self.rescale_cfg:
            raise KeyError(f'{type(self).__name__}: rescale_mode=constant needs '
                           f'rescale_cfg=dict(scale=...)')
        self._weight = weight
        self._sampler = sampler
        if rescale_mode == 'timestep_weight' and weight is None \
                and getattr(sampler, 'weight', None) is None:
            raise ValueError(f"{type(self).__name__}: rescale_mode='timestep_weight' needs a "
                             f'weight tensor or a timestep sampler with .weight')

    def _check_log_cfgs(self, log_cfgs) -> list[dict]:
        cfgs = copy.deepcopy(log_cfgs) if log_cfgs is not None else []
        cfgs = [cfgs] if isinstance(cfgs, dict) else list(cfgs)
        for cfg in cfgs:
            kind = cfg.get('type')
            if not hasattr(self, f'{kind}_log_collect'):
                raise ValueError(f'{type(self).__name__}: log_cfgs type={kind!r} is unknown; '
                                 f"use 'quartile'" + (" or 'name'" if self.uses_variance else ''))
            cfg.setdefault('prefix_name', 'loss')
            if not cfg['prefix_name'].startswith('loss'):
                raise ValueError(f"{type(self).__name__}: log_cfgs prefix_name="
                                 f"{cfg['prefix_name']!r} must start with 'loss'")
            cfg.setdefault('reduction', 'mean')
        return cfgs

    def loss_name(self) -> str:
        """Name of the loss term in the log (``loss_...``: summed into the total)."""
        return self._loss_name

    # -- rescaling / logging ----------------------------------------------------------------
    def rescale(self, loss: Tensor, timesteps: Tensor) -> Tensor:
        """Apply ``rescale_mode`` to per-sample losses."""
        scale = self.rescale_cfg.get('scale', 1.)
        if self.rescale_mode == 'constant':
            return loss * scale
        if self.rescale_mode == 'timestep_weight':
            weight = self._weight if self._weight is not None else self._sampler.weight
            return loss * weight.to(loss.device)[timesteps] * scale
        return loss

    @torch.no_grad()
    def quartile_log_collect(self, loss: Tensor, timesteps: Tensor, total_timesteps: int,
                             prefix_name: str, reduction: str = 'mean') -> dict[str, Tensor]:
        """Mean loss per quarter of [0, total_timesteps)."""
        quartile = torch.div(timesteps * 4, total_timesteps, rounding_mode='floor')
        out = {}
        for idx in range(4):
            mask = quartile == idx
            if mask.any():
                out[f'{prefix_name}_quartile_{idx}'] = _reduce(loss[mask], reduction).detach()
        return out

    def collect_logs(self, loss: Tensor, timesteps: Tensor) -> dict[str, Tensor]:
        """Every ``log_cfgs`` entry's values for this batch."""
        log_vars = {}
        for cfg in self.log_cfgs:
            args = {k: v for k, v in cfg.items() if k != 'type'}
            log_vars.update(getattr(self, f"{cfg['type']}_log_collect")(loss, timesteps, **args))
        return log_vars

    # -- forward ------------------------------------------------------------------------------
    def per_sample_loss(self, outputs: dict) -> Tensor:
        """(N,) loss before rescaling; subclasses implement it."""
        raise NotImplementedError

    def forward_with_logs(self, outputs: dict) -> tuple[Tensor, dict[str, Tensor]]:
        """``(reduced rescaled loss, log_vars)`` for the model's output dict (needs
        ``timesteps``)."""
        if 'timesteps' not in outputs:
            raise KeyError(f"{type(self).__name__}: the outputs need 'timesteps'; got "
                           f'{sorted(outputs)}')
        timesteps = outputs['timesteps']
        loss = self.per_sample_loss(outputs)
        log_vars = self.collect_logs(loss.detach(), timesteps)
        return _reduce(self.rescale(loss, timesteps), self.reduction), log_vars

    def forward(self, outputs: dict) -> Tensor:  # noqa: D102
        return self.forward_with_logs(outputs)[0]


def _pick(outputs: dict, data_info: dict, loss: str) -> dict:
    missing = [v for v in data_info.values() if v not in outputs]
    if missing:
        raise KeyError(f'{loss}: data_info names {missing}, which the model does not output '
                       f'(available: {sorted(outputs)})')
    return {k: outputs[v] for k, v in data_info.items()}


@MODELS.register_module()
class DDPMVLBLoss(DDPMLoss):
    """Variational bound term in bits/dim: -log p(x_0 | x_1) (discretised Gaussian) at t = 0,
    KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t)) elsewhere. Only the variance is trained by it:
    the predicted mean is detached (Improved DDPM's hybrid loss).

    ``data_info`` (t > 0) maps ``mean_pred``, ``mean_target``, ``logvar_pred``, ``logvar_target``
    to output keys; ``data_info_t_0`` maps ``x``, ``mean``, ``logvar``.

    Example: dict(type='DDPMVLBLoss', rescale_mode='constant', rescale_cfg=dict(scale=4.),
                  log_cfgs=[dict(type='quartile', prefix_name='loss_vlb', total_timesteps=4000),
                            dict(type='name')])
    """
    uses_variance = True
    _default_data_info = dict(mean_pred='mean_pred', mean_target='mean_posterior',
                              logvar_pred='logvar_pred', logvar_target='logvar_posterior')
    _default_data_info_t_0 = dict(x='real_imgs', mean='mean_pred', logvar='logvar_pred')

    def __init__(self, rescale_mode: str | None = None, rescale_cfg: dict | None = None,
                 sampler=None, weight: Tensor | None = None, data_info: dict | None = None,
                 data_info_t_0: dict | None = None, log_cfgs: dict | list | None = None,
                 reduction: str = 'mean', loss_name: str = 'loss_ddpm_vlb'):
        super().__init__(rescale_mode, rescale_cfg, log_cfgs, weight, sampler, reduction,
                         loss_name)
        self.data_info = dict(data_info or self._default_data_info)
        self.data_info_t_0 = dict(data_info_t_0 or self._default_data_info_t_0)

    def per_sample_loss(self, outputs: dict) -> Tensor:  # noqa: D102
        t = outputs['timesteps']
        kl_in = _pick(outputs, self.data_info, 'DDPMVLBLoss.data_info')
        kl = mean_flat(normal_kl(kl_in['mean_target'], kl_in['logvar_target'],
                                 kl_in['mean_pred'].detach(), kl_in['logvar_pred']))
        nll_in = _pick(outputs, self.data_info_t_0, 'DDPMVLBLoss.data_info_t_0')
        nll = -mean_flat(discretized_gaussian_log_likelihood(
            nll_in['x'], nll_in['mean'].detach(), nll_in['logvar']))
        return torch.where(t == 0, nll, kl) / math.log(2.0)  # nats -> bits

    @torch.no_grad()
    def name_log_collect(self, loss: Tensor, timesteps: Tensor, prefix_name: str,
                         reduction: str = 'mean') -> dict[str, Tensor]:
        """The two terms apart: ``{prefix}_DiscGaussianLogLikelihood`` (t = 0) and
        ``{prefix}_GaussianKLD`` (t > 0), when the batch has such samples."""
        out = {}
        for name, mask in (('DiscGaussianLogLikelihood', timesteps == 0),
                           ('GaussianKLD', timesteps != 0)):
            if mask.any():
                out[f'{prefix_name}_{name}'] = _reduce(loss[mask], reduction).detach()
        return out


@MODELS.register_module()
class DDPMMSELoss(DDPMLoss):
    """Mean squared error between the predicted and the true noise (``data_info``: ``pred`` ->
    'eps_t_pred', ``target`` -> 'noise').

    Example: dict(type='DDPMMSELoss', log_cfgs=dict(type='quartile', prefix_name='loss_mse',
                                                    total_timesteps=4000))
    """
    _default_data_info = dict(pred='eps_t_pred', target='noise')

    def __init__(self, rescale_mode: str | None = None, rescale_cfg: dict | None = None,
                 sampler=None, weight: Tensor | None = None, log_cfgs: dict | list | None = None,
                 reduction: str = 'mean', data_info: dict | None = None,
                 loss_name: str = 'loss_ddpm_mse'):
        super().__init__(rescale_mode, rescale_cfg, log_cfgs, weight, sampler, reduction,
                         loss_name)
        self.data_info = dict(data_info or self._default_data_info)

    def per_sample_loss(self, outputs: dict) -> Tensor:  # noqa: D102
        args = _pick(outputs, self.data_info, 'DDPMMSELoss.data_info')
        return mean_flat((args['pred'] - args['target']) ** 2)
