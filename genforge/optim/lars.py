"""LARS optimizer (layer-wise adaptive rate scaling), MMPretrain semantics."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch.optim import Optimizer

from genforge.registry import OPTIMIZERS

__all__ = ['LARS']


@OPTIMIZERS.register_module()
class LARS(Optimizer):
    """SGD whose per-tensor lr is scaled by ``eta * ||w|| / (||g|| + wd * ||w|| + eps)``.

    A param group with ``lars_exclude=True`` (e.g. biases and norms) uses the plain lr.

    Example: optimizer=dict(type='LARS', lr=4.8, momentum=0.9, weight_decay=1e-6, eta=0.001)
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0, weight_decay: float = 0,
                 dampening: float = 0, eta: float = 0.001, nesterov: bool = False,
                 eps: float = 1e-8):
        if lr < 0.0:
            raise ValueError(f'LARS: invalid lr {lr}')
        if momentum < 0.0:
            raise ValueError(f'LARS: invalid momentum {momentum}')
        if weight_decay < 0.0:
            raise ValueError(f'LARS: invalid weight_decay {weight_decay}')
        if eta < 0.0:
            raise ValueError(f'LARS: invalid eta {eta}')
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError('LARS: nesterov needs momentum > 0 and dampening = 0')
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, eta=eta)
        self.eps = eps
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            wd, momentum = group['weight_decay'], group['momentum']
            dampening, eta, lr = group['dampening'], group['eta'], group['lr']
            for p in group['params']:
                if p.grad is None:
                    continue
                d_p = p.grad
                if group.get('lars_exclude', False):
                    local_lr = torch.ones((), device=p.device)
                else:
                    w_norm, g_norm = torch.norm(p), torch.norm(d_p)
                    # trust ratio; 1 when either norm is 0 (computed on device: no host sync)
                    ratio = eta * w_norm / (g_norm + wd * w_norm + self.eps)
                    local_lr = torch.where((w_norm != 0) & (g_norm != 0), ratio,
                                           torch.ones_like(ratio))
                d_p = d_p.add(p, alpha=wd).mul(local_lr * lr)
                if momentum != 0:
                    state = self.state[p]
                    if 'momentum_buffer' not in state:
                        buf = state['momentum_buffer'] = torch.clone(d_p).detach()
                    else:
                        buf = state['momentum_buffer']
                        buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
                    d_p = d_p.add(buf, alpha=momentum) if group['nesterov'] else buf
                p.add_(-d_p)
        return loss
