"""Distributed training on CPU: 2 processes, gloo, started with torchrun (torch.distributed.run).

Two launches serve every test of this file (module fixture):
1. ``torchrun --nproc-per-node 2 -m genforge train CFG --launcher pytorch``: a tiny DCGAN wrapped
   in MMSeparateDistributedDataParallel, 4 iterations, checkpoints every 2.
2. A worker script under torchrun that (a) trains a BN-free regressor with
   MMDistributedDataParallel and saves each rank's weights, (b) resumes the CLI run to 6
   iterations through ``genforge.cli.main([... '--resume'])`` on every rank, with a probe hook
   that records each rank's start iteration and final weights.
The single-process reference (global batch = 2 x per-rank batch) runs in the test process.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

ITERS = 6          # BN-free regression iterations (crosses an epoch boundary: 16 / 2 / 2 = 4)
PER_RANK_BATCH = 2

TOY_SRC = '''
"""BN-free toy model and probe hook shared by the workers and the test process."""
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from genforge.dist import get_rank
from genforge.hooks import Hook
from genforge.models import BaseModel
from genforge.registry import HOOKS
from genforge.runner import Runner


class PairDataset(Dataset):
    def __init__(self, n=16):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 1, 8, 8, generator=g)
        self.y = torch.randn(n, 1, 8, 8, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], target=self.y[i])


class ConvRegressor(BaseModel):
    def __init__(self, bn=False):
        super().__init__()
        norm = [nn.BatchNorm2d(4)] if bn else []
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), *norm, nn.Tanh(),
                                  nn.Conv2d(4, 1, 3, padding=1))

    def forward(self, inputs, data_samples=None, mode='tensor', target=None):
        out = self.body(inputs)
        return dict(loss_mse=F.mse_loss(out, target)) if mode == 'loss' else out


def build_runner(work_dir, batch_size, max_iters, launcher, sync_bn=None):
    from genforge.config import Config
    torch.manual_seed(0)
    return Runner(
        model=ConvRegressor(bn=sync_bn is not None), work_dir=work_dir, launcher=launcher,
        cfg=Config(dict(sync_bn=sync_bn)) if sync_bn else None,
        env_cfg=dict(dist_cfg=dict(backend='gloo')), randomness=dict(seed=0),
        train_dataloader=dict(batch_size=batch_size, dataset=PairDataset(),
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)))


@HOOKS.register_module(force=True)
class RankProbeHook(Hook):
    """Test-only: every rank writes its start iteration, wrapper types and final weights."""

    def before_train(self, runner):
        self.start_iter = runner.iter

    def after_train(self, runner):
        model = runner.model
        state = {k: v.detach().cpu().clone() for k, v in runner._plain_model.state_dict().items()}
        torch.save(dict(start_iter=self.start_iter, end_iter=runner.iter, state=state,
                        wrapper=type(model).__name__,
                        sub_wrappers={n: type(m).__name__
                                      for n, m in runner._plain_model.named_children()}),
                   f'{runner.work_dir}/probe_rank{get_rank()}.pt')
'''

WORKER_SRC = f'''
import os
import sys

import torch

from dist_toy import build_runner
from genforge.cli import main

out, cfg = sys.argv[1], sys.argv[2]
runner = build_runner(os.path.join(out, 'reg'), batch_size={PER_RANK_BATCH}, max_iters={ITERS},
                      launcher='pytorch')
runner.train()
state = {{k: v.detach().cpu() for k, v in runner._plain_model.state_dict().items()}}
torch.save(dict(state=state, wrapper=type(runner.model).__name__,
                world_size=runner.world_size, rank=runner.rank),
           os.path.join(out, f'reg_rank{{runner.rank}}.pt'))
# sync_bn='torch' on CPU: must not crash (SyncBatchNorm has no CPU kernel)
bn = build_runner(os.path.join(out, 'bn'), batch_size={PER_RANK_BATCH}, max_iters=2,
                  launcher='pytorch', sync_bn='torch')
bn.train()
norm = bn._plain_model.body[1]
torch.save(dict(type=type(norm).__name__, mean=norm.running_mean.clone(),
                var=norm.running_var.clone()), os.path.join(out, f'bn_rank{{bn.rank}}.pt'))
# resume the CLI run on every rank (the process group exists already)
assert main(['train', cfg, '--launcher', 'pytorch', '--work-dir', os.path.join(out, 'gan'),
             '--resume', '--cfg-options', 'train_cfg.max_iters=6']) == 0
'''

GAN_CFG = """
custom_imports = dict(imports=['dist_toy'])
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=16,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8))
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=32))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=4)
env_cfg = dict(dist_cfg=dict(backend='gloo'))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False))
custom_hooks = [dict(type='RankProbeHook')]
# different noise per rank: only the gradient all-reduce keeps the ranks' weights equal
randomness = dict(seed=0, diff_rank_seed=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd), os.getcwd(),
                                                       os.environ.get('PYTHONPATH', '')]),
               OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc-per-node', '2',
           '--master-addr', '127.0.0.1', '--master-port', str(_free_port()), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n' \
                                 f'{proc.stderr[-6000:]}'
    return proc


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    (root / 'dist_toy.py').write_text(textwrap.dedent(TOY_SRC))
    (root / 'dist_worker.py').write_text(WORKER_SRC)
    cfg = root / 'tiny_gan_dist.py'
    cfg.write_text(GAN_CFG)
    gan_dir = root / 'gan'
    _torchrun(['-m', 'genforge', 'train', str(cfg), '--launcher', 'pytorch',
               '--work-dir', str(gan_dir)], cwd=root)
    first = dict(ckpts=sorted(p.name for p in gan_dir.glob('*.pth')),
                 logdirs=sorted(p.name for p in gan_dir.iterdir() if p.is_dir()),
                 probes={r: torch.load(gan_dir / f'probe_rank{r}.pt', weights_only=True)
                         for r in (0, 1)})
    _torchrun(['dist_worker.py', str(root), str(cfg)], cwd=root)
    return root, first


def _max_diff(a: dict, b: dict, only_params_of=None) -> float:
    assert a.keys() == b.keys()
    keys = [k for k in a if only_params_of is None or k in only_params_of]
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in keys)


def test_ddp_ranks_agree_and_match_single_process(runs):
    root, _ = runs
    ranks = [torch.load(root / f'reg_rank{r}.pt', weights_only=True) for r in (0, 1)]
    assert [r['rank'] for r in ranks] == [0, 1] and ranks[0]['world_size'] == 2
    assert ranks[0]['wrapper'] == 'MMDistributedDataParallel'
    assert _max_diff(ranks[0]['state'], ranks[1]['state']) == 0.0

    sys.path.insert(0, str(root))
    try:
        import dist_toy
        initial = {k: v.clone() for k, v in dist_toy.build_runner(
            str(root / 'init'), 1, 1, 'none')._plain_model.state_dict().items()}
        single = dist_toy.build_runner(str(root / 'single'), 2 * PER_RANK_BATCH, ITERS, 'none')
        single.train()
    finally:
        sys.path.remove(str(root))
    ref = {k: v.detach() for k, v in single.model.state_dict().items()}
    assert _max_diff(ranks[0]['state'], ref) < 1e-5
    # the run moved the weights far beyond the tolerance: the comparison above means something
    assert _max_diff(initial, ref) > 1e-2


def test_separate_ddp_gan_ranks_identical(runs):
    _, first = runs
    p0, p1 = first['probes'][0], first['probes'][1]
    assert p0['wrapper'] == 'MMSeparateDistributedDataParallel'
    assert p0['sub_wrappers']['generator'] == 'MMDistributedDataParallel'
    assert p0['sub_wrappers']['discriminator'] == 'MMDistributedDataParallel'
    params = [k for k in p0['state'] if 'running_' not in k and 'num_batches' not in k]
    assert _max_diff(p0['state'], p1['state'], params) == 0.0
    # BN statistics are not synchronised (broadcast_buffers=False): they differ, which shows
    # that the ranks saw different data and noise, and only the all-reduce kept weights equal.
    stats = [k for k in p0['state'] if 'running_mean' in k]
    assert stats and _max_diff(p0['state'], p1['state'], stats) > 1e-6


def test_only_rank0_writes_logs_and_checkpoints(runs):
    root, first = runs
    assert first['ckpts'] == ['iter_2.pth', 'iter_4.pth']
    assert len(first['logdirs']) == 1, f'one log folder expected, got {first["logdirs"]}'
    log_dir = root / 'gan' / first['logdirs'][0]
    assert [p.name for p in log_dir.glob('*.log')] == [f'{first["logdirs"][0]}.log']
    records = [json.loads(line) for line in
               (log_dir / 'vis_data' / 'scalars.json').read_text().splitlines() if line]
    steps = [r['step'] for r in records if 'loss_gen' in r or 'loss' in r]
    assert steps == [1, 2, 3, 4], 'each iteration must be logged once (rank 0 only)'


def test_resume_from_same_checkpoint_on_all_ranks(runs):
    root, _ = runs
    gan_dir = root / 'gan'
    probes = [torch.load(gan_dir / f'probe_rank{r}.pt', weights_only=True) for r in (0, 1)]
    assert [p['start_iter'] for p in probes] == [4, 4]
    assert [p['end_iter'] for p in probes] == [6, 6]
    params = [k for k in probes[0]['state'] if 'running_' not in k and 'num_batches' not in k]
    assert _max_diff(probes[0]['state'], probes[1]['state'], params) == 0.0
    ckpt = torch.load(gan_dir / 'iter_6.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 6
    saved = ckpt['state_dict']
    # the checkpoint holds the plain model's keys, not the DDP wrappers' 'generator.module.*'
    assert not any('.module.' in k for k in saved)
    probe = {k.replace('.module.', '.', 1) if '.module.' in k else k: v
             for k, v in probes[0]['state'].items()}
    assert _max_diff(saved, probe) == 0.0


def test_sync_bn_option_on_cpu_keeps_batchnorm_and_trains(runs):
    root, _ = runs
    ranks = [torch.load(root / f'bn_rank{r}.pt', weights_only=True) for r in (0, 1)]
    # nn.SyncBatchNorm has no CPU kernel: the option is skipped (with a warning) on gloo/CPU
    assert [r['type'] for r in ranks] == ['BatchNorm2d', 'BatchNorm2d']
    # per-rank statistics: the ranks saw different samples
    assert float((ranks[0]['mean'] - ranks[1]['mean']).abs().max()) > 1e-6
