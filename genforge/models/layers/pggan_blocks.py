"""PGGAN's normalisation layers: pixel-wise feature normalisation and minibatch stddev."""
from __future__ import annotations

import torch
import torch.distributed as torch_dist
from torch import nn

from genforge.registry import MODELS


def pixel_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``x / (||x||_2 over channels / sqrt(C) + eps)``: unit RMS feature vector per pixel."""
    norm = torch.linalg.vector_norm(x, ord=2, dim=1, keepdim=True) / (x.shape[1] ** 0.5)
    return x / (norm + eps)


@MODELS.register_module()
class PixelNorm(nn.Module):
    """Pixel normalisation over dim 1 of (N, C, ...) inputs; no parameters.

    ``in_channels`` is accepted (and ignored) so norm builders can pass the channel count;
    built through ``norm_cfg`` it gets eps=1e-5 like every norm layer MMCV builds.

    Example: norm_cfg=dict(type='PixelNorm')
    """

    _abbr_ = 'pn'

    def __init__(self, in_channels: int | None = None, eps: float = 1e-6):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x, self.eps)


class _AllGather(torch.autograd.Function):
    """all_gather that passes gradients back to each rank's own slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = [torch.zeros_like(x) for _ in range(torch_dist.get_world_size())]
        torch_dist.all_gather(out, x)
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> torch.Tensor:
        grad = torch.stack(grads)
        torch_dist.all_reduce(grad)
        return grad[torch_dist.get_rank()]


@MODELS.register_module()
class MiniBatchStddevLayer(nn.Module):
    """Append one channel: the mean over (C, H, W) of the per-feature stddev within groups.

    Samples ``i`` and ``j`` share a group when ``i % M == j % M`` with ``M = N / G``
    (G = min(group_size, N)). (N, C, H, W) -> (N, C + 1, H, W).

    Example: dict(type='MiniBatchStddevLayer', group_size=4)
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8, gather_all_batch: bool = False):
        super().__init__()
        self.group_size, self.eps, self.gather_all_batch = group_size, eps, gather_all_batch
        if gather_all_batch and not (torch_dist.is_available() and torch_dist.is_initialized()):
            raise RuntimeError('MiniBatchStddevLayer(gather_all_batch=True) needs distributed '
                               'training; set gather_all_batch=False')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gather_all_batch:
            x = torch.cat(_AllGather.apply(x), dim=0)
        n, c, h, w = x.shape
        if n > self.group_size and n % self.group_size != 0:
            raise ValueError(f'MiniBatchStddevLayer: batch size {n} must be <= group_size='
                             f'{self.group_size} or divisible by it; change the batch size '
                             f'or mbstd_cfg.group_size')
        group = min(n, self.group_size)
        y = x.reshape(group, -1, c, h, w)                     # (G, M, C, H, W)
        y = (y - y.mean(dim=0, keepdim=True)).pow(2).mean(dim=0)
        y = torch.sqrt(y + self.eps).mean(dim=(1, 2, 3), keepdim=True)  # (M, 1, 1, 1)
        y = y.repeat(group, 1, h, w)                          # sample i gets y[i % M]
        return torch.cat([x, y], dim=1)


__all__ = ['pixel_norm', 'PixelNorm', 'MiniBatchStddevLayer']
