"""A GAN config without ``model_wrapper_cfg`` trains under ``torchrun --nproc-per-node 2 -m
genforge train CFG --launcher pytorch`` (CPU, gloo): its optimizer is an OptimWrapperDict, so the
Runner picks MMSeparateDistributedDataParallel and says so in the log (issue 22)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from genforge.optim import OptimWrapper, OptimWrapperDict
from genforge.runner.build import choose_model_wrapper_cfg

PROBE_SRC = '''
import torch

from genforge.dist import get_rank
from genforge.hooks import Hook
from genforge.registry import HOOKS


@HOOKS.register_module(force=True)
class WrapperProbeHook(Hook):
    """Test-only: every rank saves its wrapper types and final parameters."""

    def after_train(self, runner):
        plain = runner._plain_model
        torch.save(dict(wrapper=type(runner.model).__name__,
                        subs={n: type(m).__name__ for n, m in runner.model.module.named_children()},
                        params={k: v.detach().clone() for k, v in plain.named_parameters()}),
                   f'{runner.work_dir}/probe_rank{get_rank()}.pt')
'''

GAN_CFG = """
custom_imports = dict(imports=['wrapper_probe'])
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=8,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8))
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=8))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=2)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None)
custom_hooks = [dict(type='WrapperProbeHook')]
randomness = dict(seed=0, diff_rank_seed=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def gan_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist_default')
    (root / 'wrapper_probe.py').write_text(textwrap.dedent(PROBE_SRC))
    cfg = root / 'gan_no_wrapper_cfg.py'
    cfg.write_text(GAN_CFG)
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join([str(root), os.getcwd(), os.environ.get('PYTHONPATH', '')]))
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
           '--master-addr', '127.0.0.1', '--master-port', str(_free_port()),
           '-m', 'genforge', 'train', str(cfg), '--launcher', 'pytorch',
           '--work-dir', str(root / 'work')]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f'{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}'
    return root / 'work', proc.stdout + proc.stderr


def test_gan_without_wrapper_cfg_gets_separate_ddp(gan_run):
    gan_run, output = gan_run
    probes = [torch.load(gan_run / f'probe_rank{r}.pt', weights_only=True) for r in (0, 1)]
    for probe in probes:
        assert probe['wrapper'] == 'MMSeparateDistributedDataParallel'
        assert probe['subs']['generator'] == probe['subs']['discriminator'] == \
            'MMDistributedDataParallel'
    # different noise and data per rank; only the gradient all-reduce keeps them equal
    for key, value in probes[0]['params'].items():
        assert torch.equal(value, probes[1]['params'][key]), key
    assert 'using MMSeparateDistributedDataParallel' in output, output[-3000:]
    logs = list(gan_run.glob('*/*.log'))
    assert len(logs) == 1 and 'using MMSeparateDistributedDataParallel' in logs[0].read_text()


def _wrapper_dict():
    return OptimWrapperDict(
        generator=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)),
        discriminator=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)))


@pytest.mark.parametrize('optim_wrapper', [
    dict(constructor='GenOptimWrapperConstructor', generator=dict(optimizer=dict(type='Adam'))),
    dict(constructor='MultiOptimWrapperConstructor', generator=dict(optimizer=dict(type='Adam'))),
    dict(generator=dict(optimizer=dict(type='Adam')), discriminator=dict(optimizer=dict(type='SGD'))),
    'instance',
])
def test_per_submodule_optimizers_choose_separate_ddp(optim_wrapper):
    optim_wrapper = _wrapper_dict() if optim_wrapper == 'instance' else optim_wrapper
    cfg = choose_model_wrapper_cfg(None, optim_wrapper)
    assert cfg['type'] == 'MMSeparateDistributedDataParallel'


def test_explicit_wrapper_cfg_and_single_optimizer():
    explicit = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
    assert choose_model_wrapper_cfg(explicit, _wrapper_dict()) == explicit
    assert choose_model_wrapper_cfg(dict(sync_bn='torch'), _wrapper_dict()) == dict(
        sync_bn='torch', type='MMDistributedDataParallel')
    single = dict(optimizer=dict(type='SGD', lr=0.1))
    assert choose_model_wrapper_cfg(None, single) == dict(type='MMDistributedDataParallel')
    assert choose_model_wrapper_cfg(None, None) == dict(type='MMDistributedDataParallel')
