"""MMPretrain/MMCV classification transforms on ``results['img']``.

RandomResizedCrop, ResizeEdge, CenterCrop, RandomCrop, RandomFlip, ColorJitter, RandomErasing.
Each writes ``img_shape`` (h, w) after changing the image. ``backend='cv2'`` is accepted and mapped
to Pillow (results can differ from cv2 by rounding, never in shape).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from genforge.registry import TRANSFORMS

from .base import BaseTransform, image_path, imflip, impad, imresize, to_list

__all__ = ['RandomResizedCrop', 'ResizeEdge', 'CenterCrop', 'RandomCrop', 'RandomFlip',
           'RandomErasing']


def _pair(x, name: str) -> tuple[int, int]:
    if isinstance(x, int):
        return (x, x)
    if isinstance(x, Sequence) and len(x) == 2:
        return (int(x[0]), int(x[1]))
    raise TypeError(f'{name} must be an int or a pair of ints, got {x!r}')


def _set_img(results: dict, img: np.ndarray, key: str = 'img') -> dict:
    results[key] = img
    if key == 'img':
        results['img_shape'] = img.shape[:2]
    return results


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area/aspect-ratio region and resize it (Inception-style; MMPretrain).

    Args:
        scale: output (h, w) or an int for a square.
        crop_ratio_range: range of the crop area as a fraction of the image area.
        aspect_ratio_range: range of the crop's w/h ratio (sampled log-uniformly).
        max_attempts: tries before falling back to a central crop.
        interpolation, backend: resize settings (Pillow).
        keys, crop_size, ratio: MMagic's form (``keys=['img'], crop_size=(h, w), scale=area range,
            ratio=aspect range``); used when ``keys`` is given.

    Example: dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0))
    """

    def __init__(self, scale=None, crop_ratio_range: tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10, interpolation: str = 'bilinear', backend: str = 'cv2',
                 keys: str | list[str] | None = None, crop_size=None, ratio=None):
        if keys is not None:  # MMagic: scale is the area range, crop_size the output size
            if crop_size is None:
                raise ValueError('RandomResizedCrop(keys=...) (MMagic form) needs crop_size=(h, w)')
            crop_ratio_range = tuple(scale) if scale is not None else crop_ratio_range
            aspect_ratio_range = tuple(ratio) if ratio is not None else aspect_ratio_range
            scale = crop_size
        if scale is None:
            raise ValueError('RandomResizedCrop: give scale=(h, w) (or keys + crop_size)')
        self.keys = to_list(keys) if keys is not None else ['img']
        self.scale = _pair(scale, 'RandomResizedCrop.scale')
        if not (0 < crop_ratio_range[0] <= crop_ratio_range[1]):
            raise ValueError(f'crop_ratio_range {crop_ratio_range} must be 0 < min <= max')
        if not (0 < aspect_ratio_range[0] <= aspect_ratio_range[1]):
            raise ValueError(f'aspect_ratio_range {aspect_ratio_range} must be 0 < min <= max')
        self.crop_ratio_range = tuple(crop_ratio_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend

    def rand_crop_params(self, img: np.ndarray) -> tuple[int, int, int, int]:
        """(offset_h, offset_w, target_h, target_w) of the crop."""
        h, w = img.shape[:2]
        area = h * w
        log_ratio = (math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1]))
        for _ in range(self.max_attempts):
            target_area = np.random.uniform(*self.crop_ratio_range) * area
            aspect = math.exp(np.random.uniform(*log_ratio))
            tw = int(round(math.sqrt(target_area * aspect)))
            th = int(round(math.sqrt(target_area / aspect)))
            if 0 < tw <= w and 0 < th <= h:
                return int(np.random.randint(0, h - th + 1)), int(np.random.randint(0, w - tw + 1)), th, tw
        # fallback: central crop clamped to the aspect range
        in_ratio = w / h
        if in_ratio < min(self.aspect_ratio_range):
            tw, th = w, int(round(w / min(self.aspect_ratio_range)))
        elif in_ratio > max(self.aspect_ratio_range):
            th, tw = h, int(round(h * max(self.aspect_ratio_range)))
        else:
            th, tw = h, w
        return (h - th) // 2, (w - tw) // 2, th, tw

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            img = results[key]
            oh, ow, th, tw = self.rand_crop_params(img)
            crop = img[oh:oh + th, ow:ow + tw, ...]
            out = imresize(crop, (self.scale[1], self.scale[0]), self.interpolation)
            _set_img(results, out, key)
            results[f'{key}_crop_bbox'] = [oh, ow, tw, th]
        return results


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize so that one edge ('short' | 'long' | 'width' | 'height') equals ``scale``.

    Example: dict(type='ResizeEdge', scale=256, edge='short')
    """

    def __init__(self, scale: int, edge: str = 'short', backend: str = 'cv2',
                 interpolation: str = 'bilinear'):
        if edge not in ('short', 'long', 'width', 'height'):
            raise ValueError(f"ResizeEdge: edge={edge!r}; use 'short', 'long', 'width' or 'height'")
        self.scale = int(scale)
        self.edge = edge
        self.backend = backend
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        if (self.edge == 'short' and w < h) or (self.edge == 'long' and w > h) or self.edge == 'width':
            tw, th = self.scale, int(self.scale * h / w)
        else:
            th, tw = self.scale, int(self.scale * w / h)
        _set_img(results, imresize(img, (tw, th), self.interpolation))
        results['scale'] = (tw, th)
        results['scale_factor'] = (tw / w, th / h)
        return results


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``crop_size`` (an int or (w, h), MMCV's order) of ``results['img']``.

    ``auto_pad=True`` zero-pads (bottom/right) images smaller than the crop; otherwise such an
    image is an error naming the file.

    Example: dict(type='CenterCrop', crop_size=224)
    """

    def __init__(self, crop_size, auto_pad: bool = False, pad_cfg: dict | None = None,
                 clip_object_border: bool = True):
        self.crop_size = _pair(crop_size, 'CenterCrop.crop_size')
        self.auto_pad = auto_pad
        self.pad_val = (pad_cfg or {}).get('pad_val', 0)
        self.clip_object_border = clip_object_border

    def transform(self, results: dict) -> dict:
        img = results['img']
        cw, ch = self.crop_size
        h, w = img.shape[:2]
        if h < ch or w < cw:
            if not self.auto_pad:
                raise ValueError(f'CenterCrop: {image_path(results, "img")} is {h}x{w} (h x w), smaller '
                                 f'than crop_size (w, h)={self.crop_size}. Fix: auto_pad=True, a '
                                 'ResizeEdge/Resize before the crop, or a smaller crop_size.')
            img = impad(img, (0, 0, max(cw - w, 0), max(ch - h, 0)), pad_val=self.pad_val)
            h, w = img.shape[:2]
        y1 = max(0, int(round((h - ch) / 2.)))
        x1 = max(0, int(round((w - cw) / 2.)))
        return _set_img(results, img[y1:y1 + ch, x1:x1 + cw, ...])


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Random crop of ``crop_size`` ((h, w) or int) with optional padding first (MMPretrain).

    Args:
        crop_size: output (h, w).
        padding: pad before cropping: int (all sides), (lr, tb) or (left, top, right, bottom).
        pad_if_needed: pad images smaller than the crop; otherwise they are an error.
        pad_val: constant padding value (number or per-channel tuple).
        padding_mode: 'constant' | 'edge' | 'reflect' | 'symmetric'.

    Example: dict(type='RandomCrop', crop_size=32, padding=4)
    """

    def __init__(self, crop_size, padding=None, pad_if_needed: bool = False, pad_val=0,
                 padding_mode: str = 'constant'):
        self.crop_size = _pair(crop_size, 'RandomCrop.crop_size')
        if padding_mode not in ('constant', 'edge', 'reflect', 'symmetric'):
            raise ValueError(f'RandomCrop: padding_mode={padding_mode!r}')
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    def _padding4(self) -> tuple[int, int, int, int]:
        p = self.padding
        if isinstance(p, int):
            return (p, p, p, p)
        if len(p) == 2:
            return (p[0], p[1], p[0], p[1])
        if len(p) == 4:
            return tuple(p)
        raise ValueError(f'RandomCrop: padding must be an int or have 2 or 4 values, got {p!r}')

    def transform(self, results: dict) -> dict:
        img = results['img']
        th, tw = self.crop_size
        if self.padding is not None:
            img = impad(img, self._padding4(), self.pad_val, self.padding_mode)
        if self.pad_if_needed:
            hp = math.ceil(max(0, (th - img.shape[0]) / 2))
            wp = math.ceil(max(0, (tw - img.shape[1]) / 2))
            img = impad(img, (wp, hp, wp, hp), self.pad_val, self.padding_mode)
        h, w = img.shape[:2]
        if h < th or w < tw:
            raise ValueError(f'RandomCrop: {image_path(results, "img")} is {h}x{w} (h x w) after padding, '
                             f'smaller than crop_size (h, w)={self.crop_size}. Fix: pad_if_needed=True, '
                             'padding=..., a Resize before the crop, or a smaller crop_size.')
        oh = int(np.random.randint(0, h - th + 1))
        ow = int(np.random.randint(0, w - tw + 1))
        return _set_img(results, img[oh:oh + th, ow:ow + tw, ...])


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip ``results['img']`` with probability ``prob`` (MMCV).

    ``direction`` may be a list ('horizontal', 'vertical', 'diagonal') with ``prob`` a float
    (split evenly) or a list of per-direction probabilities. Sets ``flip``/``flip_direction``.

    Example: dict(type='RandomFlip', prob=0.5, direction='horizontal')
    """

    def __init__(self, prob: float | list[float] | None = None,
                 direction: str | list[str] = 'horizontal', swap_seg_labels=None):
        directions = to_list(direction)
        for d in directions:
            if d not in ('horizontal', 'vertical', 'diagonal'):
                raise ValueError(f"RandomFlip: direction {d!r}; use 'horizontal', 'vertical', 'diagonal'")
        if prob is None:
            raise ValueError('RandomFlip: set prob (e.g. prob=0.5)')
        probs = to_list(prob)
        if isinstance(prob, (list, tuple)) and len(probs) != len(directions):
            raise ValueError(f'RandomFlip: {len(probs)} probabilities for {len(directions)} directions')
        if not (0 <= sum(probs) <= 1):
            raise ValueError(f'RandomFlip: probabilities {probs} must sum to a value in [0, 1]')
        self.prob = prob
        self.direction = direction
        self._directions = directions
        self.swap_seg_labels = swap_seg_labels

    def _choose(self) -> str | None:
        if isinstance(self.prob, (list, tuple)):
            p = list(self.prob)
        else:
            p = [self.prob / len(self._directions)] * len(self._directions)
        choices = self._directions + [None]
        idx = np.random.choice(len(choices), p=p + [max(0.0, 1 - sum(p))])
        return choices[idx]

    def transform(self, results: dict) -> dict:
        direction = self._choose()
        results['flip'] = direction is not None
        results['flip_direction'] = direction
        if direction is not None:
            results['img'] = imflip(results['img'], direction)
        return results


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """Erase a random rectangle of ``results['img']`` with probability ``erase_prob`` (MMPretrain).

    ``mode='const'`` fills with ``fill_color``; ``'rand'`` fills with Gaussian noise around
    ``fill_color`` with ``fill_std`` (uniform [0, 255] noise when fill_std is None).

    Example: dict(type='RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02)
    """

    def __init__(self, erase_prob: float = 0.5, min_area_ratio: float = 0.02,
                 max_area_ratio: float = 0.4, aspect_range=(3 / 10, 10 / 3), mode: str = 'const',
                 fill_color=(128, 128, 128), fill_std=None):
        if not 0 <= erase_prob <= 1 or not 0 <= min_area_ratio <= max_area_ratio <= 1:
            raise ValueError('RandomErasing: need 0 <= erase_prob <= 1 and '
                             '0 <= min_area_ratio <= max_area_ratio <= 1')
        if mode not in ('const', 'rand'):
            raise ValueError(f"RandomErasing: mode={mode!r}; use 'const' or 'rand'")
        if isinstance(aspect_range, (int, float)):
            aspect_range = (min(aspect_range, 1 / aspect_range), max(aspect_range, 1 / aspect_range))
        self.erase_prob = erase_prob
        self.min_area_ratio = min_area_ratio
        self.max_area_ratio = max_area_ratio
        self.aspect_range = tuple(aspect_range)
        self.mode = mode
        self.fill_color = fill_color
        self.fill_std = fill_std

    def _patch(self, h: int, w: int) -> tuple[int, int, int, int] | None:
        log_ratio = (math.log(self.aspect_range[0]), math.log(self.aspect_range[1]))
        for _ in range(10):
            area = np.random.uniform(self.min_area_ratio, self.max_area_ratio) * h * w
            aspect = math.exp(np.random.uniform(*log_ratio))
            ph = int(round(math.sqrt(area * aspect)))
            pw = int(round(math.sqrt(area / aspect)))
            if 0 < ph < h and 0 < pw < w:
                return int(np.random.randint(0, h - ph + 1)), int(np.random.randint(0, w - pw + 1)), ph, pw
        return None

    def transform(self, results: dict) -> dict:
        if np.random.rand() > self.erase_prob:
            return results
        img = results['img'].copy()
        patch = self._patch(*img.shape[:2])
        if patch is None:
            return results
        top, left, ph, pw = patch
        shape = (ph, pw) + img.shape[2:]
        fill = np.broadcast_to(np.asarray(self.fill_color, dtype=np.float32)[:shape[-1]]
                               if img.ndim == 3 else float(np.mean(self.fill_color)), shape)
        if self.mode == 'rand':
            fill = (np.random.uniform(0, 255, shape) if self.fill_std is None
                    else np.random.normal(fill, np.asarray(self.fill_std, dtype=np.float32), shape))
        img[top:top + ph, left:left + pw] = np.clip(fill, 0, 255).astype(img.dtype)
        results['img'] = img
        return results
