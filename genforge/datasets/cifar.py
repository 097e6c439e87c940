"""CIFAR-10/100 from the original python pickles in a local folder; never downloads.

Accepts MMPretrain's form (``data_root``, ``split='train'|'test'``) and MMagic's / MMClassification
1.x's (``data_prefix``, ``test_mode``). The folder may be ``cifar-10-batches-py`` itself or contain
it. md5 sums are checked but a mismatch only warns, so re-packed copies load.
Each sample holds the HWC RGB uint8 image under ``img`` (MMPretrain pipelines) and the same array
under ``gt`` (MMagic pipelines, ``gt_channel_order='RGB'``), plus ``gt_label``.
"""
from __future__ import annotations

import hashlib
import logging
import os.path as osp

import numpy as np

from genforge.fileio import safe_pickle_load
from genforge.registry import DATASETS

from .base_dataset import BaseDataset
from .custom import _ClsDatasetMixin

__all__ = ['CIFAR10', 'CIFAR100']

logger = logging.getLogger(__name__)

CIFAR10_CATEGORIES = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse',
                      'ship', 'truck')
CIFAR100_CATEGORIES = (
    'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
    'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
    'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup',
    'dinosaur', 'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house',
    'kangaroo', 'keyboard', 'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man',
    'maple_tree', 'motorcycle', 'mountain', 'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid',
    'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree', 'plain', 'plate', 'poppy',
    'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket', 'rose', 'sea', 'seal',
    'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider', 'squirrel', 'streetcar',
    'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
    'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm')


def _md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


@DATASETS.register_module()
class CIFAR10(_ClsDatasetMixin, BaseDataset):
    """CIFAR-10 read from ``data_batch_1..5`` / ``test_batch`` pickles (encoding latin1).

    Args:
        data_root: folder holding ``cifar-10-batches-py`` (or that folder itself).
        split: 'train' or 'test' (MMPretrain); overrides ``test_mode`` when given.
        metainfo: e.g. custom class names.
        download: accepted for compatibility; genforge never downloads (offline by design).
        data_prefix: sub-folder of data_root (MMagic / MMClassification 1.x form).
        test_mode: True selects the test batch when ``split`` is not given.

    Examples:
        dict(type='CIFAR10', data_root='data/cifar10', split='train', pipeline=pipeline)
        dict(type='CIFAR10', data_prefix='data/cifar10', test_mode=False, pipeline=pipeline)
    """

    base_folder = 'cifar-10-batches-py'
    train_list = [['data_batch_1', 'c99cafc152244af753f735de768cd75f'],
                  ['data_batch_2', 'd4bba439e000b95fd0a9bffe97cbabec'],
                  ['data_batch_3', '54ebc095f3ab1f0389bbae665268c751'],
                  ['data_batch_4', '634d18415352ddfa80567beed471001a'],
                  ['data_batch_5', '482c414d41f54cd18b22e5b47cb7c3cb']]
    test_list = [['test_batch', '40351d587109b95175f43aff81a1287e']]
    archive = 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz'
    METAINFO = {'classes': CIFAR10_CATEGORIES}

    def __init__(self, data_root: str = '', split: str = '', metainfo: dict | None = None,
                 download: bool = False, data_prefix: str = '', test_mode: bool = False, **kwargs):
        if split:
            if split not in ('train', 'test'):
                raise ValueError(f"{type(self).__name__}: split={split!r}; use 'train' or 'test'")
            test_mode = split == 'test'
        self.split = split or ('test' if test_mode else 'train')
        if download:
            logger.info('%s: download=True is ignored; genforge never downloads datasets',
                        type(self).__name__)
        self.download = download
        super().__init__(ann_file='', metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(root=data_prefix), test_mode=test_mode, **kwargs)

    def _folder(self, files: list[str]) -> str:
        root = self.data_prefix['root'] or self.data_root or '.'
        candidates = [osp.join(root, self.base_folder), root]
        for folder in candidates:
            if all(osp.isfile(osp.join(folder, f)) for f in files):
                return folder
        missing = [f for f in files if not osp.isfile(osp.join(candidates[0], f))]
        raise FileNotFoundError(
            f'{type(self).__name__}: cannot find the {self.split} files {files} in {candidates[0]!r} '
            f'or {candidates[1]!r} (missing in the first: {missing}). genforge does not download: '
            f'get {self.archive}, extract it so that {osp.join(root, self.base_folder)} holds '
            f'{files}, and set data_root to {root!r}.')

    def load_data_list(self) -> list[dict]:
        entries = self.test_list if self.split == 'test' else self.train_list
        folder = self._folder([name for name, _ in entries])
        imgs, labels = [], []
        for name, md5 in entries:
            path = osp.join(folder, name)
            if md5 and _md5(path) != md5:
                logger.warning('%s: md5 of %s differs from the official file; loading it anyway '
                               '(a re-packed copy is fine)', type(self).__name__, path)
            with open(path, 'rb') as f:
                # the official format is a pickle: read its data, never run code from it
                entry = safe_pickle_load(f, path, encoding='latin1')
            if 'data' not in entry or not ({'labels', 'fine_labels'} & set(entry)):
                raise ValueError(f'{path}: not a CIFAR batch (needs "data" and "labels"/"fine_labels" '
                                 f'keys, found {sorted(entry)})')
            imgs.append(np.asarray(entry['data'], dtype=np.uint8))
            labels.extend(entry['labels'] if 'labels' in entry else entry['fine_labels'])
        imgs = np.vstack(imgs).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 3, 32, 32) -> NHWC
        data_list = []
        for img, label in zip(imgs, labels):
            img = np.ascontiguousarray(img)
            data_list.append(dict(img=img, gt=img, gt_label=int(label), gt_channel_order='RGB'))
        return data_list


@DATASETS.register_module()
class CIFAR100(CIFAR10):
    """CIFAR-100 (``train``/``test`` pickles, fine labels); same arguments as CIFAR10.

    Example: dict(type='CIFAR100', data_root='data/cifar100', split='test', pipeline=pipeline)
    """

    base_folder = 'cifar-100-python'
    train_list = [['train', '16019d7e3df5f24257cddd939b257f8d']]
    test_list = [['test', 'f0ef6b0ae62326f3e7ffdfab6717acfc']]
    archive = 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz'
    METAINFO = {'classes': CIFAR100_CATEGORIES}
