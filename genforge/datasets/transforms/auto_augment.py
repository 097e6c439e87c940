"""MMPretrain colour/geometry augmentations with Pillow: ColorJitter, RandAugment, AutoAugment.

Each op (AutoContrast, Equalize, Invert, Rotate, Posterize, Solarize, SolarizeAdd, ColorTransform,
Contrast, Brightness, Sharpness, Shear, Translate, Cutout) is also a registered transform with
MMPretrain's arguments. Images are treated as BGR (MMCV's default order) where luma matters.
"""
from __future__ import annotations

import copy

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from genforge.registry import TRANSFORMS

from .base import PIL_INTERP, BaseTransform

__all__ = ['ColorJitter', 'RandAugment', 'AutoAugment', 'AutoContrast', 'Equalize', 'Invert',
           'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd', 'ColorTransform', 'Contrast',
           'Brightness', 'Sharpness', 'Shear', 'Translate', 'Cutout']


def _to_pil(img: np.ndarray) -> Image.Image:
    if img.ndim == 3 and img.shape[2] == 1:
        return Image.fromarray(np.ascontiguousarray(img[..., 0]))
    return Image.fromarray(np.ascontiguousarray(img[..., ::-1] if img.ndim == 3 else img))  # BGR->RGB


def _from_pil(pil: Image.Image, like: np.ndarray) -> np.ndarray:
    arr = np.array(pil)
    if like.ndim == 3 and like.shape[2] == 1:
        return arr[..., None].copy()
    return np.ascontiguousarray(arr[..., ::-1] if arr.ndim == 3 else arr)


def _pil_op(fn):
    """Wrap a Pillow operation as an (H, W, C) uint8 BGR array operation."""
    def op(img: np.ndarray, *args) -> np.ndarray:
        if img.dtype != np.uint8:
            raise TypeError(f'{fn.__name__}: needs a uint8 image (load without to_float32), got '
                            f'{img.dtype}')
        return _from_pil(fn(_to_pil(img), *args), img)
    op.__name__ = fn.__name__
    return op


@_pil_op
def adjust_brightness(pil, factor):
    return ImageEnhance.Brightness(pil).enhance(factor)


@_pil_op
def adjust_contrast(pil, factor):
    return ImageEnhance.Contrast(pil).enhance(factor)


@_pil_op
def adjust_color(pil, factor):
    return ImageEnhance.Color(pil).enhance(factor) if pil.mode == 'RGB' else pil


@_pil_op
def adjust_sharpness(pil, factor):
    return ImageEnhance.Sharpness(pil).enhance(factor)


@_pil_op
def adjust_hue(pil, hue):
    if pil.mode != 'RGB':
        return pil
    h, s, v = pil.convert('HSV').split()
    h = Image.fromarray((np.asarray(h).astype(np.int16) + int(round(hue * 255))).astype(np.uint8))
    return Image.merge('HSV', (h, s, v)).convert('RGB')


def _affine(img, matrix, pad_val, interpolation):
    def fn(pil):
        fill = tuple(pad_val) if isinstance(pad_val, (tuple, list)) else pad_val
        if pil.mode == 'L' and isinstance(fill, tuple):
            fill = fill[0]
        return pil.transform(pil.size, Image.AFFINE, matrix, resample=PIL_INTERP[interpolation],
                             fillcolor=fill)
    fn.__name__ = 'affine'
    return _pil_op(fn)(img)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness/contrast/saturation/hue, applied in random order (MMPretrain).

    A number ``x`` means a factor in ``[max(0, 1 - x), 1 + x]`` (hue: a shift in ``[-x, x]``, at
    most 0.5); a pair gives the range directly.

    Example: dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4)
    """

    def __init__(self, brightness=0., contrast=0., saturation=0., hue=0., backend: str = 'pillow'):
        self.brightness = self._range(brightness, 'brightness')
        self.contrast = self._range(contrast, 'contrast')
        self.saturation = self._range(saturation, 'saturation')
        self.hue = self._range(hue, 'hue', center=0., bound=(-0.5, 0.5))
        self.backend = backend

    @staticmethod
    def _range(value, name, center=1., bound=(0., float('inf'))):
        if isinstance(value, (int, float)):
            if value < 0:
                raise ValueError(f'ColorJitter: {name}={value} must be non-negative')
            value = (max(center - value, bound[0]), center + value)
        value = (float(value[0]), float(value[1]))
        if not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f'ColorJitter: {name} range {value} must lie within {bound}')
        return None if value == (center, center) else value

    def transform(self, results: dict) -> dict:
        img = results['img']
        ops = [(self.brightness, adjust_brightness), (self.contrast, adjust_contrast),
               (self.saturation, adjust_color), (self.hue, adjust_hue)]
        for i in np.random.permutation(4):
            rng, fn = ops[i]
            if rng is not None:
                img = fn(img, np.random.uniform(*rng))
        results['img'] = img
        return results


class _AugOp(BaseTransform):
    """Shared magnitude/probability logic of MMPretrain's augmentation ops.

    ``magnitude`` fixed, or drawn from ``magnitude_range`` at ``magnitude_level / total_level``
    (with Gaussian ``magnitude_std`` jitter of the level; 'inf' = uniform level), as RandAugment
    sets it. ``random_negative_prob`` flips the sign of signed magnitudes.
    """
    signed = False
    needs_magnitude = True

    def __init__(self, magnitude=None, prob: float = 0.5, random_negative_prob: float = 0.5,
                 magnitude_level: float = 0, magnitude_range=None, magnitude_std=0.,
                 total_level: float = 10, pad_val=128, interpolation: str = 'nearest',
                 direction: str = 'horizontal'):
        if self.needs_magnitude and magnitude is None and magnitude_range is None:
            raise ValueError(f'{type(self).__name__}: give its magnitude or magnitude_range')
        if not 0 <= prob <= 1:
            raise ValueError(f'{type(self).__name__}: prob={prob} must be in [0, 1]')
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"{type(self).__name__}: direction={direction!r}")
        self.magnitude = magnitude
        self.prob = prob
        self.random_negative_prob = random_negative_prob
        self.magnitude_level = magnitude_level
        self.magnitude_range = magnitude_range
        self.magnitude_std = magnitude_std
        self.total_level = total_level
        self.pad_val = pad_val
        self.interpolation = interpolation
        self.direction = direction

    def _magnitude(self) -> float | None:
        if self.magnitude is not None:
            m = float(self.magnitude)
        elif self.magnitude_range is not None:
            level = self.magnitude_level
            if self.magnitude_std == 'inf':
                level = np.random.uniform(0, level)
            elif self.magnitude_std and self.magnitude_std > 0:
                level = float(np.clip(np.random.normal(level, self.magnitude_std), 0, self.total_level))
            lo, hi = self.magnitude_range
            m = lo + (hi - lo) * level / self.total_level
        else:
            return None
        if self.signed and np.random.rand() < self.random_negative_prob:
            m = -m
        return m

    def apply(self, img: np.ndarray, m: float | None) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        results['img'] = self.apply(results['img'], self._magnitude())
        return results


def _register(name: str, apply, signed: bool = False, needs_magnitude: bool = True, alias=None,
              doc: str = ''):
    """Define and register one op class; ``alias`` is MMPretrain's name of the magnitude arg."""
    def __init__(self, *args, **kwargs):
        if alias and alias in kwargs:
            kwargs['magnitude'] = kwargs.pop(alias)
        _AugOp.__init__(self, *args, **kwargs)
    cls = type(name, (_AugOp,), dict(apply=lambda self, img, m: apply(self, img, m), signed=signed,
                                     needs_magnitude=needs_magnitude, __init__=__init__,
                                     __doc__=doc, __module__=__name__))
    TRANSFORMS.register_module(module=cls)
    return cls


def _posterize(img, bits):
    shift = 8 - min(8, int(np.ceil(bits)))  # MMPretrain rounds fractional levels up
    return (img >> shift << shift).astype(np.uint8) if shift > 0 else img


def _solarize(img, thr):
    return np.where(img < thr, img, 255 - img).astype(img.dtype)


def _solarize_add(img, m, thr=128):
    return np.where(img < thr, np.clip(img.astype(np.int16) + int(m), 0, 255), img).astype(img.dtype)


def _shear(self, img, m):
    matrix = (1, m, 0, 0, 1, 0) if self.direction == 'horizontal' else (1, 0, 0, m, 1, 0)
    return _affine(img, matrix, self.pad_val, self.interpolation)


def _translate(self, img, m):
    h, w = img.shape[:2]
    # Pillow's matrix maps output -> input pixels, so a shift by +d reads from x - d
    matrix = (1, 0, -m * w, 0, 1, 0) if self.direction == 'horizontal' else (1, 0, 0, 0, 1, -m * h)
    return _affine(img, matrix, self.pad_val, self.interpolation)


def _rotate(self, img, m):
    fill = tuple(self.pad_val) if isinstance(self.pad_val, (tuple, list)) else self.pad_val
    fn = _pil_op(lambda pil: pil.rotate(m, resample=PIL_INTERP[self.interpolation],
                                        fillcolor=fill if pil.mode == 'RGB' else np.mean(fill)))
    return fn(img)


def _cutout(self, img, m):
    h, w = img.shape[:2]
    ch, cw = (int(m), int(m)) if np.isscalar(m) else (int(m[0]), int(m[1]))
    y, x = np.random.randint(0, h), np.random.randint(0, w)
    out = img.copy()
    out[max(0, y - ch // 2):y + ch - ch // 2, max(0, x - cw // 2):x + cw - cw // 2] = self.pad_val
    return out


AutoContrast = _register('AutoContrast', lambda s, img, m: _pil_op(ImageOps.autocontrast)(img),
                         needs_magnitude=False, doc="Example: dict(type='AutoContrast', prob=0.5)")
Equalize = _register('Equalize', lambda s, img, m: _pil_op(ImageOps.equalize)(img),
                     needs_magnitude=False, doc="Example: dict(type='Equalize', prob=0.5)")
Invert = _register('Invert', lambda s, img, m: (255 - img).astype(img.dtype), needs_magnitude=False,
                   doc="Example: dict(type='Invert', prob=0.5)")
Posterize = _register('Posterize', lambda s, img, m: _posterize(img, m), alias='bits',
                      doc="Example: dict(type='Posterize', bits=4, prob=0.5)")
Solarize = _register('Solarize', lambda s, img, m: _solarize(img, m), alias='thr',
                     doc="Example: dict(type='Solarize', thr=128, prob=0.5)")
SolarizeAdd = _register('SolarizeAdd', lambda s, img, m: _solarize_add(img, m),
                        doc="Example: dict(type='SolarizeAdd', magnitude=110, prob=0.5)")
ColorTransform = _register('ColorTransform', lambda s, img, m: adjust_color(img, 1 + m), signed=True,
                           doc="Example: dict(type='ColorTransform', magnitude=0.4, prob=0.5)")
Contrast = _register('Contrast', lambda s, img, m: adjust_contrast(img, 1 + m), signed=True,
                     doc="Example: dict(type='Contrast', magnitude=0.4, prob=0.5)")
Brightness = _register('Brightness', lambda s, img, m: adjust_brightness(img, 1 + m), signed=True,
                       doc="Example: dict(type='Brightness', magnitude=0.4, prob=0.5)")
Sharpness = _register('Sharpness', lambda s, img, m: adjust_sharpness(img, 1 + m), signed=True,
                      doc="Example: dict(type='Sharpness', magnitude=0.4, prob=0.5)")
Rotate = _register('Rotate', _rotate, signed=True, alias='angle',
                   doc="Example: dict(type='Rotate', angle=30., prob=0.5)")
Shear = _register('Shear', _shear, signed=True,
                  doc="Example: dict(type='Shear', magnitude=0.3, direction='horizontal')")
Translate = _register('Translate', _translate, signed=True,
                      doc="Example: dict(type='Translate', magnitude=0.45, direction='vertical')")
Cutout = _register('Cutout', _cutout, alias='shape', doc="Example: dict(type='Cutout', shape=8)")

RANDAUG_POLICIES = {'timm_increasing': [
    dict(type='AutoContrast'), dict(type='Equalize'), dict(type='Invert'),
    dict(type='Rotate', magnitude_range=(0, 30)), dict(type='Posterize', magnitude_range=(4, 0)),
    dict(type='Solarize', magnitude_range=(256, 0)), dict(type='SolarizeAdd', magnitude_range=(0, 110)),
    dict(type='ColorTransform', magnitude_range=(0, 0.9)), dict(type='Contrast', magnitude_range=(0, 0.9)),
    dict(type='Brightness', magnitude_range=(0, 0.9)), dict(type='Sharpness', magnitude_range=(0, 0.9)),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='horizontal'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
]}

AUTOAUG_POLICIES = {'imagenet': [
    [dict(type='Posterize', bits=4, prob=0.4), dict(type='Rotate', angle=30., prob=0.6)],
    [dict(type='Solarize', thr=256 / 9 * 4, prob=0.6), dict(type='AutoContrast', prob=0.6)],
    [dict(type='Equalize', prob=0.8), dict(type='Equalize', prob=0.6)],
    [dict(type='Posterize', bits=5, prob=0.6), dict(type='Posterize', bits=5, prob=0.6)],
    [dict(type='Equalize', prob=0.4), dict(type='Solarize', thr=256 / 9 * 5, prob=0.2)],
    [dict(type='Equalize', prob=0.4), dict(type='Rotate', angle=30 / 9 * 8, prob=0.8)],
    [dict(type='Solarize', thr=256 / 9 * 6, prob=0.6), dict(type='Equalize', prob=0.6)],
    [dict(type='Posterize', bits=6, prob=0.8), dict(type='Equalize', prob=1.)],
    [dict(type='Rotate', angle=10., prob=0.2), dict(type='Solarize', thr=256 / 9, prob=0.6)],
    [dict(type='Equalize', prob=0.6), dict(type='Posterize', bits=5, prob=0.4)],
    [dict(type='Rotate', angle=30 / 9 * 8, prob=0.8), dict(type='ColorTransform', magnitude=0., prob=0.4)],
    [dict(type='Rotate', angle=30., prob=0.4), dict(type='Equalize', prob=0.6)],
    [dict(type='Invert', prob=0.6), dict(type='Equalize', prob=1.)],
    [dict(type='ColorTransform', magnitude=0.4, prob=0.6), dict(type='Contrast', magnitude=0.8, prob=1.)],
    [dict(type='Sharpness', magnitude=0.7, prob=0.4), dict(type='Invert', prob=0.6)],
    [dict(type='Shear', magnitude=0.3 / 9 * 5, prob=0.6, direction='horizontal'),
     dict(type='Equalize', prob=1.)],
]}


def _build_ops(policy: list[dict], hparams: dict, extra: dict) -> list[BaseTransform]:
    ops = []
    for cfg in policy:
        cfg = {**{k: v for k, v in hparams.items()}, **copy.deepcopy(cfg), **extra}
        cls = TRANSFORMS.get(cfg['type'])
        if cls is None or not issubclass(cls, _AugOp):
            known = [n for n in __all__ if n not in ('ColorJitter', 'RandAugment', 'AutoAugment')]
            raise KeyError(f"policy op type={cfg['type']!r} is not an augmentation op; known: {known}")
        ops.append(TRANSFORMS.build(cfg, key_path='policies'))
    return ops


@TRANSFORMS.register_module()
class RandAugment(BaseTransform):
    """Apply ``num_policies`` ops chosen at random from ``policies`` at ``magnitude_level``.

    Example: dict(type='RandAugment', policies='timm_increasing', num_policies=2,
                  total_level=10, magnitude_level=9, magnitude_std=0.5, hparams=dict(pad_val=128))
    """

    def __init__(self, policies='timm_increasing', num_policies: int = 2, magnitude_level: float = 9,
                 magnitude_std=0., total_level: float = 10, hparams: dict | None = None):
        if isinstance(policies, str):
            if policies not in RANDAUG_POLICIES:
                raise KeyError(f'RandAugment: unknown policies={policies!r}; use {list(RANDAUG_POLICIES)} '
                               'or a list of op dicts')
            policies = RANDAUG_POLICIES[policies]
        extra = dict(magnitude_level=magnitude_level, magnitude_std=magnitude_std,
                     total_level=total_level, prob=1.0)
        self.policies = policies
        self.num_policies = num_policies
        self.ops = _build_ops(policies, hparams or {}, extra)

    def transform(self, results: dict) -> dict:
        for i in np.random.choice(len(self.ops), self.num_policies):
            results = self.ops[i](results)
        return results


@TRANSFORMS.register_module()
class AutoAugment(BaseTransform):
    """Apply one randomly chosen sub-policy (a list of ops with fixed magnitude and prob).

    Example: dict(type='AutoAugment', policies='imagenet', hparams=dict(pad_val=128))
    """

    def __init__(self, policies='imagenet', hparams: dict | None = None):
        if isinstance(policies, str):
            if policies not in AUTOAUG_POLICIES:
                raise KeyError(f'AutoAugment: unknown policies={policies!r}; use {list(AUTOAUG_POLICIES)}')
            policies = AUTOAUG_POLICIES[policies]
        self.policies = policies
        self.sub_policies = [_build_ops(p, hparams or {}, {}) for p in policies]

    def transform(self, results: dict) -> dict:
        for op in self.sub_policies[np.random.randint(len(self.sub_policies))]:
            results = op(results)
        return results
