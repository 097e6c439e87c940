"""Runner construction, config errors, loops with validation, NaN policy, hooks order."""
import os

import pytest
import torch
from toy_runner_utils import ToyModel, toy_loader, toy_optim

from genforge.hooks import Hook
from genforge.runner import Runner
from genforge.runner.nan_guard import NanGuard


def _runner(tmp_path, model=None, **kwargs):
    torch.manual_seed(0)
    model = model or ToyModel()
    kwargs.setdefault('train_dataloader', toy_loader())
    kwargs.setdefault('train_cfg', dict(by_epoch=False, max_iters=4))
    return Runner(model, work_dir=str(tmp_path), optim_wrapper=toy_optim(model), **kwargs)


def test_unknown_hook_names_the_config_path(tmp_path):
    with pytest.raises(KeyError) as err:
        _runner(tmp_path, default_hooks=dict(checkpoint=dict(type='CheckpointHok')))
    assert "default_hooks.checkpoint.type='CheckpointHok' is not in the hooks registry. " \
           "Did you mean 'CheckpointHook'?" in str(err.value)
    with pytest.raises(KeyError, match=r"custom_hooks\[0\]\.type='EMAHok'.*'EMAHook'"):
        _runner(tmp_path, custom_hooks=[dict(type='EMAHok')])


def test_unknown_loop_and_misspelled_loop_key(tmp_path):
    runner = _runner(tmp_path, train_cfg=dict(type='IterBasedTrainLop', max_iters=2))
    with pytest.raises(KeyError, match=r"train_cfg.type='IterBasedTrainLop'.*'IterBasedTrainLoop'"):
        runner.train()
    runner = _runner(tmp_path, train_cfg=dict(by_epoch=True, max_epoch=2))
    with pytest.raises(TypeError, match=r"train_cfg: EpochBasedTrainLoop.*'max_epoch'.*'max_epochs'"):
        runner.train()
    runner = _runner(tmp_path, val_dataloader=toy_loader(), val_cfg=dict(type='ValLop'),
                     val_evaluator=dict(type='ScriptedMetric'))
    with pytest.raises(KeyError, match=r"val_cfg.type='ValLop'"):
        runner.val()


def test_epoch_loop_validates_at_interval_and_restores_train_mode(tmp_path):
    calls = []

    class Spy(Hook):
        def after_val_epoch(self, runner, metrics=None):
            calls.append((runner.epoch, runner.iter, dict(metrics), runner.model.training))

    runner = _runner(tmp_path, train_cfg=dict(by_epoch=True, max_epochs=4, val_interval=2),
                     val_dataloader=toy_loader(n=6, shuffle=False),
                     val_evaluator=dict(type='ScriptedMetric', values=[0.5, 0.25]),
                     custom_hooks=[Spy()])
    runner.train()
    assert [(c[0], c[1]) for c in calls] == [(2, 8), (4, 16)]
    assert [c[2] for c in calls] == [{'toy/score': 0.5}, {'toy/score': 0.25}]
    assert all(c[3] is False for c in calls) and runner.model.training
    assert runner.message_hub.get_scalar('val/toy/score').current() == 0.25
    # the same val loop again, outside training; results cover all 6 samples once
    assert runner.val() == {'toy/score': 0.25}
    assert runner.val_loop.evaluator.metrics[0].results == []


def test_iter_loop_val_interval_and_test(tmp_path):
    seen = []

    class Spy(Hook):
        def after_val_epoch(self, runner, metrics=None):
            seen.append(runner.iter)

    runner = _runner(tmp_path, train_cfg=dict(by_epoch=False, max_iters=5, val_interval=2),
                     val_dataloader=toy_loader(n=4), val_evaluator=dict(type='ScriptedMetric'),
                     test_dataloader=toy_loader(n=4), test_cfg=dict(type='EditTestLoop'),
                     test_evaluator=[dict(type='ScriptedMetric', values=[7.0])],
                     custom_hooks=[Spy()])
    runner.train()
    assert seen == [2, 4, 5]
    assert runner.test() == {'toy/score': 7.0}


def test_nan_policy_stop_names_iteration_and_key(tmp_path):
    runner = _runner(tmp_path, model=ToyModel(nan_at=2))
    with pytest.raises(FloatingPointError, match=r'iteration 3: loss_mse=nan'):
        runner.train()


def _defer_loss_checks(monkeypatch):
    """Accelerator behaviour on CPU: losses are queued, not read every iteration, so only the
    check before a checkpoint (or the logger's) can see a NaN in time."""
    def observe(self, iteration, outputs, runner=None):
        for key, value in outputs.items():
            if 'loss' in key and isinstance(value, torch.Tensor) and value.numel() == 1:
                self._pending.append((iteration, key, value.detach().reshape(())))
    monkeypatch.setattr(NanGuard, 'observe', observe)


@pytest.mark.parametrize('guard', ['loss', 'weights', 'none'])
def test_nan_reaching_an_iteration_checkpoint_is_never_saved(tmp_path, monkeypatch, guard):
    """NaN loss at iteration 2, CheckpointHook every 3 iterations: the loss check before the
    save ('loss'), or else the finite-weights check of the writer ('weights'), stops the run
    and no file holds NaN weights; 'none' (both checks off) shows the file would be written."""
    from genforge.runner import checkpoint_manager
    _defer_loss_checks(monkeypatch)
    if guard != 'loss':
        monkeypatch.setattr(NanGuard, 'check', lambda self, runner=None: self._pending.clear())
    if guard == 'none':
        monkeypatch.setattr(checkpoint_manager, 'check_finite_weights', lambda *a, **k: None)
    hooks = dict(checkpoint=dict(type='CheckpointHook', interval=3, by_epoch=False),
                 logger=dict(type='LoggerHook', interval=100), progress=None)
    runner = _runner(tmp_path, model=ToyModel(nan_at=1), default_hooks=hooks,
                     train_cfg=dict(by_epoch=False, max_iters=3))
    if guard == 'none':
        runner.train()
        state = torch.load(tmp_path / 'iter_3.pth', weights_only=False)['state_dict']
        assert not torch.isfinite(state['linear.weight']).all()
        return
    message = r'iteration 2: loss_mse=nan' if guard == 'loss' else \
        r"refusing to write .*iter_3.pth: model tensor 'linear.weight' holds non-finite"
    with pytest.raises(FloatingPointError, match=message):
        runner.train()
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.pth') or '.tmp' in f]


def test_nan_policy_skip_drops_the_update(tmp_path):
    snapshots = {}

    class Snap(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            snapshots[runner.iter] = runner.model.linear.weight.detach().clone()

    runner = _runner(tmp_path, model=ToyModel(nan_at=1), custom_hooks=[Snap()],
                     train_cfg=dict(by_epoch=False, max_iters=4, nan_policy='skip'))
    runner.train()
    assert torch.equal(snapshots[1], snapshots[2])          # iteration 2 was skipped
    assert not torch.equal(snapshots[2], snapshots[3])      # the next one trained
    assert torch.isfinite(runner.model.linear.weight).all()
    assert runner.train_loop.nan_guard.skipped_steps == 1
    assert runner.message_hub.get_info('nan_skipped_iters') == 1


def test_hooks_sorted_by_priority_and_defaults_can_be_disabled(tmp_path):
    runner = _runner(tmp_path, default_hooks=dict(checkpoint=None, progress=None),
                     custom_hooks=[dict(type='EmptyCacheHook', priority='HIGHEST'),
                                   dict(type='EmptyCacheHook', priority=95)])
    names = [type(h).__name__ for h in runner.hooks]
    assert names[0] == 'EmptyCacheHook' and names[-1] == 'EmptyCacheHook'
    assert 'CheckpointHook' not in names and 'ProgressBarHook' not in names
    assert names[1:-1] == ['RuntimeInfoHook', 'IterTimerHook', 'DistSamplerSeedHook',
                           'LoggerHook', 'ParamSchedulerHook']


def test_from_cfg_dumps_config_and_defaults_work_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = dict(model=dict(type='ToyRegressor'), train_dataloader=toy_loader(),
               train_cfg=dict(by_epoch=False, max_iters=2),
               optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
               randomness=dict(seed=3), default_hooks=dict(checkpoint=dict(by_epoch=False)))
    from genforge.registry import MODELS
    MODELS.register_module(name='ToyRegressor', module=ToyModel, force=True)
    runner = Runner.from_cfg(cfg)
    assert runner.work_dir == str(tmp_path / 'work_dirs' / 'run') and runner.seed == 3
    # the config is dumped once the run starts (issue 24: a failed resume must not rewrite it)
    assert not (tmp_path / 'work_dirs' / 'run' / 'config.py').exists()
    runner.train()
    assert "'ToyRegressor'" in (tmp_path / 'work_dirs' / 'run' / 'config.py').read_text()
    ckpt = torch.load(tmp_path / 'work_dirs' / 'run' / 'iter_2.pth', weights_only=True)
    assert ckpt['meta']['seed'] == 3 and 'ToyRegressor' in ckpt['meta']['cfg']


def test_unwritable_work_dir_fails_before_training(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(PermissionError, match='work_dir=.*not writable'):
        _runner(blocker / 'sub')


def test_build_dataloader_options():
    loader = Runner.build_dataloader(dict(batch_size=3, num_workers=0, persistent_workers=True,
                                          sampler=dict(type='DefaultSampler', shuffle=False),
                                          collate_fn=dict(type='default_collate'),
                                          dataset=toy_loader()['dataset']), seed=1)
    batch = next(iter(loader))
    assert batch['inputs'].shape == (3, 2) and loader.sampler.seed == 1
    with pytest.raises(TypeError, match="unknown key 'batchsize'.*'batch_size'"):
        Runner.build_dataloader(dict(batchsize=3, sampler=dict(type='DefaultSampler'),
                                     dataset=toy_loader()['dataset']))
