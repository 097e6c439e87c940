"""EMAHook: average matches the closed form, swapped in for validation and in checkpoints."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'runner'))
from toy_runner_utils import ToyModel, toy_loader, toy_optim  # noqa: E402

from genforge.hooks import Hook  # noqa: E402
from genforge.runner import Runner  # noqa: E402


def test_ema_hook_average_swap_and_checkpoint(tmp_path):
    history, during_val = [], []

    class Record(Hook):
        priority = 'LOW'   # after EMAHook (NORMAL) in every stage

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            history.append(runner.model.linear.weight.detach().clone())

        def before_val_epoch(self, runner):
            during_val.append(runner.model.linear.weight.detach().clone())

    torch.manual_seed(0)
    model = ToyModel()
    runner = Runner(model, work_dir=str(tmp_path), train_dataloader=toy_loader(),
                    train_cfg=dict(by_epoch=False, max_iters=4, val_interval=4),
                    optim_wrapper=toy_optim(model),
                    val_dataloader=toy_loader(n=4), val_evaluator=dict(type='ScriptedMetric'),
                    default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4,
                                                       by_epoch=False)),
                    custom_hooks=[dict(type='EMAHook', momentum=0.5), Record()])
    runner.train()
    # closed form: first update copies, then avg = (1 - m) * avg + m * param
    avg = history[0]
    for w in history[1:]:
        avg = 0.5 * avg + 0.5 * w
    assert torch.allclose(during_val[0], avg, atol=1e-6)
    assert torch.equal(runner.model.linear.weight, history[-1])   # swapped back after val
    ckpt = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert torch.allclose(ckpt['state_dict']['linear.weight'], avg, atol=1e-6)
    assert torch.equal(ckpt['ema_state_dict']['module.linear.weight'], history[-1])
