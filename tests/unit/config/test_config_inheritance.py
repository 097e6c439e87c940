"""Config.fromfile: _base_ chains, _delete_, substitutions, base references and their errors."""
import json
import os
import textwrap

import pytest
import yaml

from genforge.config import Config


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def chain(tmp_path):
    """level0 <- level1 (+ sibling) <- level2, in different folders, with lists in each."""
    write(tmp_path, '_base_/models/level0.py', """
        model = dict(type='Net', channels=[8, 16], gen=dict(depth=2, act=dict(type='ReLU')))
        pipeline = [dict(type='Load'), dict(type='Flip', prob=0.5)]
        lr = 0.1
    """)
    write(tmp_path, '_base_/runtime.py', """
        default_scope = 'mmagic'
        hooks = [dict(type='LoggerHook', interval=10)]
    """)
    write(tmp_path, '_base_/level1.py', """
        _base_ = ['./models/level0.py', 'runtime.py']
        model = dict(channels=[4], gen=dict(depth=3))
        pipeline = [dict(type='Load', key='img')]
    """)
    return write(tmp_path, 'exp/level2.py', """
        _base_ = '../_base_/level1.py'
        model = dict(gen=dict(act=dict(type='LeakyReLU', negative_slope=0.2)))
        lr = 0.01
    """)


def test_three_level_chain_merges_dicts_and_replaces_lists(chain):
    cfg = Config.fromfile(chain)
    expected = {
        'model': {'type': 'Net', 'channels': [4],
                  'gen': {'depth': 3, 'act': {'type': 'LeakyReLU', 'negative_slope': 0.2}}},
        'pipeline': [{'type': 'Load', 'key': 'img'}],
        'lr': 0.01,
        'default_scope': 'mmagic',
        'hooks': [{'type': 'LoggerHook', 'interval': 10}],
    }
    assert cfg.to_dict() == expected
    assert cfg.filename == str(chain)
    assert cfg.model.gen.act.negative_slope == 0.2
    # the text keeps every file of the chain, each preceded by its path
    for name in ('level0.py', 'runtime.py', 'level1.py', 'level2.py'):
        assert name in cfg.text


def test_delete_replaces_base_dict(tmp_path):
    write(tmp_path, 'base.py', """
        optim = dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))
        model = dict(gen=dict(type='A', x=1, nested=dict(k=1)))
    """)
    child = write(tmp_path, 'child.py', """
        _base_ = 'base.py'
        optim = dict(_delete_=True, type='SGD', lr=0.1)
        model = dict(gen=dict(nested=dict(_delete_=True, j=2)), new=dict(_delete_=True, q=1))
    """)
    cfg = Config.fromfile(child)
    assert cfg.to_dict() == {'optim': {'type': 'SGD', 'lr': 0.1},
                             'model': {'gen': {'type': 'A', 'x': 1, 'nested': {'j': 2}},
                                       'new': {'q': 1}}}


def test_delete_misuse_errors_name_file_and_key(tmp_path):
    write(tmp_path, 'base.py', "model = dict(a=1)\nsteps = 3\n")
    top = write(tmp_path, 'top.py', "_base_ = 'base.py'\n_delete_ = True\nmodel = dict(b=2)\n")
    with pytest.raises(ValueError, match='_delete_ at the top level') as info:
        Config.fromfile(top)
    assert str(top) in str(info.value)
    bad = write(tmp_path, 'bad.py', "_base_ = 'base.py'\nmodel = dict(_delete_='yes', b=2)\n")
    with pytest.raises(TypeError, match=r"model\._delete_='yes'.*True or False"):
        Config.fromfile(bad)
    clash = write(tmp_path, 'clash.py', "_base_ = 'base.py'\nsteps = dict(n=4)\n")
    with pytest.raises(TypeError, match=r'steps: .*_delete_=True'):
        Config.fromfile(clash)


def test_base_variables_are_visible_to_the_child(tmp_path):
    write(tmp_path, 'base.py', """
        img_size = 32
        train_pipeline = [dict(type='Load'), dict(type='Resize', scale=img_size)]
        model = dict(type='GAN', generator=dict(type='G'))
    """)
    child = write(tmp_path, 'child.py', """
        _base_ = ['base.py']
        scale = 4
        model = dict(generator=dict(output_scale=img_size * scale))
        train_pipeline.append(dict(type='Pack'))
        val_pipeline = _base_.train_pipeline[:1]
        via_ref = {{_base_.model.generator}}
        tag = 'size_{{_base_.img_size}}'
        doubled = {{ _base_.img_size }} * 2
        quoted = '{{_base_.model.generator}}'
        second = {{_base_.train_pipeline.1.scale}}
    """)
    cfg = Config.fromfile(child)
    assert cfg.model.to_dict() == {'type': 'GAN', 'generator': {'type': 'G', 'output_scale': 128}}
    # an in-place edit of a base list replaces the base list (lists are never merged)
    assert [p['type'] for p in cfg.train_pipeline] == ['Load', 'Resize', 'Pack']
    # `_base_.x` is the base value before the child's edits
    assert cfg.val_pipeline == [{'type': 'Load'}]
    assert cfg.via_ref == {'type': 'G'} and cfg.tag == 'size_32'
    assert cfg.img_size == 32
    assert (cfg.doubled, cfg.quoted, cfg.second) == (64, {'type': 'G'}, 32)


def test_predefined_and_environment_substitutions(tmp_path, monkeypatch):
    monkeypatch.setenv('GF_TEST_ROOT', '/data/x')
    monkeypatch.delenv('GF_TEST_UNSET', raising=False)
    path = write(tmp_path, 'sub/my_exp.py', """
        work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
        here = '{{fileDirname}}'
        name = '{{fileBasename}}'
        ext = '{{ fileExtname }}'
        root = '{{$GF_TEST_ROOT}}'
        other = '{{$GF_TEST_UNSET:fallback}}'
    """)
    cfg = Config.fromfile(path)
    assert cfg.work_dir == './work_dirs/' + os.path.splitext(path.name)[0]
    assert cfg.here == os.path.dirname(str(path)).replace('\\', '/')
    assert (cfg.name, cfg.ext) == (path.name, path.suffix)
    assert (cfg.root, cfg.other) == ('/data/x', 'fallback')
    assert cfg.env_variables == {'GF_TEST_ROOT': '/data/x', 'GF_TEST_UNSET': 'fallback'}
    missing = write(tmp_path, 'env.py', "root = '{{$GF_TEST_UNSET}}'\n")
    with pytest.raises(KeyError, match='GF_TEST_UNSET'):
        Config.fromfile(missing)


def test_json_and_yaml_configs_with_mixed_bases(tmp_path):
    write(tmp_path, 'base.py', "model = dict(type='Net', ch=8)\nsizes = [1, 2]\n")
    (tmp_path / 'mid.json').write_text(json.dumps(
        {'_base_': 'base.py', 'model': {'ch': 16}, 'copy_sizes': '{{_base_.sizes}}'}))
    (tmp_path / 'top.yaml').write_text(yaml.safe_dump(
        {'_base_': ['mid.json'], 'model': {'extra': True}, 'note': 'n{{_base_.model.ch}}'}))
    cfg = Config.fromfile(tmp_path / 'top.yaml')
    assert cfg.to_dict() == {'model': {'type': 'Net', 'ch': 16, 'extra': True},
                             'sizes': [1, 2], 'copy_sizes': [1, 2], 'note': 'n16'}


def test_functions_and_modules_are_not_config_values(tmp_path):
    path = write(tmp_path, 'c.py', """
        import os.path as osp
        from math import sqrt
        def helper(x):
            return x * 2
        data_root = osp.join('data', 'celeba')
        value = helper(sqrt(16))
    """)
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {'data_root': os.path.join('data', 'celeba'), 'value': 8.0}


def test_missing_base_file_names_child_and_path(tmp_path):
    write(tmp_path, '_base_/default_runtime.py', 'a = 1\n')
    path = write(tmp_path, 'c.py', "_base_ = ['./_base_/default_runtim.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(path)
    msg = str(info.value)
    assert str(path) in msg and "'./_base_/default_runtim.py'" in msg
    assert 'default_runtime.py' in msg  # the close match is suggested
    with pytest.raises(FileNotFoundError, match='nope.py'):
        Config.fromfile(tmp_path / 'nope.py')


def test_circular_base_is_reported_with_the_chain(tmp_path):
    write(tmp_path, 'a.py', "_base_ = 'b.py'\nx = 1\n")
    write(tmp_path, 'b.py', "_base_ = 'c.py'\ny = 1\n")
    write(tmp_path, 'c.py', "_base_ = 'a.py'\nz = 1\n")
    with pytest.raises(RecursionError, match=r'Circular _base_ .*a\.py -> b\.py -> c\.py -> a\.py'):
        Config.fromfile(tmp_path / 'a.py')
    write(tmp_path, 'self.py', "_base_ = './self.py'\n")
    with pytest.raises(RecursionError, match='self.py -> self.py'):
        Config.fromfile(tmp_path / 'self.py')


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'broken.py', "a = 1\nb = dict(x=1,\nc = 3\n")
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(path)
    msg = str(info.value)
    assert str(path) in msg and 'line' in msg
    # also when the broken file is a base
    child = write(tmp_path, 'child.py', "_base_ = 'broken.py'\n")
    with pytest.raises(SyntaxError, match='broken.py'):
        Config.fromfile(child)


def test_runtime_error_names_file_and_line(tmp_path):
    path = write(tmp_path, 'c.py', "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(NameError, match=r'c\.py, line 2.*undefined_name'):
        Config.fromfile(path)


def test_bad_base_reference_and_duplicate_base_keys(tmp_path):
    write(tmp_path, 'b1.py', "model = dict(type='A')\n")
    write(tmp_path, 'b2.py', "model = dict(type='B')\n")
    dup = write(tmp_path, 'dup.py', "_base_ = ['b1.py', 'b2.py']\n")
    with pytest.raises(KeyError, match=r"'model' is defined by two _base_ files") as info:
        Config.fromfile(dup)
    assert 'b1.py' in str(info.value) and 'b2.py' in str(info.value)
    ref = write(tmp_path, 'ref.py', "_base_ = ['b1.py']\nx = {{_base_.modle.type}}\n")
    with pytest.raises(KeyError, match=r"ref\.py.*_base_\.modle\.type.*Did you mean 'model'"):
        Config.fromfile(ref)


def test_unsupported_format_and_reserved_keys(tmp_path):
    path = write(tmp_path, 'c.toml', 'a = 1\n')
    with pytest.raises(OSError, match="'.toml'"):
        Config.fromfile(path)
    reserved = write(tmp_path, 'r.py', "filename = 'x'\n")
    with pytest.raises(KeyError, match="'filename' is reserved"):
        Config.fromfile(reserved)


def test_fromstring_matches_fromfile(tmp_path):
    text = "model = dict(type='A', ch=[1, 2])\nlr = 0.5\n"
    path = write(tmp_path, 's.py', text)
    assert Config.fromstring(text, '.py').to_dict() == Config.fromfile(path).to_dict()
    assert Config.fromstring(json.dumps({'a': [1, 2]}), '.json').to_dict() == {'a': [1, 2]}


def test_circular_base_through_a_symlinked_folder_is_one_line(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'link').symlink_to(tmp_path)
    write(tmp_path, 'a.py', "_base_ = 'b.py'\nx = 1\n")
    write(tmp_path, 'b.py', "_base_ = 'sub/link/a.py'\ny = 1\n")
    with pytest.raises(RecursionError) as info:
        Config.fromfile(tmp_path / 'a.py')
    msg = str(info.value)
    assert 'a.py -> b.py -> a.py' in msg and '\n' not in msg and len(msg) < 400
