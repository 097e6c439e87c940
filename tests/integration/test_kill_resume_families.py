"""SIGKILL, `genforge train --resume`, and the run ends bit-identical — for the models whose
resume needs more than weights and optimizers: CycleGAN (the image pools are state) and PGGAN
killed in the middle of a resolution transition (scale, fade-in weight, per-scale optimizers).

The shipped configs are shrunk to tiny sizes (as in test_translation_configs.py and
test_pggan_singan_train.py), dumped to cfg.py and trained by two `python -m genforge train`
processes: one straight through, one killed after a random checkpoint and resumed. The procedure
and helpers are test_kill_resume.py's.
"""
from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_kill_resume import DATA_MODULE, _assert_same, _pointer_iter, _stderr, _train  # noqa: E402
from test_pggan_singan_train import _pggan_cfg  # noqa: E402
from test_translation_configs import CYC, _fake_data, tiny_cfg  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(signal, 'SIGKILL'), reason='POSIX only')


def _write(cfg, tmp_path: Path, max_iters: int) -> None:
    """cfg -> tmp_path/cfg.py with a checkpoint every iteration and a slow-down hook, so a kill
    lands between checkpoints."""
    cfg.train_cfg = dict(by_epoch=False, max_iters=max_iters, val_interval=10 ** 6)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False,
                                        max_keep_ckpts=max_iters)
    cfg.custom_imports = dict(imports=['killresume_data'])
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='KillResumeSlowDown', seconds=0.3)]
    cfg.pop('work_dir', None)
    (tmp_path / 'killresume_data.py').write_text(DATA_MODULE)
    cfg.dump(tmp_path / 'cfg.py')


def _kill_and_resume(tmp_path: Path, kill_after: int, max_iters: int,
                     rng: random.Random) -> tuple[dict, dict]:
    """The final checkpoints of the straight run and of the killed-then-resumed one."""
    straight = _train(tmp_path, 'straight')
    victim = _train(tmp_path, 'killed')
    deadline = time.time() + 240
    while _pointer_iter(tmp_path / 'killed') < kill_after:
        assert victim.poll() is None, f'training ended before the kill: {_stderr(victim)}'
        assert time.time() < deadline, 'no checkpoint appeared'
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, 0.2))
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(60) == -signal.SIGKILL
    assert _pointer_iter(tmp_path / 'killed') < max_iters, 'the kill must land before the end'
    resumed = _train(tmp_path, 'killed', '--resume')
    assert straight.wait(300) == 0, _stderr(straight)
    assert resumed.wait(300) == 0, _stderr(resumed)
    return tuple(torch.load(tmp_path / work / f'iter_{max_iters}.pth', map_location='cpu',
                            weights_only=True) for work in ('straight', 'killed'))


def test_cyclegan_sigkill_then_resume_is_bit_identical(tmp_path, kill_rng):
    cfg = tiny_cfg(CYC, _fake_data(tmp_path / 'data') / 'unpaired', tmp_path / 'unused')
    cfg.custom_hooks = []
    cfg.model.buffer_size = 2  # full after one iteration: later ones swap with stored fakes
    _write(cfg, tmp_path, max_iters=6)
    a, b = _kill_and_resume(tmp_path, kill_after=kill_rng.choice([2, 3]), max_iters=6,
                            rng=kill_rng)
    assert a['model_train_state'], 'the image pools must be in the checkpoint'
    for key in ('state_dict', 'optimizer', 'model_train_state', 'rng_state', 'sampler'):
        _assert_same(a[key], b[key], key)


def test_pggan_sigkill_mid_transition_then_resume_is_bit_identical(tmp_path, kill_rng):
    cfg = _pggan_cfg(tmp_path, 'unused', 6)
    _write(cfg, tmp_path, max_iters=6)
    # 4x4 for iterations 1-2, 8x8 fading in over 3-4: the kill lands inside the transition
    a, b = _kill_and_resume(tmp_path, kill_after=3, max_iters=6, rng=kill_rng)
    assert a['state_dict']['_curr_scale_int'] == 8
    for key in ('state_dict', 'sampler', 'rng_state'):
        _assert_same(a[key], b[key], key)
    for name, opt in a['optimizer'].items():
        # the wrappers' step counters are accumulation bookkeeping, reset on every resume;
        # the optimizer states and hyper-parameters must match exactly
        for key in ('state', 'param_groups'):
            _assert_same(opt[key], b['optimizer'][name][key], f'{name}.{key}')
