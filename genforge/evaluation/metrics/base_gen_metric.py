"""Base classes of the generative metrics (MMagic's ``GenMetric`` / ``GenerativeMetric``).

Images reach the metrics as MMagic passes them: float tensors in [0, 255], BGR channel order
(``DataPreprocessor.destruct`` for generated images, the eval-mode preprocessor for real ones).
Inception-based metrics flip them to RGB and quantise them to integers before the network.

- ``GenMetric`` (``SAMPLER_MODE = 'normal'``): the loop iterates over real batches and the
  model generates one fake per real image (SWD, translation models' TransFID/TransIS).
- ``GenerativeMetric`` (``SAMPLER_MODE = 'Generative'``): the loop asks the model for
  ``fake_nums`` samples with ``inputs=dict(num_batches=..., sample_model=...)``; real data is
  only used in :meth:`prepare` (FID/KID/PR reference statistics).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from genforge.models.wrappers import unwrap_model

from ...datasets.collate import pseudo_collate
from ...dist import all_gather_object, broadcast_object, get_dist_info, get_world_size, is_main_process
from ...structures import DataSample
from .base import BaseMetric

__all__ = ['GenMetric', 'GenerativeMetric', 'GenerativeSampler', 'unwrap_model']

logger = logging.getLogger(__name__)


def _stack_field(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return list(value) if value.ndim == 4 else [value]
    return list(value)


def _sample_field(samples: Any, key: str) -> list[torch.Tensor] | None:
    """``key`` of a stacked DataSample or of every sample of a list, as float tensors."""
    if samples is None:
        return None
    if isinstance(samples, (list, tuple)):
        if not samples or not all(key in s for s in samples):
            return None
        return [s.get(key).float() for s in samples]
    if key not in samples:
        return None
    return [t.float() for t in _stack_field(samples.get(key))]


def _input_field(inputs: Any, key: str) -> list[torch.Tensor] | None:
    """``inputs[key]`` of a raw (collated, not normalised) batch: pixels as the pipeline left
    them, [0, 255] in the loader's channel order (BGR by default)."""
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(d, dict) for d in inputs):
        if not all(key in d for d in inputs):
            return None
        return [d[key].float() for d in inputs]
    if isinstance(inputs, dict) and key in inputs and inputs[key] is not None:
        return [t.float() for t in _stack_field(inputs[key])]
    return None


class GenMetric(BaseMetric):
    """Base of metrics comparing generated and real images.

    Args:
        fake_nums (int): generated images the metric uses; -1 = as many as the evaluation
            dataset has (resolved in :meth:`prepare`).
        real_nums (int): real images; -1 = the whole dataset. Default 0.
        fake_key (str, optional): field of the model output holding the image, default
            ``'fake_img'``.
        real_key (str, optional): field of the (eval-preprocessed) data samples holding real
            images, default ``'gt_img'``.
        sample_model (str): 'ema' or 'orig' (which sub-sample of the output to read).
        collect_device (str), prefix (str, optional): as BaseMetric.
    """
    SAMPLER_MODE = 'normal'
    name = 'GenMetric'

    def __init__(self, fake_nums: int, real_nums: int = 0, fake_key: str | None = None,
                 real_key: str | None = 'gt_img', sample_model: str = 'ema',
                 collect_device: str = 'cpu', prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.fake_nums = int(fake_nums)
        self.real_nums = int(real_nums)
        self.fake_key = fake_key
        self.real_key = real_key
        self.sample_model = sample_model
        self.need_cond_input = getattr(self, 'need_cond_input', False)
        self.real_results: list = []
        self.fake_results: list = []
        self.data_preprocessor = None
        self.real_source = 'val'  # which data the real statistics came from (protocol)

    # -- sizes ---------------------------------------------------------------------------
    @property
    def fake_nums_per_device(self) -> int:
        return math.ceil(self.fake_nums / get_world_size())

    @property
    def real_nums_per_device(self) -> int:
        return math.ceil(self.real_nums / get_world_size())

    # -- protocol ------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        """What the number means, e.g. ``swd@fake=2048,real=val:2048,model=ema``."""
        fields = dict(self._protocol_fields())
        fields.setdefault('fake', self.fake_nums)
        fields.setdefault('model', self.sample_model)
        return f'{self.name.lower()}@' + ','.join(f'{k}={v}' for k, v in fields.items())

    def _protocol_fields(self) -> list[tuple[str, Any]]:
        real = 'all' if self.real_nums == -1 else self.real_nums
        return [('fake', self.fake_nums), ('real', f'{self.real_source}:{real}')]

    # -- inputs from the loop -------------------------------------------------------------
    def prepare(self, module: nn.Module, dataloader: DataLoader) -> None:
        """Called once before sampling; keeps the model's data preprocessor and turns
        ``fake_nums=-1`` into the evaluation dataset's length (MMagic: "as many as the
        validation set has")."""
        self.data_preprocessor = getattr(unwrap_model(module), 'data_preprocessor', None)
        dataset = getattr(dataloader, 'dataset', None)
        if self.fake_nums == -1 and dataset is not None:
            self.fake_nums = len(dataset)
            logger.info('%s: fake_nums=-1 -> %d (the length of the evaluation dataset)',
                        self.prefix or type(self).__name__, self.fake_nums)

    def fake_images(self, data_samples) -> list[torch.Tensor]:
        """Per-sample generated images (3, H, W), [0, 255] BGR, from the model outputs."""
        imgs = []
        for pred in data_samples:
            sample = pred.get(self.sample_model) if self.sample_model in pred else pred
            key = self.fake_key if self.fake_key is not None and self.fake_key in sample \
                else 'fake_img'
            if key not in sample:
                raise KeyError(f'{type(self).__name__}: the model output has no {key!r} field '
                               f'(sample_model={self.sample_model!r}); fields: '
                               f'{list(sample.keys())}. Set fake_key to the image field.')
            img = sample.get(key)
            imgs.append(img.get('fake_img') if isinstance(img, (dict, DataSample)) else img)
        return [img.detach() for img in imgs]

    def real_images(self, data_batch: dict) -> list[torch.Tensor]:
        """Real images of a dataloader batch as (3, H, W) [0, 255] BGR tensors.

        ``real_key`` is looked up in the (eval-preprocessed) data samples, then in the raw
        batch's ``inputs``. With the default names ('gt_img' / 'img') both layouts work without
        setting it: MMagic's (``PackInputs``: ``data_samples.gt_img``) and MMGeneration 1.x's
        (``PackGenInputs``: ``inputs['img']``); the field used is logged once.
        """
        key = self.real_key or 'gt_img'
        samples = None
        if self.data_preprocessor is not None:
            samples = self.data_preprocessor(data_batch, False).get('data_samples')
        # the two layouts' names for "the real image"; another real_key is taken literally
        standard = ('gt_img', 'img') if key in ('gt_img', 'img') else ()
        for candidate in dict.fromkeys((key, *standard)):
            imgs = _sample_field(samples, candidate)
            if imgs is None:
                imgs = _sample_field(data_batch.get('data_samples'), candidate)
            if imgs is not None:
                self._note_real_source(key, f'data_samples.{candidate}')
                return imgs
        for candidate in dict.fromkeys((key, *standard[::-1])):
            imgs = _input_field(data_batch.get('inputs'), candidate)
            if imgs is not None:
                self._note_real_source(key, f'inputs[{candidate!r}]')
                return imgs
        raise KeyError(f'{type(self).__name__}: real_key={key!r} is not in the data samples nor '
                       'in the inputs of the dataloader batch; pack the real image under that key '
                       "(PackInputs / PackGenInputs) or set real_key (e.g. 'gt_img' or 'img').")

    def _note_real_source(self, key: str, source: str) -> None:
        if source != f'data_samples.{key}' and getattr(self, '_real_source_logged', None) != source:
            self._real_source_logged = source
            logger.info('%s: real_key=%r is not in the batch; reading the real images from %s',
                        type(self).__name__, key, source)

    # -- samplers ------------------------------------------------------------------------
    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader,
                           metrics: list[GenMetric]) -> DataLoader:
        """Real batches (this rank's share of the first ``real_nums`` dataset items)."""
        dataset = dataloader.dataset
        nums = max(m.real_nums if m.real_nums != -1 else len(dataset) for m in metrics)
        if nums > len(dataset):
            raise ValueError(f'{type(self).__name__}: real_nums={nums} exceeds the dataset '
                             f'length {len(dataset)}')
        rank, world = get_dist_info()
        subset = [(i * world + rank) % nums for i in range((nums - 1) // world + 1)]
        return DataLoader(dataset, batch_size=dataloader.batch_size, sampler=subset,
                          collate_fn=pseudo_collate, shuffle=False, drop_last=False)

    # -- results -------------------------------------------------------------------------
    def _collect(self, results: list, size: int) -> list | None:
        """Concatenate this rank's per-sample results with the others', keep ``size``."""
        gathered = all_gather_object([r.cpu() if isinstance(r, torch.Tensor) else r
                                      for r in results])
        if not is_main_process():
            return None
        # interleave ranks back into sampling order
        merged = [item for group in zip(*gathered) for item in group] if len(gathered) > 1 \
            else gathered[0]
        if size != -1 and len(merged) < size:
            raise ValueError(f'{type(self).__name__}: got {len(merged)} results, needs {size}; '
                             'the sampler produced too few images')
        return merged if size == -1 else merged[:size]

    def evaluate(self, size: int | None = None) -> dict:
        """Gather, compute on rank 0, broadcast; keys get ``prefix/``."""
        fake = self._collect(self.fake_results, self.fake_nums)
        real = self._collect(self.real_results, self.real_nums) if self.real_results else []
        metrics = None
        if is_main_process():
            metrics = self.compute_metrics(fake, real)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        metrics = broadcast_object(metrics)
        self.fake_results.clear()
        self.real_results.clear()
        return metrics

    def compute_metrics(self, results_fake: list, results_real: list) -> dict:  # noqa: D102
        raise NotImplementedError


class GenerativeSampler:
    """Finite iterator of generation requests: ``dict(inputs=dict(num_batches, sample_model,
    sample_kwargs[, noise]))`` until ``max_length`` samples are asked for (last batch smaller)."""

    def __init__(self, batch_size: int, max_length: int, sample_model: str, dataset=None,
                 need_cond: bool = False, sample_kwargs: dict | None = None):
        self.batch_size, self.max_length = batch_size, max_length
        self.sample_model, self.dataset, self.need_cond = sample_model, dataset, need_cond
        self.sample_kwargs = dict(sample_kwargs or {})

    def __len__(self) -> int:
        return math.ceil(self.max_length / self.batch_size)

    def _cond_samples(self, n: int) -> list[DataSample]:
        out = []
        for _ in range(n):
            info = self.dataset.get_data_info(np.random.randint(len(self.dataset)))
            out.append(DataSample().set_gt_label(info['gt_label']))
        return out

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, self.max_length, self.batch_size):
            n = min(self.batch_size, self.max_length - start)
            data = dict(inputs=dict(num_batches=n, sample_model=self.sample_model,
                                    sample_kwargs=dict(self.sample_kwargs)))
            if self.need_cond:
                data['data_samples'] = self._cond_samples(n)
            yield data


class GenerativeMetric(GenMetric):
    """Base of metrics on generated samples only (real data just in :meth:`prepare`).

    Extra args: ``need_cond_input`` (sample labels from the dataset's ``get_data_info``),
    ``sample_kwargs`` (passed to the model's sampling).
    """
    SAMPLER_MODE = 'Generative'

    def __init__(self, fake_nums: int, real_nums: int = 0, fake_key: str | None = None,
                 real_key: str | None = 'img', need_cond_input: bool = False,
                 sample_model: str = 'ema', collect_device: str = 'cpu',
                 prefix: str | None = None, sample_kwargs: dict | None = None):
        self.need_cond_input = need_cond_input
        super().__init__(fake_nums, real_nums, fake_key, real_key, sample_model,
                         collect_device, prefix)
        self.sample_kwargs = dict(sample_kwargs or {})

    def get_metric_sampler(self, model: nn.Module, dataloader: DataLoader,
                           metrics: list[GenMetric]) -> GenerativeSampler:
        """Requests for ``max(fake_nums_per_device)`` samples of the group's metrics."""
        models = {m.sample_model for m in metrics}
        if len(models) != 1:
            raise ValueError(f'metrics sharing a sampler must use one sample_model, got {models}')
        return GenerativeSampler(dataloader.batch_size, max(m.fake_nums_per_device
                                                            for m in metrics),
                                 self.sample_model, dataloader.dataset, self.need_cond_input,
                                 self.sample_kwargs)

    def evaluate(self, size: int | None = None) -> dict:
        fake = self._collect(self.fake_results, self.fake_nums)
        metrics = None
        if is_main_process():
            metrics = self.compute_metrics(fake)
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        metrics = broadcast_object(metrics)
        self.fake_results.clear()
        return metrics

    def compute_metrics(self, results_fake: list) -> dict:  # noqa: D102
        raise NotImplementedError
