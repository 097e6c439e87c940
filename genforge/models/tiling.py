"""Tiled inference: run an image-to-image network tile by tile so large inputs fit in memory.

Each tile is cut out of the input with a margin of ``tile_pad`` pixels on every side (clipped
at the image border), run through the network, and only the part of the output that belongs to
the tile's core is kept. When ``tile_pad`` covers the network's receptive-field radius, every
kept output pixel saw exactly the same input as in the untiled run, so for a fully
convolutional network the result equals the untiled output up to float rounding.
"""
from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator

import torch
from torch import nn

__all__ = ['receptive_radius', 'tiled_forward', 'auto_tile_size', 'iter_tiles']

logger = logging.getLogger(__name__)

# Extra input radius of interpolation modules (in input pixels).
_UPSAMPLE_RADIUS = {'nearest': 0, 'bilinear': 1, 'bicubic': 2}


def receptive_radius(net: nn.Module) -> int:
    """Upper bound of the receptive-field radius of ``net`` in input pixels.

    Sums ``dilation * (kernel - 1) // 2`` over every conv (and the radius of ``nn.Upsample``
    modules), i.e. assumes all layers lie on one path at input resolution. Exact for plain
    chains; an over-estimate for parallel branches and layers after upsampling, which only
    costs speed. Interpolations done with ``F.interpolate`` (not a module) are not seen:
    nearest (RRDBNet) needs none; pass ``tile_pad`` yourself for other cases.
    """
    radius = 0
    for m in net.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            k = m.kernel_size[0] if isinstance(m.kernel_size, tuple) else m.kernel_size
            d = m.dilation[0] if isinstance(m.dilation, tuple) else m.dilation
            radius += d * (k - 1) // 2 + (k - 1) % 2 * d  # even kernels: round up
        elif isinstance(m, nn.Upsample):
            radius += _UPSAMPLE_RADIUS.get(m.mode, 2)
    # A network that pixel-unshuffles its input first runs its convs at 1/divisor resolution.
    return radius * getattr(net, 'input_divisor', 1)


def iter_tiles(h: int, w: int, tile: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (y0, y1, x0, x1) cores covering an h x w image with tiles of at most ``tile``."""
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            yield y0, min(y0 + tile, h), x0, min(x0 + tile, w)


def _available_bytes(device: torch.device) -> int:
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE'))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def auto_tile_size(net: nn.Module, scale: int, device: torch.device | str = 'cpu',
                   tile_pad: int = 0, budget_fraction: float = 0.5, minimum: int = 32,
                   maximum: int = 2048) -> int:
    """Pick a tile size from free memory (GPU: ``mem_get_info``; CPU: available RAM).

    Memory per input pixel is estimated as the widest conv output (x scale^2 after
    upsampling) times a few live activations in float32 -- a heuristic, clamped to
    [minimum, maximum].
    """
    device = torch.device(device)
    widest = max((m.out_channels for m in net.modules()
                  if isinstance(m, nn.modules.conv._ConvNd)), default=64)
    dense = sum(1 for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd))
    live = 6 if dense < 200 else 10  # dense blocks keep more features alive
    bytes_per_px = 4 * widest * live * max(scale, 1) ** 2
    budget = _available_bytes(device) * budget_fraction
    side = int(math.sqrt(budget / bytes_per_px)) - 2 * tile_pad
    tile = max(minimum, min(maximum, side))
    logger.info('auto tile size %d (pad %d) on %s', tile, tile_pad, device)
    return tile


@torch.no_grad()
def tiled_forward(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                  tile: int | str | None = 256, tile_pad: int | None = None,
                  scale: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Run ``net`` on ``x`` (N, C, H, W) tile by tile; returns (N, C_out, H*s, W*s).

    Args:
        net: the network (or any callable on NCHW tensors).
        x: input batch.
        tile: core tile size in input pixels, 'auto' (from free memory) or None/0 (no tiling).
        tile_pad: margin around each tile; None = ``receptive_radius(net)`` (exact result).
        scale: output/input size ratio; None = measured on the first tile.
        progress: called as ``progress(done, total)`` after each tile.
    """
    if tile_pad is None:
        if not isinstance(net, nn.Module):
            raise ValueError('tile_pad=None needs an nn.Module to measure its receptive field; '
                             'pass tile_pad explicitly')
        tile_pad = receptive_radius(net)
    if tile == 'auto':
        if not isinstance(net, nn.Module):
            raise ValueError("tile='auto' needs an nn.Module; pass an int tile size")
        tile = auto_tile_size(net, scale or 4, x.device, tile_pad)
    n, _, h, w = x.shape
    align = int(getattr(net, 'input_divisor', 1))
    if align > 1:  # tile borders must fall on the network's input grid
        tile_pad = -(-tile_pad // align) * align
        tile = max(align, int(tile) // align * align) if tile else tile
    if not tile or (tile >= h and tile >= w):
        out = net(x)
        if progress:
            progress(1, 1)
        return out
    tiles = list(iter_tiles(h, w, int(tile)))
    out = None
    for i, (y0, y1, x0, x1) in enumerate(tiles):
        py0, py1 = max(y0 - tile_pad, 0), min(y1 + tile_pad, h)
        px0, px1 = max(x0 - tile_pad, 0), min(x1 + tile_pad, w)
        result = net(x[:, :, py0:py1, px0:px1])
        if out is None:
            if scale is None:
                scale = result.shape[2] // (py1 - py0)
                if result.shape[2] != scale * (py1 - py0):
                    raise ValueError(f'output height {result.shape[2]} is not an integer '
                                     f'multiple of the tile height {py1 - py0}; pass scale=')
            out = result.new_zeros(n, result.shape[1], h * scale, w * scale)
        # keep only the core: offsets of the core inside the padded tile, in output pixels
        oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
        out[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
            result[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
        if progress:
            progress(i + 1, len(tiles))
    return out
