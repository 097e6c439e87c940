"""Diffusion maths against independent formulas: schedules, posterior, one reverse step."""
import math

import numpy as np
import pytest
import torch

from genforge.models.algorithms.diffusion_schedule import (
    GaussianDiffusionSchedule,
    UniformTimeStepSampler,
    cosine_beta_schedule,
    get_betas,
    linear_beta_schedule,
    space_timesteps,
)


def test_cosine_alpha_bar_is_the_closed_form():
    """ᾱ_t = f(t+1) / f(0), f(u) = cos²((u/T + s)/(1 + s) π/2): the product telescopes."""
    T, s = 1000, 0.008
    sched = GaussianDiffusionSchedule(cosine_beta_schedule(T))
    def f(u):
        return math.cos((u / T + s) / (1 + s) * math.pi / 2) ** 2
    for t in (0, 1, 10, 250, 500, 900, 990):
        assert sched.alphas_bar[t] == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert np.all(sched.betas <= 0.999) and sched.betas[-1] == 0.999  # clipped at the end


def test_linear_schedule_scales_with_T():
    betas = linear_beta_schedule(4000)
    assert betas[0] == pytest.approx(1e-4 / 4) and betas[-1] == pytest.approx(2e-2 / 4)
    assert np.allclose(np.diff(betas), (2e-2 - 1e-4) / 4 / 3999)
    with pytest.raises(ValueError, match="betas_cfg.type='quadratic'"):
        get_betas(dict(type='quadratic'), 10)
    with pytest.raises(ValueError, match='num_timesteps=6 gives betas in'):
        get_betas(dict(type='linear'), 6)  # 0.02 * 1000 / 6 > 1


def test_posterior_is_the_product_of_gaussians():
    """q(x_{t-1}|x_t,x_0) ∝ N(x_t; sqrt(α_t) x_{t-1}, β_t) N(x_{t-1}; sqrt(ᾱ_{t-1}) x_0, 1-ᾱ_{t-1}):
    precision and mean by completing the square."""
    sched = GaussianDiffusionSchedule(cosine_beta_schedule(50))
    x_0, x_t = torch.randn(3, 1, 2, 2, dtype=torch.float64), torch.randn(3, 1, 2, 2,
                                                                         dtype=torch.float64)
    t = torch.tensor([1, 20, 49])
    post = sched.q_posterior_mean_variance(x_0, x_t, t)
    for n, ti in enumerate(t.tolist()):
        a, ab_prev, beta = sched.alphas[ti], sched.alphas_bar[ti - 1], sched.betas[ti]
        precision = a / beta + 1 / (1 - ab_prev)
        mean = (math.sqrt(a) * x_t[n] / beta + math.sqrt(ab_prev) * x_0[n] / (1 - ab_prev)) \
            / precision
        assert torch.allclose(post['mean_posterior'][n], mean, atol=1e-10)
        assert post['var_posterior'][n].item() == pytest.approx(1 / precision, rel=1e-10)
        assert post['logvar_posterior'][n].item() == pytest.approx(math.log(1 / precision))


def test_q_sample_moments():
    sched = GaussianDiffusionSchedule(linear_beta_schedule(100))
    torch.manual_seed(0)
    x_0 = torch.full((20000, 1), 0.7)
    t = torch.full((20000,), 60)
    x_t = sched.q_sample(x_0, t, torch.randn_like(x_0))
    ab = np.prod(1 - linear_beta_schedule(100)[:61])
    assert x_t.mean().item() == pytest.approx(0.7 * math.sqrt(ab), abs=0.02)
    assert x_t.var().item() == pytest.approx(1 - ab, abs=0.02)


def test_one_reverse_step_on_known_eps():
    """DDPM Eq. 11: x_{t-1} = (x_t - β_t/sqrt(1-ᾱ_t) ε)/sqrt(α_t) + sqrt(tilde β_t) z (the
    mean through x_0 and the posterior is algebraically the same)."""
    sched = GaussianDiffusionSchedule(cosine_beta_schedule(30))
    x_t, eps, z = (torch.randn(2, 3, 4, 4, dtype=torch.float64) for _ in range(3))
    t = torch.tensor([7, 29])
    p = sched.p_mean_variance(dict(eps_t_pred=eps), x_t, t, 'eps', 'fixed_small',
                              clip_denoised=False)
    got = p['mean_pred'] + p['var_pred'].sqrt() * z
    for n, ti in enumerate(t.tolist()):
        beta, a, ab = sched.betas[ti], sched.alphas[ti], sched.alphas_bar[ti]
        tilde = beta * (1 - sched.alphas_bar[ti - 1]) / (1 - ab)
        want = (x_t[n] - beta / math.sqrt(1 - ab) * eps[n]) / math.sqrt(a) + math.sqrt(tilde) * z[n]
        assert torch.allclose(got[n], want, atol=1e-10)


def test_learned_range_interpolates_log_variance():
    sched = GaussianDiffusionSchedule(cosine_beta_schedule(30))
    x, t = torch.zeros(2, 1, 1, 1, dtype=torch.float64), torch.tensor([0, 12])
    lo = sched.p_variance(dict(factor=torch.zeros_like(x)), 'learned_range', x, t)[1]
    hi = sched.p_variance(dict(factor=torch.ones_like(x)), 'learned_range', x, t)[1]
    mid = sched.p_variance(dict(factor=torch.full_like(x, 0.5)), 'learned_range', x, t)[1]
    tilde = sched.betas * (1 - np.append(1, sched.alphas_bar[:-1])) / (1 - sched.alphas_bar)
    assert lo[1].item() == pytest.approx(math.log(tilde[12]))
    assert lo[0].item() == pytest.approx(math.log(tilde[1]))  # t=0 clipped to tilde β_1
    assert hi[1].item() == pytest.approx(math.log(sched.betas[12]))
    assert mid[1].item() == pytest.approx(0.5 * (math.log(tilde[12]) + math.log(sched.betas[12])))


def test_space_timesteps():
    assert space_timesteps(1000, 'ddim25') == list(range(0, 1000, 40))
    kept = space_timesteps(4000, 50)
    assert len(kept) == 50 and kept[0] == 0 and kept[-1] == 3999
    # 50 + round(24.5) = 74: Python's half-to-even rounding, as in Improved DDPM
    assert space_timesteps(100, [2, 3]) == [0, 49, 50, 74, 99]
    with pytest.raises(ValueError, match='no integer stride'):
        space_timesteps(10, 'ddim7')
    with pytest.raises(ValueError, match='cannot take 30 steps'):
        space_timesteps(20, 30)


def test_respaced_chain_keeps_alpha_bar_at_kept_steps():
    full = GaussianDiffusionSchedule(cosine_beta_schedule(200))
    kept = space_timesteps(200, 10)
    short = full.respace(kept)
    assert short.num_timesteps == 10 and short.timestep_map == kept
    assert np.allclose(np.cumprod(1 - short.betas), full.alphas_bar[kept], rtol=1e-12)
    assert short.model_timesteps(torch.tensor([0, 9])).tolist() == [kept[0], kept[9]]


def test_uniform_timestep_sampler():
    torch.manual_seed(0)
    t = UniformTimeStepSampler(4)(4000)
    assert t.dtype == torch.long and t.min() == 0 and t.max() == 3
    counts = torch.bincount(t).float() / 4000
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.03)
