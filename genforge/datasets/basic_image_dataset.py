"""Image-folder datasets: MMagic's BasicImageDataset and MMGeneration's UnconditionalImageDataset."""
from __future__ import annotations

import logging
import os
import os.path as osp
import re
from collections.abc import Callable, Sequence

from genforge.registry import DATASETS

from .base_dataset import BaseDataset
from .utils import IMG_EXTENSIONS, no_images_message, read_lines, require_folder, scan_files

__all__ = ['BasicImageDataset', 'UnconditionalImageDataset']

logger = logging.getLogger(__name__)


@DATASETS.register_module()
class BasicImageDataset(BaseDataset):
    """Images (or image pairs) from folders or an annotation file (MMagic).

    Each sample is ``dict(key=<basename>, <k>_path=<data_prefix[k]>/<filename_tmpl[k] % name><ext>)``
    for every key ``k`` of ``data_prefix``. Without ``ann_file`` the folder of ``search_key``
    (default: the first prefix key) is listed; with one, its lines' first column is the file name.
    Paired datasets check at build time that every partner file exists.

    Args:
        ann_file: optional text file, one image per line (``name.png`` or ``name.png (h,w,c)``).
        metainfo: dataset meta information.
        data_root: root joined onto ``ann_file`` and every ``data_prefix``.
        data_prefix: folder per key, e.g. ``dict(img='LRbicx4', gt='GTmod12')``.
        pipeline: transforms.
        test_mode: evaluation mode (no refetch; errors always raise).
        filename_tmpl: per-key name template without extension, e.g. ``dict(img='{}_x4')``.
        search_key: the key whose folder is listed.
        backend_args: only local files are supported.
        img_suffix: image file suffixes to list.
        recursive: list sub-folders too.
        skip_bad_images: skip corrupt/unreadable images with a warning (training only).

    Example:
        dict(type='BasicImageDataset', data_root='data/DIV2K',
             data_prefix=dict(img='DIV2K_train_LR_bicubic/X4_sub', gt='DIV2K_train_HR_sub'),
             filename_tmpl=dict(img='{}', gt='{}'), pipeline=train_pipeline)
    """

    METAINFO = dict(dataset_type='basic_image_dataset', task_name='editing')

    def __init__(self, ann_file: str = '', metainfo: dict | None = None, data_root: str | None = None,
                 data_prefix: dict | None = None, pipeline: Sequence[dict | Callable] = (),
                 test_mode: bool = False, filename_tmpl: dict | None = None,
                 search_key: str | None = None, backend_args: dict | None = None,
                 img_suffix: str | Sequence[str] = IMG_EXTENSIONS, recursive: bool = False,
                 skip_bad_images: bool = False, **kwargs):
        data_prefix = dict(img='') if data_prefix is None else dict(data_prefix)
        if not isinstance(data_prefix, dict) or not data_prefix:
            raise TypeError(f'{type(self).__name__}: data_prefix must be a non-empty dict such as '
                            f"dict(img='LR', gt='HR'), got {data_prefix!r}")
        self.filename_tmpl = {k: (filename_tmpl or {}).get(k, '{}') for k in data_prefix}
        self.search_key = search_key if search_key is not None else next(iter(data_prefix))
        if self.search_key not in data_prefix:
            raise KeyError(f'{type(self).__name__}: search_key={self.search_key!r} is not a key of '
                           f'data_prefix {sorted(data_prefix)}')
        backend = (backend_args or {}).get('backend', 'local')
        if backend not in ('local', 'disk'):
            raise NotImplementedError(f'{type(self).__name__}: backend_args backend={backend!r} is not '
                                      "supported; genforge reads local folders only")
        self.backend_args = backend_args
        self.use_ann_file = ann_file != ''
        self.img_suffix = img_suffix
        self.recursive = recursive
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=data_prefix, pipeline=pipeline, test_mode=test_mode,
                         skip_bad_images=skip_bad_images, **kwargs)

    def load_data_list(self) -> list[dict]:
        paths = self._paths_from_ann() if self.use_ann_file else self._paths_from_folder()
        data_list = []
        for file in paths:
            basename, ext = osp.splitext(file)
            basename = basename.lstrip(os.sep)  # avoid absolute-path-like annotations
            info = dict(key=basename)
            for key, prefix in self.data_prefix.items():
                info[f'{key}_path'] = osp.join(prefix, self.filename_tmpl[key].format(basename) + ext)
            data_list.append(info)
        self._check_partners(data_list)
        return data_list

    def _paths_from_ann(self) -> list[str]:
        lines = read_lines(self.ann_file, type(self).__name__)
        return [line.split(' ')[0].replace('/', os.sep) for line in lines]

    def _paths_from_folder(self) -> list[str]:
        who = type(self).__name__
        folder = self.data_prefix[self.search_key]
        require_folder(folder, who, f'Check data_root={self.data_root!r} and '
                                    f'data_prefix[{self.search_key!r}].')
        files, others = scan_files(folder, self.img_suffix, self.recursive)
        tmpl = self.filename_tmpl[self.search_key]
        pattern = re.compile(tmpl.format('.*'))
        paths = []
        for file in files:
            basename, ext = osp.splitext(file)
            if pattern.match(basename):
                # 'x_x4.png' with tmpl '{}_x4' -> 'x.png': the shared sample name
                paths.append(file.replace(tmpl.format('') + ext, ext))
        if not paths:
            msg = no_images_message(who, folder, self.img_suffix, others, self.recursive)
            if files:
                msg += (f' {len(files)} image(s) exist but none matches filename_tmpl['
                        f'{self.search_key!r}]={tmpl!r}.')
            raise FileNotFoundError(msg)
        return paths

    def _check_partners(self, data_list: list[dict]) -> None:
        """Every sample's files of the non-search keys must exist (paired SR data)."""
        if len(self.data_prefix) < 2:
            return
        missing = []
        for info in data_list:
            for key in self.data_prefix:
                if key != self.search_key and not osp.isfile(info[f'{key}_path']):
                    missing.append(info[f'{key}_path'])
        if missing:
            shown = ', '.join(repr(m) for m in missing[:3])
            raise FileNotFoundError(
                f'{type(self).__name__}: {len(missing)} paired file(s) are missing, e.g. {shown}. '
                f'Names come from the {self.search_key!r} folder through filename_tmpl='
                f'{self.filename_tmpl}; check filename_tmpl (e.g. dict(img=\'{{}}_x4\')) and '
                'data_prefix, or remove the unpaired images.')


@DATASETS.register_module()
class UnconditionalImageDataset(BaseDataset):
    """Every image under ``data_root`` (recursively), as ``dict(img_path=...)`` (MMGeneration 1.x).

    Example: dict(type='UnconditionalImageDataset', data_root='data/ffhq', pipeline=train_pipeline)
    """

    _VALID_IMG_SUFFIX = ('.jpg', '.png', '.jpeg', '.JPEG')

    def __init__(self, data_root: str, pipeline: Sequence[dict | Callable], test_mode: bool = False,
                 skip_bad_images: bool = False, **kwargs):
        super().__init__(data_root=data_root, data_prefix=dict(img_path=''), pipeline=pipeline,
                         test_mode=test_mode, skip_bad_images=skip_bad_images, **kwargs)

    def load_data_list(self) -> list[dict]:
        who = type(self).__name__
        require_folder(self.data_root, who, 'Check data_root.')
        files, others = scan_files(self.data_root, self._VALID_IMG_SUFFIX, recursive=True)
        if not files:
            raise FileNotFoundError(no_images_message(who, self.data_root, self._VALID_IMG_SUFFIX,
                                                      others, True))
        return [dict(img_path=osp.join(self.data_root, f)) for f in files]
