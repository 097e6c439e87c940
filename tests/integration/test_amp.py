"""Mixed precision end to end: ``genforge train --amp`` (bf16 on CPU) and fp32 regularisers.

``--amp`` picks bf16 on CPU only where the CPU runs it natively; these tests pretend it does
(so the bf16 path is tested on every machine) except the one that checks the fp32 fallback.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

import genforge.optim.amp as amp
from genforge.cli import main
from genforge.cli.train import enable_amp
from genforge.config import Config
from genforge.hooks import Hook
from genforge.models.losses import gradient_penalty_loss, r1_gradient_penalty_loss
from genforge.optim import AmpOptimWrapper, OptimWrapper
from genforge.registry import HOOKS

TINY_GAN = """
model = dict(
    type='{algo}', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=16,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8, default_norm_cfg=None){extra})
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=16))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=3)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None)
custom_hooks = [dict(type='AmpProbeHook')]
randomness = dict(seed=0)
"""


@pytest.fixture(autouse=True)
def _native_bf16(monkeypatch):
    monkeypatch.setattr(amp, 'cpu_has_native_bf16', lambda: True)


@HOOKS.register_module(force=True)
class AmpProbeHook(Hook):
    """Records the dtypes G and D compute in during training, and the optim wrappers used."""

    seen: dict = {}

    def before_train(self, runner) -> None:
        AmpProbeHook.seen = dict(dtypes={'generator': set(), 'discriminator': set()},
                                 wrappers={k: w for k, w in runner.optim_wrapper.items()},
                                 start={k: v.detach().clone()
                                        for k, v in runner.model.state_dict().items()})
        for name in ('generator', 'discriminator'):
            module = getattr(runner.model, name)
            module.register_forward_hook(
                lambda m, i, out, name=name: AmpProbeHook.seen['dtypes'][name].add(out.dtype))

    def after_train(self, runner) -> None:
        AmpProbeHook.seen['end'] = {k: v.detach().clone()
                                    for k, v in runner.model.state_dict().items()}


def _run_cli(tmp_path, algo: str, extra: str = '', amp: bool = True) -> dict:
    cfg = tmp_path / f'tiny_{algo.lower()}.py'
    cfg.write_text(TINY_GAN.format(algo=algo, extra=extra))
    args = ['train', str(cfg), '--work-dir', str(tmp_path / 'work')] + (['--amp'] if amp else [])
    assert main(args) == 0
    return AmpProbeHook.seen


def test_amp_switch_rewrites_every_wrapper(tmp_path):
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text(TINY_GAN.format(algo='DCGAN', extra='') +
                        "single = dict(optimizer=dict(type='SGD', lr=0.1))\n")
    cfg = Config.fromfile(str(cfg_file))
    enable_amp(cfg)
    for key in ('generator', 'discriminator'):
        assert cfg.optim_wrapper[key]['type'] == 'AmpOptimWrapper'
        assert cfg.optim_wrapper[key]['loss_scale'] == 'dynamic'
    cfg.optim_wrapper = cfg.single
    enable_amp(cfg)
    assert cfg.optim_wrapper['type'] == 'AmpOptimWrapper'


def test_train_amp_bf16_on_cpu_through_runner(tmp_path):
    seen = _run_cli(tmp_path, 'DCGAN')
    for key, wrapper in seen['wrappers'].items():
        assert isinstance(wrapper, AmpOptimWrapper), key
        assert wrapper.cast_dtype == torch.bfloat16
        assert not wrapper.loss_scaler.is_enabled()  # bf16 needs no loss scaling
    # G and D ran under autocast: their convs produced bf16 activations
    assert torch.bfloat16 in seen['dtypes']['generator']
    assert torch.bfloat16 in seen['dtypes']['discriminator']
    # master weights stay fp32, finite, and were updated
    for key, value in seen['end'].items():
        if value.is_floating_point():
            assert value.dtype == torch.float32, key
            assert torch.isfinite(value).all(), key
    moved = [k for k, v in seen['end'].items()
             if v.is_floating_point() and not torch.equal(v, seen['start'][k])]
    assert any(k.startswith('generator.') for k in moved)
    assert any(k.startswith('discriminator.') for k in moved)


def test_without_amp_flag_stays_fp32(tmp_path):
    seen = _run_cli(tmp_path, 'DCGAN', amp=False)
    assert all(type(w) is OptimWrapper for w in seen['wrappers'].values())
    assert seen['dtypes']['discriminator'] == {torch.float32}


def test_amp_flag_trains_in_fp32_on_a_cpu_without_native_bf16(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(amp, 'cpu_has_native_bf16', lambda: False)
    monkeypatch.setattr(amp, '_said', set())
    seen = _run_cli(tmp_path, 'DCGAN')
    assert all(isinstance(w, AmpOptimWrapper) and w.cast_dtype == torch.float32
               for w in seen['wrappers'].values())
    assert seen['dtypes']['discriminator'] == {torch.float32}
    assert seen['dtypes']['generator'] == {torch.float32}
    assert sum(amp.NO_BF16_MESSAGE in r.getMessage() for r in caplog.records) == 1


def test_wgan_gp_trains_under_amp(tmp_path):
    seen = _run_cli(tmp_path, 'WGANGP', extra=', loss_config=dict(gp_loss_weight=10)')
    assert torch.bfloat16 in seen['dtypes']['discriminator']
    # the gradient penalty re-ran D in fp32 inside the autocast region
    assert torch.float32 in seen['dtypes']['discriminator']
    assert all(torch.isfinite(v).all() for v in seen['end'].values() if v.is_floating_point())


class _LinearD(nn.Module):
    """D(x) = <w, x>: the input gradient is w for every sample, so penalties have closed forms."""

    def __init__(self, shape=(3, 4, 4)):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(int(torch.tensor(shape).prod()), 1, bias=False)
        self.shape = shape
        self.dtypes: list = []

    def forward(self, x):
        out = self.linear(x.flatten(1))
        self.dtypes.append(out.dtype)
        return out

    def w(self) -> torch.Tensor:
        return self.linear.weight.detach().double().reshape(self.shape)


@pytest.mark.parametrize('norm_mode', ['pixel', 'HWC'])
def test_penalties_run_in_fp32_inside_autocast(norm_mode):
    disc = _LinearD()
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    w = disc.w()
    if norm_mode == 'pixel':
        gp_ref = ((w.pow(2).sum(0).sqrt() - 1) ** 2).mean()
        r1_ref = w.pow(2).sum(0).mean()
    else:
        gp_ref = (w.pow(2).sum().sqrt() - 1) ** 2
        r1_ref = w.pow(2).sum()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert disc(real).dtype == torch.bfloat16  # autocast is really on for D
        disc.dtypes.clear()
        gp = gradient_penalty_loss(disc, real, fake, norm_mode=norm_mode)
        r1 = r1_gradient_penalty_loss(disc, real, norm_mode=norm_mode)
    assert disc.dtypes == [torch.float32, torch.float32]
    assert gp.dtype == torch.float32 and r1.dtype == torch.float32
    # bf16 would be off by ~1e-2 relative; fp32 matches the float64 closed form to ~1e-6
    torch.testing.assert_close(gp.double(), gp_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(r1.double(), r1_ref, rtol=1e-5, atol=1e-6)


def test_penalty_gradients_reach_discriminator_under_amp():
    disc = _LinearD()
    real = torch.randn(2, 3, 4, 4)
    wrapper = AmpOptimWrapper(dtype='bfloat16',
                              optimizer=torch.optim.SGD(disc.parameters(), lr=0.1))
    with wrapper.optim_context(disc):
        loss = r1_gradient_penalty_loss(disc, real, norm_mode='HWC')
    wrapper.backward(loss)
    # d/dw sum(w^2) = 2w, computed in fp32
    torch.testing.assert_close(disc.linear.weight.grad.double(),
                               2 * disc.w().reshape(1, -1), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
def test_fp16_amp_on_cuda_scales_loss_and_steps():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).cuda()
    ref = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1)).cuda()
    ref.load_state_dict(net.state_dict())
    wrapper = AmpOptimWrapper(dtype='float16', loss_scale=dict(init_scale=256.),
                              optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    assert wrapper.loss_scaler.is_enabled() and wrapper.loss_scaler.get_scale() == 256.
    x, y = torch.randn(4, 8, device='cuda'), torch.randn(4, 1, device='cuda')
    with wrapper.optim_context(net):
        out = net(x)
        assert out.dtype == torch.float16
        loss = ((out.float() - y) ** 2).mean()
    wrapper.update_params(loss)
    ref_loss = ((ref(x) - y) ** 2).mean()
    ref_loss.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    for a, b in zip(net.parameters(), ref.parameters()):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=1e-2, atol=1e-3)
