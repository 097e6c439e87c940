"""Sliced Wasserstein Distance on Laplacian-pyramid patches (ProGAN; MMagic's SWD)."""
from __future__ import annotations

import numpy as np
import torch

from ...dist import get_dist_info
from ...registry import METRICS
from ..functional.gen_metrics import (
    finalize_descriptors,
    image_descriptors,
    laplacian_pyramid,
    sliced_wasserstein,
    swd_levels,
)
from .base_gen_metric import GenMetric

__all__ = ['SlicedWassersteinDistance']


@METRICS.register_module(name=['SlicedWassersteinDistance', 'SWD'])
class SlicedWassersteinDistance(GenMetric):
    """SWD ×1e3 per pyramid level between ``fake_nums`` real and generated images.

    Real and fake images come in pairs from the real dataloader (normal sampler). Each level
    contributes 128 random 7x7 patches per image, drawn from the image's evaluation-order
    index (the same under any batch size or number of ranks); descriptors are normalised per
    channel and compared along 4x128 random directions. Equal to
    ``functional.sliced_wasserstein_distance`` on the same images. Needs no weights. Results:
    one key per resolution (e.g. ``'64'``, ``'32'``, ``'16'``) and ``'avg'``.

    Example:
        dict(type='SWD', prefix='swd', fake_nums=16384, image_shape=(3, 64, 64))
    """
    name = 'SWD'

    def __init__(self, fake_nums: int, image_shape: tuple, fake_key: str | None = None,
                 real_key: str | None = 'gt_img', sample_model: str = 'ema',
                 collect_device: str = 'cpu', prefix: str | None = None, seed: int = 0):
        super().__init__(fake_nums, fake_nums, fake_key, real_key, sample_model,
                         collect_device, prefix)
        self.image_shape = tuple(image_shape)
        self.nhood_size, self.nhoods_per_image = 7, 128
        self.dir_repeats, self.dirs_per_repeat = 4, 128
        num_levels = swd_levels(self.image_shape[1])
        if not num_levels:
            raise ValueError(f'SWD: image_shape={image_shape} is smaller than 16 pixels')
        self.resolutions = [self.image_shape[1] >> i for i in range(num_levels)]
        self.seed = seed
        self._num_processed = 0

    def _descriptors(self, imgs: list[torch.Tensor], indices: list[int]) -> list[torch.Tensor]:
        x = (torch.stack(imgs).double() - 127.5) / 127.5  # [0, 255] -> [-1, 1]
        if tuple(x.shape[1:]) != self.image_shape and x.shape[1] != 1:
            raise ValueError(f'SWD: images have shape {tuple(x.shape[1:])}, image_shape is '
                             f'{self.image_shape}')
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        return [image_descriptors(band, indices, lvl, self.seed, self.nhood_size,
                                  self.nhoods_per_image)
                for lvl, band in enumerate(laplacian_pyramid(x, len(self.resolutions) - 1))]

    def process(self, data_batch: dict, data_samples) -> None:
        if self._num_processed >= self.fake_nums_per_device:
            return
        n = len(data_samples)
        # evaluation-order index of each image (the sampler deals item j*world + rank to this
        # rank): patches depend on the image, not on its batch or rank; real and fake image of
        # a pair share positions (less variance, SWD(x, x) = 0)
        rank, world = get_dist_info()
        indices = [(self._num_processed + i) * world + rank for i in range(n)]
        real = self._descriptors(self.real_images(data_batch), indices)
        fake = self._descriptors(self.fake_images(data_samples), indices)
        per = self.nhoods_per_image
        for i in range(n):  # one result per image pair: its patches at every level
            self.real_results.append([lvl[i * per:(i + 1) * per] for lvl in real])
            self.fake_results.append([lvl[i * per:(i + 1) * per] for lvl in fake])
        self._num_processed += n

    def evaluate(self, size: int | None = None) -> dict:
        self._num_processed = 0
        return super().evaluate(size)

    def compute_metrics(self, results_fake: list, results_real: list) -> dict:
        gen = torch.Generator().manual_seed(self.seed)
        dists = []
        for lvl in range(len(self.resolutions)):
            d_real = finalize_descriptors([r[lvl] for r in results_real])
            d_fake = finalize_descriptors([f[lvl] for f in results_fake])
            dists.append(1e3 * sliced_wasserstein(d_real, d_fake, self.dir_repeats,
                                                  self.dirs_per_repeat, gen))
        out = {f'{res}': round(d, 4) for res, d in zip(self.resolutions, dists)}
        out['avg'] = round(float(np.mean(dists)), 4)
        return out
