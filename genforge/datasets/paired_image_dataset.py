"""Translation datasets: PairedImageDataset (A|B images) and UnpairedImageDataset (trainA/trainB)."""
from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Sequence

import numpy as np

from genforge.registry import DATASETS

from .base_dataset import BaseDataset, force_full_init
from .utils import IMG_EXTENSIONS, no_images_message, require_folder, scan_files

__all__ = ['PairedImageDataset', 'UnpairedImageDataset']


def _scan_images(folder: str, who: str, hint: str) -> list[str]:
    """Sorted image paths under ``folder`` (recursive); a clear error for a missing/empty one."""
    require_folder(folder, who, hint)
    names, others = scan_files(folder, IMG_EXTENSIONS, recursive=True)
    if not names:
        raise FileNotFoundError(no_images_message(who, folder, IMG_EXTENSIONS, others, True)
                                + f' {hint}')
    return [osp.join(folder, n) for n in names]


@DATASETS.register_module()
class PairedImageDataset(BaseDataset):
    """Paired images for Pix2Pix: each file holds A|B side by side (width = 2 x height).

    Images are read from ``data_root/train`` (``test_mode=False``) or ``data_root/<test_dir>``,
    sub-folders included; each sample is ``dict(pair_path=...)`` for LoadPairedImageFromFile.

    Example: dict(type='PairedImageDataset', data_root='data/pix2pix/facades',
                  pipeline=train_pipeline, test_mode=False)
    """

    def __init__(self, data_root: str, pipeline: Sequence[dict | Callable],
                 io_backend: str | None = None, test_mode: bool = False, test_dir: str = 'test'):
        if io_backend not in (None, 'disk', 'local'):
            raise NotImplementedError(f'PairedImageDataset: io_backend={io_backend!r} is not '
                                      "supported; genforge reads local files (io_backend=None)")
        self.phase = test_dir if test_mode else 'train'
        super().__init__(data_root=osp.join(str(data_root), self.phase), pipeline=pipeline,
                         test_mode=test_mode)

    def load_data_list(self) -> list[dict]:
        hint = (f'PairedImageDataset reads <data_root>/{self.phase}; put the A|B images there or '
                'fix data_root.')
        return [dict(pair_path=p) for p in _scan_images(self.data_root, 'PairedImageDataset', hint)]


@DATASETS.register_module()
class UnpairedImageDataset(BaseDataset):
    """Unpaired images for CycleGAN from ``data_root/{train,test}A`` and ``.../{train,test}B``.

    Sample ``i`` is ``dict(img_<domain_a>_path=A[i % len(A)], img_<domain_b>_path=...)``; in
    training the B image is drawn at random (np.random), in test mode it is ``B[i % len(B)]``.
    The length is ``max(len(A), len(B))``.

    Example: dict(type='UnpairedImageDataset', data_root='data/cyclegan/horse2zebra',
                  domain_a='A', domain_b='B', pipeline=train_pipeline)
    """

    def __init__(self, data_root: str, pipeline: Sequence[dict | Callable],
                 io_backend: str | None = None, test_mode: bool = False,
                 domain_a: str = 'A', domain_b: str = 'B'):
        if io_backend not in (None, 'disk', 'local'):
            raise NotImplementedError(f'UnpairedImageDataset: io_backend={io_backend!r} is not '
                                      "supported; genforge reads local files (io_backend=None)")
        for name, value in (('domain_a', domain_a), ('domain_b', domain_b)):
            if not isinstance(value, str) or not value:
                raise TypeError(f'UnpairedImageDataset: {name} must be a non-empty str, got '
                                f'{value!r}')
        phase = 'test' if test_mode else 'train'
        self.dataroot_a = osp.join(str(data_root), phase + 'A')
        self.dataroot_b = osp.join(str(data_root), phase + 'B')
        self.domain_a, self.domain_b = domain_a, domain_b
        super().__init__(data_root=str(data_root), pipeline=pipeline, test_mode=test_mode,
                         serialize_data=False)

    def load_data_list(self) -> list[dict]:
        hint = ('UnpairedImageDataset needs images of both domains: <data_root>/trainA and '
                '<data_root>/trainB (testA/testB with test_mode=True).')
        self.paths_a = _scan_images(self.dataroot_a, 'UnpairedImageDataset', hint)
        self.paths_b = _scan_images(self.dataroot_b, 'UnpairedImageDataset', hint)
        return [dict(path=p) for p in self.paths_a]

    @force_full_init
    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        path_a = self.paths_a[idx % len(self.paths_a)]
        idx_b = idx % len(self.paths_b) if self.test_mode \
            else int(np.random.randint(0, len(self.paths_b)))
        return {f'img_{self.domain_a}_path': path_a,
                f'img_{self.domain_b}_path': self.paths_b[idx_b], 'sample_idx': idx}
