"""SIGKILL at random moments while checkpoints are being written: what remains always loads.

A helper process imports torch once and forks savers on request. Each saver resumes like a
Runner (reads last_checkpoint, restores the message hub, CheckpointHook.before_train) and then
saves an 8 MiB checkpoint through CheckpointHook (rotation max_keep_ckpts=1 + last_checkpoint
pointer) in a tight loop, until the test SIGKILLs it after a random delay. After every kill:
each remaining ``*.pth`` loads with ``torch.load(weights_only=True)`` and holds exactly what was
saved, and last_checkpoint points to such a file.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
KILLS = 24
SHAPE = (4, 512, 1024)   # 8 MiB of float32: big enough that kills land mid-write

SAVER = f'''
import os
import sys

import torch

torch.set_num_threads(1)
from genforge.hooks import CheckpointHook
from genforge.runner import MessageHub
from genforge.checkpoint import find_latest_checkpoint, save_checkpoint

WORK = sys.argv[1]
WEIGHTS = torch.randn({SHAPE}, generator=torch.Generator().manual_seed(0))


class SaverRunner:
    """The part of a Runner that CheckpointHook uses."""

    def __init__(self):
        self.work_dir, self.iter, self.epoch = WORK, 0, 0
        self.message_hub = MessageHub.get_instance('kill-during-save')

    def save_checkpoint(self, out_dir, filename, save_optimizer=True, save_param_scheduler=True,
                        meta=None, by_epoch=True):
        step = meta['iter']
        save_checkpoint(dict(meta=dict(meta), message_hub=self.message_hub.state_dict(),
                             state_dict=dict(weights=WEIGHTS, step=torch.tensor(step))),
                        os.path.join(out_dir, filename))


def save_forever():
    runner = SaverRunner()
    last = find_latest_checkpoint(WORK)
    if last is not None:   # resume exactly like Runner.resume: this load must never fail
        ckpt = torch.load(last, map_location='cpu', weights_only=True)
        runner.message_hub.load_state_dict(ckpt['message_hub'])
        runner.iter = ckpt['meta']['iter']
    hook = CheckpointHook(interval=1, by_epoch=False, max_keep_ckpts=1)
    hook.before_train(runner)
    while True:
        hook._save_checkpoint(runner, runner.iter + 1, dict(epoch=0, iter=runner.iter + 1))
        runner.iter += 1


for _ in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            save_forever()
        finally:
            os._exit(3)
    print(pid, flush=True)
    print(os.waitpid(pid, 0)[1], flush=True)
'''


def _check_work_dir(work: Path, expected: torch.Tensor) -> int:
    """Every checkpoint loads and is complete; returns the step last_checkpoint points to."""
    files = sorted(work.glob('*.pth'))
    assert files, 'no checkpoint at all'
    for path in files:
        ckpt = torch.load(path, map_location='cpu', weights_only=True)
        step = int(path.stem.split('_')[1])
        assert ckpt['meta']['iter'] == step == int(ckpt['state_dict']['step']), path.name
        assert torch.equal(ckpt['state_dict']['weights'], expected), path.name
    target = Path((work / 'last_checkpoint').read_text().strip())
    assert target.is_file(), f'last_checkpoint points to missing {target}'
    assert target in files
    return int(target.stem.split('_')[1])


def test_sigkill_during_checkpoint_writes_leaves_loadable_files(tmp_path, kill_rng):
    work = tmp_path / 'work'
    work.mkdir()
    (tmp_path / 'saver.py').write_text(SAVER)
    expected = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0))
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    helper = subprocess.Popen([sys.executable, str(tmp_path / 'saver.py'), str(work)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    rng = kill_rng  # seeded, seed printed: GENFORGE_KILL_SEED reruns these kill points
    steps = []
    try:
        for round_ in range(KILLS):
            helper.stdin.write('go\n')
            helper.stdin.flush()
            pid = int(helper.stdout.readline())
            if round_ == 0:  # let the first saver finish one checkpoint
                deadline = time.time() + 60
                while not (work / 'last_checkpoint').exists():
                    assert time.time() < deadline, 'the saver wrote no checkpoint'
                    time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
            os.kill(pid, signal.SIGKILL)
            status = int(helper.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                f'saver {round_} exited by itself (status {status}): resuming failed?'
            steps.append(_check_work_dir(work, expected))
    finally:
        helper.stdin.close()
        helper.wait(30)
    assert steps == sorted(steps), 'last_checkpoint went backwards'
    assert steps[-1] >= 3, f'too few checkpoints completed ({steps}) to exercise rotation'
    # kills did land mid-write: their temp files are left behind (and never named *.pth)
    leftovers = [p.name for p in work.iterdir() if p.name.endswith('.tmp')]
    assert leftovers, 'no kill hit a write in progress'
    assert all(p.name.startswith('.') for p in work.iterdir() if p.name.endswith('.tmp'))
