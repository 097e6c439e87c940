"""MS-PIE StyleGAN2: StyleGAN2 trained at several image sizes with one generator ("Positional
Encoding as Spatial Inductive Bias in GANs", Xu et al., CVPR 2021).

Each iteration draws one ``chosen_scale`` s from ``train_settings.multi_input_scales`` (with
``multi_scale_probability``); the generator makes (4 + s) * 2 ** num_upblocks px fakes and the
real batch is resized (bilinear, align_corners=True) to that size. The D and G steps of an
iteration share the scale; the losses (R1, path length) are StyleGAN2's.
"""
# ruff: noqa: B006  (MMagic's signatures default to list/dict literals; they are never mutated)
from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge import dist
from genforge.models.wrappers import unwrap_model
from genforge.registry import MODELS

from .stylegan2 import ModelType, StyleGAN2

__all__ = ['MSPIEStyleGAN2']

TRAIN_SETTINGS = ('num_upblocks', 'multi_input_scales', 'multi_scale_probability')


@MODELS.register_module()
class MSPIEStyleGAN2(StyleGAN2):
    """StyleGAN2 with MS-PIE's multi-scale training (MMagic's ``MSPIEStyleGAN2``).

    ``train_settings``: ``num_upblocks`` (the generator's x2 blocks, log2(out_size) - 2;
    default 6 = 256 px), ``multi_input_scales`` (list of ints s; default [0]),
    ``multi_scale_probability`` (one per scale; default uniform). Real images (N, 3, H, W) of
    any size are resized to the iteration's (4 + s) * 2 ** num_upblocks.

    Differences from MMagic 1.2: MMagic draws a scale only under torch.distributed (a single
    process always trains at s = 0) and passes the probabilities to ``np.random.choice`` as its
    ``replace`` argument (so it draws uniformly); here every run draws with the given
    probabilities (rank 0 draws, the others receive its scale).

    Example: dict(type='MSPIEStyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='MSStyleGANv2Generator', out_size=256,
                                 style_channels=512, head_pos_encoding=dict(type='CSG'),
                                 deconv2conv=True, up_after_conv=True,
                                 up_config=dict(scale_factor=2, mode='bilinear',
                                                align_corners=True)),
                  discriminator=dict(type='MSStyleGAN2Discriminator', in_size=256,
                                     with_adaptive_pool=True),
                  train_settings=dict(num_upblocks=6, multi_input_scales=[0, 2, 4],
                                      multi_scale_probability=[0.5, 0.25, 0.25]))
    """

    supports_output_size = True  # ``genforge sample --size HxW`` picks the chosen_scale

    def __init__(self, generator: ModelType, discriminator: ModelType | None = None,
                 data_preprocessor: dict | nn.Module | None = None, generator_steps: int = 1,
                 discriminator_steps: int = 1, ema_config: dict | None = None,
                 loss_config: dict | None = None, train_settings: dict = dict()):
        super().__init__(generator, discriminator, data_preprocessor, generator_steps,
                         discriminator_steps, ema_config=ema_config, loss_config=loss_config)
        self.train_settings = copy.deepcopy(dict(train_settings or {}))
        unknown = sorted(set(self.train_settings) - set(TRAIN_SETTINGS))
        if unknown:
            raise ValueError(f'model.train_settings: unknown key(s) {unknown}; valid keys: '
                             f'{list(TRAIN_SETTINGS)}')
        self.num_upblocks = self.train_settings.get('num_upblocks', 6)
        self.multi_input_scales = list(self.train_settings.get('multi_input_scales') or [0])
        probs = self.train_settings.get('multi_scale_probability')
        self.multi_scale_probability = None if probs is None else [float(p) for p in probs]
        self._check_train_settings()
        self._train_scale = 0  # set only inside train_step (see training_scale)

    def _check_train_settings(self) -> None:
        probs, scales = self.multi_scale_probability, self.multi_input_scales
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in scales):
            raise ValueError(f'model.train_settings.multi_input_scales={scales} must be ints '
                             f'(chosen_scale s: images of (4 + s) * 2 ** num_upblocks px)')
        if probs is not None and (len(probs) != len(scales) or min(probs) < 0
                                  or not math.isclose(sum(probs), 1., abs_tol=1e-6)):
            raise ValueError(
                f'model.train_settings.multi_scale_probability={probs} must give one '
                f'non-negative probability per multi_input_scales={scales}, summing to 1')
        gen = unwrap_model(self.generator)
        if not hasattr(gen, 'output_size'):
            raise TypeError(f'{type(self).__name__}: model.generator must be a multi-scale '
                            f"generator (type='MSStyleGANv2Generator'), got "
                            f'{type(gen).__name__}')
        for scale in scales:
            # the generator names an unreachable scale; the sizes must agree with num_upblocks
            made = gen.output_size(scale)
            want = self.real_size(scale)
            if made != want:
                raise ValueError(
                    f'model.train_settings.num_upblocks={self.num_upblocks} resizes real images '
                    f'to {want} at chosen_scale={scale}, but the generator makes {made}; set '
                    f'num_upblocks={gen.log_size - 2} (log2(model.generator.out_size) - 2)')

    def real_size(self, chosen_scale: int) -> tuple[int, int]:
        """(H, W) the real batch is resized to at ``chosen_scale``."""
        size = (4 + chosen_scale) * 2 ** self.num_upblocks
        return size, size

    def sample_scale(self) -> int:
        """One of ``multi_input_scales`` (numpy's global RNG, seeded by the runner); under
        torch.distributed every rank trains at rank 0's draw."""
        idx = int(np.random.choice(len(self.multi_input_scales),
                                   p=self.multi_scale_probability))
        scale = self.multi_input_scales[idx]
        if dist.get_world_size() > 1:
            scale = dist.broadcast_object(scale, src=0)
        return scale

    @contextlib.contextmanager
    def training_scale(self, chosen_scale: int) -> Iterator[None]:
        """BaseGAN's steps call ``generate`` / ``get_real_imgs`` without a scale argument;
        the iteration's scale lives here for the duration of one ``train_step`` only."""
        self._train_scale = chosen_scale
        try:
            yield
        finally:
            self._train_scale = 0

    def train_step(self, data: dict, optim_wrapper) -> dict[str, Tensor]:
        """StyleGAN2's step at one scale drawn for this iteration (logged as
        ``chosen_scale``)."""
        scale = self.sample_scale()
        with self.training_scale(scale):
            log_vars = super().train_step(data, optim_wrapper)
        log_vars['chosen_scale'] = torch.tensor(float(scale))
        return log_vars

    def get_real_imgs(self, inputs: Any, data_samples: Any = None) -> Tensor:
        """The batch's real images resized to the current scale's size."""
        real = super().get_real_imgs(inputs, data_samples)
        size = self.real_size(self._train_scale)
        if tuple(real.shape[-2:]) != size:
            real = F.interpolate(real, size=size, mode='bilinear', align_corners=True)
        return real

    def generate(self, num_batches: int, labels: Tensor | None = None
                 ) -> tuple[Tensor, Tensor | None]:
        """Fakes at the current scale from z ~ N(0, I)."""
        return self.generator(self.noise_fn(num_batches=num_batches), return_noise=False,
                              chosen_scale=self._train_scale), None

    # -- sampling -------------------------------------------------------------------------
    def scale_for_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """The ``chosen_scale`` (s_h, s_w) whose images are ``size`` = (H, W)."""
        gen = unwrap_model(self.generator)
        up = 2 ** (gen.log_size - 2)
        h, w = (int(v) for v in size)
        if h % up or w % up:
            raise ValueError(
                f'{type(self).__name__}: output_size {h}x{w} is not reachable: this generator '
                f'makes (4 + chosen_scale) * {up} px per side, e.g. {4 * up}x{4 * up}, '
                f'{6 * up}x{6 * up}, {4 * up}x{8 * up}')
        scale = (h // up - 4, w // up - 4)
        gen.check_chosen_scale(scale)
        return scale

    def forward(self, inputs: Any, data_samples: Any = None, mode: str | None = None) -> list:
        """BaseGAN's sampling; ``inputs['output_size']`` = (H, W) samples at the matching
        ``chosen_scale`` (or give ``sample_kwargs=dict(chosen_scale=s)``)."""
        if isinstance(inputs, dict) and inputs.get('output_size') is not None:
            inputs = dict(inputs)
            sample_kwargs = dict(inputs.get('sample_kwargs') or {})
            sample_kwargs['chosen_scale'] = self.scale_for_size(inputs.pop('output_size'))
            inputs['sample_kwargs'] = sample_kwargs
        return super().forward(inputs, data_samples, mode)
