"""StyleGAN3 training: StyleGAN2's losses; the generator runs with phase-specific keyword
arguments (``forward_kwargs``): the D phase updates the magnitude and w EMAs."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from genforge.models.archs.stylegan3_utils import (
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
    rotation_matrix,
)
from genforge.models.wrappers import is_model_wrapper
from genforge.registry import MODELS
from genforge.structures import DataSample

from .stylegan2 import StyleGAN2

__all__ = ['StyleGAN3']


@MODELS.register_module()
class StyleGAN3(StyleGAN2):
    """MMagic's ``StyleGAN3``: ``forward_kwargs=dict(disc=..., gen=...)`` are passed to the
    generator when it makes fakes for the D step (default ``update_emas=True,
    force_fp32=False``) and for the G step (default ``force_fp32=False``).

    Example: dict(type='StyleGAN3', data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='StyleGANv3Generator', out_size=256, style_channels=512,
                                 img_channels=3),
                  discriminator=dict(type='StyleGAN2Discriminator', in_size=256),
                  loss_config=dict(r1_loss_weight=16., r1_interval=16, norm_mode='HWC'))
    """

    def __init__(self, generator, discriminator=None, data_preprocessor=None,
                 generator_steps: int = 1, discriminator_steps: int = 1,
                 forward_kwargs: dict | None = None, ema_config: dict | None = None,
                 loss_config: dict | None = None, num_classes: int | None = None):
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, ema_config, loss_config, num_classes)
        self.noise_size = getattr(self.generator, 'noise_size', 512)
        forward_kwargs = dict(forward_kwargs or {})
        forward_kwargs.setdefault('disc', dict(update_emas=True, force_fp32=False))
        forward_kwargs.setdefault('gen', dict(force_fp32=False))
        self.forward_kwargs = forward_kwargs

    def generate(self, num_batches: int, labels: Tensor | None = None
                 ) -> tuple[Tensor, Tensor | None]:
        # BaseGAN makes D's fakes without autograd and G's with it: that tells the phases apart
        phase = 'gen' if torch.is_grad_enabled() else 'disc'
        labels = self._fake_labels(num_batches, labels)
        extra = {} if labels is None else dict(label=self._one_hot(labels))
        return self.generator(self.noise_fn(num_batches=num_batches), return_noise=False,
                              **self.forward_kwargs[phase], **extra), labels

    # -- equivariance sampling (the ``Equivariance`` metric asks for it) -------------------
    def val_step(self, data: dict) -> list[DataSample]:
        data = self.data_preprocessor(data)
        inputs = data.get('inputs')
        mode = inputs.get('mode') if isinstance(inputs, dict) else None
        if isinstance(mode, dict) and 'eq_cfg' in mode:
            return self.sample_equivarience_pairs(
                int(inputs['num_batches']), sample_mode=mode.get('sample_mode', 'ema'),
                eq_cfg=mode['eq_cfg'], sample_kwargs=mode.get('sample_kwargs') or {})
        return self(**data)

    test_step = val_step

    @torch.no_grad()
    def sample_equivarience_pairs(self, batch_size: int, sample_mode: str = 'ema',
                                  eq_cfg: dict | None = None,
                                  sample_kwargs: dict | None = None) -> list[DataSample]:
        """One DataSample per image with ``eqt_int`` / ``eqt_frac`` / ``eqr`` =
        DataSample(diff=masked squared error (C, H, W), mask=(C, H, W)) in [-1, 1] units.

        (MMagic's spelling of the method name.)"""
        cfg = dict(compute_eqt_int=False, compute_eqt_frac=False, compute_eqr=False,
                   translate_max=0.125, rotate_max=1.)
        cfg.update(eq_cfg or {})
        gen = self.generator if sample_mode == 'orig' else self.generator_ema
        gen = gen.module if is_model_wrapper(gen) else gen
        gen = getattr(gen, 'module', gen)  # the EMA wrapper holds the generator as .module
        transform = gen.synthesis.input.transform
        saved = transform.clone()
        device = transform.device
        ws = gen.style_mapping(torch.randn(batch_size, gen.noise_size, device=device))
        kwargs = dict(sample_kwargs or {})
        transform.copy_(torch.eye(3, device=device))
        orig = gen.synthesis(ws, **kwargs)
        samples = [DataSample() for _ in range(batch_size)]
        pairs: dict[str, tuple[Tensor, Tensor]] = {}
        size = gen.out_size
        if cfg['compute_eqt_int'] or cfg['compute_eqt_frac']:
            for key, integer in (('eqt_int', True), ('eqt_frac', False)):
                if not cfg[f'compute_{key}']:
                    continue
                t = (torch.rand(2, device=device) * 2 - 1) * cfg['translate_max']
                if integer:
                    t = (t * size).round() / size
                transform.copy_(torch.eye(3, device=device))
                transform[:2, 2] = -t  # the input transform is the inverse one
                img = gen.synthesis(ws, **kwargs)
                apply = apply_integer_translation if integer else apply_fractional_translation
                ref, mask = apply(orig, t[0], t[1])
                pairs[key] = ((ref - img).square() * mask, mask)
        if cfg['compute_eqr']:
            angle = (torch.rand([], device=device) * 2 - 1) * cfg['rotate_max'] * math.pi
            transform.copy_(rotation_matrix(-angle).to(device))
            img = gen.synthesis(ws, **kwargs)
            ref, mask = apply_fractional_rotation(orig, angle)
            pairs['eqr'] = ((ref - img).square() * mask, mask)
        transform.copy_(saved)
        for i, sample in enumerate(samples):
            for key, (diff, mask) in pairs.items():
                sample.set_field(DataSample(diff=diff[i], mask=mask[i]), key)
        return samples

