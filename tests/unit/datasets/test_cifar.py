"""CIFAR10/100 from tiny fake pickle batches in both MMPretrain and MMagic forms."""
import logging
import pickle

import numpy as np
import pytest

from genforge.datasets import CIFAR10, CIFAR100


def _batch(path, n, seed, label_key='labels'):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    with open(path, 'wb') as f:
        pickle.dump({'data': data, label_key: labels, 'batch_label': 'fake'}, f)
    return data, labels


@pytest.fixture
def cifar10(tmp_path):
    folder = tmp_path / 'cifar-10-batches-py'
    folder.mkdir()
    train = [_batch(folder / f'data_batch_{i}', 2, i) for i in range(1, 6)]
    test = _batch(folder / 'test_batch', 3, 9)
    return tmp_path, train, test


def test_cifar10_train_split_matches_pickles(cifar10, caplog):
    root, train, _ = cifar10
    with caplog.at_level(logging.WARNING):
        ds = CIFAR10(data_root=str(root), split='train')
    assert 'md5' in caplog.text  # re-packed copy: warns, still loads
    assert len(ds) == 10
    data = np.concatenate([d for d, _ in train])
    labels = sum((lab for _, lab in train), [])
    for i in (0, 7):
        info = ds.get_data_info(i)
        # CIFAR stores channel planes: (3072,) -> (3, 32, 32) -> HWC
        np.testing.assert_array_equal(info['img'], data[i].reshape(3, 32, 32).transpose(1, 2, 0))
        np.testing.assert_array_equal(info['gt'], info['img'])
        assert info['gt_label'] == labels[i]
    assert ds.CLASSES[0] == 'airplane' and len(ds.CLASSES) == 10
    assert ds.get_cat_ids(3) == [labels[3]]


def test_cifar10_mmagic_form_and_folder_itself(cifar10):
    root, _, (test_data, test_labels) = cifar10
    ds = CIFAR10(data_prefix=str(root), test_mode=True)
    assert len(ds) == 3 and [ds.get_data_info(i)['gt_label'] for i in range(3)] == test_labels
    direct = CIFAR10(data_root=str(root / 'cifar-10-batches-py'), split='test')
    np.testing.assert_array_equal(direct.get_data_info(2)['img'],
                                  test_data[2].reshape(3, 32, 32).transpose(1, 2, 0))
    pipeline = [dict(type='RandomCrop', crop_size=32, padding=4), dict(type='PackInputs')]
    out = CIFAR10(data_root=str(root), split='test', pipeline=pipeline)[0]
    assert out['inputs'].shape == (3, 32, 32) and out['data_samples'].gt_label.tolist() == [test_labels[0]]


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / 'cifar-100-python'
    folder.mkdir()
    _, labels = _batch(folder / 'train', 4, 0, label_key='fine_labels')
    _batch(folder / 'test', 2, 1, label_key='fine_labels')
    ds = CIFAR100(data_root=str(tmp_path), split='train')
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == labels
    assert len(ds.CLASSES) == 100 and len(set(ds.CLASSES)) == 100


def test_cifar_missing_files_lists_expected(tmp_path):
    (tmp_path / 'cifar-10-batches-py').mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)data_batch_1.*does not download.*cifar-10-python"):
        CIFAR10(data_root=str(tmp_path), split='train')
    with pytest.raises(ValueError, match="split='val'"):
        CIFAR10(data_root=str(tmp_path), split='val')
