"""What AMP chooses on the machine at hand: the bf16 capability check is patched both ways."""
from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

import genforge.optim.amp as amp
from genforge.config import Config
from genforge.optim import AmpOptimWrapper, OptimWrapper, build_optim_wrapper
from genforge.runner.speed import apply_model_options


@pytest.fixture
def native_bf16(monkeypatch):
    """``native_bf16(flag)`` pretends this CPU has (or lacks) AVX512-BF16/AMX."""
    monkeypatch.setattr(amp, '_said', set())  # each test sees the one-time messages afresh

    def set_flag(flag: bool) -> None:
        monkeypatch.setattr(amp, 'cpu_has_native_bf16', lambda: flag)
    return set_flag


def _conv_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1))


def _train(net, wrapper, steps=3) -> list[torch.dtype]:
    g = torch.Generator().manual_seed(1)
    dtypes = []
    for _ in range(steps):
        x, y = torch.randn(4, 2, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
        with wrapper.optim_context(net):
            out = net(x)
            dtypes.append(out.dtype)
            loss = ((out.float() - y) ** 2).mean()
        wrapper.update_params(loss)
    return dtypes


def test_no_native_bf16_trains_in_fp32_equal_to_plain_wrapper(native_bf16, caplog):
    native_bf16(False)
    net, ref = _conv_net(), _conv_net()
    with caplog.at_level(logging.WARNING, logger='genforge.optim.amp'):
        # what `--amp` writes: type='AmpOptimWrapper', loss_scale='dynamic', no dtype; a GAN
        # builds two wrappers, the message comes once
        wrapper = build_optim_wrapper(net, dict(type='AmpOptimWrapper', loss_scale='dynamic',
                                                optimizer=dict(type='Adam', lr=1e-2)))
        AmpOptimWrapper(optimizer=torch.optim.SGD(ref.parameters(), lr=0.1))
    assert wrapper.cast_dtype == torch.float32 and not wrapper.loss_scaler.is_enabled()
    assert [r.getMessage() for r in caplog.records] == [amp.NO_BF16_MESSAGE]
    plain = OptimWrapper(torch.optim.Adam(ref.parameters(), lr=1e-2))
    assert _train(net, wrapper) == [torch.float32] * 3
    _train(ref, plain)
    for a, b in zip(net.parameters(), ref.parameters()):
        assert torch.equal(a, b)  # the very same fp32 computation
        assert not torch.equal(a, _conv_net().state_dict()[_name(ref, b)])


def _name(net: nn.Module, param: torch.Tensor) -> str:
    return next(k for k, v in net.named_parameters() if v is param)


def test_native_bf16_autocasts(native_bf16, caplog):
    native_bf16(True)
    net = _conv_net()
    with caplog.at_level(logging.WARNING, logger='genforge.optim.amp'):
        wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert wrapper.cast_dtype == torch.bfloat16 and not wrapper.loss_scaler.is_enabled()
    assert caplog.records == []
    assert _train(net, wrapper, steps=1) == [torch.bfloat16]


def test_explicit_bf16_is_obeyed_with_a_warning(native_bf16, caplog):
    native_bf16(False)
    net = _conv_net()
    with caplog.at_level(logging.WARNING, logger='genforge.optim.amp'):
        wrapper = AmpOptimWrapper(dtype='bfloat16',
                                  optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert wrapper.cast_dtype == torch.bfloat16
    assert len(caplog.records) == 1 and 'slower' in caplog.records[0].getMessage()
    assert _train(net, wrapper, steps=1) == [torch.bfloat16]


def test_cuda_defaults_to_fp16_and_keeps_bf16_when_asked(native_bf16):
    native_bf16(False)  # the CPU check must not matter on CUDA
    assert amp.resolve_amp_dtype(None, 'cuda') == torch.float16
    assert amp.resolve_amp_dtype(torch.bfloat16, 'cuda') == torch.bfloat16
    assert amp.resolve_amp_dtype(torch.float16, 'cuda') == torch.float16


@pytest.mark.parametrize('flag', [True, False])
def test_channels_last_auto_follows_the_check(native_bf16, flag):
    native_bf16(flag)
    net = apply_model_options(_conv_net(), Config(dict(channels_last='auto')))
    weight = net[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) == flag
    assert weight.is_contiguous() == (not flag)
    with pytest.raises(ValueError, match="channels_last='yes'"):
        apply_model_options(_conv_net(), Config(dict(channels_last='yes')))


@pytest.mark.parametrize('flag', [True, False])
def test_val_loop_autocast_follows_the_check(native_bf16, flag):
    native_bf16(flag)
    net = _conv_net()
    x = torch.randn(1, 2, 8, 8)
    with amp.autocast_for('cpu'):  # what val_cfg=dict(fp16=True) enters
        assert net(x).dtype == (torch.bfloat16 if flag else torch.float32)
    with amp.autocast_for('cpu', enabled=False):
        assert net(x).dtype == torch.float32


def test_real_check_answers_a_bool():
    assert isinstance(amp.cpu_has_native_bf16(), bool)


def _fp16_scaler_skips_overflow_and_resumes(device, tmp_path):
    torch.manual_seed(0)
    net, net2 = nn.Linear(4, 1).to(device), nn.Linear(4, 1).to(device)
    kwargs = dict(dtype='float16', loss_scale=dict(init_scale=2. ** 16))
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1), **kwargs)
    assert wrapper.cast_dtype == torch.float16 and wrapper.loss_scaler.is_enabled()
    x = torch.randn(2, 4, device=device)
    before = [p.detach().clone() for p in net.parameters()]
    with wrapper.optim_context(net):
        out = net(x)
        assert out.dtype == torch.float16
        loss = out.float().sum() * float('inf')  # overflowing gradients
    wrapper.update_params(loss)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # step skipped
    assert wrapper.loss_scaler.get_scale() == 2. ** 15  # and the scale halved
    with wrapper.optim_context(net):
        loss = net(x).float().pow(2).mean()
    wrapper.update_params(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert wrapper.loss_scaler.get_scale() == 2. ** 15  # a good step keeps the scale
    torch.save(wrapper.state_dict(), tmp_path / 'optim.pth')
    resumed = AmpOptimWrapper(optimizer=torch.optim.SGD(net2.parameters(), lr=0.1), **kwargs)
    assert resumed.loss_scaler.get_scale() == 2. ** 16
    resumed.load_state_dict(torch.load(tmp_path / 'optim.pth', weights_only=True))
    assert resumed.loss_scaler.get_scale() == 2. ** 15
    assert resumed.loss_scaler.state_dict() == wrapper.loss_scaler.state_dict()


def test_cpu_fp16_grad_scaler_skips_overflow_and_resumes(tmp_path):
    # float16 autocast on CPU gets a GradScaler('cpu') too (it used to be disabled off CUDA)
    _fp16_scaler_skips_overflow_and_resumes('cpu', tmp_path)


@pytest.mark.gpu
def test_cuda_fp16_grad_scaler_skips_overflow_and_resumes(tmp_path):
    _fp16_scaler_skips_overflow_and_resumes('cuda', tmp_path)
