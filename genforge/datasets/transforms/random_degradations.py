"""Random degradations for restoration training (MMagic names): additive noise and JPEG compression.

Both take MMagic's ``params`` dict and ``keys``; ``results[key]`` may be one (H, W, C) image or a
list of frames (each frame then gets its own draw around the first, via the ``*_step`` params).
Random numbers come from ``np.random`` like the rest of the pipeline, so the dataloader's worker
seeding makes them reproducible.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from genforge.registry import TRANSFORMS

from .base import BaseTransform, to_list

__all__ = ['RandomNoise', 'RandomJPEGCompression']


def _as_frames(imgs) -> tuple[list[np.ndarray], bool]:
    return ([imgs], True) if isinstance(imgs, np.ndarray) else (list(imgs), False)


def _require(params: dict, key: str, who: str):
    if key not in params:
        raise KeyError(f'{who}: params has no {key!r} (got {sorted(params)}); see the MMagic '
                       'config of this transform for the expected keys')
    return params[key]


@TRANSFORMS.register_module()
class RandomNoise(BaseTransform):
    """Add Gaussian or Poisson noise to ``results[k]`` for k in ``keys``; the result is float32
    and not clipped (as in MMagic), on the scale of the input (0..255 for loaded images).

    params: ``noise_type`` (list of 'gaussian'/'poisson') drawn with ``noise_prob``;
    gaussian: ``gaussian_sigma`` [lo, hi] (noise std, uniform in the range),
    ``gaussian_gray_noise_prob`` (one noise map shared by all channels);
    poisson: ``poisson_scale`` [lo, hi], ``poisson_gray_noise_prob``; ``prob`` (default 1): the
    chance to degrade at all.

    Example: dict(type='RandomNoise', params=dict(noise_type=['gaussian'], noise_prob=[1],
                  gaussian_sigma=[15, 15], gaussian_gray_noise_prob=0), keys=['img'])
    """

    def __init__(self, params: dict, keys: list[str] | str):
        self.params = dict(params)
        self.keys = to_list(keys)
        for t in _require(self.params, 'noise_type', 'RandomNoise'):
            if t.lower() not in ('gaussian', 'poisson'):
                raise ValueError(f"RandomNoise: params.noise_type entry {t!r}; use 'gaussian' or "
                                 "'poisson'")

    def _gaussian(self, imgs: list[np.ndarray]) -> list[np.ndarray]:
        lo, hi = _require(self.params, 'gaussian_sigma', 'RandomNoise')
        sigma = np.random.uniform(lo, hi)
        step = self.params.get('gaussian_sigma_step', 0)
        gray = np.random.uniform() < self.params.get('gaussian_gray_noise_prob', 0)
        out = []
        for img in imgs:
            noise = np.float32(np.random.randn(*img.shape)) * sigma
            if gray:  # one map for every channel: luminance-only noise
                noise = noise[:, :, :1]
            out.append(np.float32(img + noise))
            sigma = np.clip(sigma + np.random.uniform(-step, step), lo, hi)
        return out

    def _poisson(self, imgs: list[np.ndarray]) -> list[np.ndarray]:
        lo, hi = _require(self.params, 'poisson_scale', 'RandomNoise')
        scale = np.random.uniform(lo, hi)
        step = self.params.get('poisson_scale_step', 0)
        gray = np.random.uniform() < self.params.get('poisson_gray_noise_prob', 0)
        out = []
        for img in imgs:
            base = np.float32(img)
            if gray and base.shape[2] == 3:  # BT.601 luma of RGB, as cv2's gray conversion
                base = (base @ np.float32([0.299, 0.587, 0.114]))[..., None]
            base = np.clip(base.round(), 0, 255)
            # Poisson counts at a resolution of 2^k levels: fewer distinct values, coarser noise
            levels = 2**np.ceil(np.log2(len(np.unique(base))))
            noise = np.random.poisson(base * levels).astype(np.float32) / levels - base
            out.append(np.float32(img + noise * scale))
            scale = np.clip(scale + np.random.uniform(-step, step), lo, hi)
        return out

    def transform(self, results: dict) -> dict:
        if np.random.uniform() > self.params.get('prob', 1):
            return results
        types = _require(self.params, 'noise_type', 'RandomNoise')
        probs = self.params.get('noise_prob')
        for key in self.keys:
            kind = str(np.random.choice(types, p=probs)).lower()
            imgs, single = _as_frames(results[key])
            imgs = self._gaussian(imgs) if kind == 'gaussian' else self._poisson(imgs)
            results[key] = imgs[0] if single else imgs
        return results


def jpeg_roundtrip(img: np.ndarray, quality: int, swap_rb: bool = True) -> np.ndarray:
    """Encode + decode one (H, W, C) image as JPEG with Pillow (libjpeg, 4:2:0 chroma).

    1-channel images are coded as grayscale JPEG. For 3 channels, ``swap_rb=True`` reads the array
    as BGR, like ``cv2.imencode`` (which MMagic calls on whatever channel order it is given).
    """
    arr = np.clip(np.round(img), 0, 255).astype(np.uint8) if img.dtype != np.uint8 else img
    gray = arr.ndim == 2 or arr.shape[2] == 1
    if gray:
        pil = Image.fromarray(arr.reshape(arr.shape[:2]), 'L')
    else:
        pil = Image.fromarray(np.ascontiguousarray(arr[..., ::-1] if swap_rb else arr), 'RGB')
    buf = io.BytesIO()
    pil.save(buf, format='JPEG', quality=int(quality))
    out = np.array(Image.open(io.BytesIO(buf.getvalue())))
    if gray:
        return out.reshape(arr.shape)
    return np.ascontiguousarray(out[..., ::-1]) if swap_rb else out


@TRANSFORMS.register_module()
class RandomJPEGCompression(BaseTransform):
    """JPEG-compress ``results[k]`` (uint8 out) at a quality drawn from ``params['quality']``.

    params: ``quality`` [lo, hi] (rounded uniform draw), ``quality_step`` (frames), ``prob``.
    Gray images (one channel) are coded as gray JPEG whatever ``color_type`` says: MMagic's
    configs put ``color_type`` inside ``params``, where its own transform never reads it.
    ``bgr2rgb=False`` (MMagic's default) codes the array as if it were BGR, as cv2 does.

    Example: dict(type='RandomJPEGCompression', params=dict(quality=[10, 10],
                  color_type='color'), keys=['img'])
    """

    def __init__(self, params: dict, keys: list[str] | str, color_type: str = 'color',
                 bgr2rgb: bool = False):
        self.params = dict(params)
        self.keys = to_list(keys)
        self.color_type = color_type
        self.bgr2rgb = bgr2rgb
        lo, hi = _require(self.params, 'quality', 'RandomJPEGCompression')
        if not 1 <= lo <= hi <= 100:
            raise ValueError(f'RandomJPEGCompression: params.quality={[lo, hi]} must satisfy '
                             '1 <= lo <= hi <= 100')

    def transform(self, results: dict) -> dict:
        if np.random.uniform() > self.params.get('prob', 1):
            return results
        lo, hi = self.params['quality']
        step = self.params.get('quality_step', 0)
        for key in self.keys:
            imgs, single = _as_frames(results[key])
            quality = round(np.random.uniform(lo, hi))
            out = []
            for img in imgs:
                out.append(jpeg_roundtrip(img, quality, swap_rb=not self.bgr2rgb))
                quality = round(np.clip(quality + np.random.uniform(-step, step), lo, hi))
            results[key] = out[0] if single else out
        return results
