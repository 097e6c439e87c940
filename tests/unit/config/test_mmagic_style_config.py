"""A config in MMagic's layout (_base_ model/dataset/runtime files + overrides, default_scope,
custom_imports) loads, and its `model` builds a user-registered module."""
import sys
import textwrap

import pytest
import torch

from genforge.config import Config
from genforge.registry import MODELS

USER_MODULE = '''
import torch.nn as nn
from genforge.registry import MODELS


@MODELS.register_module()
class GfCfgTestGenerator(nn.Module):
    def __init__(self, noise_size, out_channels=3, hidden=4):
        super().__init__()
        self.noise_size = noise_size
        self.net = nn.Sequential(nn.Linear(noise_size, hidden), nn.ReLU(), nn.Linear(hidden, out_channels))

    def forward(self, noise):
        return self.net(noise)


@MODELS.register_module(name=['GfCfgTestGAN', 'GfCfgTestGANAlias'])
class GfCfgTestGAN(nn.Module):
    def __init__(self, generator, noise_size=None, train_cfg=None):
        super().__init__()
        self.generator = MODELS.build(generator, key_path='model.generator')
        self.noise_size = noise_size
        self.train_cfg = train_cfg
'''

MODEL_BASE = """
model = dict(
    type='mmagic.GfCfgTestGAN',
    noise_size=8,
    generator=dict(type='mmgen.GfCfgTestGenerator', noise_size=8, out_channels=3))
"""
DATASET_BASE = """
dataset_type = 'BasicImageDataset'
data_root = './data/{{fileBasenameNoExtension}}'
train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='Resize', keys='gt', scale=(64, 64)),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
"""
RUNTIME_BASE = """
default_scope = 'mmagic'
default_hooks = dict(logger=dict(type='LoggerHook', interval=100),
                     checkpoint=dict(type='CheckpointHook', interval=1000))
log_level = 'INFO'
"""
CONFIG = """
_base_ = [
    '../_base_/models/base_gfcfgtest.py',
    '../_base_/datasets/unconditional_imgs_64x64.py',
    '../_base_/gen_default_runtime.py',
]
custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
noise = 16
model = dict(noise_size=noise, generator=dict(noise_size=noise, hidden=6), train_cfg=dict(disc_steps=2))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline={{{{_base_.train_pipeline}}}}[:2]))
default_hooks = dict(checkpoint=dict(interval=50))
train_cfg = dict(by_epoch=False, max_iters=10)
optim_wrapper = dict(
    generator=dict(optimizer=dict(type='mmengine.Adam', lr=0.0002, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0002, betas=(0.5, 0.999))))
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch, request):
    name = 'gf_cfg_user_mod_' + request.node.name.replace('[', '_').replace(']', '_')
    (tmp_path / f'{name}.py').write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    # leave the process as we found it: the module and its registrations go away
    sys.modules.pop(name, None)
    for key in ('GfCfgTestGenerator', 'GfCfgTestGAN', 'GfCfgTestGANAlias'):
        MODELS.module_dict.pop(key, None)


def write_layout(root, module):
    files = {'_base_/models/base_gfcfgtest.py': MODEL_BASE,
             '_base_/datasets/unconditional_imgs_64x64.py': DATASET_BASE,
             '_base_/gen_default_runtime.py': RUNTIME_BASE,
             'gfcfgtest/gfcfgtest_1xb2-10iters_toy-64x64.py': CONFIG.format(module=module)}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))
    return root / 'gfcfgtest/gfcfgtest_1xb2-10iters_toy-64x64.py'


def test_mmagic_style_config_loads_and_builds_user_model(tmp_path, user_module):
    assert MODELS.get('GfCfgTestGAN') is None  # only custom_imports registers it
    cfg = Config.fromfile(write_layout(tmp_path, user_module))
    assert cfg.default_scope == 'mmagic'
    assert cfg.model.to_dict() == {
        'type': 'mmagic.GfCfgTestGAN', 'noise_size': 16, 'train_cfg': {'disc_steps': 2},
        'generator': {'type': 'mmgen.GfCfgTestGenerator', 'noise_size': 16, 'out_channels': 3,
                      'hidden': 6}}
    loader = cfg.train_dataloader
    assert loader.batch_size == 2 and loader.num_workers == 0
    assert [p.type for p in loader.dataset.pipeline] == ['LoadImageFromFile', 'Resize']
    assert loader.dataset.data_root == './data/unconditional_imgs_64x64'
    assert cfg.default_hooks.to_dict() == {'logger': {'type': 'LoggerHook', 'interval': 100},
                                           'checkpoint': {'type': 'CheckpointHook', 'interval': 50}}

    model = MODELS.build(cfg.model)
    module = sys.modules[user_module]
    assert isinstance(model, module.GfCfgTestGAN)
    assert isinstance(model.generator, module.GfCfgTestGenerator)
    assert model.train_cfg == {'disc_steps': 2}
    out = model.generator(torch.zeros(2, 16))
    assert out.shape == (2, 3)
    # the alias name and a scoped alias resolve to the same class
    assert MODELS.get('mmengine.GfCfgTestGANAlias') is module.GfCfgTestGAN


def test_dumped_mmagic_config_reloads_equal_and_builds(tmp_path, user_module):
    cfg = Config.fromfile(write_layout(tmp_path, user_module))
    cfg.dump(tmp_path / 'dumped.py')
    back = Config.fromfile(tmp_path / 'dumped.py')
    assert back.to_dict() == cfg.to_dict()
    gen = MODELS.build(back.model).generator
    assert sum(p.numel() for p in gen.parameters()) == (16 * 6 + 6) + (6 * 3 + 3)


def test_custom_import_failure_names_the_module(tmp_path, user_module):
    path = write_layout(tmp_path, 'gf_cfg_no_such_module')
    with pytest.raises(ImportError, match="custom_imports: cannot import 'gf_cfg_no_such_module'"):
        Config.fromfile(path)
    # import_custom_modules=False loads the file without importing
    cfg = Config.fromfile(path, import_custom_modules=False)
    assert cfg.custom_imports.imports == ['gf_cfg_no_such_module']
    # allow_failed_imports=True only warns
    cfg = Config.fromfile(path, cfg_options={'custom_imports.allow_failed_imports': True})
    assert cfg.custom_imports.allow_failed_imports is True


def test_nested_build_error_names_key_path(tmp_path, user_module):
    cfg = Config.fromfile(write_layout(tmp_path, user_module),
                          cfg_options={'model.generator.type': 'GfCfgTestGenerater'})
    with pytest.raises(KeyError) as info:
        MODELS.build(cfg.model)
    msg = str(info.value)
    assert "model.generator.type='GfCfgTestGenerater'" in msg and "'GfCfgTestGenerator'" in msg
    assert 'GfCfgTestGAN' in msg  # the outer type being built is named too
