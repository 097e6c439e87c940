"""MMagic crops: Crop, FixedCrop, PairedRandomCrop, ModCrop, CenterCropLongEdge, RandomCropLongEdge.

An image smaller than the requested crop is an error naming the file and the fix (MMagic would
silently return a smaller crop, which then fails to batch with an unrelated message).
"""
from __future__ import annotations

import numpy as np

from genforge.registry import TRANSFORMS

from .base import BaseTransform, image_path, to_list

__all__ = ['Crop', 'FixedCrop', 'PairedRandomCrop', 'ModCrop', 'CenterCropLongEdge', 'RandomCropLongEdge']


def _as_list(value) -> tuple[list, bool]:
    return (value, True) if isinstance(value, list) else ([value], False)


@TRANSFORMS.register_module()
class Crop(BaseTransform):
    """Crop the images of ``keys`` to ``crop_size=(h, w)``, at random or in the centre.

    Args:
        keys: image keys.
        crop_size: (h, w).
        random_crop: random position if True, else centre crop.
        is_pad_zeros: zero-pad images smaller than the crop (symmetrically) instead of failing.

    Example: dict(type='Crop', keys=['img'], crop_size=(64, 64), random_crop=True)
    """

    def __init__(self, keys: str | list[str], crop_size: tuple[int, int], random_crop: bool = True,
                 is_pad_zeros: bool = False):
        if not (isinstance(crop_size, (tuple, list)) and len(crop_size) == 2
                and all(isinstance(c, int) and c > 0 for c in crop_size)):
            raise TypeError(f'Crop: crop_size must be a tuple (h, w) of positive ints, got {crop_size!r}')
        self.keys = to_list(keys)
        self.crop_size = tuple(crop_size)
        self.random_crop = random_crop
        self.is_pad_zeros = is_pad_zeros

    def _pad(self, img: np.ndarray) -> np.ndarray:
        ch, cw = self.crop_size
        h, w = img.shape[:2]
        dh, dw = max(ch - h, 0), max(cw - w, 0)
        if dh == 0 and dw == 0:
            return img
        width = [(dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2)] + [(0, 0)] * (img.ndim - 2)
        return np.pad(img, width, mode='constant', constant_values=0)

    def _crop(self, img: np.ndarray, key: str, results: dict) -> tuple[np.ndarray, list[int]]:
        if self.is_pad_zeros:
            img = self._pad(img)
        h, w = img.shape[:2]
        ch, cw = self.crop_size
        if h < ch or w < cw:
            raise ValueError(f"Crop: image '{key}' from {image_path(results, key)} is {h}x{w} (h x w), "
                             f'smaller than crop_size={self.crop_size}. Fix: set is_pad_zeros=True, '
                             'add a Resize before Crop, lower crop_size, or remove the image.')
        if self.random_crop:
            x = int(np.random.randint(0, w - cw + 1))
            y = int(np.random.randint(0, h - ch + 1))
        else:
            x, y = (w - cw) // 2, (h - ch) // 2
        return img[y:y + ch, x:x + cw, ...], [x, y, cw, ch]

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            items, is_list = _as_list(results[key])
            pairs = [self._crop(img, key, results) for img in items]
            results[key] = [p[0] for p in pairs] if is_list else pairs[0][0]
            results[f'{key}_crop_bbox'] = [p[1] for p in pairs] if is_list else pairs[0][1]
        results['crop_size'] = self.crop_size
        return results


def _scale_of(results: dict, who: str) -> int:
    if 'scale' not in results:
        raise KeyError(f"{who} needs results['scale'] (the upscaling factor). Add "
                       "dict(type='SetValues', dictionary=dict(scale=4)) before it in the pipeline.")
    return int(results['scale'])


@TRANSFORMS.register_module()
class PairedRandomCrop(BaseTransform):
    """Crop an LQ patch and the matching ``gt_patch_size`` GT patch at the same place.

    Needs ``results['scale']`` (see SetValues). Checks that GT is exactly ``scale`` x LQ, that
    both have the same channel count and that LQ is at least the patch size.

    Example: dict(type='PairedRandomCrop', gt_patch_size=128, lq_key='img', gt_key='gt')
    """

    def __init__(self, gt_patch_size: int, lq_key: str = 'img', gt_key: str = 'gt'):
        self.gt_patch_size = int(gt_patch_size)
        self.lq_key = lq_key
        self.gt_key = gt_key

    def _check(self, results: dict, lq: np.ndarray, gt: np.ndarray, scale: int) -> int:
        files = f'{image_path(results, self.lq_key)} and {image_path(results, self.gt_key)}'
        if self.gt_patch_size % scale:
            raise ValueError(f'PairedRandomCrop: gt_patch_size={self.gt_patch_size} is not a multiple '
                             f'of scale={scale}; choose a multiple so LQ and GT patches align')
        h_lq, w_lq = lq.shape[:2]
        h_gt, w_gt = gt.shape[:2]
        c_lq = lq.shape[2] if lq.ndim == 3 else 1
        c_gt = gt.shape[2] if gt.ndim == 3 else 1
        if c_lq != c_gt:
            raise ValueError(f'PairedRandomCrop: LQ has {c_lq} channels but GT has {c_gt} ({files}). '
                             'Load both with the same color_type.')
        if h_gt != h_lq * scale or w_gt != w_lq * scale:
            raise ValueError(f'PairedRandomCrop: scale mismatch, GT ({h_gt}, {w_gt}) is not {scale}x '
                             f'LQ ({h_lq}, {w_lq}) ({files}). Check scale in SetValues and that GT '
                             'was mod-cropped (GTmod12) to match the LQ images.')
        lq_patch = self.gt_patch_size // scale
        if h_lq < lq_patch or w_lq < lq_patch:
            raise ValueError(f'PairedRandomCrop: LQ ({h_lq}, {w_lq}) is smaller than the patch size '
                             f'({lq_patch}, {lq_patch}) ({files}). Lower gt_patch_size or remove the '
                             'image.')
        return lq_patch

    def transform(self, results: dict) -> dict:
        scale = _scale_of(results, 'PairedRandomCrop')
        lqs, lq_is_list = _as_list(results[self.lq_key])
        gts, gt_is_list = _as_list(results[self.gt_key])
        lq_patch = self._check(results, lqs[0], gts[0], scale)
        h_lq, w_lq = lqs[0].shape[:2]
        top = int(np.random.randint(h_lq - lq_patch + 1))
        left = int(np.random.randint(w_lq - lq_patch + 1))
        lqs = [v[top:top + lq_patch, left:left + lq_patch, ...] for v in lqs]
        tg, lg, p = top * scale, left * scale, self.gt_patch_size
        gts = [v[tg:tg + p, lg:lg + p, ...] for v in gts]
        results[self.lq_key] = lqs if lq_is_list else lqs[0]
        results[self.gt_key] = gts if gt_is_list else gts[0]
        return results


@TRANSFORMS.register_module()
class ModCrop(BaseTransform):
    """Crop the bottom/right edges so H and W are multiples of the scale (test-time GT).

    ``scale`` defaults to ``results['scale']`` (MMagic); giving it here is a genforge shortcut.

    Example: dict(type='ModCrop', key='gt')
    """

    def __init__(self, key: str = 'gt', scale: int | None = None):
        self.key = key
        self.scale = scale

    def transform(self, results: dict) -> dict:
        scale = self.scale if self.scale is not None else _scale_of(results, 'ModCrop')
        img = results[self.key]
        if img.ndim not in (2, 3):
            raise ValueError(f'ModCrop: {image_path(results, self.key)} has ndim {img.ndim}; '
                             'expected an (H, W) or (H, W, C) image')
        h, w = img.shape[:2]
        results[self.key] = img[:h - h % scale, :w - w % scale, ...].copy()
        return results


class _LongEdgeCrop(BaseTransform):
    def __init__(self, keys: str | list[str] = 'img'):
        if not keys:
            raise ValueError(f'{type(self).__name__}: keys must not be empty')
        self.keys = to_list(keys)

    def _offsets(self, h: int, w: int, size: int) -> tuple[int, int]:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            img = results[key]
            h, w = img.shape[:2]
            size = min(h, w)
            y, x = self._offsets(h, w, size)
            results[key] = img[y:y + size, x:x + size, ...]
        return results


@TRANSFORMS.register_module()
class CenterCropLongEdge(_LongEdgeCrop):
    """Crop the central ``min(h, w)`` square (the long edge is cut).

    Example: dict(type='CenterCropLongEdge', keys=['img'])
    """

    def _offsets(self, h: int, w: int, size: int) -> tuple[int, int]:
        return (h - size) // 2, (w - size) // 2


@TRANSFORMS.register_module()
class RandomCropLongEdge(_LongEdgeCrop):
    """Crop a random ``min(h, w)`` square along the long edge.

    Offsets are drawn from ``[0, long - short)`` as in MMagic (the last position is never chosen).

    Example: dict(type='RandomCropLongEdge', keys=['img'])
    """

    def _offsets(self, h: int, w: int, size: int) -> tuple[int, int]:
        y = 0 if h == size else int(np.random.randint(0, h - size))
        x = 0 if w == size else int(np.random.randint(0, w - size))
        return y, x


@TRANSFORMS.register_module()
class FixedCrop(BaseTransform):
    """Crop every image of ``keys`` at one position (random, or ``crop_pos``) to ``crop_size``.

    All images must have the first key's size (paired data). The crop is clipped to the image, as
    in MMagic.

    Args:
        keys: image keys (e.g. ['img_A', 'img_B']).
        crop_size: (h, w).
        crop_pos: (x, y) of the top-left corner; None draws it at random (np.random).

    Example: dict(type='FixedCrop', keys=['img_A', 'img_B'], crop_size=(256, 256))
    """

    def __init__(self, keys: str | list[str], crop_size: tuple[int, int],
                 crop_pos: tuple[int, int] | None = None):
        for name, value in (('crop_size', crop_size), ('crop_pos', crop_pos)):
            if value is None and name == 'crop_pos':
                continue
            if not (isinstance(value, (tuple, list)) and len(value) == 2
                    and all(isinstance(v, int) for v in value)):
                raise TypeError(f'FixedCrop: {name} must be a tuple of two ints, got {value!r}')
        self.keys = to_list(keys)
        self.crop_size = tuple(crop_size)
        self.crop_pos = None if crop_pos is None else tuple(crop_pos)

    def transform(self, results: dict) -> dict:
        first, _ = _as_list(results[self.keys[0]])
        data_h, data_w = first[0].shape[:2]
        crop_h, crop_w = min(data_h, self.crop_size[0]), min(data_w, self.crop_size[1])
        if self.crop_pos is None:
            x = int(np.random.randint(0, data_w - crop_w + 1))
            y = int(np.random.randint(0, data_h - crop_h + 1))
        else:
            x, y = self.crop_pos
            crop_w, crop_h = min(data_w - x, crop_w), min(data_h - y, crop_h)
        for key in self.keys:
            items, is_list = _as_list(results[key])
            for img in items:
                if img.shape[:2] != (data_h, data_w):
                    raise ValueError(
                        f"FixedCrop: image '{key}' from {image_path(results, key)} is "
                        f'{img.shape[0]}x{img.shape[1]} (h x w) but {self.keys[0]!r} is '
                        f'{data_h}x{data_w}; paired images must have the same size.')
            out = [img[y:y + crop_h, x:x + crop_w, ...] for img in items]
            results[key] = out if is_list else out[0]
            results[f'{key}_crop_bbox'] = [x, y, crop_w, crop_h]
        results['crop_size'] = self.crop_size
        results['crop_pos'] = self.crop_pos
        return results
