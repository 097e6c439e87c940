"""Registry: registration forms, scoped names, build errors, locations, named registries."""
import inspect
import logging
import sys

import pytest
import torch
import torch.nn as nn

import genforge.registry as registry_mod
from genforge.config import Config
from genforge.registry import (
    MODELS,
    MODULES,
    OPTIMIZERS,
    Registry,
    build_model_from_cfg,
    import_custom_modules,
    init_default_scope,
)


@pytest.fixture
def reg():
    return Registry('toys')


def test_register_forms(reg):
    @reg.register_module()
    class Plain:
        def __init__(self, a=1):
            self.a = a

    @reg.register_module(name=['First', 'Second'])
    class Multi:
        pass

    def make(x):
        return x * 2
    assert reg.register_module(module=make, name='make') is make
    assert reg.get('Plain') is Plain and reg.get('First') is Multi and reg.get('Second') is Multi
    assert reg.build(dict(type='make', x=3)) == 6
    assert set(reg.keys()) == {'Plain', 'First', 'Second', 'make'} and len(reg) == 4
    assert 'Plain' in reg and 'Nope' not in reg


def test_duplicate_registration_needs_force(reg):
    @reg.register_module()
    class Thing:
        pass

    class Other:
        pass
    Other.__name__ = 'Thing'
    with pytest.raises(KeyError, match=r"'Thing' is already registered in toys registry.*force=True"):
        reg.register_module(module=Other)
    reg.register_module(module=Other, force=True)
    assert reg.get('Thing') is Other
    reg.register_module(module=Other)  # registering the same object again is harmless
    with pytest.raises(TypeError, match='name must be None, a str or a list'):
        reg.register_module(name=3)
    with pytest.raises(TypeError, match='only classes and functions'):
        reg.register_module(module=5, name='five')


@pytest.mark.parametrize('scope', ['mmagic', 'mmengine', 'mmgen', 'mmedit', 'mmcls', 'mmpretrain',
                                   'genforge', 'mmcv'])
def test_scoped_names_resolve(reg, scope):
    @reg.register_module(force=True)
    class Scoped:
        pass
    assert reg.get(f'{scope}.Scoped') is Scoped
    assert isinstance(reg.build(dict(type=f'{scope}.Scoped')), Scoped)


def test_unknown_scope_and_type_errors(reg):
    @reg.register_module()
    class Generator:
        pass
    assert reg.get('foo.Generator') is None
    assert reg.split_scope_key('mmagic.X') == ('mmagic', 'X') and reg.split_scope_key('X') == (None, 'X')
    with pytest.raises(KeyError) as info:
        reg.build(dict(type='foo.Generator'))
    assert "Scope prefix 'foo' is unknown" in str(info.value)
    with pytest.raises(KeyError) as info:
        reg.build(dict(type='Generater'), key_path='model.generator')
    msg = str(info.value)
    assert "model.generator.type='Generater'" in msg and 'toys registry' in msg
    assert "Did you mean 'Generator'" in msg
    with pytest.raises(KeyError, match=r'register_module\(\).*custom_imports'):
        reg.build(dict(type='Zzzzzz'))


def test_build_arguments_checked_before_the_call(reg):
    calls = []

    @reg.register_module()
    class Net:
        def __init__(self, in_channels, mid_channels=8):
            calls.append((in_channels, mid_channels))
    with pytest.raises(TypeError, match=r"model: Net got an unexpected argument 'mid_channel'\. "
                                        r"Did you mean 'mid_channels'"):
        reg.build(dict(type='Net', in_channels=3, mid_channel=4), key_path='model')
    with pytest.raises(TypeError, match=r"Net is missing required argument\(s\) \['in_channels'\]"):
        reg.build(dict(type='Net'))
    assert calls == []
    reg.build(dict(type='Net', mid_channels=2), default_args=dict(in_channels=1, mid_channels=5))
    assert calls == [(1, 2)]  # cfg wins over default_args


def test_build_failure_reraises_with_type_name(reg):
    @reg.register_module()
    class Fails:
        def __init__(self, value):
            if value < 0:
                raise ValueError(f'value must be >= 0, got {value}')
    with pytest.raises(ValueError, match=r"while building model \(type='Fails'\): value must be >= 0"):
        reg.build(dict(type='Fails', value=-1), key_path='model')


def test_build_inputs(reg):
    class Direct:
        def __init__(self, a):
            self.a = a
    assert reg.build(dict(type=Direct, a=2)).a == 2  # a class as type
    assert reg.build(Config(dict(type=Direct, a=3))).a == 3  # a Config as cfg
    with pytest.raises(TypeError, match=r'expected a dict with a "type" key'):
        reg.build([1])
    with pytest.raises(KeyError, match=r'opt: the config has no "type" key'):
        reg.build(dict(lr=1), key_path='opt')
    with pytest.raises(TypeError, match='type must be a str or a class'):
        reg.build(dict(type=3))
    assert reg.build(dict(type=Direct, a=1, _scope_='mmagic')).a == 1


def test_parent_fallback_and_locations(tmp_path, monkeypatch):
    parent = Registry('parent')
    child = Registry('child', parent=parent, scope='mmagic')

    @parent.register_module()
    class FromParent:
        pass
    assert child.get('FromParent') is FromParent and child.get('mmagic.FromParent') is FromParent

    name = f'gf_reg_loc_{id(tmp_path)}'
    (tmp_path / f'{name}.py').write_text(
        'import sys\nREG = sys.modules["genforge.registry"]._gf_test_reg\n'
        '@REG.register_module()\nclass Located:\n    pass\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    located = Registry('located', locations=[name])
    monkeypatch.setattr(registry_mod, '_gf_test_reg', located, raising=False)
    assert located.get('Located').__module__ == name  # imported lazily on first lookup
    sys.modules.pop(name, None)

    broken = Registry('broken', locations=['gf_reg_no_such_module_xyz'])
    for _ in range(2):  # fails loudly every time, not just once
        with pytest.raises(ImportError, match="broken registry: importing 'gf_reg_no_such_module_xyz'"):
            broken.get('Anything')


def test_build_model_from_cfg_list_gives_sequential():
    reg = Registry('layers', build_func=build_model_from_cfg)
    reg.register_module(module=nn.Linear)
    seq = reg.build([dict(type='Linear', in_features=2, out_features=3),
                     dict(type='Linear', in_features=3, out_features=1)])
    assert isinstance(seq, nn.Sequential) and len(seq) == 2
    x = torch.randn(4, 2)
    assert torch.allclose(seq(x), seq[1](seq[0](x)))
    with pytest.raises(TypeError, match=r"model\.1: Linear got an unexpected argument 'in_feature'"):
        build_model_from_cfg([dict(type='Linear', in_features=2, out_features=3),
                              dict(type='Linear', in_feature=3, out_features=1)], reg,
                             key_path='model')


def test_classes_with_get_instance_are_constructed_fresh(reg):
    @reg.register_module()
    class Managed:
        instances = {}

        def __init__(self, name, value=0):
            self.value = value
            Managed.instances[name] = self

        @classmethod
        def get_instance(cls, name, **kwargs):
            return cls.instances.get(name) or cls(name, **kwargs)

        @classmethod
        def get_current_instance(cls):
            return list(cls.instances.values())[-1]
    first = reg.build(dict(type='Managed', name='vis', value=1))
    second = reg.build(dict(type='Managed', name='vis', value=2))
    assert second is not first and second.value == 2


def test_named_registries_and_torch_optimizers():
    for name in ['MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS', 'LOOPS', 'RUNNERS',
                 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
                 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS',
                 'WEIGHT_INITIALIZERS', 'FUNCTIONS', 'MODEL_WRAPPERS']:
        assert isinstance(getattr(registry_mod, name), Registry), name
    assert MODULES is MODELS
    expected = {n for n, obj in vars(torch.optim).items() if inspect.isclass(obj)
                and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer}
    assert expected <= set(OPTIMIZERS.keys()) and {'SGD', 'Adam', 'AdamW'} <= expected
    param = nn.Parameter(torch.ones(2))
    opt = OPTIMIZERS.build(dict(type='mmengine.SGD', lr=0.5), default_args=dict(params=[param]))
    param.grad = torch.tensor([1.0, -2.0])
    opt.step()
    assert torch.allclose(param.detach(), torch.tensor([0.5, 2.0]))  # p - lr * g


def test_import_custom_modules_validation(caplog):
    import_custom_modules(None)
    import_custom_modules(dict(imports='json'))  # a single name is fine
    with pytest.raises(TypeError, match='custom_imports has unknown key'):
        import_custom_modules(dict(imports=['json'], allow_failed=True))
    with pytest.raises(TypeError, match='custom_imports must be a dict'):
        import_custom_modules(['json'])
    with pytest.raises(TypeError, match='custom_imports.imports must be'):
        import_custom_modules(dict(imports=[1]))
    with pytest.raises(ImportError, match="cannot import 'gf_no_such_mod_q'"):
        import_custom_modules(dict(imports=['gf_no_such_mod_q']))
    with caplog.at_level(logging.WARNING, logger='genforge.registry'):
        import_custom_modules(dict(imports=['gf_no_such_mod_q'], allow_failed_imports=True))
    assert 'gf_no_such_mod_q' in caplog.text


def test_init_default_scope_accepts_known_scopes(caplog):
    with caplog.at_level(logging.WARNING, logger='genforge.registry'):
        init_default_scope('mmagic')
        assert caplog.text == ''
        init_default_scope('mmfoo')
    assert "'mmfoo'" in caplog.text
