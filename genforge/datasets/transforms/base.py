"""BaseTransform and the small NumPy/Pillow image helpers the transforms share.

Images are NumPy arrays ``(H, W, C)`` (or ``(H, W)``), uint8 or float32, in the channel order the
loader produced. Sizes passed to ``imresize`` are ``(w, h)`` as in mmcv.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

__all__ = ['BaseTransform', 'imresize', 'imrescale', 'rescale_size', 'impad', 'imflip',
           'to_list', 'image_path', 'PIL_INTERP']

# cv2-style names -> Pillow filters; 'area' has no Pillow twin, BOX averages the same pixels.
PIL_INTERP = {
    'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC,
    'area': Image.BOX, 'box': Image.BOX, 'lanczos': Image.LANCZOS, 'hamming': Image.HAMMING,
}


class BaseTransform:
    """A pipeline step: ``results = transform(results)`` on the dict flowing through the pipeline.

    Subclasses implement ``transform(results) -> dict | None`` (None drops the sample).
    """

    def __call__(self, results: dict) -> dict | None:
        return self.transform(results)

    def transform(self, results: dict) -> dict | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items() if not k.startswith('_'))
        return f'{type(self).__name__}({args})'


def to_list(keys: Any) -> list:
    """'img' -> ['img']; lists/tuples -> list."""
    if isinstance(keys, (list, tuple)):
        return list(keys)
    return [keys]


def image_path(results: dict, key: str) -> str:
    """The file an image came from, for error messages ('<unknown file>' if not recorded)."""
    return str(results.get(f'{key}_path') or results.get('img_path') or '<unknown file>')


def _check_interp(interpolation: str) -> int:
    try:
        return PIL_INTERP[interpolation]
    except KeyError:
        raise ValueError(f'interpolation={interpolation!r} is not supported; use one of '
                         f'{sorted(PIL_INTERP)}') from None


def imresize(img: np.ndarray, size: tuple[int, int], interpolation: str = 'bilinear') -> np.ndarray:
    """Resize ``img`` to ``size=(w, h)`` with Pillow; keeps dtype and the channel axis."""
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0:
        raise ValueError(f'imresize: target size (w={w}, h={h}) must be positive')
    resample = _check_interp(interpolation)
    squeeze = img.ndim == 2
    arr = img[..., None] if squeeze else img
    c = arr.shape[2]
    if arr.dtype == np.uint8 and c in (1, 3, 4):
        pil = Image.fromarray(np.ascontiguousarray(arr[..., 0] if c == 1 else arr))
        out = np.array(pil.resize((w, h), resample))
        out = out[..., None] if c == 1 else out
    else:
        # other dtypes / channel counts: resize each channel as a 32-bit float image
        chans = [np.array(Image.fromarray(np.ascontiguousarray(arr[..., i], dtype=np.float32))
                            .resize((w, h), resample)) for i in range(c)]
        out = np.stack(chans, axis=-1)
        if np.issubdtype(img.dtype, np.integer):
            info = np.iinfo(img.dtype)
            out = np.clip(np.round(out), info.min, info.max)
        out = out.astype(img.dtype)
    return out[..., 0] if squeeze else np.ascontiguousarray(out)


def rescale_size(old_size: tuple[int, int], scale: float | tuple) -> tuple[tuple[int, int], float]:
    """mmcv.rescale_size: ``old_size=(w, h)``; a float scales, a tuple bounds (long, short) edges."""
    w, h = old_size
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        if scale <= 0:
            raise ValueError(f'scale={scale} must be positive')
        factor = float(scale)
    elif isinstance(scale, (tuple, list)) and len(scale) == 2:
        max_long, max_short = max(scale), min(scale)
        factor = min(max_long / max(h, w), max_short / min(h, w))
    else:
        raise TypeError(f'scale must be a number or a tuple of two ints, got {scale!r}')
    return (int(w * factor + 0.5), int(h * factor + 0.5)), factor


def imrescale(img: np.ndarray, scale: float | tuple,
              interpolation: str = 'bilinear') -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio (mmcv.imrescale); returns (image, scale_factor)."""
    h, w = img.shape[:2]
    new_size, factor = rescale_size((w, h), scale)
    return imresize(img, new_size, interpolation), factor


def impad(img: np.ndarray, padding: tuple[int, int, int, int], pad_val: Any = 0,
          padding_mode: str = 'constant') -> np.ndarray:
    """Pad ``(left, top, right, bottom)`` pixels (mmcv.impad's order)."""
    left, top, right, bottom = (int(p) for p in padding)
    width = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
    if padding_mode == 'constant':
        if isinstance(pad_val, (tuple, list)) and img.ndim == 3:
            out = np.empty((img.shape[0] + top + bottom, img.shape[1] + left + right, img.shape[2]),
                           dtype=img.dtype)
            out[...] = np.asarray(pad_val, dtype=img.dtype)
            out[top:top + img.shape[0], left:left + img.shape[1]] = img
            return out
        return np.pad(img, width, mode='constant', constant_values=pad_val)
    if padding_mode not in ('edge', 'reflect', 'symmetric'):
        raise ValueError(f"padding_mode={padding_mode!r}; use 'constant', 'edge', 'reflect' or "
                         "'symmetric'")
    return np.pad(img, width, mode=padding_mode)


def imflip(img: np.ndarray, direction: str = 'horizontal') -> np.ndarray:
    """Flip 'horizontal' (left-right), 'vertical' (up-down) or 'diagonal' (both)."""
    if direction == 'horizontal':
        return np.ascontiguousarray(img[:, ::-1])
    if direction == 'vertical':
        return np.ascontiguousarray(img[::-1])
    if direction == 'diagonal':
        return np.ascontiguousarray(img[::-1, ::-1])
    raise ValueError(f"direction={direction!r}; use 'horizontal', 'vertical' or 'diagonal'")
