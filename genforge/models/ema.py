"""Averaged copies of a model: EMA for GAN generators (MMEngine / MMagic semantics)."""
from __future__ import annotations

import copy
import logging

import torch
from torch import Tensor, nn

from genforge.registry import MODELS

__all__ = ['BaseAveragedModel', 'ExponentialMovingAverage', 'RampUpEMA']

logger = logging.getLogger(__name__)


class BaseAveragedModel(nn.Module):
    """A frozen copy of ``model`` (as ``.module``) updated by ``avg_func`` every ``interval``.

    The first ``update_parameters`` copies the source weights; later ones average floating-point
    tensors. Buffers are copied from the source unless ``update_buffers`` (then averaged too).
    state_dict keys: ``module.<...>`` and ``steps``.
    """

    def __init__(self, model: nn.Module, interval: int = 1, device: torch.device | None = None,
                 update_buffers: bool = False):
        super().__init__()
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer('steps', torch.tensor(0, dtype=torch.long, device=device))
        self.update_buffers = update_buffers

    def _avg_tensors(self) -> dict[str, Tensor]:
        if self.update_buffers:
            return self.module.state_dict(keep_vars=True)
        return dict(self.module.named_parameters())

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        raise NotImplementedError

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        src = model.state_dict(keep_vars=True) if self.update_buffers \
            else dict(model.named_parameters())
        steps = int(self.steps)
        for name, avg in self._avg_tensors().items():
            source = src[name].detach().to(avg.device)
            if steps == 0:
                avg.copy_(source)
            elif steps % self.interval == 0 and avg.dtype.is_floating_point:
                self.avg_func(avg.data, source, steps)
        if not self.update_buffers:
            # Not averaged: keep BN statistics etc. in sync with the source model.
            for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
                b_avg.copy_(b_src.detach().to(b_avg.device))
        self.steps += 1

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        # MMagic compatibility: checkpoints whose EMA weights lack the 'module.' level.
        for key in list(state_dict):
            rest = key[len(prefix):]
            if key.startswith(prefix) and not rest.startswith('module.') and rest != 'steps':
                state_dict[prefix + 'module.' + rest] = state_dict.pop(key)
        state_dict.setdefault(prefix + 'steps', torch.tensor(0))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @torch.no_grad()
    def sync_buffers(self, model: nn.Module) -> None:
        """Copy the source model's buffers into the averaged copy."""
        for b_avg, b_src in zip(self.module.buffers(), model.buffers()):
            b_avg.copy_(b_src.detach())

    @torch.no_grad()
    def sync_parameters(self, model: nn.Module) -> None:
        """Copy the source model's parameters and buffers into the averaged copy."""
        self.module.load_state_dict(model.state_dict())


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """EMA: ``avg = (1 - momentum) * avg + momentum * param`` (momentum is small).

    Example: ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.001)
    """

    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: torch.device | None = None, update_buffers: bool = False):
        super().__init__(model, interval, device, update_buffers)
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'ExponentialMovingAverage: momentum must be in (0, 1), got '
                             f'{momentum}')
        if momentum > 0.5:
            logger.warning('ExponentialMovingAverage: momentum=%s is the weight of the NEW '
                           'parameters (MMEngine convention); did you mean %s?', momentum,
                           1 - momentum)
        self.momentum = momentum

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        averaged_param.lerp_(source_param, self.momentum)


@MODELS.register_module()
class RampUpEMA(BaseAveragedModel):
    """StyleGAN3's EMA whose half-life ramps up with the number of images seen.

    Example: ema_config=dict(type='RampUpEMA', interval=1, ema_kimg=10, ema_rampup=0.05,
                             batch_size=32)
    """

    def __init__(self, model: nn.Module, interval: int = 1, ema_kimg: float = 10,
                 ema_rampup: float | None = 0.05, batch_size: int = 32, eps: float = 1e-8,
                 start_iter: int = 0, device: torch.device | None = None,
                 update_buffers: bool = False):
        super().__init__(model, interval, device, update_buffers)
        self.ema_kimg = ema_kimg
        self.ema_rampup = ema_rampup
        self.batch_size = batch_size
        self.eps = eps
        self.start_iter = start_iter

    @staticmethod
    def rampup(steps: int, ema_kimg: float = 10, ema_rampup: float | None = 0.05,
               batch_size: int = 4, eps: float = 1e-8) -> float:
        """Weight of the OLD average (beta) after ``steps`` updates."""
        cur_nimg = (steps + 1) * batch_size
        ema_nimg = ema_kimg * 1000
        if ema_rampup is not None:
            ema_nimg = min(ema_nimg, cur_nimg * ema_rampup)
        return 0.5 ** (batch_size / max(ema_nimg, eps))

    def avg_func(self, averaged_param: Tensor, source_param: Tensor, steps: int) -> None:
        momentum = 1. - self.rampup(steps, self.ema_kimg, self.ema_rampup, self.batch_size,
                                    self.eps)
        averaged_param.lerp_(source_param, momentum)
