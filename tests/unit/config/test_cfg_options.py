"""--cfg-options parsing (DictAction) and Config.merge_from_dict, incl. list indices."""
import argparse
import ast
import logging

import pytest

from genforge.config import Config, DictAction, parse_cfg_options


def parse(*items):
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *items]).cfg_options


@pytest.mark.parametrize('text, literal', [
    ('1', '1'), ('-3', '-3'), ('1e-3', '1e-3'), ('0.5', '0.5'),
    ('None', 'None'), ('true', 'True'), ('False', 'False'), ('TRUE', 'True'),
    ("'str'", "'str'"), ('"dq"', "'dq'"), ('plain', "'plain'"),
    ('[1,2]', '[1, 2]'), ('(3,4)', '(3, 4)'), ('(3,)', '(3,)'), ('[]', '[]'), ('()', '()'),
    ('1,2', '[1, 2]'), ('[a,b]', "['a', 'b']"),
    ('[(1,2),[3,[4,(5,)]]]', '[(1, 2), [3, [4, (5,)]]]'),
    ('[1, 2.5, None, true]', '[1, 2.5, None, True]'),
])
def test_values_parse_like_python_literals(text, literal):
    # independent path: the equivalent Python literal evaluated by ast
    assert parse(f'k={text}') == {'k': ast.literal_eval(literal)}
    assert type(parse(f'k={text}')['k']) is type(ast.literal_eval(literal))


def test_issue_example_and_repeated_flags():
    opts = parse('a.b=1', 'c=[1,2]', 'd=(3,4)', 'e=None', 'f=true', "g='str'")
    assert opts == {'a.b': 1, 'c': [1, 2], 'd': (3, 4), 'e': None, 'f': True, 'g': 'str'}
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(['--cfg-options', 'a=1', '--cfg-options', 'b=2', 'a=3'])
    assert args.cfg_options == {'a': 3, 'b': 2}


def test_bad_options_name_the_option():
    with pytest.raises(ValueError, match=r"'model\.depth'.*KEY=VALUE"):
        parse_cfg_options(['model.depth'])
    with pytest.raises(ValueError, match=r'c=\[1,\(2\]'):
        parse_cfg_options(['c=[1,(2]'])
    with pytest.raises(SystemExit):  # argparse reports it as a usage error
        parse('c=[1,2')


def _cfg():
    return Config(dict(
        model=dict(type='SRGAN', generator=dict(type='MSRResNet', mid_channels=64)),
        train_dataloader=dict(batch_size=16, dataset=dict(
            type='BasicImageDataset',
            pipeline=[dict(type='LoadImageFromFile', key='gt'), dict(type='Flip', keys=['gt'])])),
        max_iters=1000))


def test_merge_from_dict_walks_dicts_and_list_indices():
    cfg = _cfg()
    expected = cfg.to_dict()
    cfg.merge_from_dict({'model.generator.mid_channels': 32,
                         'train_dataloader.dataset.pipeline.0.key': 'img',
                         'train_dataloader.dataset.pipeline.1': dict(type='Resize'),
                         'max_iters': 10, 'model.train_cfg': dict(n=1)})
    expected['model']['generator']['mid_channels'] = 32
    expected['train_dataloader']['dataset']['pipeline'][0]['key'] = 'img'
    expected['train_dataloader']['dataset']['pipeline'][1] = {'type': 'Resize', 'keys': ['gt']}
    expected['max_iters'] = 10
    expected['model']['train_cfg'] = {'n': 1}
    assert cfg.to_dict() == expected
    assert cfg.train_dataloader.dataset.pipeline[0].key == 'img'  # attribute access still works


def test_merge_from_dict_does_not_touch_other_copies():
    cfg = _cfg()
    other = cfg.copy()
    cfg.merge_from_dict({'model.generator.mid_channels': 8})
    assert other.model.generator.mid_channels == 64


def test_merge_errors_name_the_key_path():
    cfg = _cfg()
    with pytest.raises(KeyError, match=r'train_dataloader\.dataset\.pipeline\.5: index 5 .* 2 item'):
        cfg.merge_from_dict({'train_dataloader.dataset.pipeline.5.key': 'img'})
    with pytest.raises(KeyError, match=r"pipeline\.first: .*is a list"):
        cfg.merge_from_dict({'train_dataloader.dataset.pipeline.first': 1})
    with pytest.raises(TypeError, match=r'max_iters: .*int'):
        cfg.merge_from_dict({'max_iters.value': 1})
    with pytest.raises(KeyError, match=r"index 0 .*0 item"):
        Config(dict(a=[])).merge_from_dict({'a.0': 1})
    # a failed merge leaves the config unchanged
    assert cfg.to_dict() == _cfg().to_dict()


def test_new_key_close_to_existing_one_is_warned(caplog):
    cfg = _cfg()
    with caplog.at_level(logging.WARNING, logger='genforge.config.merge'):
        cfg.merge_from_dict({'model.genrator.mid_channels': 8})
    assert "'model.genrator'" in caplog.text and "'model.generator'" in caplog.text
    assert cfg.model.genrator.mid_channels == 8  # still applied: new keys are legal


def test_cfg_options_then_fromfile(tmp_path):
    path = tmp_path / 'c.py'
    path.write_text("model = dict(type='A', ch=[1, 2])\nsteps = 5\n")
    opts = parse('model.ch=[3,4,5]', 'steps=7', 'model.type=B')
    cfg = Config.fromfile(path, cfg_options=opts)
    assert cfg.to_dict() == {'model': {'type': 'B', 'ch': [3, 4, 5]}, 'steps': 7}
    # one option cannot both replace a list and index into it
    with pytest.raises(KeyError, match=r"'model\.ch\.0': 'ch' is also given a plain value"):
        Config.fromfile(path, cfg_options=parse('model.ch=[3,4,5]', 'model.ch.0=9'))
