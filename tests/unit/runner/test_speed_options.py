"""Runner speed options (channels_last, compile) and sync_bn conversion against plain runs."""
from __future__ import annotations

import logging

import pytest
import torch
import torch._dynamo
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from genforge.config import Config
from genforge.models import BaseModel
from genforge.runner import Runner
from genforge.runner.speed import apply_model_options, compile_submodules, convert_sync_batchnorm


class _Pairs(Dataset):
    def __init__(self, n=8):
        g = torch.Generator().manual_seed(0)
        self.x, self.y = torch.randn(n, 2, 8, 8, generator=g), torch.randn(n, 1, 8, 8, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], target=self.y[i])


class _Gen(nn.Module):
    # a forward of our own: dynamo does not trace the top frame of torch.nn's own modules
    # (nn.Sequential.compile() runs eagerly without asking the backend; torch 2.13)
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(4, 1, 3, padding=1))

    def forward(self, x):
        return self.body(x)


class _ConvNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.generator = _Gen()

    def forward(self, inputs, data_samples=None, mode='tensor', target=None):
        out = self.generator(inputs)
        return dict(loss=F.mse_loss(out, target)) if mode == 'loss' else out


def _train(tmp_path, name: str, options: dict) -> tuple[nn.Module, dict]:
    torch.manual_seed(0)
    model = _ConvNet()
    runner = Runner(model=model, work_dir=str(tmp_path / name), cfg=Config(options),
                    train_dataloader=dict(batch_size=4, dataset=_Pairs(),
                                          sampler=dict(type='DefaultSampler', shuffle=False),
                                          collate_fn=dict(type='default_collate')),
                    train_cfg=dict(by_epoch=False, max_iters=3),
                    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
                    default_hooks=dict(checkpoint=None), randomness=dict(seed=0))
    runner.train()
    return runner.model, {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_channels_last_trains_like_default(tmp_path):
    _, ref = _train(tmp_path, 'ref', {})
    model, state = _train(tmp_path, 'cl', dict(channels_last=True))
    weight = model.generator.body[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    _assert_same_state(state, ref)
    assert any(not torch.equal(state[k], _train_init()[k]) for k in state)


def _train_init() -> dict:
    torch.manual_seed(0)
    return _ConvNet().state_dict()


def test_compile_keeps_state_dict_keys_and_results(tmp_path):
    _, ref = _train(tmp_path, 'ref', {})
    # the 'eager' backend traces with dynamo but skips code generation: fast enough for CPU CI
    model, state = _train(tmp_path, 'compiled', dict(compile=dict(backend='eager')))
    assert model.generator._compiled_call_impl is not None
    assert getattr(model.data_preprocessor, '_compiled_call_impl', None) is None
    _assert_same_state(state, ref)  # same keys: checkpoints stay loadable without compile


def test_compile_rejects_unknown_keys():
    with pytest.raises(KeyError, match='mdoe'):
        compile_submodules(_ConvNet(), dict(mdoe='max-autotune'))


def test_sync_bn_conversion_and_cpu_fallback(caplog):
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm2d(2)))
    with torch.no_grad():
        net[1].running_mean.fill_(0.5)
    converted = convert_sync_batchnorm(net)
    kinds = [type(m).__name__ for m in converted.modules() if 'BatchNorm' in type(m).__name__]
    assert kinds == ['SyncBatchNorm', 'SyncBatchNorm']
    torch.testing.assert_close(converted[1].running_mean, torch.full((2,), 0.5))
    with pytest.raises(ValueError, match="sync_bn='torch'"):
        convert_sync_batchnorm(net, 'mmcv')
    # not distributed: the option is ignored with a warning, the model is unchanged
    plain = nn.Sequential(nn.BatchNorm2d(2))
    with caplog.at_level(logging.WARNING, logger='genforge.runner.speed'):
        out = apply_model_options(plain, Config(dict(sync_bn='torch')))
    assert type(out[0]) is nn.BatchNorm2d and 'sync_bn' in caplog.text


_FAILING = 'genforge_test_failing_backend'


def _register_failing_backend() -> list:
    """A torch.compile backend that raises, registered in dynamo's backend registry."""
    import torch._dynamo
    calls = []

    def failing(gm, example_inputs):
        calls.append(len(example_inputs))
        raise RuntimeError('fake backend: code generation failed')

    from torch._dynamo.backends.registry import _COMPILER_FNS
    _COMPILER_FNS.pop(_FAILING, None)  # re-registration in the same process
    torch._dynamo.register_backend(failing, name=_FAILING)
    return calls


def test_compile_with_a_failing_backend_falls_back_to_eager(tmp_path, caplog):
    calls = _register_failing_backend()
    torch._dynamo.reset()
    suppress = torch._dynamo.config.suppress_errors
    _, ref = _train(tmp_path, 'ref', {})
    with caplog.at_level(logging.WARNING, logger='genforge.runner.speed'):
        model, state = _train(tmp_path, 'failing', dict(compile=dict(backend=_FAILING)))
    assert calls, 'the failing backend was never asked to compile'
    assert 'could not be compiled' in caplog.text and 'generator' in caplog.text
    assert caplog.text.count('could not be compiled') == 1  # one warning, then eager for good
    assert 'fake backend: code generation failed' in model.generator.compile_fallback
    assert model.generator._compiled_call_impl is None
    _assert_same_state(state, ref)  # the eager fallback trains exactly like no compile
    assert torch._dynamo.config.suppress_errors == suppress  # process-wide setting untouched


def test_compile_fallback_false_raises_the_backend_error(tmp_path):
    _register_failing_backend()
    torch._dynamo.reset()
    model = _ConvNet()
    compile_submodules(model, dict(backend=_FAILING, fallback=False))
    with pytest.raises(Exception, match='fake backend: code generation failed'):
        model.generator(torch.randn(1, 2, 8, 8))


def test_compile_fallback_flag_stays_none_when_compilation_works():
    model = _ConvNet()
    compile_submodules(model, dict(backend='eager'))
    x = torch.randn(1, 2, 8, 8)
    out = model.generator(x)
    assert model.generator.compile_fallback is None
    assert model.generator._compiled_call_impl is not None
    torch.testing.assert_close(out, model.generator._call_impl(x))
