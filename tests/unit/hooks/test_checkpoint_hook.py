"""CheckpointHook: rotation, best checkpoints under less/greater rules, last_checkpoint."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'runner'))
from toy_runner_utils import ToyModel, toy_loader, toy_optim  # noqa: E402

from genforge.hooks import CheckpointHook  # noqa: E402
from genforge.runner import Runner  # noqa: E402


def _run(tmp_path, checkpoint, values=None, train_cfg=None):
    torch.manual_seed(0)
    model = ToyModel()
    kwargs = {}
    if values is not None:
        kwargs = dict(val_dataloader=toy_loader(n=6, shuffle=False),
                      val_evaluator=dict(type='Evaluator',
                                         metrics=[dict(type='ScriptedMetric', values=values)]))
    runner = Runner(model, work_dir=str(tmp_path), train_dataloader=toy_loader(),
                    train_cfg=train_cfg or dict(by_epoch=True, max_epochs=len(values or [1])),
                    optim_wrapper=toy_optim(model), default_hooks=dict(checkpoint=checkpoint),
                    **kwargs)
    runner.train()
    return runner


def _pth(tmp_path):
    return sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth'))


@pytest.mark.parametrize('rule,expected_epoch,expected_score', [('less', 2, 1.0),
                                                                ('greater', 4, 5.0)])
def test_save_best_keeps_only_the_best(tmp_path, rule, expected_epoch, expected_score):
    values = [3.0, 1.0, 2.0, 5.0]
    runner = _run(tmp_path, dict(type='CheckpointHook', interval=1, save_best='toy/score',
                                 rule=rule), values)
    best = [f for f in _pth(tmp_path) if f.startswith('best_')]
    assert best == [f'best_toy_score_epoch_{expected_epoch}.pth']
    assert runner.message_hub.get_info('best_score') == expected_score
    ckpt = torch.load(tmp_path / best[0], weights_only=True)
    assert ckpt['meta']['epoch'] == expected_epoch
    assert 'optimizer' not in ckpt   # best checkpoints hold weights only


def test_save_best_rule_inferred_from_less_and_greater_keys(tmp_path):
    hook = CheckpointHook(save_best=['FID-Full-50k/fid', 'IS-50k/is'],
                          less_keys=['FID-Full-50k/fid'], greater_keys=['IS-50k/is'])
    assert hook.rules == ['less', 'greater']
    assert CheckpointHook(save_best='psnr').rules == ['greater']
    with pytest.raises(ValueError, match="rule='greater'"):
        CheckpointHook(save_best='weird_metric')


def test_save_best_several_keys_and_auto(tmp_path):
    runner = _run(tmp_path / 'auto', dict(type='CheckpointHook', interval=1, save_best='auto',
                                          rule='less'), [2.0, 1.0, 3.0])
    assert [f for f in _pth(tmp_path / 'auto') if f.startswith('best')] == \
        ['best_toy_score_epoch_2.pth']
    assert runner.message_hub.get_info('best_ckpt').endswith('best_toy_score_epoch_2.pth')


def test_max_keep_ckpts_deletes_the_oldest(tmp_path):
    _run(tmp_path, dict(type='CheckpointHook', interval=1, by_epoch=False, max_keep_ckpts=2),
         train_cfg=dict(by_epoch=False, max_iters=5))
    assert _pth(tmp_path) == ['iter_4.pth', 'iter_5.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_5.pth')


def test_interval_save_last_and_out_dir(tmp_path):
    out = tmp_path / 'out'
    _run(tmp_path / 'w', dict(type='CheckpointHook', interval=2, by_epoch=False,
                              out_dir=str(out)), train_cfg=dict(by_epoch=False, max_iters=5))
    # every 2 iterations plus the last one; under out_dir/<basename of work_dir>
    assert _pth(out / 'w') == ['iter_2.pth', 'iter_4.pth', 'iter_5.pth']
    ckpt = torch.load(out / 'w' / 'iter_4.pth', weights_only=True)
    assert ckpt['meta']['iter'] == 4 and ckpt['sampler']['batches'] == 4 % 4
    assert set(ckpt) >= {'meta', 'state_dict', 'optimizer', 'message_hub', 'rng_state', 'sampler'}


def test_save_optimizer_false(tmp_path):
    _run(tmp_path, dict(type='CheckpointHook', interval=1, by_epoch=False, save_optimizer=False),
         train_cfg=dict(by_epoch=False, max_iters=1))
    assert 'optimizer' not in torch.load(tmp_path / 'iter_1.pth', weights_only=True)
