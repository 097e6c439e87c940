"""SIGKILL during training, `genforge train --resume`, and the run ends bit-identical.

Two `python -m genforge train` processes start together from the same config (tiny DCGAN at
16x16 with EMA, an in-memory dataset from a module loaded through custom_imports). One runs
straight through; the other is SIGKILLed at a random moment after a random checkpoint, then
resumed. Final weights (incl. EMA), optimizer states, RNG states and every logged loss after the
resume point must be identical.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
MAX_ITERS, INTERVAL = 40, 5

DATA_MODULE = '''
import time

import torch

from genforge.hooks import Hook
from genforge.registry import DATASETS, HOOKS
from genforge.structures import DataSample


@DATASETS.register_module()
class KillResumeImages:
    """24 fixed random 1x16x16 images in [0, 255] (no disk I/O)."""

    def __init__(self, n=24, size=16):
        g = torch.Generator().manual_seed(1)
        self.imgs = torch.randint(0, 256, (n, 1, size, size), generator=g).float()

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=dict(img=self.imgs[i]), data_samples=DataSample())


@HOOKS.register_module()
class KillResumeSlowDown(Hook):
    """Sleeps after each iteration so the test can kill between checkpoints (no RNG use)."""

    def __init__(self, seconds=0.05):
        self.seconds = seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        time.sleep(self.seconds)
'''

CONFIG = f'''
custom_imports = dict(imports=['killresume_data'])
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=16,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8),
    ema_config=dict(interval=1, momentum=0.3))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='KillResumeImages'))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
param_scheduler = dict(type='LinearLR', start_factor=0.5, end_factor=1.0, by_epoch=False,
                       begin=0, end={MAX_ITERS})
train_cfg = dict(by_epoch=False, max_iters={MAX_ITERS})
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval={INTERVAL}, by_epoch=False,
                                     max_keep_ckpts=3))
custom_hooks = [dict(type='KillResumeSlowDown', seconds=0.05)]
randomness = dict(seed=2024)
'''


def _train(cwd: Path, work: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=f'{REPO}{os.pathsep}{cwd}', OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    err = open(cwd / f'{work}{"_resume" if extra else ""}.stderr', 'w')  # a file: never blocks
    proc = subprocess.Popen([sys.executable, '-m', 'genforge', 'train', 'cfg.py', '--work-dir',
                             work, *extra], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=err)
    proc.err_path = err.name
    err.close()
    return proc


def _stderr(proc: subprocess.Popen) -> str:
    return Path(proc.err_path).read_text()[-3000:]


def _pointer_iter(work: Path) -> int:
    try:
        return int(Path((work / 'last_checkpoint').read_text().strip()).stem.split('_')[1])
    except (OSError, ValueError, IndexError):
        return 0


def _scalars(work: Path) -> dict[int, dict]:
    """iter -> logged losses and learning rates, over every run (log folder) in work."""
    out: dict[int, dict] = {}
    for path in sorted(work.glob('*/vis_data/scalars.json')):
        text = path.read_text()
        # a SIGKILL may cut the last line mid-write; complete lines all end with '\n'
        for line in text[:text.rfind('\n') + 1].splitlines():
            rec = json.loads(line)
            out[rec['iter']] = {k: v for k, v in rec.items() if 'loss' in k or k.endswith('lr')}
    return out


def _assert_same(a, b, where: str) -> None:
    """Nested dicts/lists of tensors and numbers are exactly equal."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert set(a) == set(b), f'{where}: keys differ'
        for k in a:
            _assert_same(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f'{where}[{i}]')
    else:
        assert a == b, f'{where}: {a!r} != {b!r}'


def test_sigkill_then_resume_is_bit_identical(tmp_path, kill_rng):
    (tmp_path / 'killresume_data.py').write_text(DATA_MODULE)
    (tmp_path / 'cfg.py').write_text(CONFIG)
    straight_dir, killed_dir = tmp_path / 'straight', tmp_path / 'killed'
    rng = kill_rng  # seeded, seed printed: GENFORGE_KILL_SEED reruns this kill point
    kill_after = rng.choice([1, 2, 3]) * INTERVAL    # wait for this checkpoint ...
    delay = rng.uniform(0.0, 0.15)                    # ... then kill a few iterations later

    straight = _train(tmp_path, 'straight')
    victim = _train(tmp_path, 'killed')
    deadline = time.time() + 240
    while _pointer_iter(killed_dir) < kill_after:
        assert victim.poll() is None, f'training ended before the kill: {_stderr(victim)}'
        assert time.time() < deadline, 'no checkpoint appeared'
        time.sleep(0.005)
    time.sleep(delay)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(60) == -signal.SIGKILL
    resume_point = _pointer_iter(killed_dir)
    assert kill_after <= resume_point < MAX_ITERS, 'the kill must land before the end'
    killed_log = _scalars(killed_dir)

    resumed = _train(tmp_path, 'killed', '--resume')
    assert straight.wait(240) == 0, _stderr(straight)
    assert resumed.wait(240) == 0, _stderr(resumed)

    # the resumed run's own log starts right after the checkpoint it resumed from
    logs = sorted(killed_dir.glob('*/vis_data/scalars.json'))
    assert len(logs) == 2
    resumed_iters = [json.loads(line)['iter'] for line in logs[1].read_text().splitlines()]
    assert resumed_iters == list(range(resume_point + 1, MAX_ITERS + 1))

    a = torch.load(straight_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    b = torch.load(killed_dir / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=True)
    assert any(k.startswith('generator_ema.module.') for k in a['state_dict'])
    assert set(a['optimizer']) == {'generator', 'discriminator'}
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state', 'sampler'):
        _assert_same(a[key], b[key], key)
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS

    la, lb = _scalars(straight_dir), _scalars(killed_dir)
    assert sorted(la) == sorted(lb) == list(range(1, MAX_ITERS + 1))
    for it in range(1, MAX_ITERS + 1):
        assert la[it] == lb[it], f'iteration {it} logged differently'
    # iterations the killed run logged before dying were redone identically too
    for it, rec in killed_log.items():
        assert rec == la[it], it


@pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='POSIX only')
def test_resume_without_checkpoint_starts_from_scratch(tmp_path):
    """--resume on an empty work dir warns and trains from iteration 0 (not an error)."""
    (tmp_path / 'killresume_data.py').write_text(DATA_MODULE)
    (tmp_path / 'cfg.py').write_text(CONFIG.replace(f'max_iters={MAX_ITERS}', 'max_iters=2')
                                     .replace('seconds=0.05', 'seconds=0.0'))
    proc = _train(tmp_path, 'fresh', '--resume')
    assert proc.wait(240) == 0, _stderr(proc)
    assert _pointer_iter(tmp_path / 'fresh') == 2
    assert sorted(_scalars(tmp_path / 'fresh')) == [1, 2]
