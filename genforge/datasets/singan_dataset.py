"""SinGANDataset: one image as a pyramid ``real_scale0`` (coarsest) ... ``real_scale{S}``."""
from __future__ import annotations

import copy
import math
import os.path as osp
from collections.abc import Callable, Sequence

import numpy as np

from genforge.registry import DATASETS

from .base_dataset import BaseDataset
from .transforms.base import imrescale
from .transforms.formatting import image_to_tensor
from .transforms.loading import read_image


def create_real_pyramid(real: np.ndarray, min_size: int, max_size: int,
                        scale_factor_init: float) -> tuple[list[np.ndarray], float, int]:
    """The official SinGAN pyramid: the image rescaled so its long side is <= ``max_size``,
    then ``stop_scale`` steps of a factor ~``scale_factor_init`` down to a short side of
    ``min_size``. Returns (images coarsest first, actual factor, stop_scale)."""
    h, w = real.shape[:2]
    num_scales = int(math.ceil(math.log(min_size / min(h, w)) / math.log(scale_factor_init))) + 1
    scale2stop = int(math.ceil(math.log(min(max_size, max(h, w)) / max(h, w))
                               / math.log(scale_factor_init)))
    stop_scale = num_scales - scale2stop
    real_max, _ = imrescale(real, min(max_size / max(h, w), 1))
    scale_factor = (min_size / min(real_max.shape[:2])) ** (1 / stop_scale)
    reals = [imrescale(real, scale_factor ** (stop_scale - i))[0]
             for i in range(stop_scale + 1)]
    return reals, float(scale_factor), stop_scale


@DATASETS.register_module()
class SinGANDataset(BaseDataset):
    """Every item is the same dict: ``real_scale0..real_scale{stop_scale}`` (H, W, 3) uint8 BGR
    images and ``input_sample`` (zeros like the coarsest), through ``pipeline``. The model's
    ``num_scales`` must equal ``stop_scale``; ``len`` is ``num_samples`` (default 1e6).

    Example: dict(type='SinGANDataset', data_root='data/singan/fish-crop.jpg', min_size=25,
                  max_size=300, scale_factor_init=0.75, pipeline=[dict(type='PackInputs',
                  keys=[f'real_scale{i}' for i in range(11)] + ['input_sample'])])
    """

    def __init__(self, data_root: str, min_size: int, max_size: int, scale_factor_init: float,
                 pipeline: Sequence[dict | Callable], num_samples: int = -1):
        self.min_size, self.max_size = min_size, max_size
        self.scale_factor_init, self.num_samples = scale_factor_init, num_samples
        super().__init__(data_root=data_root, pipeline=pipeline, serialize_data=False)

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        if not osp.isfile(self.data_root):
            raise FileNotFoundError(f'SinGANDataset: data_root={self.data_root!r} must be one '
                                    f'image file')
        real = read_image(self.data_root)
        if min(real.shape[:2]) < self.min_size:
            raise ValueError(f'SinGANDataset: {self.data_root} is {real.shape[1]}x'
                             f'{real.shape[0]}, smaller than the coarsest scale min_size='
                             f'{self.min_size}; use a larger image or lower min_size')
        if not 0 < self.scale_factor_init < 1:
            raise ValueError(f'SinGANDataset: scale_factor_init={self.scale_factor_init} must '
                             f'be in (0, 1)')
        self.reals, self.scale_factor, self.stop_scale = create_real_pyramid(
            real, self.min_size, self.max_size, self.scale_factor_init)
        self.data_dict = {f'real_scale{i}': r for i, r in enumerate(self.reals)}
        self.data_dict['input_sample'] = np.zeros_like(self.reals[0]).astype(np.float32)
        self._fully_initialized = True

    def __getitem__(self, index: int) -> dict:
        self.full_init()
        results = self.pipeline(copy.deepcopy(self.data_dict))
        inputs = results.get('inputs') if isinstance(results, dict) else None
        if isinstance(inputs, dict):
            # MMagic's configs pack real_scale0..{num_scales - 1} only (range(num_scales) with
            # num_scales counted from 0); the model trains every level, so add what is missing
            for key, img in self.data_dict.items():
                if key.startswith('real_scale') and key not in inputs:
                    inputs[key] = image_to_tensor(img)
        return results

    def __len__(self) -> int:
        return int(1e6) if self.num_samples < 0 else self.num_samples


__all__ = ['SinGANDataset', 'create_real_pyramid']
