"""OptimWrapper / AmpOptimWrapper / OptimWrapperDict against plain PyTorch."""
import copy

import pytest
import torch
from torch import nn

from genforge.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict, build_optim_wrapper


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def _loss(net, x, y):
    return ((net(x) - y) ** 2).mean()


@pytest.mark.parametrize('opt', [lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                                 lambda p: torch.optim.Adam(p, lr=0.01)])
def test_accumulation_equals_big_batch(opt):
    torch.manual_seed(1)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    ref, acc = _net(), _net()
    ref_opt = opt(ref.parameters())
    wrapper = OptimWrapper(opt(acc.parameters()), accumulative_counts=4)
    wrapper.initialize_count_status(acc, 0, 8)
    for _ in range(2):  # two optimizer steps
        ref_opt.zero_grad()
        _loss(ref, x, y).backward()
        ref_opt.step()
        for chunk in range(4):
            sl = slice(chunk * 4, chunk * 4 + 4)
            steps_before = copy.deepcopy(list(acc.parameters()))
            wrapper.update_params(_loss(acc, x[sl], y[sl]))
            changed = any(not torch.equal(a, b) for a, b in zip(acc.parameters(), steps_before))
            assert changed == (chunk == 3)  # steps only at the end of each group
    for p_ref, p_acc in zip(ref.parameters(), acc.parameters()):
        torch.testing.assert_close(p_acc, p_ref, rtol=1e-5, atol=1e-6)


def test_accumulation_tail_uses_remainder():
    # max_counts=6, k=4: the last 2 iterations form a group scaled by 1/2, stepping at iter 6
    torch.manual_seed(2)
    x, y = torch.randn(12, 4), torch.randn(12, 1)
    net = _net()
    wrapper = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1), accumulative_counts=4)
    wrapper.initialize_count_status(net, 0, 6)
    ref = _net()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    for lo, hi in ((0, 8), (8, 12)):
        ref_opt.zero_grad()
        _loss(ref, x[lo:hi], y[lo:hi]).backward()
        ref_opt.step()
    for i in range(6):
        assert wrapper.should_sync() == (i in (3, 5))
        wrapper.update_params(_loss(net, x[2 * i:2 * i + 2], y[2 * i:2 * i + 2]))
    for a, b in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_and_value():
    net = _net()
    w = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.0), clip_grad=dict(max_norm=0.01))
    _loss(net, torch.randn(4, 4) * 10, torch.randn(4, 1)).backward()
    before = torch.cat([p.grad.flatten() for p in net.parameters()]).clone()
    w.step()
    after = torch.cat([p.grad.flatten() for p in net.parameters()])
    assert before.norm() > 0.01  # the test only means something if clipping is needed
    torch.testing.assert_close(after, before * (0.01 / (before.norm() + 1e-6)))
    net2 = _net()
    w2 = OptimWrapper(torch.optim.SGD(net2.parameters(), lr=0.0),
                      clip_grad=dict(type='value', clip_value=1e-3))
    _loss(net2, torch.randn(4, 4) * 10, torch.randn(4, 1)).backward()
    w2.step()
    assert max(p.grad.abs().max().item() for p in net2.parameters()) <= 1e-3 + 1e-9
    with pytest.raises(ValueError, match='clip_grad.type'):
        OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1), clip_grad=dict(type='nrm', a=1))


def test_get_lr_momentum_and_state_roundtrip():
    net = _net()
    w = OptimWrapper(torch.optim.Adam(net.parameters(), lr=0.5, betas=(0.7, 0.9)),
                     accumulative_counts=2)
    assert w.get_lr() == {'lr': [0.5]} and w.get_momentum() == {'momentum': [0.7]}
    for _ in range(3):
        w.update_params(_loss(net, torch.randn(2, 4), torch.randn(2, 1)))
    state = w.state_dict()
    w2 = OptimWrapper(torch.optim.Adam(_net().parameters(), lr=0.1), accumulative_counts=2)
    w2.load_state_dict(state)
    assert w2.inner_count == 3 and w2.get_lr() == {'lr': [0.5]}
    torch.testing.assert_close(w2.optimizer.state_dict()['state'][0]['exp_avg'],
                               w.optimizer.state_dict()['state'][0]['exp_avg'])


def test_optim_wrapper_dict_roundtrip_and_errors(tmp_path):
    g, d = _net(), _net()
    owd = OptimWrapperDict(generator=OptimWrapper(torch.optim.Adam(g.parameters(), lr=1e-3)),
                           discriminator=OptimWrapper(torch.optim.SGD(d.parameters(), lr=0.1,
                                                                      momentum=0.5)))
    assert owd.get_lr() == {'generator.lr': [1e-3], 'discriminator.lr': [0.1]}
    assert owd.get_momentum() == {'generator.momentum': [0.9], 'discriminator.momentum': [0.5]}
    for key, net in (('generator', g), ('discriminator', d)):
        owd[key].update_params(_loss(net, torch.randn(3, 4), torch.randn(3, 1)))
    path = tmp_path / 'optim.pth'
    torch.save(owd.state_dict(), path)
    loaded = torch.load(path, weights_only=True)
    g2, d2 = _net(), _net()
    owd2 = OptimWrapperDict(generator=OptimWrapper(torch.optim.Adam(g2.parameters(), lr=1)),
                            discriminator=OptimWrapper(torch.optim.SGD(d2.parameters(), lr=1)))
    owd2.load_state_dict(loaded)
    assert owd2.get_lr() == owd.get_lr()
    torch.testing.assert_close(owd2['generator'].optimizer.state[g2[0].weight]['exp_avg'],
                               owd['generator'].optimizer.state[g[0].weight]['exp_avg'])
    with pytest.raises(NotImplementedError, match="optim_wrapper\\['generator'\\]"):
        owd.step()
    with pytest.raises(KeyError, match='generator'):
        owd['gen']
    with pytest.raises(KeyError, match='encoder'):
        owd2.load_state_dict({'encoder': {}})


def test_bf16_amp_trains_on_cpu():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 8)
    y = x.sum(1, keepdim=True)
    w = build_optim_wrapper(net, dict(type='AmpOptimWrapper', dtype='bfloat16',
                                      optimizer=dict(type='Adam', lr=1e-2)))
    assert isinstance(w, AmpOptimWrapper) and not w.loss_scaler.is_enabled()
    losses = []
    for _ in range(60):
        with w.optim_context(net):
            out = net(x)
            assert out.dtype == torch.bfloat16  # autocast active
            loss = ((out.float() - y) ** 2).mean()
        w.update_params(loss)
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    assert 'loss_scaler' in w.state_dict()
    with pytest.raises(ValueError, match='dtype'):
        AmpOptimWrapper(dtype='float64', optimizer=torch.optim.SGD(net.parameters(), lr=0.1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='fp16 GradScaler needs CUDA')
@pytest.mark.gpu
def test_fp16_amp_uses_grad_scaler_on_cuda():
    net = _net().cuda()
    w = AmpOptimWrapper(dtype='float16', loss_scale=dict(init_scale=1024.),
                        optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert w.loss_scaler.is_enabled() and w.loss_scaler.get_scale() == 1024.
    with w.optim_context(net):
        loss = _loss(net, torch.randn(4, 4, device='cuda'), torch.randn(4, 1, device='cuda'))
    w.update_params(loss)
    assert torch.isfinite(net[0].weight).all()
