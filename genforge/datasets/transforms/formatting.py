"""Last pipeline step: pack results into ``dict(inputs=..., data_samples=DataSample)``.

* ``PackInputs``: one class for both MMagic's arguments (``keys``, ``meta_keys``, ``data_keys``;
  'gt' -> ``gt_img``, 'gt_label' -> ``gt_label`` ...) and MMPretrain's (``input_key``,
  ``algorithm_keys``, ``meta_keys``).
* ``PackGenInputs``: MMGeneration 1.x, ``inputs=dict(img=CHW tensor)``.
* ``ToTensor``, ``ImageToTensor``: MMCV helpers.
"""
from __future__ import annotations

from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np
import torch

from genforge.registry import TRANSFORMS
from genforge.structures import DataSample

from .base import BaseTransform, to_list

__all__ = ['PackInputs', 'PackGenInputs', 'ToTensor', 'ImageToTensor', 'to_tensor', 'image_to_tensor']

# MMPretrain's PackInputs.DEFAULT_META_KEYS; stored when present
DEFAULT_META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                     'flip_direction')


def to_tensor(data: Any) -> torch.Tensor:
    """ndarray / tensor / sequence / number -> tensor (no axis change)."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(data))
    if isinstance(data, Sequence) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, Number):
        return torch.tensor(data)
    raise TypeError(f'to_tensor: type {type(data).__name__} cannot be converted to a tensor')


def image_to_tensor(img: Any) -> Any:
    """(H, W, C) or (H, W) ndarray -> (C, H, W) tensor; lists (frames) -> stacked (T, C, H, W)."""
    if isinstance(img, list):
        return torch.stack([image_to_tensor(i) for i in img])
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim == 3:
            img = img.transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(img))
    return to_tensor(img)


def _keys(value, name: str) -> list:
    if value is None:
        raise ValueError(f'PackInputs: {name} must not be None')
    return to_list(value)


# 'PackEditInputs': MMEditing 1.0rc / early MMagic name of the same transform
@TRANSFORMS.register_module(name=['PackInputs', 'PackEditInputs'])
class PackInputs(BaseTransform):
    """Pack pipeline results for the model: ``dict(inputs=..., data_samples=DataSample)``.

    MMagic form: images under ``keys`` become CHW tensors in ``inputs`` (one tensor if one key is
    present, else a dict); 'gt' -> ``data_samples.gt_img``, 'gt_label' -> ``gt_label`` and the
    rest of MMagic's mapping; ``data_keys`` are stored as tensors, ``meta_keys`` as metainfo.
    MMPretrain form: ``input_key`` gives ``inputs`` (CHW tensor), 'gt_label'/'gt_score' become
    labels/scores, ``algorithm_keys`` are stored as they are. Known meta keys (paths, shapes,
    ``sample_idx``, flip) are always kept when present.

    Examples:
        dict(type='PackInputs')                                   # MMagic / MMPretrain defaults
        dict(type='PackInputs', keys=['img'], data_keys=['gt'])   # MMagic
        dict(type='PackInputs', input_key='img', algorithm_keys=['mask'])  # MMPretrain
    """

    def __init__(self, keys: str | list[str] = ('merged', 'img'),
                 meta_keys: str | Sequence[str] = DEFAULT_META_KEYS,
                 data_keys: str | list[str] = (), input_key: str | None = None,
                 algorithm_keys: Sequence[str] = ()):
        self.keys = _keys(keys, 'keys')
        self.meta_keys = _keys(meta_keys, 'meta_keys')
        self.data_keys = _keys(data_keys, 'data_keys')
        self.input_key = input_key
        self.algorithm_keys = list(algorithm_keys)

    def _inputs(self, results: dict) -> Any:
        if self.input_key is not None:
            if self.input_key not in results:
                raise KeyError(f'PackInputs: input_key={self.input_key!r} is not in the results '
                               f'(keys: {sorted(results)})')
            value = results[self.input_key]
            return [image_to_tensor(v) for v in value] if isinstance(value, list) \
                else image_to_tensor(value)
        inputs = {k: image_to_tensor(results[k]) for k in self.keys if results.get(k) is not None}
        return next(iter(inputs.values())) if len(inputs) == 1 else inputs

    def transform(self, results: dict) -> dict:
        sample = DataSample()
        skip = set(self.data_keys) | set(self.meta_keys) | set(self.algorithm_keys)
        predefined = {k: v for k, v in results.items() if k not in skip}
        if 'gt_score' in predefined:
            sample.set_gt_score(predefined.pop('gt_score'))
        sample.set_predefined_data(predefined)
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        sample.set_tensor_data({k: results[k] for k in self.data_keys if k in results})
        for k in self.algorithm_keys:
            if k in results:
                sample.set_field(results[k], k)
        return dict(inputs=self._inputs(results), data_samples=sample)


@TRANSFORMS.register_module()
class PackGenInputs(BaseTransform):
    """MMGeneration 1.x packing: ``inputs=dict(key=CHW tensor)``, metainfo from ``meta_keys``.

    ``gt_label`` (conditional GANs) is set on the data sample when present.

    Example: dict(type='PackGenInputs', keys=['img'], meta_keys=['img_path'])
    """

    def __init__(self, keys: str | list[str] = 'img', pack_all: bool = False,
                 meta_keys: Sequence[str] | None = None):
        if not pack_all and not (isinstance(keys, str) or
                                 (isinstance(keys, (list, tuple)) and all(isinstance(k, str) for k in keys))):
            raise TypeError(f'PackGenInputs: keys must be a str or a list of str, got {keys!r}')
        self.keys = to_list(keys)
        self.pack_all = pack_all
        self.meta_keys = list(meta_keys or [])

    def transform(self, results: dict) -> dict:
        pack = results.keys() if self.pack_all else self.keys
        inputs = {}
        for key in pack:
            value = results.get(key)
            if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim >= 2:
                inputs[key] = image_to_tensor(value) if isinstance(value, np.ndarray) else value
        missing = [k for k in self.meta_keys if k not in results]
        if missing:
            raise KeyError(f'PackGenInputs: meta_keys {missing} are not in the results '
                           f'(keys: {sorted(results)}); remove them from meta_keys')
        sample = DataSample(metainfo={k: results[k] for k in self.meta_keys})
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        return dict(inputs=inputs, data_samples=sample)


@TRANSFORMS.register_module()
class ToTensor(BaseTransform):
    """Convert ``results[key]`` to tensors without moving axes (MMCV).

    Example: dict(type='ToTensor', keys=['gt_label'])
    """

    def __init__(self, keys: str | Sequence[str]):
        self.keys = to_list(keys)

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results


@TRANSFORMS.register_module()
class ImageToTensor(BaseTransform):
    """Convert (H, W, C) images under ``keys`` to (C, H, W) tensors (MMCV).

    Example: dict(type='ImageToTensor', keys=['img'])
    """

    def __init__(self, keys: str | Sequence[str]):
        self.keys = to_list(keys)

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            results[key] = image_to_tensor(results[key])
        return results
