"""BasicGaussianDiffusion: DDPM / Improved DDPM training and sampling (MMGeneration's model).

Not a GAN: one network (``denoising``), one optimizer (``optim_wrapper.denoising`` or a plain
wrapper), one loss pass per iteration, and an EMA copy (``denoising_ema``) updated after it.
"""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from genforge.models.base_model import BaseModel
from genforge.models.wrappers import is_model_wrapper
from genforge.registry import MODELS
from genforge.structures import DataSample

from .diffusion_schedule import GaussianDiffusionSchedule, get_betas, space_timesteps

__all__ = ['BasicGaussianDiffusion']

logger = logging.getLogger(__name__)


@MODELS.register_module()
class BasicGaussianDiffusion(BaseModel):
    """Gaussian diffusion model with a denoising network (Ho et al. 2020; Nichol & Dhariwal 2021).

    Training: t ~ ``timestep_sampler``, x_t = q_sample(x_0, t, ε), the network predicts ε (and
    a variance code) and ``ddpm_loss`` (e.g. MSE on ε + the variational bound on the variance)
    is minimised. Sampling: ``sample_from_noise`` runs the reverse chain, full or respaced
    (``timestep_respacing=50`` / ``'ddim25'`` / ``use_timesteps=[...]``).

    Args:
        denoising (dict): the network, e.g. DenoisingUnet (gets ``num_classes``,
            ``num_timesteps`` as defaults). ddpm_loss (dict | list[dict]): DDPM losses.
        betas_cfg (dict): ``dict(type='cosine')`` or ``dict(type='linear')`` (+ its args).
        num_timesteps (int): T. num_classes (int): 0 = unconditional.
        timestep_sampler (str | dict): training timesteps; ``timesteps_sampler`` is an alias.
        train_cfg (dict): ``use_ema`` (EMA denoiser, momentum 1e-4 unless ``ema_config``),
            ``real_img_key`` (kept for MMGeneration configs). test_cfg (dict): ``use_ema``.
        ema_config (dict): ExponentialMovingAverage arguments (+ ``start_iter``).

    Example: dict(type='BasicGaussianDiffusion', num_timesteps=4000,
                  betas_cfg=dict(type='cosine'), data_preprocessor=dict(type='DataPreprocessor'),
                  denoising=dict(type='DenoisingUnet', image_size=32, base_channels=128),
                  timestep_sampler=dict(type='UniformTimeStepSampler'),
                  ddpm_loss=[dict(type='DDPMVLBLoss'), dict(type='DDPMMSELoss')],
                  train_cfg=dict(use_ema=True))
    """

    def __init__(self, denoising: dict | nn.Module, ddpm_loss: dict | list[dict],
                 betas_cfg: dict, num_timesteps: int = 1000, num_classes: int = 0,
                 sample_method: str = 'DDPM',
                 timestep_sampler: str | dict | None = 'UniformTimeStepSampler',
                 timesteps_sampler: str | dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, ema_config: dict | None = None,
                 data_preprocessor: dict | nn.Module | None = None):
        super().__init__(data_preprocessor=data_preprocessor)
        if not isinstance(num_timesteps, int) or num_timesteps < 2:
            raise ValueError(f'model.num_timesteps={num_timesteps!r} must be an int >= 2')
        if sample_method.upper() != 'DDPM':
            raise ValueError(f"model.sample_method={sample_method!r}: only 'DDPM' is supported "
                             f"(use sample_kwargs=dict(timestep_respacing=...) for fast sampling)")
        self.num_timesteps, self.num_classes = num_timesteps, num_classes
        self.sample_method = sample_method
        self.denoising = self._build_denoising(denoising)
        self.denoising_mean_mode = self.denoising.mean_mode
        self.denoising_var_mode = self.denoising.var_mode
        self.betas_cfg = copy.deepcopy(betas_cfg)
        self.schedule = GaussianDiffusionSchedule(get_betas(self.betas_cfg, num_timesteps))
        sampler_cfg = timesteps_sampler if timesteps_sampler is not None else timestep_sampler
        if isinstance(sampler_cfg, str):
            sampler_cfg = dict(type=sampler_cfg)
        self.sampler = None if sampler_cfg is None else MODELS.build(
            sampler_cfg, default_args=dict(num_timesteps=num_timesteps),
            key_path='model.timestep_sampler')
        self.ddpm_loss = self._build_losses(ddpm_loss)
        self.train_cfg = copy.deepcopy(train_cfg) or {}
        self.test_cfg = copy.deepcopy(test_cfg) or {}
        self.real_img_key = self.train_cfg.get('real_img_key', 'img')
        use_ema = ema_config is not None or self.train_cfg.get('use_ema', False) \
            or self.test_cfg.get('use_ema', False)
        self.ema_start = 0
        if use_ema:
            cfg = dict(ema_config or dict(momentum=1e-4))
            cfg.setdefault('type', 'ExponentialMovingAverage')
            self.ema_start = cfg.pop('start_iter', 0)
            self.denoising_ema = MODELS.build(cfg, default_args=dict(model=self.denoising),
                                              key_path='model.ema_config')

    # -- construction -----------------------------------------------------------------------
    def _build_denoising(self, denoising: dict | nn.Module) -> nn.Module:
        if isinstance(denoising, nn.Module):
            return denoising
        cfg = dict(denoising)
        for key in ('num_timesteps', 'num_classes'):
            own = getattr(self, key)
            if cfg.get(key) is not None and cfg[key] != own:
                raise ValueError(f'model.denoising.{key}={cfg[key]} disagrees with '
                                 f'model.{key}={own}; set it once, on the model')
            cfg[key] = own
        return MODELS.build(cfg, key_path='model.denoising')

    def _build_losses(self, ddpm_loss: dict | list[dict] | None) -> nn.ModuleList:
        cfgs = [] if ddpm_loss is None else ddpm_loss if isinstance(ddpm_loss, (list, tuple)) \
            else [ddpm_loss]
        losses = nn.ModuleList([MODELS.build(cfg, default_args=dict(sampler=self.sampler),
                                             key_path=f'model.ddpm_loss[{i}]')
                                for i, cfg in enumerate(cfgs)])
        learned = 'FIXED' not in self.denoising_var_mode.upper()
        if learned and losses and not any(getattr(fn, 'uses_variance', False) for fn in losses):
            logger.warning(
                "model.denoising.output_cfg.var=%r is learned, but no loss in model.ddpm_loss "
                "trains the variance (%s); add dict(type='DDPMVLBLoss') or use var='fixed_small'",
                self.denoising_var_mode, [type(fn).__name__ for fn in losses])
        return losses

    @property
    def with_ema(self) -> bool:
        return hasattr(self, 'denoising_ema')

    # the CLI and the visualisation hook ask GAN-style models this
    with_ema_gen = with_ema

    # -- checkpoint: T is part of the model -------------------------------------------------
    def get_extra_state(self) -> dict:
        return dict(num_timesteps=self.num_timesteps)

    def set_extra_state(self, state: dict) -> None:
        saved = state.get('num_timesteps') if isinstance(state, dict) else None
        if saved is not None and saved != self.num_timesteps:
            raise ValueError(f'model.num_timesteps={self.num_timesteps} does not match the '
                             f'checkpoint, trained with num_timesteps={saved}; set '
                             f'model.num_timesteps={saved} (respace for faster sampling)')

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # MMGeneration / MMagic checkpoints have no extra state: nothing to compare
        state_dict.setdefault(prefix + '_extra_state', self.get_extra_state())
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- training ---------------------------------------------------------------------------
    def train_step(self, data: dict, optim_wrapper) -> dict[str, Tensor]:
        """Preprocess -> diffuse real images at random t -> denoise -> losses -> step -> EMA."""
        from genforge.runner.message_hub import MessageHub
        curr_iter = MessageHub.get_current_instance().get_info('iter', 0)
        data = self.data_preprocessor(data, True)
        real_imgs = _real_images(data['inputs'], data.get('data_samples'))
        labels = self._labels(data.get('data_samples'), real_imgs.shape[0])
        wrapper = optim_wrapper['denoising'] if _is_wrapper_dict(optim_wrapper) \
            else optim_wrapper
        with wrapper.optim_context(self.denoising):
            outputs = self.diffusion_outputs(real_imgs, labels)
            loss, log_vars = self.compute_losses(outputs)
        wrapper.update_params(loss)
        if self.with_ema:
            source = _unwrap(self.denoising)  # DDP's parameter names carry 'module.'
            if curr_iter >= self.ema_start:
                self.denoising_ema.update_parameters(source)
            else:  # before start_iter the EMA copy simply tracks the network
                self.denoising_ema.sync_parameters(source)
        return log_vars

    def diffusion_outputs(self, real_imgs: Tensor, labels: Tensor | None = None,
                          timesteps: Tensor | None = None, noise: Tensor | None = None) -> dict:
        """One training forward pass; everything the losses may read.

        real_imgs (N, C, H, W) in [-1, 1] -> dict(real_imgs, timesteps (N,), noise,
        diffusion_batches (x_t), the network's fields (``eps_t_pred``, ``factor``...),
        ``mean_pred``/``logvar_pred``/``var_pred``/``x_0_pred`` of p(x_{t-1}|x_t) and
        ``mean_posterior``/``logvar_posterior``/``var_posterior`` of q(x_{t-1}|x_t, x_0)).
        """
        num = real_imgs.shape[0]
        if timesteps is None:
            timesteps = self.sampler(num)
        timesteps = timesteps.to(real_imgs.device)
        noise = torch.randn_like(real_imgs) if noise is None else noise
        x_t = self.schedule.q_sample(real_imgs, timesteps, noise)
        net_out = self.denoising(x_t, timesteps, label=labels)
        # training never clips x_0: the losses need the unclipped prediction
        p_out = self.schedule.p_mean_variance(net_out, x_t, timesteps, self.denoising_mean_mode,
                                              self.denoising_var_mode, clip_denoised=False)
        q_out = self.schedule.q_posterior_mean_variance(real_imgs, x_t, timesteps)
        return dict(real_imgs=real_imgs, timesteps=timesteps, noise=noise,
                    diffusion_batches=x_t, label=labels, **net_out, **p_out, **q_out)

    def compute_losses(self, outputs: dict) -> tuple[Tensor, dict[str, Tensor]]:
        """Sum of ``ddpm_loss`` terms; log_vars gain each loss's quartile/name logs."""
        losses, extra_logs = {}, {}
        for loss_fn in self.ddpm_loss:
            value, logs = loss_fn.forward_with_logs(outputs)
            losses[loss_fn.loss_name()] = value
            extra_logs.update(logs)
        loss, log_vars = self.parse_losses(losses)
        log_vars.update(extra_logs)
        return loss, log_vars

    def _labels(self, data_samples: Any, num: int) -> Tensor | None:
        labels = None
        if data_samples is not None and 'gt_label' in data_samples:
            labels = data_samples.gt_label
            labels = torch.stack(labels) if isinstance(labels, list) else labels
            labels = labels.reshape(-1).long().to(self.device)
        if self.num_classes == 0:
            return None  # unconditional: labels in the dataset are ignored
        if labels is None:
            labels = torch.randint(0, self.num_classes, (num,), device=self.device)
        return labels

    # -- sampling ---------------------------------------------------------------------------
    def get_schedule(self, timestep_respacing: int | str | list | None = None,
                     use_timesteps: list[int] | None = None) -> GaussianDiffusionSchedule:
        """The full chain, or a respaced one (``timestep_respacing`` or ``use_timesteps``)."""
        if use_timesteps is None and timestep_respacing is not None:
            use_timesteps = space_timesteps(self.num_timesteps, timestep_respacing)
        if use_timesteps is None or len(use_timesteps) == self.num_timesteps:
            return self.schedule
        return self.schedule.respace(use_timesteps)

    @torch.no_grad()
    def denoising_step(self, model: nn.Module, x_t: Tensor, t: Tensor,
                       schedule: GaussianDiffusionSchedule | None = None,
                       noise: Tensor | None = None, label: Tensor | None = None,
                       clip_denoised: bool = True) -> Tensor:
        """x_{t-1} = μ_θ(x_t, t) + σ_t z (z = ``noise`` or N(0, I); no noise at t = 0)."""
        schedule = schedule or self.schedule
        out = model(x_t, schedule.model_timesteps(t), label=label)
        p_out = schedule.p_mean_variance(out, x_t, t, self.denoising_mean_mode,
                                         self.denoising_var_mode, clip_denoised)
        noise = torch.randn_like(x_t) if noise is None else noise.to(x_t)
        nonzero = (t != 0).to(x_t.dtype).reshape(-1, *([1] * (x_t.ndim - 1)))
        return p_out['mean_pred'] + nonzero * torch.sqrt(p_out['var_pred']) * noise

    @torch.no_grad()
    def DDPM_sample(self, model: nn.Module, noise: Tensor, label: Tensor | None = None,  # noqa: N802
                    save_intermedia: bool = False, timesteps_noise: Tensor | None = None,
                    schedule: GaussianDiffusionSchedule | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    clip_denoised: bool = True) -> Tensor | dict[int, Tensor]:
        """Run the reverse chain from x_T = ``noise``. ``timesteps_noise`` (T', N, C, H, W)
        fixes the noise of each step; ``progress(done, total)`` is called after each step.
        Returns x_0, or ``{t: x_t}`` (original-chain indices, T = the start) with
        ``save_intermedia``."""
        schedule = schedule or self.schedule
        x_t, total = noise, schedule.num_timesteps
        intermedia = {self.num_timesteps: x_t.cpu().clone()} if save_intermedia else None
        for done, i in enumerate(reversed(range(total)), start=1):
            t = torch.full((x_t.shape[0],), i, dtype=torch.long, device=x_t.device)
            step_noise = timesteps_noise[i] if timesteps_noise is not None else None
            x_t = self.denoising_step(model, x_t, t, schedule, step_noise, label, clip_denoised)
            if save_intermedia:
                intermedia[schedule.timestep_map[i]] = x_t.cpu().clone()
            if progress is not None:
                progress(done, total)
        return intermedia if save_intermedia else x_t

    def _image_shape(self) -> tuple[int, int, int]:
        net = _unwrap(self.denoising)
        return (net.in_channels, net.image_size, net.image_size)

    def _check_label(self, label: Tensor | None, num: int) -> Tensor | None:
        if label is not None and self.num_classes == 0:
            raise ValueError(f'{type(self).__name__}: a label was given but the model is '
                             f'unconditional (model.num_classes=0)')
        if label is None and self.num_classes > 0:
            label = torch.randint(0, self.num_classes, (num,))
        return None if label is None else torch.as_tensor(label).reshape(-1).to(self.device)

    @torch.no_grad()
    def sample_from_noise(self, noise: Tensor | Callable | None, num_batches: int = 0,
                          sample_model: str = 'ema/orig', label: Tensor | None = None,
                          save_intermedia: bool = False, timesteps_noise: Tensor | None = None,
                          timestep_respacing: int | str | list | None = None,
                          use_timesteps: list[int] | None = None,
                          progress: Callable[[int, int], None] | None = None,
                          clip_denoised: bool = True) -> Tensor | dict[int, Tensor]:
        """Samples in [-1, 1]: (N, C, H, W), or (2N, ...) EMA then orig for 'ema/orig' with an
        EMA; ``{t: x_t}`` with ``save_intermedia``. ``noise``: x_T, a sampler ``fn(shape)`` or
        None (N(0, I) with ``num_batches``)."""
        if isinstance(noise, Tensor):
            x_T = noise.to(self.device)  # noqa: N806
        else:
            shape = (max(num_batches, 1), *self._image_shape())
            x_T = (noise(shape) if callable(noise) else torch.randn(shape)).to(self.device)  # noqa: N806
        label = self._check_label(label, x_T.shape[0])
        schedule = self.get_schedule(timestep_respacing, use_timesteps)
        names = self._sample_models(sample_model)
        models = {'ema': getattr(self, 'denoising_ema', None), 'orig': self.denoising}
        results = [self.DDPM_sample(models[n], x_T, label, save_intermedia, timesteps_noise,
                                    schedule, progress, clip_denoised) for n in names]
        if len(results) == 1:
            return results[0]
        if save_intermedia:
            return {k: torch.cat([r[k] for r in results]) for k in results[0]}
        return torch.cat(results)

    def _sample_models(self, sample_model: str) -> list[str]:
        if sample_model not in ('ema', 'orig', 'ema/orig'):
            raise ValueError(f"sample_model must be 'ema', 'orig' or 'ema/orig', got "
                             f'{sample_model!r}')
        if sample_model == 'ema' and not self.with_ema:
            raise ValueError(f"{type(self).__name__}: sample_model='ema' needs an EMA denoiser; "
                             f"set model.train_cfg=dict(use_ema=True) or use sample_model='orig'")
        if sample_model == 'ema/orig':
            return ['ema', 'orig'] if self.with_ema else ['orig']
        return [sample_model]

    def forward(self, inputs: Any, data_samples: Any = None,
                mode: str | None = None) -> list[DataSample]:
        """Sample images. ``inputs``: a noise Tensor (x_T) or a dict with optional ``noise``,
        ``num_batches``, ``sample_model``, ``sample_kwargs`` (``timestep_respacing``,
        ``use_timesteps``...). Returns one DataSample per image with ``fake_img`` in
        [0, 255] (``ema``/``orig`` sub-samples for 'ema/orig'), ``noise``, ``sample_model``."""
        inputs = dict(noise=inputs) if isinstance(inputs, Tensor) else dict(inputs or {})
        num = _num_batches(inputs, data_samples)
        sample_model = inputs.get('sample_model') or ('ema' if self.with_ema else 'orig')
        sample_kwargs = dict(inputs.get('sample_kwargs') or {})
        label = None
        if data_samples is not None and 'gt_label' in data_samples and self.num_classes:
            label = self._labels(data_samples, num)
        noise = inputs.get('noise')
        noise = noise.to(self.device) if isinstance(noise, Tensor) \
            else torch.randn(num, *self._image_shape(), device=self.device)
        fakes = {}
        for name in self._sample_models(sample_model):
            img = self.sample_from_noise(noise, num, name, label, **sample_kwargs)
            destruct = getattr(self.data_preprocessor, 'destruct', None)
            fakes[name] = destruct(img, data_samples) if destruct is not None else img
        out = DataSample()
        if isinstance(data_samples, DataSample):
            out.update(data_samples)
        if sample_model == 'ema/orig' and len(fakes) == 2:
            out.ema, out.orig = DataSample(fake_img=fakes['ema']), DataSample(fake_img=fakes['orig'])
        else:
            out.fake_img = next(iter(fakes.values()))
        out.noise = noise
        out.sample_model = sample_model
        # the progress callback is the caller's, not part of the sample's record
        out.sample_kwargs = copy.deepcopy({k: v for k, v in sample_kwargs.items()
                                           if k != 'progress'})
        return out.split(allow_nonseq_value=True)

    def val_step(self, data: dict) -> list[DataSample]:
        data = self.data_preprocessor(data)
        return self(**data)

    def test_step(self, data: dict) -> list[DataSample]:
        data = self.data_preprocessor(data)
        return self(**data)


def _real_images(inputs: Any, data_samples: Any) -> Tensor:
    """``inputs['img']`` (MMGeneration's PackGenInputs), a Tensor, or ``data_samples.gt_img``
    (MMagic's PackInputs), preprocessed to [-1, 1]."""
    if isinstance(inputs, Tensor):
        return inputs
    if isinstance(inputs, dict) and isinstance(inputs.get('img'), Tensor):
        return inputs['img']
    gt = data_samples.get('gt_img') if isinstance(data_samples, DataSample) else None
    if isinstance(gt, list) and gt:
        gt = torch.stack(gt)
    if isinstance(gt, Tensor):
        return gt
    keys = list(inputs) if isinstance(inputs, dict) else type(inputs).__name__
    raise KeyError(f'BasicGaussianDiffusion: no real images in the batch: expected '
                   f'inputs["img"] or data_samples.gt_img (got inputs {keys}); pack images with '
                   f"PackInputs (key 'gt' or 'img')")


def _num_batches(inputs: dict, data_samples: Any) -> int:
    """Batch size asked for: a noise tensor's, ``num_batches`` or the data samples' count."""
    sizes = {}
    if isinstance(inputs.get('noise'), Tensor):
        sizes['noise'] = inputs['noise'].shape[0]
    if inputs.get('num_batches') is not None:
        sizes['num_batches'] = int(inputs['num_batches'])
    if data_samples is not None and len(data_samples) > 0:
        sizes['data_samples'] = len(data_samples)
    if len(set(sizes.values())) > 1:
        raise ValueError(f'inconsistent batch sizes in the sampling inputs: {sizes}')
    return next(iter(sizes.values())) if sizes else 1


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model


def _is_wrapper_dict(optim_wrapper: Any) -> bool:
    return hasattr(optim_wrapper, 'keys') and 'denoising' in optim_wrapper.keys()
