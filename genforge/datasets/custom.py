"""Classification folders (MMPretrain): CustomDataset and ImageNet.

Modes: class sub-folders (``data_prefix/<class>/**/img``), a flat folder (``with_label=False``),
or an ``ann_file`` with lines ``path label`` (``path`` only when ``with_label=False``).
Each data info has ``img_path`` (MMPretrain pipelines, key 'img') and the same path as
``gt_path`` (MMagic pipelines, key 'gt'), plus ``gt_label``.
"""
from __future__ import annotations

import logging
import os
import os.path as osp
from collections.abc import Sequence

from genforge.registry import DATASETS

from .base_dataset import BaseDataset
from .utils import no_images_message, read_lines, require_folder, scan_files

__all__ = ['CustomDataset', 'ImageNet']

logger = logging.getLogger(__name__)

_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


class _ClsDatasetMixin:
    """MMPretrain's BaseDataset additions: CLASSES, class_to_idx, get_gt_labels, get_cat_ids."""

    @property
    def img_prefix(self) -> str:
        return self.data_prefix['img_path']

    @property
    def CLASSES(self):  # noqa: N802 (MMPretrain's spelling)
        return self._metainfo.get('classes', None)

    @property
    def class_to_idx(self) -> dict:
        return {cat: i for i, cat in enumerate(self.CLASSES or [])}

    def get_gt_labels(self):
        import numpy as np
        return np.array([self.get_data_info(i)['gt_label'] for i in range(len(self))])

    def get_cat_ids(self, idx: int) -> list[int]:
        return [int(self.get_data_info(idx)['gt_label'])]


@DATASETS.register_module()
class CustomDataset(_ClsDatasetMixin, BaseDataset):
    """Images with class labels from class folders, a flat folder or an annotation file.

    Args:
        data_root: root joined onto ``data_prefix`` and ``ann_file``.
        data_prefix: image folder (str, or ``dict(img_path=...)``).
        ann_file: optional text file, ``relative/path.jpg 3`` per line.
        with_label: False for unlabeled data (flat folder, or ann lines without labels).
        extensions: accepted image suffixes (case-insensitive).
        metainfo: e.g. ``dict(classes=('cat', 'dog'))``; folder names are used otherwise.
        lazy_init: defer loading the list.
        skip_bad_images: skip corrupt/unreadable images with a warning (training only).

    Example:
        dict(type='CustomDataset', data_root='data/pets', data_prefix='train', with_label=True,
             pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    """

    def __init__(self, data_root: str = '', data_prefix: str | dict = '', ann_file: str = '',
                 with_label: bool = True, extensions: Sequence[str] = _EXTENSIONS,
                 metainfo: dict | None = None, lazy_init: bool = False, **kwargs):
        if not (ann_file or data_prefix or data_root):
            raise ValueError(f'{type(self).__name__}: set one of data_root, data_prefix or ann_file')
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.extensions = tuple(sorted({e.lower() for e in extensions}))
        self.with_label = with_label
        self.folder_to_idx: dict[str, int] = {}
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, lazy_init=True, **kwargs)
        if not lazy_init:
            self.full_init()

    def is_valid_file(self, filename: str) -> bool:
        return filename.lower().endswith(self.extensions)

    def _find_samples(self) -> list:
        who = type(self).__name__
        root = self.img_prefix
        require_folder(root, who, 'Check data_root and data_prefix.')
        if not self.with_label:
            files, others = scan_files(root, self.extensions, recursive=True, case_sensitive=False)
            if not files:
                raise FileNotFoundError(no_images_message(who, root, self.extensions, others, True))
            return files
        classes = sorted(d.name for d in os.scandir(root) if d.is_dir() and not d.name.startswith('.'))
        if not classes:
            raise FileNotFoundError(f'{who}: {root!r} has no class sub-folders. Put the images in '
                                    f'{root}/<class_name>/..., give an ann_file, or set with_label=False '
                                    'for unlabeled images.')
        samples, empty = [], []
        for idx, name in enumerate(classes):
            files, _ = scan_files(osp.join(root, name), self.extensions, True, case_sensitive=False)
            samples += [(osp.join(name, f), idx) for f in files]
            if not files:
                empty.append(name)
        if not samples:
            raise FileNotFoundError(f'{who}: found 0 files in the sub-folders of {root!r}. Supported '
                                    f'extensions are: {", ".join(self.extensions)}')
        if empty:
            logger.warning('%s: no valid file in the folder(s) %s of %s (extensions %s)', who,
                           ', '.join(empty), root, ', '.join(self.extensions))
        if self.CLASSES is not None and len(self.CLASSES) != len(classes):
            raise ValueError(f"{who}: the number of sub-folders ({len(classes)}) doesn't match the "
                             f'number of classes in metainfo ({len(self.CLASSES)}). Check {root!r}.')
        if self.CLASSES is None:
            self._metainfo['classes'] = tuple(classes)
        self.folder_to_idx = {c: i for i, c in enumerate(classes)}
        return samples

    def _parse_ann(self) -> list:
        lines = read_lines(self.ann_file, type(self).__name__)
        if not self.with_label:
            return [line.strip() for line in lines]
        samples = []
        for n, line in enumerate(lines, 1):
            parts = line.strip().rsplit(' ', 1)
            if len(parts) != 2 or not parts[1].lstrip('-').isdigit():
                raise ValueError(f'{self.ann_file}:{n}: expected "<path> <integer label>", got '
                                 f'{line!r}. Fix the line, or set with_label=False for a list of '
                                 'paths without labels.')
            samples.append((parts[0], int(parts[1])))
        return samples

    def load_data_list(self) -> list[dict]:
        samples = self._parse_ann() if self.ann_file else self._find_samples()
        data_list = []
        for sample in samples:
            name, label = sample if self.with_label else (sample, None)
            path = osp.join(self.img_prefix, name)
            info = dict(img_path=path, gt_path=path)
            if label is not None:
                info['gt_label'] = int(label)
            data_list.append(info)
        return data_list


@DATASETS.register_module()
class ImageNet(CustomDataset):
    """ImageNet-style folders (MMPretrain's signature; MMagic's ImageNet labels as ``gt_label``).

    With ``split`` ('train' | 'val' | 'test'), ``data_prefix`` defaults to the split folder and
    ``ann_file`` to ``meta/<split>.txt`` when it exists; 'test' has no labels. Class names come
    from ``metainfo`` or the class folder names (the 1000 ImageNet names are not bundled).

    Example: dict(type='ImageNet', data_root='data/imagenet', split='train', pipeline=pipeline)
    """

    IMG_EXTENSIONS = _EXTENSIONS

    def __init__(self, data_root: str = '', split: str = '', data_prefix: str | dict = '',
                 ann_file: str = '', metainfo: dict | None = None, **kwargs):
        kwargs = {'extensions': self.IMG_EXTENSIONS, **kwargs}
        if split:
            if split not in ('train', 'val', 'test'):
                raise ValueError(f"ImageNet: split={split!r}; use 'train', 'val' or 'test'")
            if split == 'test':
                kwargs['with_label'] = False  # the ImageNet test set has no public labels
            data_prefix = data_prefix or split
            if not ann_file and osp.isfile(osp.join(data_root, 'meta', f'{split}.txt')):
                ann_file = osp.join('meta', f'{split}.txt')
        self.split = split
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file,
                         metainfo=metainfo, **kwargs)
