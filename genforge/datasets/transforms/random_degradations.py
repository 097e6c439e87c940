"""Random degradations for restoration training (MMagic names): blur, resize, additive noise and
JPEG compression, the first-order Real-ESRGAN / BSRGAN degradation model.

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

from .base import BaseTransform, imresize, to_list
from .blur_kernels import filter2d, make_kernel

__all__ = ['RandomBlur', 'RandomResize', 'RandomNoise', 'RandomJPEGCompression']


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


@TRANSFORMS.register_module()
class RandomBlur(BaseTransform):
    """Blur ``results[k]`` with a random kernel (cv2.filter2D semantics: reflected borders, uint8
    stays uint8).

    params: ``kernel_list`` + ``kernel_prob`` (types of ``blur_kernels.KERNEL_TYPES``),
    ``kernel_size`` (odd sizes to choose from), ``sigma_x``/``sigma_y`` [lo, hi],
    ``rotate_angle`` [lo, hi] (default [-pi, pi]), ``beta_gaussian`` (default [0.5, 4]),
    ``beta_plateau`` (default [1, 2]), ``omega`` (sinc cut-off; default [pi/3, pi] below size 13,
    else [pi/5, pi], as Real-ESRGAN), ``prob``. Frames of a list share one kernel.

    Example: dict(type='RandomBlur', keys=['img'], params=dict(kernel_size=[7, 9, 11],
                  kernel_list=['iso', 'aniso'], kernel_prob=[0.5, 0.5], sigma_x=[0.2, 3],
                  sigma_y=[0.2, 3], rotate_angle=[-3.1416, 3.1416]))
    """

    def __init__(self, params: dict, keys: list[str] | str):
        self.params = dict(params)
        self.keys = to_list(keys)
        for name in ('kernel_list', 'kernel_size'):
            _require(self.params, name, 'RandomBlur')

    def _kernel(self) -> np.ndarray:
        p = self.params
        kind = str(np.random.choice(p['kernel_list'], p=p.get('kernel_prob')))
        size = int(np.random.choice(p['kernel_size']))
        draw = lambda name, default: np.random.uniform(*p.get(name, default))  # noqa: E731
        omega_default = [np.pi / 3, np.pi] if size < 13 else [np.pi / 5, np.pi]
        return make_kernel(kind, size, sigma_x=draw('sigma_x', [0, 0]) or 1e-6,
                           sigma_y=draw('sigma_y', [0, 0]) or 1e-6,
                           rotation=draw('rotate_angle', [-np.pi, np.pi]),
                           beta_gaussian=draw('beta_gaussian', [0.5, 4]),
                           beta_plateau=draw('beta_plateau', [1, 2]),
                           omega=draw('omega', omega_default))

    def transform(self, results: dict) -> dict:
        if np.random.uniform() > self.params.get('prob', 1):
            return results
        for key in self.keys:
            kernel = self._kernel()
            imgs, single = _as_frames(results[key])
            out = [filter2d(img, kernel) for img in imgs]
            results[key] = out[0] if single else out
        return results


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize ``results[k]`` to a fixed ``target_size`` (h, w) or by a random factor.

    params: ``resize_opt`` + ``resize_prob`` ('bilinear', 'bicubic', 'area', 'lanczos'),
    ``target_size`` (h, w), or ``resize_mode_prob`` (up / down / keep) with ``resize_scale``
    [lo, hi]; ``is_size_even``; ``prob``. Pillow resamples (antialiased when shrinking, unlike
    cv2's bilinear/bicubic): close to, not equal to, MMagic's cv2 output. Frames share one size.

    Example: dict(type='RandomResize', keys=['img'], params=dict(resize_mode_prob=[0.2, 0.7,
                  0.1], resize_scale=[0.15, 1.5], resize_opt=['bilinear', 'area', 'bicubic'],
                  resize_prob=[1 / 3, 1 / 3, 1 / 3]))
    """

    _OPTS = ('bilinear', 'bicubic', 'area', 'lanczos')

    def __init__(self, params: dict, keys: list[str] | str):
        self.params = dict(params)
        self.keys = to_list(keys)
        for opt in _require(self.params, 'resize_opt', 'RandomResize'):
            if opt.lower() not in self._OPTS:
                raise ValueError(f'RandomResize: params.resize_opt entry {opt!r}; use one of '
                                 f'{self._OPTS}')
        if 'target_size' not in self.params:
            _require(self.params, 'resize_mode_prob', 'RandomResize')
            _require(self.params, 'resize_scale', 'RandomResize')

    def _size(self, h: int, w: int) -> tuple[int, int]:
        if self.params.get('target_size') is not None:
            return tuple(int(v) for v in self.params['target_size'])
        mode = np.random.choice(['up', 'down', 'keep'], p=self.params['resize_mode_prob'])
        lo, hi = self.params['resize_scale']
        factor = {'up': lambda: np.random.uniform(1, hi), 'down': lambda: np.random.uniform(lo, 1),
                  'keep': lambda: 1.}[str(mode)]()
        h_out, w_out = h * factor, w * factor
        if self.params.get('is_size_even', False):
            h_out, w_out = 2 * (h_out // 2), 2 * (w_out // 2)
        return max(int(h_out), 1), max(int(w_out), 1)

    def transform(self, results: dict) -> dict:
        if np.random.uniform() > self.params.get('prob', 1):
            return results
        for key in self.keys:
            imgs, single = _as_frames(results[key])
            opt = str(np.random.choice(self.params['resize_opt'],
                                       p=self.params.get('resize_prob'))).lower()
            h, w = self._size(*imgs[0].shape[:2])
            out = [imresize(img, (w, h), opt) for img in imgs]
            results[key] = out[0] if single else out
        return results
