"""pseudo_collate / default_collate / worker_init_fn."""
import random
from collections import namedtuple

import numpy as np
import pytest
import torch

from genforge.datasets import default_collate, pseudo_collate, worker_init_fn
from genforge.registry import FUNCTIONS
from genforge.structures import DataSample


def _batch(shapes, paths=None):
    out = []
    for i, s in enumerate(shapes):
        ds = DataSample(metainfo=dict(img_path=paths[i]) if paths else None)
        out.append(dict(inputs=torch.rand(*s), data_samples=ds))
    return out


def test_pseudo_collate_transposes_without_stacking():
    batch = _batch([(3, 4, 4), (3, 4, 4)])
    out = pseudo_collate(batch)
    assert set(out) == {'inputs', 'data_samples'}
    assert all(a is b['inputs'] for a, b in zip(out['inputs'], batch))
    assert all(a is b['data_samples'] for a, b in zip(out['data_samples'], batch))
    assert pseudo_collate([(1, 'a'), (2, 'b')]) == [[1, 2], ['a', 'b']]
    assert FUNCTIONS.get('pseudo_collate') is pseudo_collate


def test_default_collate_stacks_like_torch():
    batch = _batch([(3, 4, 4)] * 3)
    out = default_collate(batch)
    assert torch.equal(out['inputs'], torch.stack([b['inputs'] for b in batch]))
    assert isinstance(out['data_samples'], list) and len(out['data_samples']) == 3
    mixed = default_collate([dict(a=1, b=0.5, c='x', d=np.ones(2), e=np.float32(2.0)),
                             dict(a=2, b=1.5, c='y', d=np.zeros(2), e=np.float32(3.0))])
    assert torch.equal(mixed['a'], torch.tensor([1, 2]))
    assert mixed['b'].dtype == torch.float64 and mixed['b'].tolist() == [0.5, 1.5]
    assert mixed['c'] == ['x', 'y']
    assert torch.equal(mixed['d'], torch.tensor(np.stack([np.ones(2), np.zeros(2)])))
    assert mixed['e'].tolist() == [2.0, 3.0]
    Pt = namedtuple('Pt', 'x y')
    pt = default_collate([Pt(1, 2), Pt(3, 4)])
    assert isinstance(pt, Pt) and pt.x.tolist() == [1, 3] and pt.y.tolist() == [2, 4]
    assert FUNCTIONS.get('mmengine.default_collate') is default_collate


def test_default_collate_shape_mismatch_names_files():
    batch = _batch([(3, 4, 4), (1, 4, 4)], paths=['a.png', 'gray.png'])
    with pytest.raises(RuntimeError, match=r"(?s)sample 1: shape \(1, 4, 4\) \(gray.png\).*same channel"):
        default_collate(batch)
    with pytest.raises(KeyError, match='same keys'):
        default_collate([dict(a=1), dict(b=1)])


def test_worker_init_fn_seeds_by_formula():
    worker_init_fn(worker_id=2, num_workers=4, rank=1, seed=10)
    got = (np.random.rand(), random.random(), torch.rand(1).item())
    expected_seed = 4 * 1 + 2 + 10
    np.random.seed(expected_seed)
    random.seed(expected_seed)
    torch.manual_seed(expected_seed)
    assert got == (np.random.rand(), random.random(), torch.rand(1).item())
