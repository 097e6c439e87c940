"""Hook priorities/predicates, the progress bar hook, and rank-ordered result collection."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'runner'))
from toy_runner_utils import ToyModel, toy_loader, toy_optim  # noqa: E402

import genforge.dist as dist  # noqa: E402
from genforge.hooks import Hook, Priority, ProgressBarHook, get_priority  # noqa: E402
from genforge.runner import Runner  # noqa: E402


def test_priorities_and_triggered_stages():
    assert get_priority('highest') == 0 and get_priority(Priority.LOW) == 70
    assert get_priority(55) == 55
    with pytest.raises(ValueError, match='between 0'):
        get_priority(101)
    with pytest.raises(ValueError, match='NORMAL'):
        get_priority('MEDIUM')

    class OnlyIter(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            pass

    class Shared(Hook):
        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode='train'):
            pass

    assert OnlyIter().get_triggered_stages() == ['after_train_iter']
    assert Shared().get_triggered_stages() == ['after_train_iter', 'after_val_iter',
                                               'after_test_iter']


def test_progress_bar_starts_advances_and_stops_when_forced(tmp_path, monkeypatch):
    import io

    import rich.progress
    from rich.console import Console
    events = []

    class RecordingProgress(rich.progress.Progress):  # a real bar, rendered into a buffer
        def __init__(self, *columns, **kwargs):
            super().__init__(*columns, console=Console(file=io.StringIO(), force_terminal=True),
                             **kwargs)

        def start(self):
            events.append(('start',))
            super().start()

        def add_task(self, description, **kwargs):
            events.append(('add', kwargs['total'], kwargs['completed']))
            return super().add_task(description, **kwargs)

        def update(self, task_id, **kwargs):
            super().update(task_id, **kwargs)
            task = self._tasks[task_id]
            events.append(('update', task.completed, task.fields['losses']))

        def stop(self):
            events.append(('stop',))
            super().stop()

    monkeypatch.setattr(rich.progress, 'Progress', RecordingProgress)
    torch.manual_seed(0)
    model = ToyModel()
    hook = ProgressBarHook(interval=2, enabled=True)
    runner = Runner(model, work_dir=str(tmp_path), train_dataloader=toy_loader(),
                    train_cfg=dict(by_epoch=False, max_iters=4), optim_wrapper=toy_optim(model),
                    default_hooks=dict(progress=None, checkpoint=None), custom_hooks=[hook])
    runner.train()
    assert events[:2] == [('start',), ('add', 4, 0)] and events[-1] == ('stop',)
    updates = [e for e in events if e[0] == 'update']
    assert [u[1] for u in updates] == [1, 2, 3, 4]  # advanced once per iteration, to the end
    assert updates[0][2] == '' and 'loss_mse: ' in updates[1][2]  # losses every 2 iterations
    assert hook._progress is None   # stopped after training
    # not forced and not a terminal: no bar at all
    events.clear()
    quiet = ProgressBarHook(enabled=False)
    quiet.before_train(runner)
    assert events == [] and quiet._progress is None


def test_collect_results_restores_dataset_order(monkeypatch):
    # DefaultSampler shards round-robin: rank0 gets 0,2,4; rank1 gets 1,3 (+ padding 0)
    monkeypatch.setattr(dist, 'all_gather_object', lambda obj: [[0, 2, 4], [1, 3, 0]])
    assert dist.collect_results([0, 2, 4], size=5) == [0, 1, 2, 3, 4]
    monkeypatch.setattr(dist, 'all_gather_object', lambda obj: [[0, 2, 4], [1, 3]])
    assert dist.collect_results([0, 2, 4], size=5) == [0, 1, 2, 3, 4]
