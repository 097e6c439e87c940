"""BaseDataset: MMEngine semantics (ann file, prefixes, metainfo, lazy init, subsets, refetch)."""
import json

import numpy as np
import pytest
import torch

from genforge.datasets import BaseDataset, Compose
from genforge.registry import TRANSFORMS


def _write_ann(path, n=5):
    ann = dict(metainfo=dict(classes=['a', 'b'], source='file'),
               data_list=[dict(img_path=f'{i}.png', label=i % 2) for i in range(n)])
    path.write_text(json.dumps(ann))
    return ann


def test_json_ann_file_prefix_and_metainfo(tmp_path):
    ann = _write_ann(tmp_path / 'ann.json')
    ds = BaseDataset(ann_file='ann.json', data_root=str(tmp_path), data_prefix=dict(img_path='imgs'),
                     metainfo=dict(classes=['x', 'y']))
    assert len(ds) == len(ann['data_list'])
    # user metainfo wins over the file's, other file keys are added
    assert ds.metainfo == dict(classes=['x', 'y'], source='file')
    info = ds.get_data_info(3)
    assert info['img_path'] == str(tmp_path / 'imgs' / '3.png')
    assert info['label'] == 1 and info['sample_idx'] == 3
    assert ds.get_data_info(-1)['sample_idx'] == len(ds) - 1


@pytest.mark.parametrize('serialize', [True, False])
def test_serialized_and_plain_lists_agree(tmp_path, serialize):
    _write_ann(tmp_path / 'ann.json', n=7)
    ref = BaseDataset(ann_file=str(tmp_path / 'ann.json'), serialize_data=False)
    ds = BaseDataset(ann_file=str(tmp_path / 'ann.json'), serialize_data=serialize)
    assert [ds.get_data_info(i) for i in range(7)] == [ref.get_data_info(i) for i in range(7)]
    # returned infos are copies: mutating one does not change the dataset
    ds.get_data_info(0)['label'] = 99
    assert ds.get_data_info(0)['label'] == 0


def test_lazy_init_indices_and_subsets(tmp_path):
    _write_ann(tmp_path / 'ann.json', n=6)
    ds = BaseDataset(ann_file=str(tmp_path / 'ann.json'), lazy_init=True, indices=[4, 1])
    assert not ds._fully_initialized
    assert len(ds) == 2 and ds._fully_initialized  # __len__ triggers full_init
    assert [ds.get_data_info(i)['img_path'] for i in range(2)] == ['4.png', '1.png']
    full = BaseDataset(ann_file=str(tmp_path / 'ann.json'))
    assert [full.get_subset(3).get_data_info(i)['img_path'] for i in range(3)] == ['0.png', '1.png', '2.png']
    assert full.get_subset(-2).get_data_info(0)['img_path'] == '4.png'
    assert len(full) == 6  # get_subset leaves the original alone
    full.get_subset_([5])
    assert len(full) == 1 and full.get_data_info(0)['img_path'] == '5.png'


class _Seq(BaseDataset):
    """Seed 002's pattern: attributes set before super().__init__, tensors in the data list."""

    def __init__(self, n, pipeline, test_mode=False, **kw):
        self.n = n
        super().__init__(data_root='', pipeline=pipeline, test_mode=test_mode, **kw)

    def load_data_list(self):
        return [dict(inputs=torch.full((1, 2, 2), float(i)), idx=i) for i in range(self.n)]


def test_getitem_runs_pipeline_and_keeps_tensors():
    ds = _Seq(4, pipeline=[lambda r: dict(r, doubled=r['inputs'] * 2)])
    out = ds[2]
    assert torch.equal(out['doubled'], torch.full((1, 2, 2), 4.0))
    assert _Seq(3, pipeline=[])[1]['idx'] == 1  # empty pipeline returns the data info


def test_refetch_replaces_dropped_samples_and_gives_up():
    np.random.seed(0)
    ds = _Seq(5, pipeline=[lambda r: None if r['idx'] % 2 else r])
    got = [ds[1]['idx'] for _ in range(20)]
    assert all(i % 2 == 0 for i in got)  # dropped odd samples are replaced by random even ones
    always_none = _Seq(3, pipeline=[lambda r: None], max_refetch=4)
    with pytest.raises(RuntimeError, match='no valid sample after 4 refetches'):
        always_none[0]
    with pytest.raises(RuntimeError, match='test pipeline returned None'):
        _Seq(3, pipeline=[lambda r: None], test_mode=True)[0]


def test_compose_builds_registered_transforms_and_stops_on_none():
    @TRANSFORMS.register_module(force=True)
    class _AddOneForTest:
        def __init__(self, key='x'):
            self.key = key

        def __call__(self, r):
            r[self.key] += 1
            return r

    pipe = Compose([dict(type='_AddOneForTest'), dict(type='_AddOneForTest'), lambda r: None,
                    dict(type='_AddOneForTest')])
    assert pipe(dict(x=0)) is None
    assert Compose([dict(type='_AddOneForTest')] * 3)(dict(x=1)) == dict(x=4)
    with pytest.raises(KeyError, match=r"pipeline\[0\]\.type='NoSuchTransform'"):
        Compose([dict(type='NoSuchTransform')])


def test_metainfo_file_value_is_read_as_lines(tmp_path):
    classes = tmp_path / 'classes.txt'
    classes.write_text('cat\ndog\n')
    ds = _Seq(1, pipeline=[], metainfo=dict(classes=str(classes)))
    assert ds.metainfo['classes'] == ['cat', 'dog']
