"""DDPM losses against torch.distributions / scipy, quartile logs against a loop."""
import math

import pytest
import torch
from scipy.stats import norm
from torch.distributions import Normal, kl_divergence

import genforge.models  # noqa: F401
from genforge.models.losses.ddpm_loss import discretized_gaussian_log_likelihood, normal_kl
from genforge.registry import MODELS


def test_normal_kl_matches_torch_distributions():
    torch.manual_seed(0)
    m1, m2, lv1, lv2 = (torch.randn(50, dtype=torch.float64) for _ in range(4))
    want = kl_divergence(Normal(m1, (0.5 * lv1).exp()), Normal(m2, (0.5 * lv2).exp()))
    assert torch.allclose(normal_kl(m1, lv1, m2, lv2), want, atol=1e-12)


def test_discretized_log_likelihood_matches_scipy_cdf():
    """P(bin) by the exact normal CDF; the tanh approximation is within ~1e-3 (relative)."""
    x = torch.tensor([-1., -0.5, 0., 127 / 127.5 - 1, 0.25, 1.], dtype=torch.float64)
    mean = torch.tensor([-0.9, -0.45, 0.05, 0., 0.3, 0.95], dtype=torch.float64)
    logvar = torch.log(torch.tensor([0.01, 0.05, 0.02, 0.1, 0.03, 0.02], dtype=torch.float64))
    got = discretized_gaussian_log_likelihood(x, mean, logvar)
    for i in range(len(x)):
        xi, mi, si = x[i].item(), mean[i].item(), math.exp(0.5 * logvar[i].item())
        upper = 1.0 if xi > 0.999 else norm.cdf((xi + 1 / 255 - mi) / si)
        lower = 0.0 if xi < -0.999 else norm.cdf((xi - 1 / 255 - mi) / si)
        assert got[i].item() == pytest.approx(math.log(upper - lower), rel=2e-3, abs=2e-3)


def _outputs(n=6):
    torch.manual_seed(1)
    shape = (n, 1, 4, 4)
    return dict(timesteps=torch.tensor([0, 0, 3, 7, 12, 15])[:n],
                real_imgs=torch.rand(shape) * 2 - 1,
                mean_pred=torch.randn(shape, requires_grad=True),
                logvar_pred=(torch.randn(shape) - 3).requires_grad_(),
                mean_posterior=torch.randn(shape), logvar_posterior=torch.randn(shape) - 3,
                eps_t_pred=torch.randn(shape, requires_grad=True), noise=torch.randn(shape))


def test_vlb_uses_nll_at_t0_and_kl_elsewhere_in_bits():
    out = _outputs()
    loss_fn = MODELS.build(dict(type='DDPMVLBLoss', reduction='none'))
    loss = loss_fn(out)
    for n, t in enumerate(out['timesteps'].tolist()):
        if t == 0:
            ll = discretized_gaussian_log_likelihood(out['real_imgs'][n], out['mean_pred'][n],
                                                     out['logvar_pred'][n])
            want = -ll.mean() / math.log(2)
        else:
            p = Normal(out['mean_pred'][n], (0.5 * out['logvar_pred'][n]).exp())
            q = Normal(out['mean_posterior'][n], (0.5 * out['logvar_posterior'][n]).exp())
            want = kl_divergence(q, p).mean() / math.log(2)
        assert loss[n].item() == pytest.approx(want.item(), rel=1e-5)
    # the bound trains the variance only: no gradient reaches the predicted mean
    loss.sum().backward()
    assert out['mean_pred'].grad is None
    assert out['logvar_pred'].grad.abs().sum() > 0


def test_mse_and_constant_rescale():
    out = _outputs()
    mse = MODELS.build(dict(type='DDPMMSELoss'))
    want = ((out['eps_t_pred'] - out['noise']) ** 2).mean()
    assert mse(out).item() == pytest.approx(want.item(), rel=1e-6)
    scaled = MODELS.build(dict(type='DDPMMSELoss', rescale_mode='constant',
                               rescale_cfg=dict(scale=4.)))
    assert scaled(out).item() == pytest.approx(4 * want.item(), rel=1e-6)


def test_quartile_and_name_logs():
    out = _outputs()
    vlb = MODELS.build(dict(type='DDPMVLBLoss', rescale_mode='constant',
                            rescale_cfg=dict(scale=100.),
                            log_cfgs=[dict(type='quartile', prefix_name='loss_vlb',
                                           total_timesteps=16), dict(type='name')]))
    _, logs = vlb.forward_with_logs(out)
    per_sample = MODELS.build(dict(type='DDPMVLBLoss', reduction='none'))(out).detach()
    groups = {}
    for t, value in zip(out['timesteps'].tolist(), per_sample.tolist()):
        groups.setdefault(t * 4 // 16, []).append(value)  # logs are before rescaling
    for q, values in groups.items():
        assert logs[f'loss_vlb_quartile_{q}'].item() == pytest.approx(sum(values) / len(values))
    assert set(groups) == {0, 1, 3} and 'loss_vlb_quartile_2' not in logs  # empty quarter
    assert logs['loss_DiscGaussianLogLikelihood'].item() == pytest.approx(
        per_sample[:2].mean().item())
    assert logs['loss_GaussianKLD'].item() == pytest.approx(per_sample[2:].mean().item())


def test_bad_loss_configs():
    with pytest.raises(ValueError, match="log_cfgs type='decile'"):
        MODELS.build(dict(type='DDPMMSELoss', log_cfgs=dict(type='decile')))
    with pytest.raises(ValueError, match="prefix_name='mse' must start with 'loss'"):
        MODELS.build(dict(type='DDPMMSELoss', log_cfgs=dict(type='quartile', prefix_name='mse',
                                                            total_timesteps=4)))
    with pytest.raises(KeyError, match='rescale_cfg=dict\\(scale'):
        MODELS.build(dict(type='DDPMVLBLoss', rescale_mode='constant'))
    with pytest.raises(KeyError, match="data_info names \\['eps'\\]"):
        MODELS.build(dict(type='DDPMMSELoss', data_info=dict(pred='eps', target='noise')))(
            _outputs())
