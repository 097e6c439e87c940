"""ConfigDict: attribute access, conversion of nested values, recursive update, copies, pickle."""
import copy
import pickle

import pytest

from genforge.config import ConfigDict


def _nested():
    return {'model': {'type': 'DCGAN', 'generator': {'type': 'G', 'channels': [1, 2]}},
            'pipeline': [{'type': 'LoadImageFromFile'}, ({'type': 'Resize'}, 3)]}


def test_nested_values_become_configdict_and_equal_plain_dict():
    raw = _nested()
    cfg = ConfigDict(raw)
    assert cfg == raw  # still a plain dict by value
    assert isinstance(cfg.model, ConfigDict) and isinstance(cfg.model.generator, ConfigDict)
    assert isinstance(cfg.pipeline[0], ConfigDict)
    assert isinstance(cfg.pipeline[1], tuple) and isinstance(cfg.pipeline[1][0], ConfigDict)
    assert cfg.model.generator.channels == [1, 2]
    # the plain input is not modified by the conversion
    assert type(raw['model']) is dict


def test_to_dict_returns_plain_types():
    plain = ConfigDict(_nested()).to_dict()

    def kinds(value):
        if isinstance(value, dict):
            return [type(value)] + [k for v in value.values() for k in kinds(v)]
        if isinstance(value, (list, tuple)):
            return [k for v in value for k in kinds(v)]
        return []
    assert set(kinds(plain)) == {dict}
    assert plain == _nested()


def test_missing_attribute_names_key_and_close_match():
    cfg = ConfigDict(_nested())
    with pytest.raises(AttributeError) as info:
        _ = cfg.model.genrator
    msg = str(info.value)
    assert "'genrator'" in msg and "Did you mean 'generator'" in msg
    assert not hasattr(cfg, 'nothing_like_this')
    with pytest.raises(KeyError):
        _ = cfg['nothing']


def test_setattr_setitem_and_delattr():
    cfg = ConfigDict()
    cfg.a = {'b': {'c': 1}}
    cfg['d'] = [{'e': 2}]
    assert cfg.a.b.c == 1 and cfg.d[0].e == 2
    assert isinstance(cfg.d[0], ConfigDict)
    del cfg.a
    assert 'a' not in cfg
    with pytest.raises(AttributeError, match="'a'"):
        del cfg.a
    assert cfg.setdefault('x', {'y': 1}).y == 1


def test_update_merges_nested_dicts_like_mmengine():
    cfg = ConfigDict(model={'type': 'A', 'gen': {'x': 1, 'y': 2}}, lr=0.1)
    cfg.update({'model': {'gen': {'y': 3}}}, lr=0.2)
    expected = {'model': {'type': 'A', 'gen': {'x': 1, 'y': 3}}, 'lr': 0.2}
    assert cfg.to_dict() == expected
    cfg.update(model=5)  # non-dict replaces
    assert cfg.model == 5


def test_copy_is_shallow_and_deepcopy_is_deep():
    cfg = ConfigDict(_nested())
    shallow = cfg.copy()
    assert isinstance(shallow, ConfigDict) and shallow == cfg
    shallow.model.type = 'X'
    assert cfg.model.type == 'X'  # shared nested dict
    deep = copy.deepcopy(cfg)
    deep.model.generator.channels.append(3)
    assert cfg.model.generator.channels == [1, 2]
    assert isinstance(deep.model, ConfigDict)


def test_pickle_round_trip():
    cfg = ConfigDict(_nested())
    back = pickle.loads(pickle.dumps(cfg))
    assert back == cfg and isinstance(back.model.generator, ConfigDict)
