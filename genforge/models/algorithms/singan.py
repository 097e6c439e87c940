"""SinGAN: a GAN pyramid learnt from one image, coarsest level first (MMagic's algorithm).

Level ``s`` trains for ``iters_per_scale * discriminator_steps`` iterations with its own
optimizers (``generator_{s}`` / ``discriminator_{s}``), starting from level ``s - 1``'s weights
when the shapes agree. After each level, the next level's noise weight becomes
``noise_weight_init * RMSE(upsampled reconstruction, next real)``.

State beyond the weights: ``curr_stage``, ``fixed_noises`` (level 0: N(0, 1), others zero) and
``noise_weights``. They travel in the state_dict as ``_extra_state`` (so checkpoints resume and
sample exactly); MMagic keeps them in a PickleDataHook pickle, which ``test_pkl_data`` loads.
"""
from __future__ import annotations

import bisect
import copy
import logging
import pickle
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.registry import MODELS
from genforge.structures import DataSample

from .base_gan import BaseGAN, ModelType, current_iteration

logger = logging.getLogger(__name__)


def _to_tensors(data: Any, device: torch.device) -> Any:
    if isinstance(data, list):
        return [_to_tensors(x, device) for x in data]
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data).to(device)
    return data


@MODELS.register_module()
class SinGAN(BaseGAN):
    """SinGAN algorithm. ``num_scales`` (index of the finest level, from 0) must equal the
    dataset's ``stop_scale``. ``lr_scheduler_args=dict(milestones=[1600], gamma=0.1)`` decays
    each level's learning rates after that many optimizer steps of the level.

    Sampling ``inputs``: ``num_batches``, ``mode`` ('rand' | 'recon'), ``curr_scale`` (default:
    the last trained level), ``output_size`` ((H, W) of the finest level: every level's noise
    is resized by the same ratio, 'rand' mode), ``sample_model``.

    Example: dict(type='SinGAN', num_scales=10, iters_per_scale=2000, generator_steps=3,
                  discriminator_steps=3, noise_weight_init=0.1,
                  data_preprocessor=dict(type='DataPreprocessor', non_image_keys=['input_sample']),
                  generator=dict(type='SinGANMultiScaleGenerator', in_channels=3,
                                 out_channels=3, num_scales=10),
                  discriminator=dict(type='SinGANMultiScaleDiscriminator', in_channels=3,
                                     num_scales=10),
                  lr_scheduler_args=dict(milestones=[1600], gamma=0.1))
    """

    supports_output_size = True  # ``genforge sample --size HxW``

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, num_scales: int | None = None,
                 iters_per_scale: int = 2000, noise_weight_init: float = 0.1,
                 lr_scheduler_args: dict | None = None, test_pkl_data: str | None = None,
                 ema_confg: dict | None = None, ema_config: dict | None = None):
        # 'ema_confg' is MMagic's spelling of this argument
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, None, ema_config or ema_confg)
        gen_scales = getattr(self.generator, 'num_scales', num_scales)
        if num_scales is not None and gen_scales != num_scales:
            raise ValueError(f'model.num_scales={num_scales} disagrees with '
                             f'model.generator.num_scales={gen_scales}')
        self.num_scales = gen_scales
        self.iters_per_scale = iters_per_scale
        self.noise_weight_init = noise_weight_init
        self.lr_scheduler_args = copy.deepcopy(lr_scheduler_args)
        self.curr_stage = -1
        self.noise_weights: list[float] = [1]
        self.fixed_noises: list[Tensor] = []
        self.reals: list[Tensor] = []
        self.pkl_data = test_pkl_data

    # -- state ----------------------------------------------------------------------------
    def get_extra_state(self) -> dict:
        return dict(curr_stage=int(self.curr_stage),
                    noise_weights=[float(w) for w in self.noise_weights],
                    fixed_noises=[n.detach().cpu() for n in self.fixed_noises])

    def set_extra_state(self, state: dict) -> None:
        device = next(self.generator.parameters()).device
        self.curr_stage = int(state['curr_stage'])
        self.noise_weights = [float(w) for w in state['noise_weights']]
        self.fixed_noises = [n.to(device) for n in state['fixed_noises']]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        # MMagic checkpoints have no pyramid state (it lives in their pickle): not an error
        key = prefix + '_extra_state'
        if key in missing_keys:
            missing_keys.remove(key)

    def load_test_pkl(self, path: str | None = None) -> None:
        """Read ``fixed_noises``, ``noise_weights``, ``curr_stage`` from a PickleDataHook file."""
        path = path or self.pkl_data
        with open(path, 'rb') as f:
            data = pickle.load(f)
        device = next(self.generator.parameters()).device
        self.fixed_noises = _to_tensors(data['fixed_noises'], device)
        self.noise_weights = [float(w) for w in data['noise_weights']]
        self.curr_stage = int(data['curr_stage'])
        logger.info('SinGAN: loaded the noise pyramid from %s', path)

    def _require_pyramid(self) -> None:
        if self.fixed_noises:
            return
        if self.pkl_data:
            self.load_test_pkl()
            return
        raise RuntimeError('SinGAN has no trained noise pyramid: load a genforge checkpoint of '
                           'a trained model, or set model.test_pkl_data to the PickleDataHook '
                           'pickle of an MMagic run')

    # -- pyramid --------------------------------------------------------------------------
    def construct_fixed_noises(self) -> None:
        """Level 0: N(0, 1) with one channel (broadcast over RGB); other levels: zeros."""
        self.fixed_noises = [torch.randn(1, 1, *r.shape[-2:]).to(r) if i == 0
                             else torch.zeros_like(r) for i, r in enumerate(self.reals)]

    def _set_reals(self, inputs: dict) -> None:
        if not isinstance(inputs, dict):
            raise TypeError('SinGAN expects inputs with real_scale0..real_scaleN (SinGANDataset '
                            '+ PackInputs)')
        levels = sorted(int(k[len('real_scale'):]) for k in inputs if k.startswith('real_scale'))
        if levels != list(range(self.num_scales + 1)):
            raise ValueError(f'SinGAN: the image pyramid has levels {levels} but '
                             f'model.num_scales={self.num_scales} needs 0..{self.num_scales}; '
                             f'set num_scales (model, generator, discriminator) to the '
                             f"dataset's stop_scale={levels[-1] if levels else None}")
        self.reals = [inputs[f'real_scale{i}'] for i in levels]
        if not self.fixed_noises:
            self.construct_fixed_noises()

    # -- networks at the current level ----------------------------------------------------
    def generate(self, num_batches: int, labels: Any = None, rand_mode: str = 'rand'
                 ) -> tuple[Tensor, None]:
        fake = self.generator(None, self.fixed_noises, self.noise_weights, rand_mode=rand_mode,
                              curr_scale=self.curr_stage, num_batches=num_batches)
        return fake, None

    def discriminate(self, imgs: Tensor, labels: Any = None) -> Tensor:
        return self.discriminator(imgs, curr_scale=self.curr_stage)

    def get_real_imgs(self, inputs: Any = None, data_samples: Any = None) -> Tensor:
        return self.reals[self.curr_stage]

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """WGAN loss + 0.1 * gradient penalty with per-pixel norms over channels."""
        real, fake = outputs['real_imgs'], outputs['fake_imgs'].detach()
        alpha = torch.rand(real.shape[0], 1, 1, 1).to(real)
        interp = (alpha * real + (1. - alpha) * fake).requires_grad_(True)
        scores = self.discriminate(interp)
        grads = torch.autograd.grad(scores, interp, torch.ones_like(scores), create_graph=True,
                                    retain_graph=True, only_inputs=True)[0]
        penalty = ((grads.norm(2, dim=1) - 1) ** 2).mean()
        return self.parse_losses(dict(loss_disc_fake=outputs['disc_pred_fake'].mean(),
                                      loss_disc_real=-outputs['disc_pred_real'].mean(),
                                      loss_gp=0.1 * penalty))

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """WGAN loss + 10 * MSE between the 'recon' output and the real image."""
        recon, _ = self.generate(1, rand_mode='recon')
        return self.parse_losses(dict(
            loss_gen=-outputs['disc_pred_fake_g'].mean(),
            loss_mse=10 * F.mse_loss(recon, self.reals[self.curr_stage])))

    # -- training -------------------------------------------------------------------------
    def _start_stage(self, iteration: int, optim_wrapper) -> None:
        """Set ``curr_stage`` from the iteration; a new level starts from the previous one."""
        period = self.iters_per_scale * self.discriminator_steps
        stage = iteration // period
        if stage > self.num_scales:
            raise ValueError(f'SinGAN: iteration {iteration} is past the last level '
                             f'({self.num_scales + 1} levels x {period} iterations); lower '
                             f'train_cfg.max_iters')
        if iteration % period == 0 and stage != self.curr_stage:
            self.curr_stage = stage
            for net in (self.generator, self.discriminator):
                getattr(net, 'module', net).check_and_load_prev_weight(stage)
            for name in ('generator', 'discriminator'):
                if optim_wrapper[f'{name}_{stage}'].accumulative_counts != 1:
                    raise ValueError(f'SinGAN trains with batch size 1 and no gradient '
                                     f'accumulation: remove optim_wrapper.{name}.'
                                     f'accumulative_counts')
        elif stage != self.curr_stage:
            raise RuntimeError(f'SinGAN: iteration {iteration} belongs to level {stage} but the '
                               f'model state says level {self.curr_stage}; resume from a '
                               f'checkpoint saved by this run')
        self._schedule_lr(iteration - stage * period, optim_wrapper)

    def _schedule_lr(self, iter_in_stage: int, optim_wrapper) -> None:
        """MultiStepLR over the level's optimizer steps (one per ``discriminator_steps``
        iterations), computed from the position so a resumed run has the same rates."""
        if not self.lr_scheduler_args:
            return
        steps = iter_in_stage // self.discriminator_steps
        milestones = sorted(self.lr_scheduler_args.get('milestones', []))
        factor = self.lr_scheduler_args.get('gamma', 0.1) ** bisect.bisect_right(milestones,
                                                                               steps)
        for name in ('generator', 'discriminator'):
            for group in optim_wrapper[f'{name}_{self.curr_stage}'].param_groups:
                group.setdefault('initial_lr', group['lr'])
                group['lr'] = group['initial_lr'] * factor

    @torch.no_grad()
    def _update_noise_weight(self) -> None:
        """The next level's noise weight: ``noise_weight_init * RMSE`` of this level's
        reconstruction (nearest-upsampled) against the next real image."""
        recon, _ = self.generate(1, rand_mode='recon')
        target = self.reals[self.curr_stage + 1]
        recon = F.interpolate(recon, target.shape[-2:])
        rmse = torch.sqrt(F.mse_loss(recon, target))
        self.noise_weights.append(self.noise_weight_init * rmse.item())

    def train_step(self, data: dict, optim_wrapper) -> dict[str, Tensor]:
        from genforge.optim import OptimWrapperDict
        iteration = current_iteration()
        # the pyramid is needed before BaseGAN's step (which preprocesses again: one image)
        self._set_reals(self.data_preprocessor(data, True)['inputs'])
        self._start_stage(iteration, optim_wrapper)
        stage_wrappers = OptimWrapperDict(**{name: optim_wrapper[f'{name}_{self.curr_stage}']
                                             for name in ('generator', 'discriminator')})
        log_vars = super().train_step(data, stage_wrappers)
        period = self.iters_per_scale * self.discriminator_steps
        if (iteration + 1) % period == 0 and self.curr_stage < len(self.reals) - 1:
            self._update_noise_weight()
        log_vars['curr_stage'] = torch.tensor(float(self.curr_stage))
        return log_vars

    # -- sampling -------------------------------------------------------------------------
    def noise_templates(self, output_size: tuple[int, int] | None) -> list[Tensor]:
        """The fixed noises, or zeros of every level resized so the finest is ``output_size``
        (shape templates for 'rand' sampling at an arbitrary size)."""
        if output_size is None:
            return self.fixed_noises
        pad = getattr(self.generator, 'pad_head', 0) if getattr(
            self.generator, 'noise_with_pad', False) else 0
        h_ref, w_ref = (s - 2 * pad for s in self.fixed_noises[self.curr_stage].shape[-2:])
        out_h, out_w = (int(s) for s in output_size)
        templates = []
        for noise in self.fixed_noises:
            h, w = (s - 2 * pad for s in noise.shape[-2:])
            size = (max(1, round(h * out_h / h_ref)) + 2 * pad,
                    max(1, round(w * out_w / w_ref)) + 2 * pad)
            templates.append(noise.new_zeros(*noise.shape[:2], *size))
        return templates

    def _sample(self, generator: nn.Module, inputs: dict, data_samples: Any) -> Tensor:
        mode = inputs.get('mode') or 'rand'
        size = inputs.get('output_size')
        if size is not None and mode != 'rand':
            raise ValueError("SinGAN: output_size needs mode='rand' (the reconstruction has "
                             "the training image's size)")
        curr_scale = inputs.get('curr_scale', self.curr_stage)
        out = generator(None, self.noise_templates(size), self.noise_weights, rand_mode=mode,
                        curr_scale=curr_scale, num_batches=int(inputs.get('num_batches', 1)))
        out = out['fake_img'] if isinstance(out, dict) else out
        destruct = getattr(self.data_preprocessor, 'destruct', None)
        return destruct(out, data_samples) if destruct is not None else out

    def forward(self, inputs: Any, data_samples: Any = None, mode: str | None = None) -> list:
        """Samples from the trained pyramid, one DataSample per image (``fake_img`` in
        [0, 255]; ``ema``/``orig`` for sample_model='ema/orig')."""
        inputs = dict(inputs) if isinstance(inputs, dict) else {}
        inputs.setdefault('mode', mode if mode in ('rand', 'recon') else None)
        self._require_pyramid()
        sample_model = self._get_valid_model(inputs)
        models = {'ema': getattr(self, 'generator_ema', None), 'orig': self.generator}
        names = ['ema', 'orig'] if sample_model == 'ema/orig' else [sample_model]
        fakes = {name: self._sample(models[name], inputs, data_samples) for name in names}
        sample = DataSample()
        if sample_model == 'ema/orig':
            sample.ema = DataSample(fake_img=fakes['ema'])
            sample.orig = DataSample(fake_img=fakes['orig'])
        else:
            sample.fake_img = fakes[sample_model]
        sample.sample_model = sample_model
        return sample.split(allow_nonseq_value=True)

    def val_step(self, data: dict) -> list:
        return self(**self.data_preprocessor(data))

    def test_step(self, data: dict) -> list:
        return self(**self.data_preprocessor(data))


__all__ = ['SinGAN']
