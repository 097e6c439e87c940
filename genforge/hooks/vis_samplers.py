"""What :class:`VisualizationHook` feeds the model: MMagic's vis modes and their samplers.

Each vis mode is an alias of a sampler type plus defaults (MMagic's ``VIS_KWARGS_MAPPING``):

========================  ==========================================================
``GAN`` / ``Noise``       ``val_step(dict(inputs=dict(noise, num_batches, **kwargs)))``
``SinGAN``                ``Arguments`` with ``forward_kwargs=dict(mode='rand')``
``Translation``           batches of the train dataset (``Data``)
``TranslationVal``        batches of the validation dataset (``ValData``)
``TranslationTest``       batches of the test dataset (``TestData``)
``Arguments``             ``val_step(dict(inputs=dict(num_batches, **forward_kwargs)))``
========================  ==========================================================

A sampler is an iterable of ``max_times`` model inputs (``dict(inputs=..., data_samples=...)``).
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader

from genforge.datasets.collate import pseudo_collate

__all__ = ['VIS_KWARGS_MAPPING', 'SAMPLER_TYPES', 'resolve_vis_kwargs', 'build_vis_sampler']

VIS_KWARGS_MAPPING = dict(
    GAN=dict(type='Noise'),
    SinGAN=dict(type='Arguments', forward_kwargs=dict(mode='rand')),
    Translation=dict(type='Data'),
    TranslationVal=dict(type='ValData'),
    TranslationTest=dict(type='TestData'),
)
SAMPLER_TYPES = ('Noise', 'Arguments', 'Data', 'ValData', 'TestData')


def resolve_vis_kwargs(vis_kwargs: dict) -> dict:
    """Replace an alias ``type`` (case-insensitive, as MMagic) by its sampler and defaults;
    the user's keys win over the alias' defaults."""
    kwargs = copy.deepcopy(dict(vis_kwargs))
    given = str(kwargs.get('type', 'GAN'))
    for alias, defaults in VIS_KWARGS_MAPPING.items():
        if alias.upper() == given.upper():
            defaults = copy.deepcopy(defaults)
            kwargs['type'] = defaults.pop('type')
            for key, value in defaults.items():
                kwargs.setdefault(key, value)
            return kwargs
    kwargs['type'] = next((t for t in SAMPLER_TYPES if t.upper() == given.upper()), given)
    return kwargs


class _NoiseSampler:
    """``max_times`` batches of noise (and labels of conditional models) for the generator.

    The noise comes from a private generator so drawing it never shifts the training RNG;
    ``seed=None`` leaves noise and labels to the model (new ones every call).
    """

    def __init__(self, module: Any, num_batches: int, max_times: int, extra: dict,
                 seed: int | None):
        self.module, self.num_batches, self.max_times = module, num_batches, max_times
        self.extra = extra
        self.gen = None if seed is None else torch.Generator().manual_seed(seed)

    def __iter__(self) -> Iterator[dict]:
        from genforge.structures import DataSample
        noise_size = getattr(self.module, 'noise_size', None) if self.gen else None
        shape = (noise_size,) if isinstance(noise_size, int) else tuple(noise_size or ())
        num_classes = (getattr(self.module, 'num_classes', 0) or 0) if self.gen else 0
        for t in range(self.max_times):
            inputs = dict(copy.deepcopy(self.extra), num_batches=self.num_batches)
            if shape:
                inputs['noise'] = torch.randn((self.num_batches, *shape), generator=self.gen)
            data = dict(inputs=inputs)
            if num_classes:
                labels = (torch.arange(self.num_batches) + t * self.num_batches) % num_classes
                data['data_samples'] = [DataSample().set_gt_label(int(y)) for y in labels]
            yield data


class _ArgumentsSampler:
    """The same ``forward_kwargs`` (plus ``num_batches``) ``max_times`` times."""

    def __init__(self, forward_kwargs: dict, num_batches: int, max_times: int):
        self.forward_kwargs = dict(forward_kwargs)
        self.forward_kwargs.setdefault('num_batches', num_batches)
        self.max_times = max_times

    def __iter__(self) -> Iterator[dict]:
        for _ in range(self.max_times):
            yield dict(inputs=copy.deepcopy(self.forward_kwargs))


class _DataSampler:
    """``max_times`` batches of a dataset, in order (wrapping around a short dataset)."""

    def __init__(self, loader: DataLoader, max_times: int):
        self.loader, self.max_times = loader, max_times
        self._it = iter(loader)

    def __iter__(self) -> Iterator[dict]:
        for _ in range(self.max_times):
            try:
                batch = next(self._it)
            except StopIteration:
                self._it = iter(self.loader)
                batch = next(self._it)
            yield batch


def _loader_of(runner: Any, split: str) -> DataLoader:
    if split == 'train':
        loader = runner.train_dataloader
    else:
        loop = getattr(runner, f'{split}_loop', None)
        loader = getattr(loop, 'dataloader', None)
        if loader is None:
            loader = getattr(runner, f'{split}_dataloader', None)
    dataset = getattr(loader, 'dataset', None)
    if dataset is None:
        raise ValueError(f'VisualizationHook: vis mode reads the {split} dataset, but the runner '
                         f'has no {split}_dataloader; add one or use another vis_kwargs type')
    # a plain loader over the dataset: the training loader's sampler state stays untouched
    return DataLoader(dataset, batch_size=loader.batch_size, shuffle=False,
                      collate_fn=pseudo_collate)


def build_vis_sampler(kwargs: dict, runner: Any, module: Any, num_batches: int, max_times: int,
                      seed: int | None = 2024) -> Any:
    """The sampler for resolved ``kwargs`` (``type`` + the sampler's own keys; the rest of a
    Noise mode's keys, e.g. ``sample_model``, go into the model inputs)."""
    kwargs = dict(kwargs)
    stype = kwargs.pop('type')
    if stype == 'Noise':
        return _NoiseSampler(module, num_batches, max_times, kwargs, seed)
    if stype == 'Arguments':
        if 'forward_kwargs' not in kwargs:
            raise KeyError("VisualizationHook: type='Arguments' needs forward_kwargs=dict(...) "
                           '(the inputs of the model call)')
        return _ArgumentsSampler(kwargs['forward_kwargs'], num_batches, max_times)
    split = dict(Data='train', ValData='val', TestData='test').get(stype)
    if split is None:
        raise ValueError(f'VisualizationHook: vis_kwargs type={stype!r} is not supported; '
                         f'use one of {list(VIS_KWARGS_MAPPING) + list(SAMPLER_TYPES)}')
    return _DataSampler(_loader_of(runner, split), max_times)
