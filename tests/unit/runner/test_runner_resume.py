"""Resume reproduces an uninterrupted run bit for bit (weights, optimizer, logged losses)."""
import json
import os

import pytest
import torch
from toy_runner_utils import ToyModel, toy_loader, toy_optim

from genforge.hooks import Hook
from genforge.runner import Runner


class CrashAt(Hook):
    """Simulates a kill: raises before training iteration ``at`` (1-based) starts."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt('simulated kill')


def _runner(work_dir, train_cfg, seed, crash_at=None, resume=False, sampler='DefaultSampler'):
    torch.manual_seed(seed + 100)  # different init per run: resume must overwrite it
    model = ToyModel()
    return Runner(model, work_dir=str(work_dir), train_dataloader=toy_loader(sampler=sampler),
                  train_cfg=train_cfg, optim_wrapper=toy_optim(model),
                  default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                                     checkpoint=dict(type='CheckpointHook', interval=3,
                                                     by_epoch=False)),
                  custom_hooks=[CrashAt(crash_at)] if crash_at else None,
                  randomness=dict(seed=seed), resume=resume)


def _losses(runner):
    path = os.path.join(runner.log_dir, 'vis_data', 'scalars.json')
    return {r['iter']: (r['loss'], r['loss_mse']) for r in map(json.loads, open(path))}


@pytest.mark.parametrize('train_cfg,sampler', [
    (dict(by_epoch=False, max_iters=6), 'DefaultSampler'),    # crosses a pass boundary
    (dict(by_epoch=False, max_iters=6), 'InfiniteSampler'),
    (dict(by_epoch=True, max_epochs=2), 'DefaultSampler'),    # resume mid-epoch
])
def test_resume_is_bit_identical(tmp_path, train_cfg, sampler):
    straight = _runner(tmp_path / 'a', train_cfg, seed=0, sampler=sampler)
    straight.train()

    crashed = _runner(tmp_path / 'b', train_cfg, seed=0, crash_at=5, sampler=sampler)
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    assert (tmp_path / 'b' / 'last_checkpoint').read_text().endswith('iter_3.pth')
    resumed = _runner(tmp_path / 'b', train_cfg, seed=1, resume=True, sampler=sampler)
    resumed.train()

    assert resumed.iter == straight.iter
    for (k, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), k
    opt_a = straight.optim_wrapper.state_dict()['state']
    opt_b = resumed.optim_wrapper.state_dict()['state']
    for key in opt_a:
        assert torch.equal(opt_a[key]['momentum_buffer'], opt_b[key]['momentum_buffer'])
    la, lb = _losses(straight), _losses(resumed)
    assert sorted(lb) == list(range(4, straight.iter + 1))
    for it in lb:   # smoothed 'loss' also checks the restored message hub window
        assert la[it] == lb[it], it


def test_resume_from_explicit_path_and_load_from(tmp_path):
    cfg = dict(by_epoch=False, max_iters=6)
    first = _runner(tmp_path / 'a', cfg, seed=0)
    first.train()
    ckpt = str(tmp_path / 'a' / 'iter_3.pth')
    # resume=PATH continues at iteration 3.
    again = _runner(tmp_path / 'c', cfg, seed=0, resume=ckpt)
    again.train()
    assert again.iter == 6
    # load_from loads weights only: counters start at 0.
    torch.manual_seed(5)
    model = ToyModel()
    runner = Runner(model, work_dir=str(tmp_path / 'd'), train_dataloader=toy_loader(),
                    train_cfg=dict(by_epoch=False, max_iters=1), optim_wrapper=toy_optim(model),
                    load_from=ckpt, default_hooks=dict(checkpoint=None))
    seen = {}

    class Peek(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen['iter'] = runner.iter
            seen['w'] = runner.model.linear.weight.detach().clone()

    runner.register_hook(Peek())
    runner.train()
    saved = torch.load(ckpt, weights_only=True)
    assert seen['iter'] == 0 and torch.equal(seen['w'], saved['state_dict']['linear.weight'])


class _AugItems(torch.utils.data.Dataset):
    """Item i with a random 'augmentation' drawn in the loading process (a DataLoader worker)."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        import numpy as np
        return dict(inputs=torch.full((2,), float(i)), target=torch.zeros(1),
                    index=i, aug=float(np.random.uniform()))


class _Record(Hook):
    def __init__(self):
        self.seen = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen[runner.iter + 1] = (data_batch['index'].tolist(), data_batch['aug'].tolist())


def _worker_runner(work_dir, crash_at=None, resume=False):
    torch.manual_seed(0)
    model = ToyModel()
    record = _Record()
    hooks = [record] + ([CrashAt(crash_at)] if crash_at else [])
    runner = Runner(model, work_dir=str(work_dir), optim_wrapper=toy_optim(model),
                    train_dataloader=dict(batch_size=2, num_workers=2, dataset=_AugItems(),
                                          sampler=dict(type='DefaultSampler', shuffle=True),
                                          collate_fn=dict(type='default_collate')),
                    train_cfg=dict(by_epoch=False, max_iters=7),
                    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=3,
                                                       by_epoch=False), progress=None),
                    custom_hooks=hooks, randomness=dict(seed=0), resume=resume)
    return runner, record


def test_resume_with_workers_keeps_data_order_and_pins_worker_augmentations(tmp_path):
    """num_workers=2, 4 batches per pass, checkpoint at iteration 3 (mid-pass), resume.

    What holds (docs/runner.md): the data order is exact, and from the next pass on the
    in-worker random numbers are too (workers are re-created and re-seeded each pass). Inside
    the interrupted pass they are not: the resumed loader's workers restart from their seeds.
    Why it can take ~10-40 s wall time: three runs start worker processes for every pass
    (~4 s of CPU time; the rest is process start-up on a busy machine).
    """
    from genforge.runner.build import usable_cpus
    if usable_cpus() < 2:
        pytest.skip('fewer than 2 usable CPU cores: num_workers would be capped')
    straight, seen_a = _worker_runner(tmp_path / 'a')
    straight.train()
    assert straight.train_loop.dataloader.num_workers == 2
    crashed, _ = _worker_runner(tmp_path / 'b', crash_at=5)
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    resumed, seen_b = _worker_runner(tmp_path / 'b', resume=True)
    resumed.train()
    assert sorted(seen_b.seen) == [4, 5, 6, 7]
    for it in seen_b.seen:  # the same items in the same order
        assert seen_a.seen[it][0] == seen_b.seen[it][0], it
    # iteration 4 ends the interrupted pass: another worker, another position in its stream
    assert seen_a.seen[4][1] != seen_b.seen[4][1]
    for it in (5, 6, 7):  # a new pass: fresh workers with the same seeds in both runs
        assert seen_a.seen[it][1] == seen_b.seen[it][1], it
