"""Image grids: tile a batch of images into one picture and save it as PNG."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genforge.fileio import atomic_open


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: float = 0.) -> torch.Tensor:
    """Tile ``images`` (N, C, H, W) into one (C, H', W') tensor, ``nrow`` images per row.

    Same layout as the well-known torchvision helper: ``padding`` pixels around every tile.
    """
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4:
        raise ValueError(f'make_grid expects (N, C, H, W) images, got shape {tuple(images.shape)}')
    if images.size(1) == 1:
        images = images.expand(-1, 3, -1, -1)
    n, c, h, w = images.shape
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    grid = images.new_full((c, nrows * (h + padding) + padding, ncol * (w + padding) + padding),
                           pad_value)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = r * (h + padding) + padding, col * (w + padding) + padding
        grid[:, y:y + h, x:x + w] = images[i]
    return grid


def to_uint8_image(img: torch.Tensor, value_range: tuple[float, float] = (-1., 1.)) -> np.ndarray:
    """(C, H, W) float tensor in ``value_range`` -> (H, W, C) uint8 array (RGB)."""
    lo, hi = value_range
    img = img.detach().float().cpu().clamp(lo, hi)
    img = (img - lo) / max(hi - lo, 1e-12) * 255.
    return img.round().to(torch.uint8).permute(1, 2, 0).numpy()


def save_png(array: np.ndarray, path: str | os.PathLike) -> None:
    """Write an (H, W, 3|1) uint8 array atomically as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    try:
        with atomic_open(path, 'wb') as f:
            Image.fromarray(array).save(f, format='PNG')
    except OSError as exc:   # full disk, read-only folder: name the file
        from genforge.fileio import write_error
        raise write_error(path, exc) from exc


def save_image_grid(images: torch.Tensor, path: str | os.PathLike, nrow: int = 8, padding: int = 2,
                    value_range: tuple[float, float] = (-1., 1.)) -> np.ndarray:
    """Tile ``images`` (N, C, H, W) in ``value_range`` and save a PNG; returns the uint8 grid."""
    lo = value_range[0]
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, padding=padding, pad_value=lo)
    array = to_uint8_image(grid, value_range)
    save_png(array, path)
    return array


__all__ = ['make_grid', 'to_uint8_image', 'save_png', 'save_image_grid']
