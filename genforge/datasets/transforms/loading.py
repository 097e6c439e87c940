"""LoadImageFromFile: decode an image file with Pillow into an (H, W, C) NumPy array.

One class serves MMagic (``key='gt'``/``'img'``, ``channel_order='bgr'`` by default, grayscale
as (H, W, 1), ``ori_<key>_shape``) and MMPretrain/MMCV (``LoadImageFromFile()`` reading
``img_path`` into ``img`` and setting ``img_shape``/``ori_shape`` as (h, w)).
"""
from __future__ import annotations

import io
import os.path as osp

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from genforge.datasets.base_dataset import BadImageError, MissingImageError
from genforge.registry import TRANSFORMS

from .base import BaseTransform

__all__ = ['LoadImageFromFile', 'read_image', 'preload_decoded']

_COLOR_TYPES = ('color', 'grayscale', 'unchanged', 'color_ignore_orientation',
                'grayscale_ignore_orientation')
_EXIF_ORIENTATION = 0x0112
_SKIP_HINT = ('Delete or re-export the file, or build the dataset with skip_bad_images=True to skip '
              'bad files with a warning.')


def _decode(content: bytes, path: str, color_type: str) -> np.ndarray:
    """Bytes -> (H, W, C) RGB(A)/gray uint8 array (RGB order, no channel reordering yet)."""
    if len(content) == 0:
        raise BadImageError(f'{path}: the image file is empty (0 bytes). {_SKIP_HINT}', path)
    try:
        pil = Image.open(io.BytesIO(content))
        pil.load()  # decode now: truncated data fails here rather than later in a worker
    except Image.DecompressionBombError as exc:
        raise BadImageError(f'{path}: {exc} If you trust the file, raise PIL.Image.MAX_IMAGE_PIXELS'
                            f'. {_SKIP_HINT}', path) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f'{path}: cannot decode the image ({type(exc).__name__}: {exc}); the file '
                            f'is corrupt, truncated or not an image. {_SKIP_HINT}', path) from None
    pil = _to_8bit(pil)
    if not color_type.endswith('_ignore_orientation') and color_type != 'unchanged' \
            and pil.getexif().get(_EXIF_ORIENTATION, 1) != 1:
        # cv2.IMREAD_COLOR applies EXIF orientation too. Only called when there is one:
        # exif_transpose (and convert to the same mode) return a full copy otherwise.
        pil = ImageOps.exif_transpose(pil)
    if color_type.startswith('color') and pil.mode != 'RGB':
        pil = pil.convert('RGB')
    elif color_type.startswith('grayscale') and pil.mode != 'L':
        pil = pil.convert('L')  # ITU-R 601 luma, the weights cv2 uses
    elif pil.mode == 'P':
        pil = pil.convert('RGBA' if 'transparency' in pil.info else 'RGB')
    img = np.array(pil)  # a writable copy (np.asarray of a PIL image is read-only)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise BadImageError(f'{path}: decoded to shape {img.shape}, expected (H, W, C) with C in 1..4. '
                            f"Load it with color_type='color' or 'grayscale'. {_SKIP_HINT}", path)
    return np.ascontiguousarray(img)


def _to_8bit(pil: Image.Image) -> Image.Image:
    """16-bit grayscale -> 8 bit by dropping the low byte, as cv2.imread (MMCV) does.

    Pillow's own ``convert`` would clip every value above 255 (a nearly white image). 16-bit
    RGB PNGs already open as 8-bit RGB the same way. Integer images that hold more than 16 bits
    (32-bit TIFF) drop the low 24 bits.
    """
    if not (pil.mode.startswith('I;16') or pil.mode == 'I'):
        return pil
    arr = np.asarray(pil).astype(np.int64)
    shift = 8 if pil.mode.startswith('I;16') or pil.format == 'PNG' or arr.max() < 65536 else 24
    return Image.fromarray((np.clip(arr, 0, None) >> shift).clip(0, 255).astype(np.uint8), 'L')


def read_image(path: str, color_type: str = 'color', channel_order: str = 'bgr') -> np.ndarray:
    """Read one image file into an (H, W, C) uint8 array in ``channel_order``."""
    if not osp.isfile(path):
        if osp.isdir(path):
            raise BadImageError(f'{path}: is a folder, not an image file. Check data_prefix / '
                                'the annotation file.', path)
        raise MissingImageError(f'{path}: image file not found. Check data_root, data_prefix, '
                                f'filename_tmpl and the annotation file. {_SKIP_HINT}', path)
    with open(path, 'rb') as f:
        content = f.read()
    img = _decode(content, path, color_type)
    return _reorder(img, channel_order)


def _reorder(img: np.ndarray, channel_order: str) -> np.ndarray:
    if channel_order == 'bgr' and img.shape[2] in (3, 4):
        img = np.ascontiguousarray(np.concatenate([img[..., 2::-1], img[..., 3:]], axis=2))
    return img


def _to_y(img: np.ndarray, channel_order: str) -> np.ndarray:
    """BT.601 luma in [16, 235] (mmcv's rgb2ycbcr/bgr2ycbcr with y_only=True)."""
    if img.shape[2] < 3:
        raise ValueError('to_y_channel=True needs a 3-channel image; use color_type=\'color\'')
    coeffs = [65.481, 128.553, 24.966] if channel_order == 'rgb' else [24.966, 128.553, 65.481]
    x = img[..., :3].astype(np.float32)
    x = x / 255. if img.dtype == np.uint8 else x
    y = x @ np.asarray(coeffs, dtype=np.float32) + 16.0
    y = y.round().astype(np.uint8) if img.dtype == np.uint8 else y / 255.
    return y[..., None]


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load ``results[f'{key}_path']`` (a path or a list of paths for frames) into ``results[key]``.

    Adds ``ori_<key>_shape`` (H, W, C), ``<key>_channel_order``, ``<key>_color_type`` (MMagic) and,
    for ``key='img'``, ``img_shape``/``ori_shape`` as (h, w) (MMCV/MMPretrain).

    Args:
        key: results key; reads ``<key>_path``. MMagic configs use 'img' or 'gt'.
        color_type: 'color' (3 channels), 'grayscale' (1 channel, kept as (H, W, 1)), 'unchanged'.
        channel_order: 'bgr' (MMagic/MMCV default, like cv2) or 'rgb'.
        imdecode_backend: accepted for compatibility; Pillow always decodes.
        use_cache: keep the file bytes in memory after the first read.
        to_float32: return float32 instead of uint8.
        to_y_channel: return the BT.601 Y channel (H, W, 1) (MMagic).
        save_original_img: also store a copy as ``ori_<key>``.
        backend_args: only local files are supported (None or backend='local'/'disk').
        ignore_empty: return None (drop the sample) when the file is missing (MMCV).

    Example: dict(type='LoadImageFromFile', key='gt', color_type='color', channel_order='rgb')
    """

    def __init__(self, key: str = 'img', color_type: str = 'color', channel_order: str = 'bgr',
                 imdecode_backend: str | None = None, use_cache: bool = False,
                 to_float32: bool = False, to_y_channel: bool = False,
                 save_original_img: bool = False, backend_args: dict | None = None,
                 ignore_empty: bool = False, file_client_args: dict | None = None):
        if color_type not in _COLOR_TYPES:
            raise ValueError(f'LoadImageFromFile: color_type={color_type!r}; use one of {_COLOR_TYPES}')
        if channel_order.lower() not in ('bgr', 'rgb'):
            raise ValueError(f"LoadImageFromFile: channel_order={channel_order!r}; use 'bgr' or 'rgb'")
        backend = (backend_args or file_client_args or {}).get('backend', 'local')
        if backend not in ('local', 'disk'):
            raise NotImplementedError(f"LoadImageFromFile: backend_args backend={backend!r} is not "
                                      "supported; genforge reads local files only (backend='local')")
        self.key = key
        self.color_type = color_type
        self.channel_order = channel_order.lower()
        self.imdecode_backend = imdecode_backend
        self.use_cache = use_cache
        self.to_float32 = to_float32
        self.to_y_channel = to_y_channel
        self.save_original_img = save_original_img
        self.backend_args = backend_args
        self.ignore_empty = ignore_empty
        self._cache: dict[str, np.ndarray] = {}

    def _load(self, path: str) -> np.ndarray:
        if path in self._cache:
            img = self._cache[path].copy()
        else:
            img = read_image(path, self.color_type, self.channel_order)
            if self.use_cache:  # the caller may modify ``img`` in place: keep our own copy
                self._cache[path] = img.copy()
        if self.to_y_channel:
            img = _to_y(img, self.channel_order)
        if self.to_float32:
            img = img.astype(np.float32)
        return img

    def transform(self, results: dict) -> dict | None:
        path_key = f'{self.key}_path'
        if path_key not in results:
            raise KeyError(f'LoadImageFromFile(key={self.key!r}) needs results[{path_key!r}], but the '
                           f'data info has keys {sorted(results)}. Set key= to match the dataset '
                           "(e.g. key='gt' with data_prefix=dict(gt=...))")
        paths = results[path_key]
        is_frames = isinstance(paths, (list, tuple))
        paths = [str(p) for p in paths] if is_frames else [str(paths)]
        try:
            images = [self._load(p) for p in paths]
        except MissingImageError:
            if self.ignore_empty:
                return None
            raise
        shapes = [img.shape for img in images]
        results[self.key] = images if is_frames else images[0]
        results[f'ori_{self.key}_shape'] = shapes if is_frames else shapes[0]
        results[f'{self.key}_channel_order'] = self.channel_order
        results[f'{self.key}_color_type'] = self.color_type
        if self.save_original_img:
            results[f'ori_{self.key}'] = [i.copy() for i in images] if is_frames else images[0].copy()
        if self.key == 'img' and not is_frames:
            results['img_shape'] = shapes[0][:2]
            results['ori_shape'] = shapes[0][:2]
        return results


def preload_decoded(transforms: list, data_infos) -> int:
    """Decode every file the ``LoadImageFromFile`` steps of ``transforms`` read from
    ``data_infos`` into their in-memory cache (``use_cache=True``); returns the count.

    Unreadable files are left for ``__getitem__``, which raises (or skips) them as usual.
    """
    loaders = [t for t in transforms if isinstance(t, LoadImageFromFile)]
    if not loaders:
        raise ValueError('cache=True: the dataset pipeline has no LoadImageFromFile, so there is '
                         'nothing to decode once; drop cache=True (in-memory datasets need none)')
    num = 0
    for loader in loaders:
        loader.use_cache = True
    for info in data_infos:
        for loader in loaders:
            paths = info.get(f'{loader.key}_path')
            for path in paths if isinstance(paths, (list, tuple)) else [paths]:
                if path is None or str(path) in loader._cache:
                    continue
                try:
                    loader._load(str(path))
                except BadImageError:
                    continue
                num += 1
    return num
