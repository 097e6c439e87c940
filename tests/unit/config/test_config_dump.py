"""Config.dump / pretty_text round trips, copies, pickling and the dict protocol."""
import copy
import json
import math
import pickle

import pytest
import torch
import yaml

from genforge.config import Config, ConfigDict


def rich_cfg():
    return Config(dict(
        model=dict(type='DCGAN', generator=dict(type='DCGANGenerator', output_scale=64,
                                                base_channels=1024, noise_size=100),
                   act=torch.nn.ReLU, dtype=torch.float16),
        pipeline=[dict(type='LoadImageFromFile', key='img', to_float32=True),
                  dict(type='Resize', scale=(64, 64), keep_ratio=False), dict(type='Pack')],
        lrs=[1e-4, 2.5e-5, 0.0], betas=(0.5,), eps=float('inf'), empty=dict(), none=None,
        weird_keys={'a-b': 1, 3: 'int key', 'lambda': [1, 2]},
        message='it\'s "quoted"\nand multi-line',
        long_list=list(range(60)),
        **{'top-level-key': 5},
    ))


@pytest.mark.parametrize('suffix', ['.py'])
def test_python_dump_loads_back_equal(tmp_path, suffix):
    cfg = rich_cfg()
    path = tmp_path / f'dumped{suffix}'
    cfg.dump(path)
    back = Config.fromfile(path)
    assert back.to_dict() == cfg.to_dict()
    assert back.model.act is torch.nn.ReLU and back.model.dtype is torch.float16
    assert type(back.betas) is tuple and back.betas == (0.5,)
    assert list(tmp_path.iterdir()) == [path]  # atomic write leaves no temp file behind
    # pretty_text is the same text and is valid Python
    assert path.read_text() == cfg.pretty_text
    assert max(len(line) for line in cfg.pretty_text.splitlines()) <= 110


def test_nan_survives_a_python_round_trip(tmp_path):
    Config(dict(x=float('nan'), y=[float('-inf')])).dump(tmp_path / 'n.py')
    back = Config.fromfile(tmp_path / 'n.py')
    assert math.isnan(back.x) and back.y == [float('-inf')]


@pytest.mark.parametrize('suffix, load', [('.json', json.loads), ('.yaml', yaml.safe_load),
                                          ('.yml', yaml.safe_load)])
def test_json_and_yaml_dumps_match_an_independent_reader(tmp_path, suffix, load):
    cfg = Config(dict(model=dict(type='A', channels=[1, 2], scale=(2, 2)), lr=0.5, flag=True))
    path = tmp_path / f'c{suffix}'
    cfg.dump(path)
    expected = {'model': {'type': 'A', 'channels': [1, 2], 'scale': [2, 2]}, 'lr': 0.5, 'flag': True}
    assert load(path.read_text()) == expected  # tuples become lists in data formats
    assert Config.fromfile(path).to_dict() == expected


def test_dump_without_file_uses_the_source_format(tmp_path):
    path = tmp_path / 'c.json'
    path.write_text(json.dumps({'a': [1, 2]}))
    cfg = Config.fromfile(path)
    assert json.loads(cfg.dump()) == {'a': [1, 2]}
    assert Config(dict(a=1)).dump() == 'a = 1\n'


def test_dump_of_unwritable_value_names_the_key(tmp_path):
    cfg = Config(dict(model=dict(gen=dict(fn=lambda x: x))))
    with pytest.raises(TypeError, match=r'model\.gen\.fn=.*function'):
        cfg.dump(tmp_path / 'x.py')
    assert not (tmp_path / 'x.py').exists()
    with pytest.raises(ValueError, match="'.txt'"):
        Config(dict(a=1)).dump(tmp_path / 'x.txt')


def test_copy_deepcopy_and_pickle():
    cfg = rich_cfg()
    shallow = cfg.copy()
    shallow.lrs = [1.0]  # a new top-level value does not touch the original
    assert cfg.lrs == [1e-4, 2.5e-5, 0.0]
    shallow.model.type = 'Changed'  # nested values are shared by a shallow copy
    assert cfg.model.type == 'Changed'
    deep = copy.deepcopy(cfg)
    deep.model.generator.output_scale = 8
    assert cfg.model.generator.output_scale == 64
    assert copy.copy(cfg).to_dict() == cfg.to_dict()
    back = pickle.loads(pickle.dumps(cfg))
    assert back.to_dict() == cfg.to_dict() and back.filename == cfg.filename


def test_dict_protocol_and_reserved_keys():
    cfg = Config(dict(a=1, b=dict(c=2)))
    assert list(cfg) == ['a', 'b'] and len(cfg) == 2 and 'b' in cfg and 'z' not in cfg
    assert dict(cfg.items()) == {'a': 1, 'b': {'c': 2}} and cfg.get('z', 3) == 3
    cfg.d = dict(e=3)
    cfg['f'] = [dict(g=4)]
    assert isinstance(cfg.d, ConfigDict) and cfg.f[0].g == 4
    del cfg.a
    assert 'a' not in cfg
    with pytest.raises(AttributeError, match="Did you mean 'b'"):
        _ = cfg.bb
    with pytest.raises(KeyError, match='reserved'):
        Config(dict(pretty_text=1))
    with pytest.raises(KeyError, match='reserved'):
        cfg['filename'] = 'x'
    with pytest.raises(TypeError, match='must be a dict'):
        Config([1, 2])
    assert repr(cfg).startswith('Config (path: None)')
