"""StyleGAN3's equivariance metrics (MMagic's ``Equivariance``): PSNR between the image made
with a transformed generator input and the original image transformed in image space.

EQ-T (integer translation) is exact; EQ-T frac and EQ-R use genforge's Lanczos resamplers
(``genforge.models.archs.stylegan3_utils``), so those two are for monitoring and not comparable
digit-for-digit with published numbers (the protocol string says ``resampler=genforge``).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from ...registry import METRICS
from .base_gen_metric import GenerativeMetric

__all__ = ['Equivariance']

EQ_KEYS = (('compute_eqt_int', 'eqt_int'), ('compute_eqt_frac', 'eqt_frac'),
           ('compute_eqr', 'eqr'))


class _EqSampler:
    """Asks the model for equivariance pairs: ``inputs=dict(num_batches, mode=dict(eq_cfg,
    sample_mode, sample_kwargs))`` (read by ``StyleGAN3.val_step``)."""

    def __init__(self, batch_size: int, max_length: int, eq_cfg: dict, sample_mode: str,
                 sample_kwargs: dict):
        self.batch_size, self.max_length = batch_size, max_length
        self.mode = dict(eq_cfg=eq_cfg, sample_mode=sample_mode, sample_kwargs=sample_kwargs)

    def __len__(self) -> int:
        return math.ceil(self.max_length / self.batch_size)

    def __iter__(self):
        for start in range(0, self.max_length, self.batch_size):
            n = min(self.batch_size, self.max_length - start)
            yield dict(inputs=dict(num_batches=n, mode=dict(self.mode)))


@METRICS.register_module()
class Equivariance(GenerativeMetric):
    """EQ-T / EQ-T frac / EQ-R PSNR (dB, peak-to-peak 2 for images in [-1, 1]) over
    ``fake_nums`` samples: 20 log10(2) - 10 log10(sum masked squared error / sum mask).

    Keys: ``eqt_int``, ``eqt_frac``, ``eqr`` (those enabled in ``eq_cfg``).

    Example: dict(type='Equivariance', fake_nums=50000, sample_mode='ema', prefix='EQ',
                  eq_cfg=dict(compute_eqt_int=True, compute_eqt_frac=True, compute_eqr=True))
    """
    SAMPLER_MODE = 'eq'
    name = 'EQ'

    def __init__(self, fake_nums: int, real_nums: int = 0, fake_key: str | None = None,
                 real_key: str | None = 'img', need_cond_input: bool = False,
                 sample_mode: str = 'ema', sample_kwargs: dict | None = None,
                 collect_device: str = 'cpu', prefix: str = 'EQ',
                 eq_cfg: dict | None = None):
        super().__init__(fake_nums, real_nums, fake_key, real_key, need_cond_input,
                         sample_mode, collect_device, prefix, sample_kwargs)
        self.eq_cfg = dict(compute_eqt_int=False, compute_eqt_frac=False, compute_eqr=False,
                           translate_max=0.125, rotate_max=1.)
        self.eq_cfg.update(eq_cfg or {})
        self.keys = [key for flag, key in EQ_KEYS if self.eq_cfg[flag]]
        if not self.keys:
            raise ValueError('Equivariance: eq_cfg enables nothing; set compute_eqt_int, '
                             'compute_eqt_frac and/or compute_eqr to True')

    def _protocol_fields(self) -> list:
        return [('fake', self.fake_nums), ('keys', '+'.join(self.keys)),
                ('resampler', 'genforge')]

    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader,
                           metrics: list) -> _EqSampler:
        return _EqSampler(dataloader.batch_size, max(m.fake_nums_per_device for m in metrics),
                          self.eq_cfg, self.sample_model, self.sample_kwargs)

    def process(self, data_batch: dict, data_samples) -> None:
        """Per sample: (sum of masked squared errors, sum of the mask) for each key."""
        for sample in data_samples:
            if len(self.fake_results) >= self.fake_nums_per_device:
                return
            sums = []
            for key in self.keys:
                pair = sample.get(key)
                if pair is None:
                    raise KeyError(f'Equivariance: the model output has no {key!r}; the model '
                                   f'must implement equivariance sampling (StyleGAN3)')
                sums += [pair.diff.double().sum(), pair.mask.double().sum()]
            self.fake_results.append(torch.stack(sums).cpu())

    def compute_metrics(self, results_fake: list) -> dict:
        totals = torch.stack(results_fake).sum(0)
        out = {}
        for i, key in enumerate(self.keys):
            mse = totals[2 * i] / totals[2 * i + 1].clamp(min=1)
            out[key] = float(20 * math.log10(2) - 10 * torch.log10(mse))
        return out
