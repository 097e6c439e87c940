"""Gaussian diffusion maths: beta schedules, q(x_t | x_0), the posterior, p(x_{t-1} | x_t),
timestep respacing and the uniform timestep sampler (Ho et al. 2020; Nichol & Dhariwal 2021).

Tables are float64 NumPy arrays (exact, and independent of the ``torch.device`` the model is
built under); lookups return ``(N, 1, 1, 1)`` tensors in the dtype/device of the image.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from genforge.registry import MODELS

__all__ = ['linear_beta_schedule', 'cosine_beta_schedule', 'get_betas', 'space_timesteps',
           'GaussianDiffusionSchedule', 'UniformTimeStepSampler']


def linear_beta_schedule(num_timesteps: int, beta_0: float = 1e-4,
                         beta_T: float = 2e-2) -> np.ndarray:  # noqa: N803 (MMGeneration name)
    """Ho et al.'s linear betas, scaled by 1000 / T so any T gives the same total noise."""
    scale = 1000 / num_timesteps
    return np.linspace(scale * beta_0, scale * beta_T, num_timesteps, dtype=np.float64)


def cosine_beta_schedule(num_timesteps: int, max_beta: float = 0.999,
                         s: float = 0.008) -> np.ndarray:
    """Betas of ᾱ(t) = cos²((t/T + s) / (1 + s) · π/2): β_t = 1 - ᾱ(t+1)/ᾱ(t), clipped."""
    def alpha_bar(t: np.ndarray) -> np.ndarray:
        return np.cos((t / num_timesteps + s) / (1 + s) * np.pi / 2) ** 2
    t = np.arange(num_timesteps, dtype=np.float64)
    return np.minimum(1 - alpha_bar(t + 1) / alpha_bar(t), max_beta)


def get_betas(betas_cfg: dict, num_timesteps: int) -> np.ndarray:
    """``betas_cfg=dict(type='linear'|'cosine', **schedule args)`` -> betas (T,)."""
    cfg = dict(betas_cfg)
    kind = cfg.pop('type', None)
    fns = {'linear': linear_beta_schedule, 'cosine': cosine_beta_schedule}
    if kind not in fns:
        raise ValueError(f"model.betas_cfg.type={kind!r}: use 'linear' or 'cosine'")
    betas = fns[kind](num_timesteps, **cfg)
    if not (np.all(betas > 0) and np.all(betas < 1)):
        raise ValueError(f'model.betas_cfg={dict(betas_cfg)} with num_timesteps={num_timesteps} '
                         f'gives betas in [{betas.min():.3g}, {betas.max():.3g}], outside (0, 1); '
                         f"the linear schedule scales by 1000/T: use more steps or type='cosine'")
    return betas


def space_timesteps(num_timesteps: int, section_counts: int | str | list[int]) -> list[int]:
    """Timesteps kept by a respaced chain (Improved DDPM's ``space_timesteps``).

    ``section_counts``: an int N (N steps spread evenly over [0, T-1], ends included), a list
    ``[n_1, ..., n_k]`` (the range cut in k equal parts, n_i steps in part i), a string of
    comma-separated counts, or ``'ddimN'`` (a constant integer stride giving exactly N steps).
    """
    if isinstance(section_counts, str):
        if section_counts.startswith('ddim'):
            wanted = int(section_counts[len('ddim'):])
            for stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, stride)) == wanted:
                    return list(range(0, num_timesteps, stride))
            raise ValueError(f'timestep respacing {section_counts!r}: no integer stride gives '
                             f'exactly {wanted} of {num_timesteps} steps')
        section_counts = [int(x) for x in section_counts.split(',')]
    if isinstance(section_counts, int):
        section_counts = [section_counts]
    size_per, extra = divmod(num_timesteps, len(section_counts))
    start, kept = 0, []
    for i, count in enumerate(section_counts):
        size = size_per + (1 if i < extra else 0)
        if not 1 <= count <= size:
            raise ValueError(f'timestep respacing: cannot take {count} steps from a section of '
                             f'{size} (num_timesteps={num_timesteps}); use 1..{size}')
        stride = (size - 1) / (count - 1) if count > 1 else 1
        kept += [start + round(stride * j) for j in range(count)]
        start += size
    return sorted(set(kept))


class GaussianDiffusionSchedule:
    """The coefficient tables of one diffusion chain and the Gaussian maths over them.

    ``timestep_map[i]`` is the index of step i in the original chain (what the network sees);
    identity for the full chain, the kept steps for a respaced one.
    """

    def __init__(self, betas: np.ndarray, timestep_map: list[int] | None = None):
        self.betas = np.asarray(betas, dtype=np.float64)
        self.num_timesteps = len(self.betas)
        if self.num_timesteps < 2:
            raise ValueError(f'a diffusion chain needs at least 2 timesteps, got '
                             f'{self.num_timesteps} (timestep_respacing / --steps >= 2)')
        self.timestep_map = list(range(self.num_timesteps)) if timestep_map is None \
            else list(timestep_map)
        self.alphas = 1.0 - self.betas
        self.alphas_bar = np.cumprod(self.alphas)
        self.alphas_bar_prev = np.append(1.0, self.alphas_bar[:-1])
        self.sqrt_alphas_bar = np.sqrt(self.alphas_bar)
        self.sqrt_one_minus_alphas_bar = np.sqrt(1.0 - self.alphas_bar)
        self.log_one_minus_alphas_bar = np.log(1.0 - self.alphas_bar)
        self.sqrt_recip_alphas_bar = np.sqrt(1.0 / self.alphas_bar)
        self.sqrt_recipm1_alphas_bar = np.sqrt(1.0 / self.alphas_bar - 1)
        # posterior q(x_{t-1} | x_t, x_0) = N(coef1 x_0 + coef2 x_t, tilde_beta_t)
        self.tilde_betas_t = self.betas * (1 - self.alphas_bar_prev) / (1 - self.alphas_bar)
        # tilde_beta_0 = 0: its log is replaced by tilde_beta_1's
        self.log_tilde_betas_t_clipped = np.log(np.append(self.tilde_betas_t[1],
                                                          self.tilde_betas_t[1:]))
        self.tilde_mu_t_coef1 = np.sqrt(self.alphas_bar_prev) * self.betas / (1 - self.alphas_bar)
        self.tilde_mu_t_coef2 = np.sqrt(self.alphas) * (1 - self.alphas_bar_prev) \
            / (1 - self.alphas_bar)
        self.log_betas = np.log(self.betas)
        # fixed_large: beta_t, with tilde_beta_1 at t=0 (a better log-likelihood than beta_0)
        self.log_betas_large = np.log(np.append(self.tilde_betas_t[1], self.betas[1:]))
        self._tensors: dict = {}  # (table name, device) -> tensor: one upload per device

    def respace(self, use_timesteps: list[int]) -> GaussianDiffusionSchedule:
        """A shorter chain through ``use_timesteps`` with the same ᾱ at the kept steps:
        β'_i = 1 - ᾱ_{s_i} / ᾱ_{s_{i-1}}."""
        kept = sorted(set(int(t) for t in use_timesteps))
        if not kept or kept[0] < 0 or kept[-1] >= self.num_timesteps:
            raise ValueError(f'use_timesteps must lie in [0, {self.num_timesteps - 1}], got '
                             f'{kept[:3]}...{kept[-3:]}')
        betas, last = [], 1.0
        for t in kept:
            betas.append(1 - self.alphas_bar[t] / last)
            last = self.alphas_bar[t]
        return GaussianDiffusionSchedule(np.array(betas), [self.timestep_map[t] for t in kept])

    def gather(self, name: str, t: Tensor, x: Tensor) -> Tensor:
        """``self.<name>[t]`` as an (N, 1, ..., 1) tensor broadcastable to ``x`` (its dtype)."""
        key = (name, t.device)
        if key not in self._tensors:
            self._tensors[key] = torch.from_numpy(getattr(self, name)).to(t.device)
        values = self._tensors[key][t.long()].to(x.dtype)
        return values.reshape(-1, *([1] * (x.ndim - 1))).to(x.device)

    def model_timesteps(self, t: Tensor) -> Tensor:
        """Indices of the original chain the network was trained on."""
        key = ('timestep_map', t.device)
        if key not in self._tensors:
            self._tensors[key] = torch.tensor(self.timestep_map, device=t.device)
        return self._tensors[key][t.long()]

    # -- forward process ------------------------------------------------------------------
    def q_sample(self, x_0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) ε."""
        return self.gather('sqrt_alphas_bar', t, x_0) * x_0 \
            + self.gather('sqrt_one_minus_alphas_bar', t, x_0) * noise

    def q_mean_log_variance(self, x_0: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log variance of q(x_t | x_0)."""
        return self.gather('sqrt_alphas_bar', t, x_0) * x_0, \
            self.gather('log_one_minus_alphas_bar', t, x_0)

    def q_posterior_mean_variance(self, x_0: Tensor, x_t: Tensor, t: Tensor) -> dict:
        """q(x_{t-1} | x_t, x_0): ``mean_posterior``, ``var_posterior``, ``logvar_posterior``."""
        mean = self.gather('tilde_mu_t_coef1', t, x_t) * x_0 \
            + self.gather('tilde_mu_t_coef2', t, x_t) * x_t
        return dict(mean_posterior=mean, var_posterior=self.gather('tilde_betas_t', t, x_t),
                    logvar_posterior=self.gather('log_tilde_betas_t_clipped', t, x_t))

    def pred_x_0_from_eps(self, eps: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """x_0 = (x_t - sqrt(1 - ᾱ_t) ε) / sqrt(ᾱ_t)."""
        return self.gather('sqrt_recip_alphas_bar', t, x_t) * x_t \
            - self.gather('sqrt_recipm1_alphas_bar', t, x_t) * eps

    def pred_x_0_from_x_tm1(self, x_tm1: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Invert the posterior mean: x_0 = (μ - coef2 x_t) / coef1."""
        return (x_tm1 - self.gather('tilde_mu_t_coef2', t, x_t) * x_t) \
            / self.gather('tilde_mu_t_coef1', t, x_t)

    # -- reverse process ------------------------------------------------------------------
    def p_variance(self, output: dict, var_mode: str, x_t: Tensor, t: Tensor
                   ) -> tuple[Tensor, Tensor]:
        """(var, logvar) of p(x_{t-1} | x_t) for the network's variance mode."""
        mode = var_mode.upper()
        if mode == 'LEARNED':
            logvar = output['log_var']
        elif mode == 'LEARNED_RANGE':
            # interpolate in log space between tilde_beta_t (lower) and beta_t (upper)
            lower = self.gather('log_tilde_betas_t_clipped', t, x_t)
            upper = self.gather('log_betas', t, x_t)
            logvar = output['factor'] * upper + (1 - output['factor']) * lower
        elif mode == 'FIXED_LARGE':
            logvar = self.gather('log_betas_large', t, x_t).expand_as(x_t)
        elif mode == 'FIXED_SMALL':
            logvar = self.gather('log_tilde_betas_t_clipped', t, x_t).expand_as(x_t)
        else:
            raise ValueError(f'unknown variance mode {var_mode!r}')
        var = self.gather('tilde_betas_t', t, x_t).expand_as(x_t) if mode == 'FIXED_SMALL' \
            else torch.exp(logvar)
        return var, logvar

    def p_mean_variance(self, output: dict, x_t: Tensor, t: Tensor, mean_mode: str,
                        var_mode: str, clip_denoised: bool = True) -> dict:
        """``var_pred``, ``logvar_pred``, ``mean_pred`` and ``x_0_pred`` of p(x_{t-1} | x_t)
        from the network output (``eps_t_pred`` | ``x_0_pred`` | ``x_tm1_pred``)."""
        var, logvar = self.p_variance(output, var_mode, x_t, t)
        mode = mean_mode.upper()
        if mode == 'EPS':
            x_0 = self.pred_x_0_from_eps(output['eps_t_pred'], x_t, t)
        elif mode == 'START_X':
            x_0 = output['x_0_pred']
        elif mode == 'PREVIOUS_X':
            x_0 = self.pred_x_0_from_x_tm1(output['x_tm1_pred'], x_t, t)
        else:
            raise ValueError(f'unknown mean mode {mean_mode!r}')
        x_0 = x_0.clamp(-1, 1) if clip_denoised else x_0
        if mode == 'PREVIOUS_X':
            mean = output['x_tm1_pred']
        else:
            # x_0 -> posterior mean (Eq. 7), as Improved DDPM does for eps too
            mean = self.q_posterior_mean_variance(x_0, x_t, t)['mean_posterior']
        return dict(var_pred=var, logvar_pred=logvar, mean_pred=mean, x_0_pred=x_0)


@MODELS.register_module()
class UniformTimeStepSampler:
    """Training timesteps drawn uniformly from [0, num_timesteps) (torch's global RNG, so a
    resumed run draws the same ones).

    Example: timestep_sampler=dict(type='UniformTimeStepSampler')
    """

    def __init__(self, num_timesteps: int):
        self.num_timesteps = num_timesteps

    @property
    def weight(self) -> Tensor:
        """Per-timestep loss weight (uniform), read by ``rescale_mode='timestep_weight'``."""
        return torch.full((self.num_timesteps,), 1. / self.num_timesteps, device='cpu')

    def sample(self, batch_size: int) -> Tensor:
        """(batch_size,) int64 timesteps."""
        return torch.randint(0, self.num_timesteps, (batch_size,))

    def __call__(self, batch_size: int) -> Tensor:
        return self.sample(batch_size)

