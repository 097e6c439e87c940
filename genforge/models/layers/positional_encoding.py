"""Positional encodings of MS-PIE ("Positional Encoding as Spatial Inductive Bias in GANs").

``SPE`` (sinusoidal, 1-D sequences or 2-D grids) and ``CSG`` (Cartesian grid in [-1, 1]); both
return constant maps that generators concatenate to (or use instead of) their inputs.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from genforge.registry import MODELS


def sinusoidal_table(num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                     div_half_dim: bool = False) -> torch.Tensor:
    """(num_embeddings, dim) table: ``[sin(p * f_i), cos(p * f_i)]`` with
    ``f_i = 10000 ** (-i / (d/2 - 1))`` (``/ (d/2)`` when ``div_half_dim``); row
    ``padding_idx`` is zero."""
    if embedding_dim % 2:
        raise ValueError(f'SPE: embedding_dim={embedding_dim} must be even')
    half = embedding_dim // 2
    step = math.log(1e4) / (half if div_half_dim else half - 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float) * -step)
    angles = torch.arange(num_embeddings, dtype=torch.float)[:, None] * freqs[None]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if padding_idx is not None:
        table[padding_idx] = 0
    return table


@MODELS.register_module(name=['SinusoidalPositionalEmbedding', 'SPE', 'SPE2d'])
class SinusoidalPositionalEmbedding(nn.Module):
    """Sinusoidal positional embedding.

    (N, L) token ids -> (N, L, dim): positions count the non-padding tokens from
    ``padding_idx + 1``; (N, *, H, W) -> (N, 2 * dim, H, W): x-axis codes then y-axis codes.
    ``center_shift`` moves the grid so its centre lands on that index. State: the (unused)
    ``_float_tensor`` buffer MMagic checkpoints carry.

    Example: dict(type='SPE', embedding_dim=4, padding_idx=0, init_size=512,
                  div_half_dim=False, center_shift=200)
    """

    def __init__(self, embedding_dim: int, padding_idx: int, init_size: int = 1024,
                 div_half_dim: bool = False, center_shift: int | None = None):
        super().__init__()
        self.embedding_dim, self.padding_idx = embedding_dim, padding_idx
        self.div_half_dim, self.center_shift = div_half_dim, center_shift
        self.weights = sinusoidal_table(init_size, embedding_dim, padding_idx, div_half_dim)
        # only carries dtype and device; zeros (not FloatTensor(1)'s uninitialised memory) so
        # that checkpoints are deterministic
        self.register_buffer('_float_tensor', torch.zeros(1))
        self.max_positions = int(1e5)

    def forward(self, input: torch.Tensor, **kwargs) -> torch.Tensor:  # noqa: A002
        if input.dim() == 4:
            return self.make_grid2d_like(input, **kwargs)
        if input.dim() != 2:
            raise ValueError(f'SPE: input must be (N, L) or (N, C, H, W), got shape '
                             f'{tuple(input.shape)}')
        b, seq_len = input.shape
        max_pos = self.padding_idx + 1 + seq_len
        if max_pos > self.weights.size(0):
            # MMagic grows the table without div_half_dim; kept for identical outputs
            self.weights = sinusoidal_table(max_pos, self.embedding_dim, self.padding_idx)
        self.weights = self.weights.to(self._float_tensor)
        positions = self.make_positions(input, self.padding_idx).to(self._float_tensor.device)
        return self.weights.index_select(0, positions.view(-1)).view(
            b, seq_len, self.embedding_dim).detach()

    @staticmethod
    def make_positions(input: torch.Tensor, padding_idx: int) -> torch.Tensor:  # noqa: A002
        """Running count of non-padding tokens (offset by ``padding_idx``); padding stays
        ``padding_idx``."""
        mask = input.ne(padding_idx).int()
        return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + padding_idx

    def _shift(self, size: int, center_shift: int | None) -> int:
        if center_shift is None:
            return 0
        # even sizes align the left centre, odd sizes the centre (1-based)
        return center_shift - (size // 2 if size % 2 == 0 else size // 2 + 1)

    def make_grid2d(self, height: int, width: int, num_batches: int = 1,
                    center_shift: int | None = None) -> torch.Tensor:
        """(num_batches, 2 * dim, height, width) grid of x then y codes."""
        if center_shift is None:
            center_shift = self.center_shift
        # indices start at 1: 0 is the padding index
        x_axis = torch.arange(1, width + 1).repeat(num_batches, 1) + self._shift(width,
                                                                                  center_shift)
        y_axis = torch.arange(1, height + 1).repeat(num_batches, 1) + self._shift(height,
                                                                                   center_shift)
        x_emb = self(x_axis).transpose(1, 2)    # (N, dim, W)
        y_emb = self(y_axis).transpose(1, 2)    # (N, dim, H)
        x_grid = x_emb.unsqueeze(2).repeat(1, 1, height, 1)
        y_grid = y_emb.unsqueeze(3).repeat(1, 1, 1, width)
        return torch.cat([x_grid, y_grid], dim=1).detach()

    def make_grid2d_like(self, x: torch.Tensor, center_shift: int | None = None) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.make_grid2d(h, w, x.size(0), center_shift).to(x)


@MODELS.register_module(name=['CatersianGrid', 'CSG', 'CSG2d'])
class CatersianGrid(nn.Module):
    """Cartesian grid, ``grid_sample`` convention: (-1, -1) top-left, (1, 1) bottom-right.

    (N, *, H, W) -> (N, 2, H, W), channel 0 = x, channel 1 = y. No state.

    Example: dict(type='CSG')
    """

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'CSG: input must be (N, C, H, W), got shape {tuple(x.shape)}')
        return self.make_grid2d_like(x, **kwargs)

    def make_grid2d(self, height: int, width: int, num_batches: int = 1,
                    requires_grad: bool = False) -> torch.Tensor:
        grid_y, grid_x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing='ij')
        grid_x = 2 * grid_x / max(float(width) - 1., 1.) - 1.
        grid_y = 2 * grid_y / max(float(height) - 1., 1.) - 1.
        grid = torch.stack((grid_x, grid_y), 0)
        grid.requires_grad = requires_grad
        return grid.unsqueeze(0).repeat(num_batches, 1, 1, 1)

    def make_grid2d_like(self, x: torch.Tensor, requires_grad: bool = False) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.make_grid2d(h, w, x.size(0), requires_grad=requires_grad).to(x)


__all__ = ['sinusoidal_table', 'SinusoidalPositionalEmbedding', 'CatersianGrid']
