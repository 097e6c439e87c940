"""GrowScaleImgDataset: unconditional images whose source folder and batch size follow the
resolution PGGAN trains at (MMagic's name and arguments)."""
from __future__ import annotations

import logging
import os.path as osp
from collections.abc import Callable, Sequence

from genforge.registry import DATASETS

from .base_dataset import BaseDataset
from .utils import no_images_message, require_folder, scan_files

logger = logging.getLogger(__name__)


@DATASETS.register_module()
class GrowScaleImgDataset(BaseDataset):
    """Images under ``data_roots[str(scale)]``: a training scale s reads the smallest root whose
    key is >= s (so ``{'64': 'imgs_64', '1024': 'imgs_1024'}`` serves 4..64 from ``imgs_64``);
    ``samples_per_gpu`` is ``gpu_samples_per_scale.get(str(s), gpu_samples_base)``.
    ``len_per_stage > 0`` repeats/truncates the file list to that length. Items are
    ``dict(gt_path=..., img_path=...)`` (``LoadImageFromFile(key='gt')`` or ``key='img'``).

    Example: dict(type='GrowScaleImgDataset', data_roots={'128': 'data/celeba'},
                  gpu_samples_base=4, gpu_samples_per_scale={'4': 64, '8': 32},
                  len_per_stage=-1, pipeline=train_pipeline)
    """

    _VALID_IMG_SUFFIX = ('.jpg', '.png', '.jpeg', '.JPEG')

    def __init__(self, data_roots: dict, pipeline: Sequence[dict | Callable],
                 len_per_stage: int = int(1e6), gpu_samples_per_scale: dict | None = None,
                 gpu_samples_base: int = 32, io_backend: str | None = None,
                 file_lists: str | dict | None = None, test_mode: bool = False):
        if not isinstance(data_roots, dict) or not data_roots:
            raise TypeError(f'GrowScaleImgDataset: data_roots must be a dict like '
                            f"{{'128': 'data/imgs'}}, got {data_roots!r}")
        if file_lists is not None or io_backend not in (None, 'disk', 'local'):
            raise ValueError('GrowScaleImgDataset: file_lists and remote io_backend are not '
                             'supported; point data_roots at local folders')
        self.data_roots = {str(k): v for k, v in data_roots.items()}
        self._img_scales = sorted(int(k) for k in self.data_roots)
        self._curr_scale = self._actual_curr_scale = self._img_scales[0]
        self.len_per_stage = len_per_stage
        self.gpu_samples_per_scale = dict(gpu_samples_per_scale or {})
        self.gpu_samples_base = gpu_samples_base
        super().__init__(data_root=self.data_roots[str(self._curr_scale)], pipeline=pipeline,
                         test_mode=test_mode, serialize_data=False)
        logger.info('%r', self)

    def load_data_list(self) -> list[dict]:
        who = type(self).__name__
        require_folder(self.data_root, who, 'Check data_roots.')
        files, others = scan_files(self.data_root, self._VALID_IMG_SUFFIX, recursive=True)
        if not files:
            raise FileNotFoundError(no_images_message(who, self.data_root,
                                                      self._VALID_IMG_SUFFIX, others, True))
        paths = [osp.join(self.data_root, f) for f in files]
        if self.len_per_stage > 0:
            # repeat the list, then cut it to the requested length
            paths = (paths * (self.len_per_stage // len(paths) + 1))[:self.len_per_stage]
        self.samples_per_gpu = self.gpu_samples_per_scale.get(str(self._actual_curr_scale),
                                                              self.gpu_samples_base)
        # MMagic pipelines load key='gt', MMGeneration (and migrated 0.x) ones key='img'
        return [dict(gt_path=p, img_path=p) for p in paths]

    def update_annotations(self, curr_scale: int) -> bool:
        """Switch to the data root serving ``curr_scale``; False when nothing changes."""
        if curr_scale == self._actual_curr_scale:
            return False
        fitting = [s for s in self._img_scales if curr_scale <= s]
        if not fitting:
            raise ValueError(f'GrowScaleImgDataset: no data_roots entry serves scale '
                             f'{curr_scale} (largest is {self._img_scales[-1]}); add '
                             f"data_roots['{curr_scale}']")
        self._curr_scale, self._actual_curr_scale = fitting[0], curr_scale
        self.data_root = self.data_roots[str(self._curr_scale)]
        self.data_list = self.load_data_list()
        logger.info('Update dataset: %r', self)
        return True

    def __repr__(self) -> str:
        return (f'dataset_name: {type(self)}, total {len(self.data_list)} images in '
                f'imgs_root: {self.data_root}')


__all__ = ['GrowScaleImgDataset']
