"""MS-SSIM between pairs of generated samples (diversity; MMagic's MultiScaleStructureSimilarity)."""
from __future__ import annotations

import torch

from ...registry import METRICS
from ..functional.gen_metrics import ms_ssim
from .base_gen_metric import GenerativeMetric

__all__ = ['MultiScaleStructureSimilarity']


@METRICS.register_module(name=['MultiScaleStructureSimilarity', 'MS_SSIM'])
class MultiScaleStructureSimilarity(GenerativeMetric):
    """Mean MS-SSIM over ``fake_nums // 2`` pairs (samples 0-1, 2-3, ... of each batch).

    Lower = more diverse samples. Images in [0, 255], 5 scales, 11x11 Gaussian window (sigma
    1.5), as ProGAN. Needs no weights. Result: ``avg``.

    Example: dict(type='MS_SSIM', prefix='ms-ssim', fake_nums=10000)
    """
    name = 'MS-SSIM'

    def __init__(self, fake_nums: int, fake_key: str | None = None,
                 need_cond_input: bool = False, sample_model: str = 'ema',
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(fake_nums, 0, fake_key, None, need_cond_input, sample_model,
                         collect_device, prefix)
        if fake_nums != -1 and fake_nums % 2:
            raise ValueError(f'MS_SSIM: fake_nums={fake_nums} must be even (images are paired)')
        self.num_pairs = fake_nums // 2

    def prepare(self, module, dataloader) -> None:
        """``fake_nums=-1``: the dataset's length, rounded down to pairs."""
        resolve = self.fake_nums == -1
        super().prepare(module, dataloader)
        if resolve:
            self.fake_nums -= self.fake_nums % 2
            self.num_pairs = self.fake_nums // 2

    def _protocol_fields(self) -> list:
        return [('pairs', self.num_pairs)]

    def process(self, data_batch: dict, data_samples) -> None:
        if len(self.fake_results) >= self.fake_nums_per_device // 2:
            return
        batch = torch.stack(self.fake_images(data_samples))
        if batch.shape[0] % 2:
            raise ValueError(f'MS_SSIM: batch of {batch.shape[0]} samples cannot be paired; use '
                             'an even val_dataloader batch_size')
        half1 = batch[0::2].permute(0, 2, 3, 1).cpu().numpy()  # NCHW -> NHWC
        half2 = batch[1::2].permute(0, 2, 3, 1).cpu().numpy()
        scores = ms_ssim(half1, half2, reduce_mean=False)
        self.fake_results += [torch.tensor(float(s)) for s in scores]

    def evaluate(self, size: int | None = None) -> dict:
        fake_nums, self.fake_nums = self.fake_nums, self.num_pairs  # collect pairs, not images
        try:
            return super().evaluate(size)
        finally:
            self.fake_nums = fake_nums

    def compute_metrics(self, results_fake: list) -> dict:
        return {'avg': round(torch.stack(results_fake).double().mean().item(), 4)}
