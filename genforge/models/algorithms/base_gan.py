"""BaseGAN: alternating D/G training with the optim wrappers' accumulation, EMA and sampling.

The schedule is MMGeneration 1.x / MMagic's: the discriminator is updated every iteration; the
generator after every ``discriminator_steps * disc_accumulative_counts`` iterations, then
``generator_steps * gen_accumulative_counts`` times in a row; ``generator_ema`` follows the
generator after each generator update (from ``ema_config['start_iter']`` on).
"""
from __future__ import annotations

import copy
import logging
from typing import Any

import torch
from torch import Tensor, nn

from genforge.models.base_model import BaseModel
from genforge.models.layers.latent_sampling import NoiseVar, sample_noise
from genforge.models.utils import set_requires_grad
from genforge.models.wrappers import unwrap_model
from genforge.registry import MODELS
from genforge.structures import DataSample

from .batch_inputs import get_real_imgs, get_valid_num_batches

logger = logging.getLogger(__name__)

ModelType = dict | nn.Module


def get_valid_noise_size(noise_size: int | None, generator: ModelType) -> int | None:
    """``noise_size`` from the model argument or the generator (config or module); must agree."""
    gen_size = generator.get('noise_size') if isinstance(generator, dict) \
        else getattr(generator, 'noise_size', None)
    if noise_size is not None and gen_size is not None and noise_size != gen_size:
        raise ValueError(f'model.noise_size={noise_size} disagrees with '
                         f'model.generator.noise_size={gen_size}; set one of them')
    return noise_size if noise_size is not None else gen_size


def current_iteration() -> int:
    """The 0-based training iteration that the train loop wrote before calling ``train_step``
    (0 outside a Runner)."""
    from genforge.message_hub import MessageHub
    return MessageHub.get_current_instance().get_info('iter', 0)


class BaseGAN(BaseModel):
    """Base class of GAN algorithms: one discriminator step and one generator step for all.

    Subclasses override the losses, not the steps: ``disc_loss(outputs)`` and
    ``gen_loss(outputs)`` return ``(loss, log_vars)``; the defaults use
    ``loss_config=dict(gan_loss=..., disc_auxiliary_loss=..., gen_auxiliary_loss=...)``.
    Models whose generator or discriminator take more than images (labels, scales) override
    ``generate`` / ``discriminate``. ``outputs`` holds what a loss may use:

    - ``real_imgs`` (N, C, H, W) and ``real_labels`` (N,) or None (D step only),
    - ``fake_imgs`` (detached in the D step) and ``fake_labels`` (N,) or None,
    - ``disc_pred_real``, ``disc_pred_fake`` (D step) / ``disc_pred_fake_g`` (G step),
    - ``generator``, ``discriminator`` (also as ``gen`` / ``disc``, MMGeneration's
      ``data_info`` names), for penalties that call the networks again,
    - ``iteration`` (the loop's 0-based iteration), ``batch_size``, ``loss_scaler``.

    Example: dict(type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='DCGANGenerator', output_scale=64),
                  discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4,
                                     out_channels=1),
                  ema_config=dict(interval=1, momentum=0.001, start_iter=0))
    """

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, noise_size: int | None = None,
                 ema_config: dict | None = None, loss_config: dict | None = None):
        if isinstance(data_preprocessor, dict) and 'type' not in data_preprocessor:
            # MMGeneration 1.x configs give only mean/std/bgr_to_rgb (seed 004, section 8)
            data_preprocessor = dict(type='DataPreprocessor', **data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor)
        noise_size = get_valid_noise_size(noise_size, generator)
        if isinstance(generator, dict):
            self._gen_cfg = copy.deepcopy(generator)
            gen_args = {}
            if noise_size:
                gen_args['noise_size'] = noise_size
            if getattr(self, 'num_classes', None) is not None:
                gen_args['num_classes'] = self.num_classes
            generator = MODELS.build(generator, default_args=gen_args, key_path='model.generator')
        self.generator = generator
        # the generator may have its own default noise_size
        self.noise_size = getattr(self.generator, 'noise_size', noise_size)
        if isinstance(discriminator, dict):
            self._disc_cfg = copy.deepcopy(discriminator)
            disc_args = {}
            if getattr(self, 'num_classes', None) is not None:
                disc_args['num_classes'] = self.num_classes
            discriminator = MODELS.build(discriminator, default_args=disc_args,
                                         key_path='model.discriminator')
        self.discriminator = discriminator
        self._gen_steps = generator_steps
        self._disc_steps = discriminator_steps
        self._ema_config = copy.deepcopy(ema_config)
        self._with_ema_gen = ema_config is not None
        if self._with_ema_gen:
            self._init_ema_model(self._ema_config)
        self._init_loss(loss_config)

    # -- construction ---------------------------------------------------------------------
    def _init_ema_model(self, ema_config: dict) -> None:
        cfg = dict(ema_config)
        cfg.setdefault('type', 'ExponentialMovingAverage')
        self.ema_start = cfg.pop('start_iter', 0)
        self.generator_ema = MODELS.build(
            cfg, default_args=dict(model=unwrap_model(self.generator)), key_path='model.ema_config')

    def _init_loss(self, loss_config: dict | None) -> None:
        """``loss_config``: None, scalars read by subclasses (``gp_loss_weight=10``), and/or
        ``gan_loss`` / ``disc_auxiliary_loss`` / ``gen_auxiliary_loss`` configs to build."""
        self.loss_config = copy.deepcopy(loss_config) if loss_config else {}
        gan_loss = self.loss_config.get('gan_loss')
        self.gan_loss = MODELS.build(gan_loss, key_path='model.loss_config.gan_loss') \
            if isinstance(gan_loss, dict) else None
        for key in ('disc_auxiliary_loss', 'gen_auxiliary_loss'):
            cfgs = self.loss_config.get(key)
            if cfgs and not isinstance(cfgs, list):
                cfgs = [cfgs]
            modules = nn.ModuleList([MODELS.build(c, key_path=f'model.loss_config.{key}')
                                     for c in cfgs]) if cfgs else None
            setattr(self, key.replace('_loss', '_losses'), modules)

    # -- properties -----------------------------------------------------------------------
    @property
    def generator_steps(self) -> int:
        """Generator updates in a row each time the generator is trained."""
        return self._gen_steps

    @property
    def discriminator_steps(self) -> int:
        """Full discriminator updates between two generator updates."""
        return self._disc_steps

    @property
    def with_ema_gen(self) -> bool:
        return self._with_ema_gen

    @property
    def device(self) -> torch.device:
        # the preprocessor's probe buffer follows .to(); walking parameters costs per call
        probe = getattr(self.data_preprocessor, '_device_probe', None)
        return probe.device if probe is not None else next(self.parameters()).device

    # -- sampling helpers -----------------------------------------------------------------
    def noise_fn(self, noise: NoiseVar = None, num_batches: int = 1) -> Tensor:
        """Noise for ``num_batches`` samples: a Tensor as given, a sampler's output or N(0, 1)."""
        return sample_noise(noise, num_batches, self.noise_size, self.device,
                            owner=type(self).__name__)

    @staticmethod
    def gather_log_vars(log_vars_list: list[dict[str, Tensor]]) -> dict[str, Tensor]:
        """Average each key over several generator steps."""
        if len(log_vars_list) == 1:
            return log_vars_list[0]
        out = {}
        for key in log_vars_list[0]:
            missing = [i for i, lv in enumerate(log_vars_list) if key not in lv]
            if missing:
                raise KeyError(f'log var {key!r} is missing in generator steps {missing}')
            out[key] = torch.stack([lv[key] for lv in log_vars_list]).mean()
        return out

    @staticmethod
    def get_real_imgs(inputs: Any, data_samples: Any = None) -> Tensor:
        """Real images of a preprocessed batch (see ``batch_inputs.get_real_imgs``)."""
        return get_real_imgs(inputs, data_samples)

    # -- training -------------------------------------------------------------------------
    def should_update_generator(self, curr_iter: int, disc_accu_counts: int) -> bool:
        """G trains once D has had ``discriminator_steps`` full (accumulated) updates.

        ``curr_iter`` is the loop's 0-based iteration, incremented after ``train_step``.
        """
        return (curr_iter + 1) % (self.discriminator_steps * disc_accu_counts) == 0

    def should_update_ema(self, curr_iter: int, disc_accu_counts: int) -> bool:
        return (curr_iter + 1) >= self.ema_start * self.discriminator_steps * disc_accu_counts

    def train_step(self, data: dict, optim_wrapper) -> dict[str, Tensor]:
        """One iteration: D every time, then G (and EMA) when ``should_update_generator``."""
        curr_iter = current_iteration()
        data = self.data_preprocessor(data, True)
        inputs, data_samples = data['inputs'], data.get('data_samples')
        disc_wrapper = optim_wrapper['discriminator']
        with disc_wrapper.optim_context(self.discriminator):
            log_vars = self.train_discriminator(inputs, data_samples, disc_wrapper)

        if self.should_update_generator(curr_iter, disc_wrapper.accumulative_counts):
            # frozen D: G's loss must not accumulate gradients in D
            set_requires_grad(self.discriminator, False)
            log_vars.update(self._train_generator_steps(inputs, data_samples,
                                                        optim_wrapper['generator']))
            set_requires_grad(self.discriminator, True)
            if self.with_ema_gen:
                self._update_ema(curr_iter, disc_wrapper.accumulative_counts)
        return log_vars

    def _train_generator_steps(self, inputs: Any, data_samples: Any,
                               gen_wrapper) -> dict[str, Tensor]:
        """``generator_steps * accumulative_counts`` calls: exactly ``generator_steps`` steps."""
        num_calls = self.generator_steps * gen_wrapper.accumulative_counts
        gen_wrapper.initialize_count_status(self.generator, 0, num_calls)
        log_vars_list = []
        for _ in range(num_calls):
            with gen_wrapper.optim_context(self.generator):
                log_vars_list.append(self.train_generator(inputs, data_samples, gen_wrapper))
        log_vars = dict(self.gather_log_vars(log_vars_list))
        log_vars.pop('loss', None)  # 'loss' stays D's total
        return log_vars

    def _update_ema(self, curr_iter: int, disc_accu: int) -> None:
        source = unwrap_model(self.generator)
        if self.should_update_ema(curr_iter, disc_accu):
            self.generator_ema.update_parameters(source)
            if not getattr(self.generator_ema, 'update_buffers', False):
                self.generator_ema.sync_buffers(source)
        else:
            # before start_iter the EMA copy simply tracks the generator
            self.generator_ema.sync_parameters(source)

    # -- what the steps call: override these, not the steps --------------------------------
    def get_real_labels(self, data_samples: Any) -> Tensor | None:
        """Class labels of the real batch; None for unconditional GANs."""
        return None

    def generate(self, num_batches: int, labels: Tensor | None = None
                 ) -> tuple[Tensor, Tensor | None]:
        """``num_batches`` fake images from fresh noise, and the labels they were made for."""
        return self.generator(noise=self.noise_fn(num_batches=num_batches),
                              return_noise=False), None

    def discriminate(self, imgs: Tensor, labels: Tensor | None = None) -> Tensor:
        """The discriminator's scores for ``imgs``."""
        return self.discriminator(imgs)

    def _loss_context(self, optimizer_wrapper, num_batches: int) -> dict:
        """What every loss may use besides images and scores (see the class docstring)."""
        return dict(generator=self.generator, discriminator=self.discriminator,
                    gen=self.generator, disc=self.discriminator, iteration=current_iteration(),
                    batch_size=num_batches,
                    loss_scaler=getattr(optimizer_wrapper, 'loss_scaler', None))

    def train_discriminator(self, inputs: Any, data_samples: Any, optimizer_wrapper) -> dict:
        """D step: real images (and labels) from the batch, fakes from a no-grad G."""
        real_imgs = self.get_real_imgs(inputs, data_samples)
        real_labels = self.get_real_labels(data_samples)
        num_batches = real_imgs.shape[0]
        with torch.no_grad():  # D's step must not build a graph through G
            fake_imgs, fake_labels = self.generate(num_batches)
        outputs = dict(real_imgs=real_imgs, fake_imgs=fake_imgs, real_labels=real_labels,
                       fake_labels=fake_labels,
                       disc_pred_fake=self.discriminate(fake_imgs, fake_labels),
                       disc_pred_real=self.discriminate(real_imgs, real_labels),
                       **self._loss_context(optimizer_wrapper, num_batches))
        loss, log_vars = self.disc_loss(outputs)
        optimizer_wrapper.update_params(loss)
        return log_vars

    def train_generator(self, inputs: Any, data_samples: Any, optimizer_wrapper) -> dict:
        """G step: D's parameters are frozen by ``train_step``; gradients flow through D."""
        real_imgs = self.get_real_imgs(inputs, data_samples)
        num_batches = real_imgs.shape[0]
        fake_imgs, fake_labels = self.generate(num_batches)
        outputs = dict(real_imgs=real_imgs, fake_imgs=fake_imgs, fake_labels=fake_labels,
                       disc_pred_fake_g=self.discriminate(fake_imgs, fake_labels),
                       **self._loss_context(optimizer_wrapper, num_batches))
        loss, log_vars = self.gen_loss(outputs)
        optimizer_wrapper.update_params(loss)
        return log_vars

    # -- default losses (loss_config=dict(gan_loss=...)) ------------------------------------
    def _aux_losses(self, modules: nn.ModuleList | None, outputs: dict, losses: dict) -> None:
        for module in modules or []:
            loss = module(outputs)
            if loss is None:
                continue
            name = module.loss_name()
            losses[name] = losses[name] + loss if name in losses else loss

    def _require_gan_loss(self) -> None:
        if self.gan_loss is None:
            raise NotImplementedError(
                f'{type(self).__name__}: override disc_loss/gen_loss or set '
                f"loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='vanilla'))")

    def disc_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """``gan_loss`` on real (target real) and fake (target fake) scores, plus
        ``disc_auxiliary_loss`` terms; returns ``(loss, log_vars)``."""
        self._require_gan_loss()
        losses = {
            'loss_disc_fake': self.gan_loss(outputs['disc_pred_fake'], target_is_real=False,
                                            is_disc=True),
            'loss_disc_real': self.gan_loss(outputs['disc_pred_real'], target_is_real=True,
                                            is_disc=True)}
        self._aux_losses(self.disc_auxiliary_losses, outputs, losses)
        return self.parse_losses(losses)

    def gen_loss(self, outputs: dict) -> tuple[Tensor, dict]:
        """``gan_loss`` on the fakes' scores (target real), plus ``gen_auxiliary_loss`` terms."""
        self._require_gan_loss()
        losses = {'loss_disc_fake_g': self.gan_loss(outputs['disc_pred_fake_g'],
                                                    target_is_real=True, is_disc=False)}
        self._aux_losses(self.gen_auxiliary_losses, outputs, losses)
        return self.parse_losses(losses)

    # -- sampling -------------------------------------------------------------------------
    def _get_valid_model(self, inputs: Any) -> str:
        """'ema' | 'orig' | 'ema/orig' from ``inputs['sample_model']`` (default: ema if any)."""
        sample_model = inputs.get('sample_model') if isinstance(inputs, dict) else None
        if sample_model is None:
            sample_model = 'ema' if self.with_ema_gen else 'orig'
        if sample_model not in ('ema', 'ema/orig', 'orig'):
            raise ValueError(f"sample_model must be 'ema', 'orig' or 'ema/orig', got "
                             f'{sample_model!r}')
        if sample_model != 'orig' and not self.with_ema_gen:
            raise ValueError(f"{type(self).__name__}: sample_model={sample_model!r} needs an EMA "
                             f"generator; set model.ema_config or use sample_model='orig'")
        return sample_model

    def _generate(self, generator: nn.Module, noise: Tensor, sample_kwargs: dict,
                  data_samples: Any, **extra) -> Tensor:
        kwargs = dict(return_noise=False, **extra)
        kwargs.update(sample_kwargs)
        out = generator(noise, **kwargs)
        if isinstance(out, dict):
            out = out['fake_img']
        destruct = getattr(self.data_preprocessor, 'destruct', None)
        return destruct(out, data_samples) if destruct is not None else out

    def _sample_inputs(self, inputs: Any, data_samples: Any) -> tuple[Tensor, dict]:
        if isinstance(inputs, Tensor):
            return inputs, {}
        inputs = inputs or {}
        num_batches = get_valid_num_batches(inputs, data_samples)
        return self.noise_fn(inputs.get('noise'), num_batches), dict(inputs.get('sample_kwargs')
                                                                     or {})

    def _pack_samples(self, inputs: Any, data_samples: Any, noise: Tensor, sample_model: str,
                      sample_kwargs: dict, fakes: dict, **fields) -> list[DataSample]:
        """One DataSample per image with ``fake_img`` (or ``ema``/``orig``), noise, inputs."""
        gen_sample = DataSample()
        if isinstance(data_samples, DataSample):
            gen_sample.update(data_samples)
        if isinstance(inputs, dict) and isinstance(inputs.get('img'), Tensor):
            gen_sample.gt_img = inputs['img']
        if sample_model == 'ema/orig':
            gen_sample.ema = DataSample(fake_img=fakes['ema'])
            gen_sample.orig = DataSample(fake_img=fakes['orig'])
        else:
            gen_sample.fake_img = fakes[sample_model]
        gen_sample.noise = noise
        for key, value in fields.items():
            gen_sample.set_field(value, key)
        gen_sample.sample_kwargs = copy.deepcopy(sample_kwargs)
        gen_sample.sample_model = sample_model
        return gen_sample.split(allow_nonseq_value=True)

    def forward(self, inputs: Any, data_samples: Any = None,
                mode: str | None = None) -> list[DataSample]:
        """Sample images. ``inputs``: a noise Tensor or a dict with optional ``noise``,
        ``num_batches``, ``sample_model`` ('ema' | 'orig' | 'ema/orig'), ``sample_kwargs``.
        Returns one DataSample per image, ``fake_img`` in [0, 255] (``ema``/``orig`` for
        'ema/orig'), plus ``noise`` and ``sample_model``."""
        noise, sample_kwargs = self._sample_inputs(inputs, data_samples)
        sample_model = self._get_valid_model(inputs)
        models = {'ema': getattr(self, 'generator_ema', None), 'orig': self.generator}
        names = ['ema', 'orig'] if sample_model == 'ema/orig' else [sample_model]
        fakes = {name: self._generate(models[name], noise, sample_kwargs, data_samples)
                 for name in names}
        return self._pack_samples(inputs, data_samples, noise, sample_model, sample_kwargs, fakes)

    def val_step(self, data: dict) -> list[DataSample]:
        data = self.data_preprocessor(data)
        return self(**data)

    def test_step(self, data: dict) -> list[DataSample]:
        data = self.data_preprocessor(data)
        return self(**data)


__all__ = ['BaseGAN', 'current_iteration', 'get_valid_noise_size', 'get_valid_num_batches']
