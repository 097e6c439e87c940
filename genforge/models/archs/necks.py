"""Classification necks: global average pooling and the MAE linear-probe BatchNorm."""
from __future__ import annotations

import torch
from torch import nn

from genforge.models.base_module import BaseModule
from genforge.registry import MODELS

__all__ = ['GlobalAveragePooling', 'ClsBatchNormNeck']


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Average each (N, C, H, W) (or (N, C, L) / (N, C, D, H, W)) map to (N, C).

    A tuple of stage outputs gives a tuple of pooled features.

    Example: dict(type='GlobalAveragePooling', dim=2)
    """

    def __init__(self, dim: int = 2):
        super().__init__()
        if dim not in (1, 2, 3):
            raise ValueError(f'GlobalAveragePooling: dim must be 1, 2 or 3, got {dim}')
        pool = {1: nn.AdaptiveAvgPool1d(1), 2: nn.AdaptiveAvgPool2d((1, 1)),
                3: nn.AdaptiveAvgPool3d((1, 1, 1))}[dim]
        self.gap = pool

    def init_weights(self) -> None:
        pass

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return self.gap(x).view(x.size(0), -1)

    def forward(self, inputs: torch.Tensor | tuple) -> torch.Tensor | tuple:
        if isinstance(inputs, tuple):
            return tuple(self._pool(x) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return self._pool(inputs)
        raise TypeError(f'GlobalAveragePooling: inputs must be a tensor or a tuple of tensors, '
                        f'got {type(inputs).__name__}')


@MODELS.register_module()
class ClsBatchNormNeck(BaseModule):
    """A non-affine BatchNorm1d on the features (MAE linear probing); state_dict keys
    ``bn.running_mean``/``running_var``/``num_batches_tracked``.

    Example: dict(type='ClsBatchNormNeck', input_features=768)
    """

    def __init__(self, input_features: int, affine: bool = False, eps: float = 1e-6,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg)
        self.bn = nn.BatchNorm1d(input_features, affine=affine, eps=eps)

    def forward(self, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return tuple(self.bn(x) for x in inputs)
