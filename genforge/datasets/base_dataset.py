"""BaseDataset and Compose with MMEngine's semantics (lazy init, metainfo, prefixes, refetch).

A dataset is a list of ``data_info`` dicts (``load_data_list``) and a pipeline of TRANSFORMS that
turns one of them into a training sample. ``__getitem__`` runs the pipeline; a transform returning
``None`` makes the dataset fetch another random index (at most ``max_refetch`` times).
"""
from __future__ import annotations

import copy
import functools
import json
import logging
import os.path as osp
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from genforge.registry import TRANSFORMS

__all__ = ['BaseDataset', 'Compose', 'force_full_init', 'BadImageError', 'MissingImageError']

logger = logging.getLogger(__name__)


class BadImageError(OSError):
    """An image file that cannot be used: missing, unreadable, corrupt, truncated, wrong shape.

    ``path`` names the file. Datasets built with ``skip_bad_images=True`` catch this error, log a
    warning and fetch another sample instead of stopping.
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path

    def __reduce__(self):  # keep ``path`` when the error crosses a DataLoader worker boundary
        return (type(self), (str(self), self.path))


class MissingImageError(BadImageError, FileNotFoundError):
    """An image file named by the dataset does not exist (also a FileNotFoundError)."""


class Compose:
    """Apply transforms in order; stop and return None as soon as one returns None.

    Example: Compose([dict(type='LoadImageFromFile', key='img'), dict(type='PackInputs')])
    """

    def __init__(self, transforms: Sequence[dict | Callable] | dict | Callable | None):
        if transforms is None:
            transforms = []
        elif isinstance(transforms, dict) or callable(transforms):
            transforms = [transforms]
        self.transforms: list[Callable] = []
        for i, t in enumerate(transforms):
            if isinstance(t, dict):
                t = TRANSFORMS.build(t, key_path=f'pipeline[{i}]')
            if not callable(t):
                raise TypeError(f'pipeline[{i}] must be a dict config or a callable, got {t!r}')
            self.transforms.append(t)

    def __call__(self, data: Any) -> Any:
        for t in self.transforms:
            data = t(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        body = ''.join(f'\n    {t}' for t in self.transforms)
        return f'{type(self).__name__}({body}\n)'


def force_full_init(method: Callable) -> Callable:
    """Decorator: run ``self.full_init()`` first when the dataset was built with lazy_init=True."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not self._fully_initialized:
            self.full_init()
        return method(self, *args, **kwargs)
    return wrapper


class BaseDataset:
    """MMEngine's BaseDataset: a list of data infos plus a transform pipeline.

    Subclasses override ``load_data_list()`` (default: read ``ann_file``, a JSON file with
    ``{"metainfo": {...}, "data_list": [{...}, ...]}``), may set a class-level ``METAINFO`` dict.
    Relative ``ann_file`` and ``data_prefix`` values are joined onto ``data_root``.

    ``skip_bad_images`` (genforge extension, default False): when a transform raises
    :class:`BadImageError` (corrupt/truncated/unreadable image) during training, log a warning and
    fetch another random sample instead of stopping. In ``test_mode`` errors always raise, because
    skipping would silently change evaluation results.

    ``cache`` (genforge extension, default False): decode every image the pipeline's
    ``LoadImageFromFile`` reads once, at initialisation in the main process, and keep the arrays
    in memory; DataLoader workers (forked) share them, later epochs decode nothing. For datasets
    that fit in RAM (the pixels, uncompressed), e.g. the demo's or a small SR benchmark set.

    Example:
        >>> class MyDataset(BaseDataset):
        ...     def load_data_list(self):
        ...         return [dict(img_path=f'{i}.png') for i in range(10)]
        >>> ds = MyDataset(data_root='data', pipeline=[])
    """

    METAINFO: dict = dict()
    _fully_initialized: bool = False

    def __init__(self, ann_file: str | None = '', metainfo: dict | None = None,
                 data_root: str | None = '', data_prefix: dict | None = None,
                 filter_cfg: dict | None = None, indices: int | Sequence[int] | None = None,
                 serialize_data: bool = True, pipeline: Sequence[dict | Callable] = (),
                 test_mode: bool = False, lazy_init: bool = False, max_refetch: int = 1000,
                 skip_bad_images: bool = False, cache: bool = False):
        self.ann_file = ann_file or ''
        self._metainfo = self._load_metainfo(copy.deepcopy(metainfo))
        self.data_root = data_root
        self.data_prefix = copy.copy(data_prefix) if data_prefix is not None else dict(img_path='')
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self.skip_bad_images = skip_bad_images
        self.cache = cache
        self.data_list: list[dict] = []
        self.data_bytes: np.ndarray | None = None
        self.data_address: np.ndarray | None = None
        self._join_prefix()
        self.pipeline = Compose(pipeline)
        if not lazy_init:
            self.full_init()

    # -- initialisation ----------------------------------------------------------------------
    def full_init(self) -> None:
        """Load the data list, filter it, take the subset ``indices`` and serialise it (once)."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = self._get_unserialized_subset(self._indices)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True
        if self.cache:
            from .transforms.loading import preload_decoded
            num = preload_decoded(self.pipeline.transforms,
                                  (self.get_data_info(i) for i in range(len(self))))
            logger.info('%s: cache=True, %d images decoded once into memory', type(self).__name__,
                        num)

    def load_data_list(self) -> list[dict]:
        """Read ``ann_file`` (MMEngine JSON format) and parse each raw entry."""
        if not self.ann_file:
            raise ValueError(f'{type(self).__name__}: ann_file is empty. Give a JSON annotation file '
                             'or override load_data_list() in your dataset class.')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: annotation file {self.ann_file!r} does not '
                                    'exist. Check ann_file and data_root.')
        with open(self.ann_file, encoding='utf-8') as f:
            annotations = json.load(f)
        if not isinstance(annotations, dict) or 'data_list' not in annotations \
                or 'metainfo' not in annotations:
            raise ValueError(f'{self.ann_file}: the annotation file must be a JSON object with '
                             f'"metainfo" and "data_list" keys (MMEngine format)')
        for k, v in annotations['metainfo'].items():
            self._metainfo.setdefault(k, v)  # user-given metainfo wins over the file's
        data_list = []
        for raw in annotations['data_list']:
            info = self.parse_data_info(raw)
            if isinstance(info, dict):
                data_list.append(info)
            elif isinstance(info, list) and all(isinstance(i, dict) for i in info):
                data_list.extend(info)
            else:
                raise TypeError(f'parse_data_info must return a dict or a list of dicts, got {info!r}')
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict | list[dict]:
        """Join each ``data_prefix`` onto the matching key of one raw annotation."""
        for key, prefix in self.data_prefix.items():
            if key not in raw_data_info:
                raise KeyError(f'{self.ann_file}: data_prefix key {key!r} is not a key of the '
                               f'annotation {raw_data_info!r}; fix data_prefix or the file')
            raw_data_info[key] = osp.join(prefix, raw_data_info[key])
        return raw_data_info

    def filter_data(self) -> list[dict]:
        """Filter the data list with ``filter_cfg``; the base class keeps everything."""
        return self.data_list

    def get_cat_ids(self, idx: int) -> list[int]:
        raise NotImplementedError(f'{type(self).__name__} does not implement get_cat_ids')

    @classmethod
    def _load_metainfo(cls, metainfo: dict | None = None) -> dict:
        cls_metainfo = copy.deepcopy(cls.METAINFO)
        if metainfo is None:
            return cls_metainfo
        if not isinstance(metainfo, dict):
            raise TypeError(f'metainfo must be a dict, got {type(metainfo).__name__}: {metainfo!r}')
        for k, v in metainfo.items():
            # MMEngine: a string naming an existing file is read as a list of lines (e.g. classes)
            if isinstance(v, str) and osp.isfile(v):
                with open(v, encoding='utf-8') as f:
                    cls_metainfo[k] = [line.rstrip('\n') for line in f if line.strip()]
            else:
                cls_metainfo[k] = v
        return cls_metainfo

    def _join_prefix(self) -> None:
        if self.ann_file and not osp.isabs(self.ann_file) and self.data_root:
            self.ann_file = osp.join(self.data_root, self.ann_file)
        for key, prefix in self.data_prefix.items():
            if prefix is None:
                prefix = ''
            if not isinstance(prefix, str):
                raise TypeError(f'data_prefix[{key!r}] must be a str, got {prefix!r}')
            if not osp.isabs(prefix) and self.data_root:
                self.data_prefix[key] = osp.join(self.data_root, prefix)
            else:
                self.data_prefix[key] = prefix

    # -- serialisation: one numpy buffer instead of many python objects, so DataLoader workers
    # -- forked from the main process do not copy-on-write the whole list (MMEngine's reason).
    def _serialize_data(self) -> tuple[np.ndarray, np.ndarray]:
        def dumps(x):
            return np.frombuffer(pickle.dumps(x, protocol=4), dtype=np.uint8)
        parts = [dumps(x) for x in self.data_list]
        address = np.cumsum(np.asarray([len(p) for p in parts], dtype=np.int64))
        data_bytes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
        self.data_list.clear()
        return data_bytes, address

    def _get_unserialized_subset(self, indices: int | Sequence[int]) -> list[dict]:
        if isinstance(indices, int):
            return self.data_list[:indices] if indices >= 0 else self.data_list[indices:]
        if isinstance(indices, Sequence):
            return [self.data_list[i] for i in indices]
        raise TypeError(f'indices must be an int or a sequence of int, got {indices!r}')

    # -- access ------------------------------------------------------------------------------
    @property
    def metainfo(self) -> dict:
        """A copy of the dataset meta information (class names, palette, ...)."""
        return copy.deepcopy(self._metainfo)

    @force_full_init
    def __len__(self) -> int:
        if self.serialize_data:
            return len(self.data_address)
        return len(self.data_list)

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """A fresh copy of the ``idx``-th data info, with ``sample_idx`` added."""
        if self.serialize_data:
            start = 0 if idx == 0 else int(self.data_address[idx - 1].item())
            end = int(self.data_address[idx].item())
            data_info = pickle.loads(self.data_bytes[start:end].tobytes())
        else:
            data_info = copy.deepcopy(self.data_list[idx])
        data_info['sample_idx'] = idx if idx >= 0 else len(self) + idx
        return data_info

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on ``get_data_info(idx)``; None asks ``__getitem__`` for another."""
        data_info = self.get_data_info(idx)
        if not self.skip_bad_images or self.test_mode:
            return self.pipeline(data_info)
        try:
            return self.pipeline(data_info)
        except BadImageError as exc:
            logger.warning('skip_bad_images=True: skipping sample %d (%s): %s', idx, exc.path, exc)
            return None

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            logger.info('%s was built with lazy_init=True; loading it now', type(self).__name__)
            self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise RuntimeError(f'{type(self).__name__}[{idx}]: the test pipeline returned None; '
                                   'test pipelines must not drop samples')
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is None:
                idx = self._rand_another()
                continue
            return data
        raise RuntimeError(f'{type(self).__name__}: no valid sample after {self.max_refetch} refetches. '
                           'Check the image paths and the pipeline (every sample returned None).')

    def _rand_another(self) -> int:
        return int(np.random.randint(0, len(self)))

    # -- subsets -----------------------------------------------------------------------------
    @force_full_init
    def get_subset_(self, indices: int | Sequence[int]) -> None:
        """Keep only ``indices`` (int: the first N, or the last -N), in place."""
        if self.serialize_data:
            infos = [self.get_data_info(i) for i in range(len(self))]
            for info in infos:
                info.pop('sample_idx', None)
            self.data_list = infos
        self.data_list = self._get_unserialized_subset(indices)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()

    @force_full_init
    def get_subset(self, indices: int | Sequence[int]) -> BaseDataset:
        """A copy of the dataset holding only ``indices``."""
        sub = copy.copy(self)
        sub.data_list = list(self.data_list)
        sub.get_subset_(indices)
        return sub

    def __repr__(self) -> str:
        n = len(self) if self._fully_initialized else 'not loaded (lazy_init)'
        return (f'{type(self).__name__}(num_samples={n}, data_root={self.data_root!r}, '
                f'ann_file={self.ann_file!r}, test_mode={self.test_mode})')
