"""Scheduler curves against torch.optim.lr_scheduler and closed forms."""
import math

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as tls

from genforge.optim import (  # noqa: I001
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    LinearLrInterval,
    MultiStepLR,
    OneCycleLR,
    OptimWrapper,
    OptimWrapperDict,
    PolyLR,
    StepLR,
    build_param_schedulers,
)

N = 20


def _opt(lr=0.1, **kw):
    return torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=lr, momentum=0.9, **kw)


def _curve(sched, opt, n=N):
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in (sched if isinstance(sched, list) else [sched]):
            s.step()
    return out


@pytest.mark.parametrize('ours,theirs', [
    (lambda o: LinearLR(o, start_factor=0.2, end=6, by_epoch=False),
     lambda o: tls.LinearLR(o, start_factor=0.2, total_iters=5)),
    (lambda o: ConstantLR(o, factor=0.5, end=4, by_epoch=False),
     lambda o: tls.ConstantLR(o, factor=0.5, total_iters=3)),
    (lambda o: StepLR(o, step_size=3, gamma=0.5, by_epoch=False),
     lambda o: tls.StepLR(o, step_size=3, gamma=0.5)),
    (lambda o: MultiStepLR(o, milestones=[4, 9, 9], gamma=0.5, by_epoch=False),
     lambda o: tls.MultiStepLR(o, milestones=[4, 9, 9], gamma=0.5)),
    (lambda o: ExponentialLR(o, gamma=0.9, by_epoch=False),
     lambda o: tls.ExponentialLR(o, gamma=0.9)),
    (lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.01, by_epoch=False),
     lambda o: tls.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
    (lambda o: PolyLR(o, power=2.0, eta_min=0.0, end=11, by_epoch=False),
     lambda o: tls.PolynomialLR(o, total_iters=10, power=2.0)),
])
def test_matches_torch(ours, theirs):
    o1, o2 = _opt(), _opt()
    a, b = _curve(ours(o1), o1), _curve(theirs(o2), o2)
    assert a == pytest.approx(b, rel=1e-6, abs=1e-12)


def test_one_cycle_matches_torch_lr():
    o1, o2 = _opt(), _opt()
    ours = OneCycleLR(o1, eta_max=1.0, total_steps=N, pct_start=0.25, by_epoch=False)
    theirs = tls.OneCycleLR(o2, max_lr=1.0, total_steps=N, pct_start=0.25, cycle_momentum=False)
    assert _curve(ours, o1) == pytest.approx(_curve(theirs, o2), rel=1e-6)


def test_begin_end_and_chain_warmup_cosine():
    opt = _opt(lr=1.0)
    scheds = [LinearLR(opt, start_factor=0.5, begin=0, end=4, by_epoch=False),
              CosineAnnealingLR(opt, begin=4, end=14, T_max=10, eta_min=0.0, by_epoch=False)]
    lrs = _curve(scheds, opt, 16)
    # closed form: warm-up 0.5 -> 1 over 4 steps, then cosine over [4, 14), then constant
    expected = [0.5 + 0.5 * i / 3 for i in range(4)]
    expected += [0.5 * (1 + math.cos(math.pi * (i - 4) / 10)) for i in range(4, 14)]
    expected += [expected[-1]] * 2
    assert lrs == pytest.approx(expected, abs=1e-9)


def test_cosine_restart_closed_form():
    opt = _opt(lr=1.0)
    s = CosineRestartLR(opt, periods=[5, 10], restart_weights=[1, 0.5], eta_min=0.0,
                        by_epoch=False)
    lrs = _curve(s, opt, 15)
    expected = [0.5 * (1 + math.cos(math.pi * t / 5)) for t in range(5)]
    expected += [0.25 * (1 + math.cos(math.pi * t / 10)) for t in range(10)]
    assert lrs == pytest.approx(expected, abs=1e-9)


def test_convert_to_iter_based_and_default_end():
    opt = OptimWrapper(_opt(lr=1.0))
    scheds = build_param_schedulers(
        [dict(type='LinearLR', start_factor=0.25, end=1, convert_to_iter_based=True),
         dict(type='CosineAnnealingLR', begin=1, eta_min_ratio=0.1, convert_to_iter_based=True)],
        opt, epoch_length=4, max_epochs=5)
    assert scheds[0].end == 4 and not scheds[0].by_epoch
    assert (scheds[1].begin, scheds[1].end, scheds[1].T_max) == (4, 20, 16)
    lrs = _curve(scheds, opt.optimizer, 20)
    expected = [0.25 + 0.75 * i / 3 for i in range(4)]
    expected += [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (i - 4) / 16)) for i in range(4, 20)]
    assert lrs == pytest.approx(expected, abs=1e-9)


def test_per_key_schedulers_for_optim_wrapper_dict():
    owd = OptimWrapperDict(generator=OptimWrapper(_opt(lr=1.0)),
                           discriminator=OptimWrapper(_opt(lr=2.0)))
    scheds = build_param_schedulers(
        dict(generator=[dict(type='StepLR', step_size=2, gamma=0.5, by_epoch=False)],
             discriminator=dict(type='ExponentialLR', gamma=0.9, by_epoch=False)),
        owd, max_iters=10)
    assert set(scheds) == {'generator', 'discriminator'} and scheds['generator'][0].end == 10
    for _ in range(4):
        for lst in scheds.values():
            for s in lst:
                s.step()
    assert owd.get_lr()['generator.lr'] == [pytest.approx(0.25)]
    assert owd.get_lr()['discriminator.lr'] == [pytest.approx(2.0 * 0.9 ** 4)]
    with pytest.raises(KeyError, match='encoder'):
        build_param_schedulers(dict(encoder=[]), owd)
    with pytest.raises(KeyError, match='param_scheduler.generator'):
        build_param_schedulers(dict(generator=[dict(type='StepLRR', step_size=1)]), owd)


def test_state_dict_roundtrip_resumes_curve(tmp_path):
    o1 = _opt(lr=1.0)
    s1 = CosineAnnealingLR(o1, T_max=10, by_epoch=False)
    full = _curve(s1, o1, 10)
    o2 = _opt(lr=1.0)
    s2 = CosineAnnealingLR(o2, T_max=10, by_epoch=False)
    _curve(s2, o2, 4)
    torch.save(dict(opt=o2.state_dict(), sched=s2.state_dict()), tmp_path / 's.pth')
    state = torch.load(tmp_path / 's.pth', weights_only=True)
    # resume order as in the Runner: build fresh, then load optimizer, then scheduler state
    o3 = _opt(lr=1.0)
    s3 = CosineAnnealingLR(o3, T_max=10, by_epoch=False)
    o3.load_state_dict(state['opt'])
    s3.load_state_dict(state['sched'])
    assert _curve(s3, o3, 6) == pytest.approx(full[4:])
    assert s3.get_last_value() == [o3.param_groups[0]['lr']]


def test_momentum_scheduler_drives_adam_betas():
    opt = torch.optim.Adam(nn.Linear(2, 2).parameters(), lr=0.1, betas=(0.9, 0.99))
    s = CosineAnnealingMomentum(opt, T_max=4, eta_min=0.5, by_epoch=False)
    for _ in range(4):
        opt.step()
        s.step()
    assert opt.param_groups[0]['betas'] == (pytest.approx(0.5), 0.99)


def test_linear_lr_interval_absolute_values():
    opt = _opt(lr=0.0002)
    s = LinearLrInterval(opt, interval=2, start_factor=0.0002, end_factor=0.0, begin=4, end=12,
                         by_epoch=False)
    lrs = _curve(s, opt, 14)
    assert lrs[:4] == [0.0002] * 4 and lrs[4] == pytest.approx(0.0002 * 0.0002)
    for it in range(5, 12):  # progress = it - 1 (iteration just finished)
        k = ((it - 1 - 4) // 2) / ((12 - 4) // 2)
        assert lrs[it] == pytest.approx(0.0002 * (1 - k))
