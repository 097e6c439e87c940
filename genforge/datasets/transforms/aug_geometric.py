"""MMagic geometric transforms: Resize, Flip, RandomTransposeHW, NumpyPad, SetValues.

They act on the images named by ``keys`` (a str or a list); a key may hold a list of frames,
which all get the same random decision.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from genforge.registry import TRANSFORMS

from .base import BaseTransform, imflip, imrescale, imresize, to_list

__all__ = ['Resize', 'Flip', 'RandomTransposeHW', 'NumpyPad', 'SetValues', 'CopyValues']


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize images to a size, by a factor, or down to a multiple of ``size_factor`` (MMagic).

    Args:
        keys: image key(s) to resize.
        scale: ``(w, h)`` target size (MMCV's imresize order); a float scale factor; with
            ``keep_ratio=True`` a tuple bounds the (long, short) edges, and ``(short, -1)`` fixes
            the short edge.
        keep_ratio: keep the aspect ratio (see ``scale``).
        size_factor: crop-free resize so that h and w become multiples of it (test-time).
        max_size: with ``size_factor``, cap h and w at this value.
        interpolation: 'nearest' | 'bilinear' | 'bicubic' | 'area' | 'lanczos'.
        backend: accepted for compatibility ('cv2'/'pillow'/None); Pillow resizes.
        output_keys: store the results under these keys instead of overwriting ``keys``.

    Example: dict(type='Resize', keys=['img'], scale=(64, 64), keep_ratio=False)
    """

    def __init__(self, keys: str | list[str] = 'img', scale: Any = None, keep_ratio: bool = False,
                 size_factor: int | None = None, max_size: int | None = None,
                 interpolation: str = 'bilinear', backend: str | None = 'pillow',
                 output_keys: str | list[str] | None = None):
        if not keys:
            raise ValueError('Resize: keys must not be empty')
        self.keys = to_list(keys)
        self.output_keys = to_list(output_keys) if output_keys else list(self.keys)
        if len(self.output_keys) != len(self.keys):
            raise ValueError(f'Resize: output_keys {self.output_keys} must have the length of keys '
                             f'{self.keys}')
        if size_factor and (scale is not None or keep_ratio):
            raise ValueError('Resize: with size_factor, set scale=None and keep_ratio=False')
        if max_size and not size_factor:
            raise ValueError('Resize: max_size works together with size_factor; set size_factor')
        if scale is None and not size_factor:
            raise ValueError('Resize: give scale=(w, h), a float factor, or size_factor')
        if isinstance(scale, (list, tuple)):
            if len(scale) != 2 or not all(isinstance(s, int) for s in scale):
                raise TypeError(f'Resize: scale must be a tuple of two ints, got {scale!r}')
            if min(scale) == -1:
                scale = (math.inf, max(scale))  # only the short edge is constrained
            scale = tuple(scale)
        elif isinstance(scale, (int, float)) and not isinstance(scale, bool):
            if scale <= 0:
                raise ValueError(f'Resize: invalid scale {scale}, must be positive')
            scale = float(scale)
        elif scale is not None:
            raise TypeError(f'Resize: scale must be None, a float or a tuple of ints, got {scale!r}')
        self.scale = scale
        self.keep_ratio = keep_ratio
        self.size_factor = size_factor
        self.max_size = max_size
        self.interpolation = interpolation
        self.backend = backend

    def _target(self, h: int, w: int) -> tuple[int, int] | float:
        if self.size_factor:
            new_h, new_w = h - h % self.size_factor, w - w % self.size_factor
            if self.max_size:
                cap = self.max_size - self.max_size % self.size_factor
                new_h, new_w = min(cap, new_h), min(cap, new_w)
            return (new_w, new_h)
        return self.scale

    def _resize_one(self, img: np.ndarray, target) -> tuple[np.ndarray, np.ndarray]:
        h, w = img.shape[:2]
        if self.keep_ratio or isinstance(target, float):
            out, factor = imrescale(img, target, self.interpolation)
            scale_factor = np.array([factor, factor], dtype=np.float32)
        else:
            out = imresize(img, target, self.interpolation)
            scale_factor = np.array([target[0] / w, target[1] / h], dtype=np.float32)
        if out.ndim == 2:
            out = out[..., None]
        return out, scale_factor

    def transform(self, results: dict) -> dict:
        first = results[self.keys[0]]
        h, w = (first[0] if isinstance(first, list) else first).shape[:2]
        target = self._target(h, w)
        scale_factor = None
        for key, out_key in zip(self.keys, self.output_keys):
            if key not in results:
                continue
            value = results[key]
            if isinstance(value, list):
                pairs = [self._resize_one(v, target) for v in value]
                results[out_key] = [p[0] for p in pairs]
                results[f'{out_key}_shape'] = pairs[0][0].shape
                scale_factor = pairs[0][1]
            else:
                results[out_key], scale_factor = self._resize_one(value, target)
                results[f'{out_key}_shape'] = results[out_key].shape
            for meta in ('ori_{}_shape', '{}_channel_order', '{}_color_type'):
                if meta.format(key) in results and out_key != key:
                    results[meta.format(out_key)] = copy.deepcopy(results[meta.format(key)])
        results['scale_factor'] = scale_factor
        results['keep_ratio'] = self.keep_ratio
        results['interpolation'] = self.interpolation
        results['backend'] = self.backend
        return results


@TRANSFORMS.register_module()
class Flip(BaseTransform):
    """Flip the images of ``keys`` with probability ``flip_ratio`` (one decision for all keys).

    Records ``flip_infos`` (MMagic) and ``flip``/``flip_direction`` (MMGeneration).

    Example: dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal')
    """
    _directions = ('horizontal', 'vertical')

    def __init__(self, keys: str | list[str], flip_ratio: float = 0.5, direction: str = 'horizontal'):
        if direction not in self._directions:
            raise ValueError(f'Flip: direction={direction!r} is not supported; use one of '
                             f'{self._directions}')
        self.keys = to_list(keys)
        self.flip_ratio = flip_ratio
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.random() < self.flip_ratio)
        if flip:
            for key in self.keys:
                value = results[key]
                if isinstance(value, list):
                    results[key] = [imflip(v, self.direction) for v in value]
                else:
                    results[key] = imflip(value, self.direction)
        results.setdefault('flip_infos', []).append(
            dict(keys=self.keys, direction=self.direction, ratio=self.flip_ratio, flip=flip))
        results['flip'] = flip
        results['flip_direction'] = self.direction
        return results


def _transpose_hw(img: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(img.transpose(1, 0, *range(2, img.ndim)))


@TRANSFORMS.register_module()
class RandomTransposeHW(BaseTransform):
    """Swap H and W of the images of ``keys`` with probability ``transpose_ratio``.

    With flips this yields all 8 rotations/reflections (the SR augmentation of EDSR/ESRGAN).

    Example: dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5)
    """

    def __init__(self, keys: str | list[str], transpose_ratio: float = 0.5):
        self.keys = to_list(keys)
        self.transpose_ratio = transpose_ratio

    def transform(self, results: dict) -> dict:
        transpose = bool(np.random.random() < self.transpose_ratio)
        if transpose:
            for key in self.keys:
                value = results[key]
                if isinstance(value, list):
                    results[key] = [_transpose_hw(v) for v in value]
                else:
                    results[key] = _transpose_hw(value)
        results['transpose'] = transpose
        return results


@TRANSFORMS.register_module()
class NumpyPad(BaseTransform):
    """``np.pad(results[key], padding, **kwargs)`` for each key (MMagic).

    Example: dict(type='NumpyPad', keys='img', padding=((2, 2), (2, 2), (0, 0)), mode='reflect')
    """

    def __init__(self, keys: str | list[str], padding: Any, **kwargs):
        self.keys = to_list(keys)
        self.padding = padding
        self.kwargs = kwargs

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = np.pad(results[key], self.padding, **self.kwargs)
        return results


@TRANSFORMS.register_module()
class SetValues(BaseTransform):
    """Set fixed values in results (a deep copy of ``dictionary``), e.g. the SR scale.

    Example: dict(type='SetValues', dictionary=dict(scale=4))
    """

    def __init__(self, dictionary: dict):
        if not isinstance(dictionary, dict):
            raise TypeError(f'SetValues: dictionary must be a dict, got {dictionary!r}')
        self.dictionary = dictionary

    def transform(self, results: dict) -> dict:
        results.update(copy.deepcopy(self.dictionary))
        return results


@TRANSFORMS.register_module()
class CopyValues(BaseTransform):
    """Deep-copy ``results[src]`` into ``results[dst]`` pairwise, e.g. the GT into the input that
    random degradations then turn into the LQ image.

    Example: dict(type='CopyValues', src_keys=['gt'], dst_keys=['img'])
    """

    def __init__(self, src_keys: list[str] | str, dst_keys: list[str] | str):
        self.src_keys, self.dst_keys = to_list(src_keys), to_list(dst_keys)
        if len(self.src_keys) != len(self.dst_keys):
            raise ValueError(f'CopyValues: src_keys={self.src_keys} and dst_keys={self.dst_keys} '
                             'must have the same length')

    def transform(self, results: dict) -> dict:
        for src, dst in zip(self.src_keys, self.dst_keys):
            results[dst] = copy.deepcopy(results[src])
        return results
