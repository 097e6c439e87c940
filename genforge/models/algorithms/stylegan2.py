"""StyleGAN2: non-saturating logistic loss with lazy R1 and path-length regularisation.

BaseGAN runs the D/G steps; this class only defines the losses (and how fakes are sampled).
Lazy regularisation (Karras et al. 2020, appendix B): R1 is added every ``r1_interval``
iterations with its weight already multiplied by the interval in MMagic's configs
(``r1_loss_weight=10 / 2 * 16``), the path-length penalty every ``g_reg_interval``.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.models.losses.gradient_penalty import r1_gradient_penalty_loss
from genforge.models.losses.path_regularizer import gen_path_regularizer
from genforge.models.wrappers import is_model_wrapper
from genforge.registry import MODELS

from .base_gan import BaseGAN

__all__ = ['StyleGAN2']

ModelType = dict | nn.Module

# loss_config keys and MMagic's defaults
LOSS_DEFAULTS = dict(r1_loss_weight=80., r1_interval=16, norm_mode='pixel', r1_use_apex_amp=False,
                     scale_r1_loss=False, g_reg_interval=4, g_reg_weight=8., pl_batch_shrink=2,
                     g_reg_use_apex_amp=False)


@MODELS.register_module()
class StyleGAN2(BaseGAN):
    """StyleGAN2 training (MMagic's ``StyleGAN2``).

    ``loss_config``: ``r1_loss_weight``, ``r1_interval`` (R1 when ``iteration % r1_interval ==
    0``), ``norm_mode`` ('pixel' | 'HWC'), ``scale_r1_loss``, ``g_reg_interval``,
    ``g_reg_weight``, ``pl_batch_shrink`` (path length on batch // shrink samples). The running
    mean path length is the buffer ``mean_path_length`` (saved in checkpoints, so a resumed run
    continues it). R1 is computed in float32 with autocast off, so ``scale_r1_loss`` needs no
    loss scaler.

    Example: dict(type='StyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='StyleGANv2Generator', out_size=64, style_channels=512),
                  discriminator=dict(type='StyleGAN2Discriminator', in_size=64),
                  ema_config=dict(type='ExponentialMovingAverage', momentum=0.0022),
                  loss_config=dict(r1_loss_weight=80., r1_interval=16, norm_mode='HWC',
                                   g_reg_interval=4, g_reg_weight=8., pl_batch_shrink=2))

    ``num_classes`` (a genforge option, as NVlabs' conditional StyleGAN2-ADA / StyleGAN3):
    the generator's mapping takes one-hot labels (``cond_size=num_classes``) and the
    discriminator projects on them; real labels come from ``gt_label``, fakes get uniform
    labels, ``genforge sample --label N`` picks one.
    """

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, ema_config: dict | None = None,
                 loss_config: dict | None = None, num_classes: int | None = None):
        loss_config = dict(loss_config or {})
        unknown = sorted(set(loss_config) - set(LOSS_DEFAULTS))
        if unknown:
            raise ValueError(f'model.loss_config: unknown key(s) {unknown} for StyleGAN2; '
                             f'valid keys: {sorted(LOSS_DEFAULTS)}')
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, ema_config=ema_config)
        self.loss_config = {**LOSS_DEFAULTS, **loss_config}
        for key, value in self.loss_config.items():
            setattr(self, key, value)
        for key in ('r1_interval', 'g_reg_interval'):
            if not (isinstance(getattr(self, key), int) and getattr(self, key) >= 1):
                raise ValueError(f'model.loss_config.{key}={getattr(self, key)!r} must be an '
                                 f'int >= 1')
        self.register_buffer('mean_path_length', torch.tensor(0.))
        # set after the networks are built: they take cond_size, not num_classes
        self.num_classes = int(num_classes) if num_classes else None

    # -- labels (conditional models: num_classes) --------------------------------------------
    def _one_hot(self, labels: Tensor) -> Tensor:
        return F.one_hot(labels.long().reshape(-1), self.num_classes).float()

    def _fake_labels(self, num_batches: int, labels: Tensor | None = None) -> Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:
            labels = torch.randint(self.num_classes, (num_batches,), device=self.device)
        return labels.to(self.device)

    def get_real_labels(self, data_samples: Any) -> Tensor | None:
        if not self.num_classes:
            return None
        from .base_conditional_gan import BaseConditionalGAN
        labels = BaseConditionalGAN.data_sample_to_label(data_samples)
        if labels is None:
            raise ValueError(f'{type(self).__name__}: num_classes={self.num_classes} needs '
                             f'gt_label in the data samples (a labelled dataset)')
        return labels.to(self.device)

    def discriminate(self, imgs: Tensor, labels: Tensor | None = None) -> Tensor:
        if self.num_classes and labels is not None:
            return self.discriminator(imgs, self._one_hot(labels))
        return self.discriminator(imgs)

    def _generate(self, generator: nn.Module, noise: Tensor, sample_kwargs: dict,
                  data_samples: Any, **extra) -> Tensor:
        if self.num_classes and 'label' not in extra:
            from .base_conditional_gan import BaseConditionalGAN
            labels = self._fake_labels(noise.shape[0],
                                       BaseConditionalGAN.data_sample_to_label(data_samples))
            extra['label'] = self._one_hot(labels).to(noise.device)
        return super()._generate(generator, noise, sample_kwargs, data_samples, **extra)

    def _conditioned(self, generator: nn.Module) -> Any:
        """The generator as the path-length regulariser calls it: with uniform labels."""
        if not self.num_classes:
            return generator

        def call(*args, **kwargs):
            n = kwargs.get('num_batches', 1)
            return generator(*args, label=self._one_hot(self._fake_labels(n)), **kwargs)
        return call

    def should_r1(self, iteration: int) -> bool:
        """Lazy R1: on iterations 0, r1_interval, 2 * r1_interval, ..."""
        return iteration % self.r1_interval == 0

    def should_path_reg(self, iteration: int) -> bool:
        """Lazy path-length regularisation: every ``g_reg_interval`` iterations."""
        return iteration % self.g_reg_interval == 0

    def generate(self, num_batches: int, labels: Tensor | None = None
                 ) -> tuple[Tensor, Tensor | None]:
        """Fakes from z ~ N(0, I); a single z per image, as MMagic's StyleGAN2 trains."""
        labels = self._fake_labels(num_batches, labels)
        extra = {} if labels is None else dict(label=self._one_hot(labels))
        return self.generator(self.noise_fn(num_batches=num_batches), return_noise=False,
                              **extra), labels

    def disc_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        """softplus(D(fake)) + softplus(-D(real)) (+ R1 on the lazy iterations)."""
        losses = {'loss_disc_fake': F.softplus(outputs['disc_pred_fake']).mean(),
                  'loss_disc_real': F.softplus(-outputs['disc_pred_real']).mean()}
        if self.should_r1(outputs['iteration']):
            disc = outputs['discriminator']
            if self.num_classes and outputs.get('real_labels') is not None:
                onehot = self._one_hot(outputs['real_labels'])

                def disc(x, _d=disc, _c=onehot):  # R1 of D(x | the real labels)
                    return _d(x, _c)
            losses['loss_r1_gp'] = self.r1_loss_weight * r1_gradient_penalty_loss(
                disc, outputs['real_imgs'], norm_mode=self.norm_mode)
        loss, log_vars = self.parse_losses(losses)
        ada = self._ada(outputs['discriminator'])
        if ada is not None:
            # ADA's overfitting heuristic: the sign of D on reals, p adapted every interval
            ada.log_real_scores(outputs['disc_pred_real'])
            ada.update(iteration=outputs['iteration'], num_batches=outputs['batch_size'])
            log_vars['augment'] = ada.aug_pipeline.p.detach().clone()
        return loss, log_vars

    @staticmethod
    def _ada(discriminator: nn.Module):
        """The discriminator's ``ADAAug`` when it augments (ADAStyleGAN2Discriminator)."""
        disc = discriminator.module if is_model_wrapper(discriminator) else discriminator
        return disc.ada_aug if getattr(disc, 'with_ada', False) else None

    def gen_loss(self, outputs: dict[str, Any]) -> tuple[Tensor, dict]:
        """softplus(-D(G(z))) (+ path-length penalty on the lazy iterations)."""
        losses = {'loss_gen': F.softplus(-outputs['disc_pred_fake_g']).mean()}
        if self.should_path_reg(outputs['iteration']):
            scaler = outputs.get('loss_scaler')
            scaler = scaler if scaler is not None and scaler.is_enabled() else None
            penalty, path_mean, _ = gen_path_regularizer(
                self._conditioned(outputs['generator']), outputs['batch_size'],
                self.mean_path_length,
                pl_batch_shrink=self.pl_batch_shrink, loss_scaler=scaler)
            self.mean_path_length.copy_(path_mean)
            losses['loss_path_regular'] = self.g_reg_weight * penalty
        return self.parse_losses(losses)
