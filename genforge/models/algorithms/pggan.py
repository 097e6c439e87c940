"""ProgressiveGrowingGAN (PGGAN): WGAN-GP trained resolution by resolution, each new one faded in.

Schedule: ``nkimgs_per_scale={'4': 600, '8': 1200, ...}`` (thousands of real images shown per
resolution). Within a resolution after the first, the newest layers fade in over
``transition_kimgs``: ``transition_weight = clip((shown_nkimg - start) / transition_kimgs, 0,
1)`` with ``start`` the cumulative schedule (MMagic measures from the first iteration of the
stage, at most one batch later; computing it from the schedule makes a resumed run exact
without any state beyond the buffers below).

State (buffers, MMagic's names): ``shown_nkimg``, ``_curr_transition_weight`` (last used),
``_next_scale_int`` (scale of the next iteration, read by PGGANFetchDataHook),
``_curr_scale_int`` (scale of the last iteration; sampling uses it).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.dist import get_world_size
from genforge.models.archs.pggan import pggan_log2_scale
from genforge.registry import MODELS

from .base_gan import BaseGAN, ModelType


def _parse_schedule(nkimgs_per_scale: dict, max_scale: int) -> tuple[list, list]:
    if not isinstance(nkimgs_per_scale, dict) or not nkimgs_per_scale:
        raise ValueError(f"model.nkimgs_per_scale must be a dict like {{'4': 600, '8': 1200}}, "
                         f'got {nkimgs_per_scale!r}')
    scales, nkimgs = [], []
    for key, value in nkimgs_per_scale.items():
        size = (int(key), int(key)) if isinstance(key, (str, int)) else tuple(int(k) for k in key)
        pggan_log2_scale(size[0], max_scale, f'model.nkimgs_per_scale key {key!r}')
        if scales and size[0] <= scales[-1][0]:
            raise ValueError(f'model.nkimgs_per_scale: scales must increase, got {key!r} after '
                             f'{scales[-1][0]}')
        scales.append(size)
        nkimgs.append(float(value))
    return scales, nkimgs


@MODELS.register_module(name=['ProgressiveGrowingGAN', 'PGGAN'])
class ProgressiveGrowingGAN(BaseGAN):
    """PGGAN algorithm: one optimizer pair per resolution (``generator_{s}`` /
    ``discriminator_{s}``, see PGGANOptimWrapperConstructor), WGAN-GP loss plus drift penalty.

    Sampling ``inputs`` may give ``curr_scale`` and ``transition_weight``; by default the last
    trained scale and weight are used.

    Example: dict(type='ProgressiveGrowingGAN', noise_size=512,
                  data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='PGGANGenerator', out_scale=128),
                  discriminator=dict(type='PGGANDiscriminator', in_scale=128),
                  nkimgs_per_scale={'4': 600, '8': 1200, '16': 1200, '32': 1200, '64': 1200,
                                    '128': 12000},
                  transition_kimgs=600, ema_config=dict(interval=1))
    """

    def __init__(self, generator: ModelType, discriminator: ModelType,
                 data_preprocessor: dict | nn.Module | None, nkimgs_per_scale: dict,
                 noise_size: int | None = None, interp_real: dict | None = None,
                 transition_kimgs: int = 600, prev_stage: int = 0,
                 ema_config: dict | None = None):
        super().__init__(generator, discriminator, data_preprocessor, 1, 1, noise_size,
                         ema_config)
        self.scales, self.nkimgs = _parse_schedule(nkimgs_per_scale, self.network_max_scale())
        self.cum_nkimgs = np.cumsum(self.nkimgs)
        self.transition_kimgs = transition_kimgs
        self.prev_stage = prev_stage  # MMagic argument; stages are derived from shown_nkimg
        self.interp_real = dict(interp_real or dict(mode='bilinear', align_corners=True))
        self.register_buffer('shown_nkimg', torch.tensor(0.))
        self.register_buffer('_curr_transition_weight', torch.tensor(1.))
        self.register_buffer('_next_scale_int', torch.tensor(self.scales[0][0],
                                                             dtype=torch.int32))
        # MMagic starts this at the largest scale so an untrained model samples at full size
        self.register_buffer('_curr_scale_int', torch.tensor(self.scales[-1][0],
                                                             dtype=torch.int32))

    # -- schedule -------------------------------------------------------------------------
    def network_max_scale(self) -> int:
        """The largest resolution both networks can produce / judge (subclasses with other
        networks override this)."""
        return min(self.generator.out_scale, self.discriminator.in_scale)

    def stage_of(self, shown_nkimg: float) -> int:
        """Index of the resolution trained after ``shown_nkimg`` thousand images."""
        return int(min(np.sum(self.cum_nkimgs <= shown_nkimg), len(self.scales) - 1))

    def transition_weight_of(self, shown_nkimg: float, stage: int) -> float:
        if stage == 0:
            return 1.
        weight = (shown_nkimg - self.cum_nkimgs[stage - 1]) / self.transition_kimgs
        return float(min(max(weight, 0.), 1.))

    @property
    def curr_scale(self) -> tuple[int, int]:
        """The (H, W) of the current iteration (the last one outside training)."""
        size = int(self._curr_scale_int)
        return (size, size)

    def check_scale(self, scale: int, key: str = 'curr_scale') -> int:
        if scale not in [s[0] for s in self.scales]:
            raise ValueError(f'{key}={scale} is outside the schedule: model.nkimgs_per_scale has '
                             f'{[s[0] for s in self.scales]}')
        return scale

    # -- networks at the current scale ----------------------------------------------------
    def _fit_real(self, imgs: Tensor) -> Tensor:
        """Real images bigger than the current scale are resized down (bilinear)."""
        size = self.curr_scale
        if tuple(imgs.shape[-2:]) == size:
            return imgs
        if imgs.shape[-2] < size[0] or imgs.shape[-1] < size[1]:
            raise ValueError(f'{type(self).__name__}: real images {tuple(imgs.shape[-2:])} are '
                             f'smaller than the current scale {size}; serve larger images '
                             f'(train_dataloader.dataset.data_roots)')
        return F.interpolate(imgs, size=size, **self.interp_real)

    def generate(self, num_batches: int, labels: Any = None) -> tuple[Tensor, None]:
        noise = self.noise_fn(num_batches=num_batches)
        fake = self.generator(noise, curr_scale=self.curr_scale[0],
                              transition_weight=self._curr_transition_weight)
        return fake, None

    def discriminate(self, imgs: Tensor, labels: Any = None) -> Tensor:
        return self.discriminator(self._fit_real(imgs), curr_scale=self.curr_scale[0],
                                  transition_weight=self._curr_transition_weight)

    # -- losses ---------------------------------------------------------------------------
    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """WGAN loss + gradient penalty (10, per-sample L2 over C*H*W) + drift 0.001 * 0.5 *
        (D(fake)^2 + D(real)^2)."""
        pred_fake, pred_real = outputs['disc_pred_fake'], outputs['disc_pred_real']
        real = self._fit_real(outputs['real_imgs'])
        fake = outputs['fake_imgs'].detach()
        alpha = torch.rand(real.shape[0], 1, 1, 1).to(real)
        interp = (alpha * real + (1. - alpha) * fake).requires_grad_(True)
        scores = self.discriminate(interp)
        grads = torch.autograd.grad(scores, interp, torch.ones_like(scores), create_graph=True,
                                    retain_graph=True, only_inputs=True)[0]
        penalty = ((grads.reshape(real.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
        losses = dict(loss_disc_fake=pred_fake.mean(), loss_disc_real=-pred_real.mean(),
                      loss_gp=10 * penalty,
                      loss_disc_shift=0.001 * 0.5 * (pred_fake ** 2 + pred_real ** 2))
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        return self.parse_losses(dict(loss_gen=-outputs['disc_pred_fake_g'].mean()))

    # -- training -------------------------------------------------------------------------
    @staticmethod
    def _batch_size(data: dict) -> int:
        samples = data.get('data_samples')
        if samples is not None and len(samples):
            return len(samples)
        inputs = data.get('inputs')
        if isinstance(inputs, dict):
            inputs = next(v for v in inputs.values() if isinstance(v, (Tensor, list)))
        return inputs.shape[0] if isinstance(inputs, Tensor) else len(inputs)

    def _begin_iteration(self) -> int:
        """Set the scale and fade-in weight of this iteration from ``shown_nkimg``."""
        shown = self.shown_nkimg.item()
        stage = self.stage_of(shown)
        self._curr_scale_int.copy_(self._next_scale_int)
        if self.curr_scale != self.scales[stage]:
            raise RuntimeError(f'PGGAN: _next_scale_int={int(self._next_scale_int)} disagrees '
                               f'with shown_nkimg={shown:.3f} (stage {stage}, scale '
                               f'{self.scales[stage][0]}); was nkimgs_per_scale changed since '
                               f'the checkpoint?')
        self._curr_transition_weight.fill_(self.transition_weight_of(shown, stage))
        return stage

    def _end_iteration(self, stage: int, batch_size: int) -> None:
        self.shown_nkimg += batch_size * get_world_size() / 1000.
        next_stage = self.stage_of(self.shown_nkimg.item())
        if next_stage != stage:  # the next iteration trains (and loads data at) a new scale
            self._next_scale_int.fill_(self.scales[next_stage][0])

    def train_step(self, data: dict, optim_wrapper) -> dict[str, Tensor]:
        """Pick this scale's optimizers, run BaseGAN's D/G steps, count the shown images."""
        stage = self._begin_iteration()
        scale = self.curr_scale[0]
        wrappers = {name: optim_wrapper[f'{name}_{scale}']
                    for name in ('generator', 'discriminator')}
        from genforge.optim import OptimWrapperDict
        log_vars = super().train_step(data, OptimWrapperDict(**wrappers))
        self._end_iteration(stage, self._batch_size(data))
        log_vars.update(shown_nkimg=self.shown_nkimg.item(), curr_scale=scale,
                        transition_weight=self._curr_transition_weight.item())
        return log_vars

    # -- sampling -------------------------------------------------------------------------
    def _sample_scale(self, inputs: Any) -> tuple[int, float]:
        opts = inputs if isinstance(inputs, dict) else {}
        scale = opts.get('curr_scale')
        scale = self.curr_scale[0] if scale is None else self.check_scale(int(scale))
        weight = opts.get('transition_weight')
        weight = self._curr_transition_weight.item() if weight is None else float(weight)
        return scale, weight

    def forward(self, inputs: Any, data_samples: Any = None, mode: str | None = None) -> list:
        """Samples at ``inputs['curr_scale']`` / ``['transition_weight']`` (default: last
        trained); otherwise as BaseGAN.forward."""
        scale, weight = self._sample_scale(inputs)
        noise, sample_kwargs = self._sample_inputs(inputs, data_samples)
        sample_model = self._get_valid_model(inputs)
        models = {'ema': getattr(self, 'generator_ema', None), 'orig': self.generator}
        names = ['ema', 'orig'] if sample_model == 'ema/orig' else [sample_model]
        fakes = {name: self._generate(models[name], noise, sample_kwargs, data_samples,
                                      curr_scale=scale, transition_weight=weight)
                 for name in names}
        return self._pack_samples(inputs, data_samples, noise, sample_model, sample_kwargs,
                                  fakes)


__all__ = ['ProgressiveGrowingGAN']
