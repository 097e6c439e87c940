"""Hooks that draw samples during training/testing: GAN grids at fixed noise, restored images."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from genforge.models.wrappers import unwrap_model
from genforge.registry import HOOKS

from .hook import Hook
from .vis_samplers import SAMPLER_TYPES, VIS_KWARGS_MAPPING, build_vis_sampler, resolve_vis_kwargs


@HOOKS.register_module(name=['VisualizationHook', 'GenVisualizationHook'])
class VisualizationHook(Hook):
    """Every ``interval`` training iterations, run the model on each entry of
    ``vis_kwargs_list`` and save a grid of ``n_samples`` outputs.

    Entries use MMagic's vis modes (see :mod:`genforge.hooks.vis_samplers`): ``GAN`` / ``Noise``
    (noise -> images), ``Translation`` / ``TranslationVal`` / ``TranslationTest`` (train / val /
    test batches through a translation model), ``SinGAN`` (``mode='rand'``) and ``Arguments``
    (``forward_kwargs`` as the model inputs), with MMagic's keys ``name`` (default: the type in
    lower case), ``n_samples``, ``n_row``, ``fixed_input`` (reuse the first call's inputs: the
    same noise or the same images every time), ``target_keys`` and ``vis_mode``. Other keys of a
    Noise entry (e.g. ``sample_model``) go into the model inputs.

    Example: dict(type='VisualizationHook', interval=5000, fixed_input=True,
                  vis_kwargs_list=[dict(type='Noise', name='fake_img', sample_model='ema/orig'),
                                   dict(type='TranslationVal', name='val', n_samples=4)])
    """

    priority = 'NORMAL'
    _OWN_KEYS = ('name', 'n_samples', 'n_row', 'fixed_input', 'target_keys', 'vis_mode')

    def __init__(self, interval: int = 1000, vis_kwargs_list: dict | Sequence[dict] | None = None,
                 fixed_input: bool = True, n_samples: int = 64, n_row: int | None = 8,
                 message_hub_vis_kwargs=None, save_at_test: bool = True,
                 max_save_at_test: int = 100, test_vis_keys=None, show: bool = False,
                 wait_time: float = 0, batch_size: int = 16, enable: bool = True):
        # enable=False: MMPretrain's default_runtime switches its visualization hook off this way
        if vis_kwargs_list is None:
            vis_kwargs_list = [dict(type='GAN', name='fake_img')]
        elif isinstance(vis_kwargs_list, dict):
            vis_kwargs_list = [vis_kwargs_list]
        supported = list(VIS_KWARGS_MAPPING) + list(SAMPLER_TYPES)
        for i, kw in enumerate(vis_kwargs_list):
            stype = resolve_vis_kwargs(kw)['type']
            if stype not in SAMPLER_TYPES:
                raise ValueError(f'VisualizationHook.vis_kwargs_list.{i}.type={kw.get("type")!r} '
                                 f'is not supported; supported: {supported}')
        self.interval = interval if enable else 0
        self.vis_kwargs_list = [dict(kw) for kw in vis_kwargs_list]
        self.fixed_input = fixed_input
        self.n_samples = n_samples
        self.n_row = n_row
        self.batch_size = batch_size
        self.inputs_buffer: dict[str, list] = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self.vis_sample(runner, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        # The last grid is always written, whatever the interval.
        if self.interval > 0 and runner.iter % self.interval != 0:
            self.vis_sample(runner, step=runner.iter)

    def _num_batches(self, runner) -> int:
        # MMagic samples in batches of the training batch size
        loader = getattr(runner, 'train_dataloader', None)
        return getattr(loader, 'batch_size', None) or self.batch_size

    @torch.no_grad()
    def _run(self, module, sampler, n_samples: int) -> tuple[list, list]:
        """Model outputs for the sampler's inputs (first ``n_samples``) and the inputs used."""
        outputs, used = [], []
        for data in sampler:
            used.append(data)
            out = module.val_step(data)
            out = out if isinstance(out, list) else out.split()
            # one output per input sample, or one group of outputs per call (e.g. SinGAN scales)
            outputs.extend(out if len(out) == _batch_len(data) else [out])
        outputs = outputs[:n_samples]
        return [s for o in outputs for s in (o if isinstance(o, list) else [o])], used

    def vis_sample(self, runner, step: int) -> None:
        module = unwrap_model(runner.model)
        was_training = module.training
        module.eval()
        try:
            for index, kw in enumerate(self.vis_kwargs_list):
                self._vis_one(runner, module, index, kw, step)
        finally:
            module.train(was_training)

    def _vis_one(self, runner, module, index: int, vis_kwargs: dict, step: int) -> None:
        given_type = str(vis_kwargs.get('type', 'GAN'))
        kw = resolve_vis_kwargs(vis_kwargs)
        own = {k: kw.pop(k) for k in self._OWN_KEYS if k in kw}
        name = own.get('name') or given_type.lower()
        n_samples = own.get('n_samples', self.n_samples)
        fixed = own.get('fixed_input', self.fixed_input)
        num_batches = self._num_batches(runner)
        if kw['type'] == 'Noise':
            has_ema = getattr(module, 'with_ema_gen', False) or hasattr(module, 'generator_ema')
            kw.setdefault('sample_model', 'ema' if has_ema else 'orig')
        key = f'{index}:{given_type}'
        if fixed and key in self.inputs_buffer:
            sampler = self.inputs_buffer[key]
        else:
            sampler = build_vis_sampler(kw, runner, module, num_batches,
                                        math.ceil(n_samples / num_batches),
                                        seed=2024 if fixed else None)
        samples, used = self._run(module, sampler, n_samples)
        if fixed:
            self.inputs_buffer.setdefault(key, used)
        target_keys = own.get('target_keys') or _default_target_keys(kw, samples)
        n_row = own.get('n_row', self.n_row)
        runner.visualizer.add_datasample(
            name, gen_samples=samples, target_keys=target_keys, vis_mode=own.get('vis_mode'),
            n_row=min(n_row, len(samples)) if n_row else None, step=step,
            **sample_display_kwargs(module))


def _batch_len(data: dict) -> int:
    """Samples in a model input: ``num_batches``, or the length of the batch's fields."""
    inputs = data.get('inputs')
    if isinstance(inputs, dict) and 'num_batches' in inputs:
        return int(inputs['num_batches'])
    if data.get('data_samples') is not None:
        return len(data['data_samples'])
    if isinstance(inputs, dict):
        inputs = next(iter(inputs.values()), [])
    return len(inputs) if inputs is not None else 0


def _default_target_keys(kw: dict, samples: list) -> list[str]:
    """GAN samples: ``fake_img`` (of both models for 'ema/orig'); otherwise every image field
    (C, H, W) of the outputs, e.g. a translation model's input, target and translation."""
    if kw['type'] == 'Noise':
        return ['ema.fake_img', 'orig.fake_img'] if kw.get('sample_model') == 'ema/orig' \
            else ['fake_img']
    first = samples[0] if samples else {}
    keys = first.keys() if hasattr(first, 'keys') else []
    images = [k for k in keys if not k.startswith('_') and isinstance(first.get(k), torch.Tensor)
              and first.get(k).ndim == 3]
    if not images:
        raise KeyError(f'VisualizationHook: the outputs of vis mode {kw["type"]!r} have no image '
                       f'field (C, H, W); fields: {list(keys)}. Set target_keys.')
    return images


def sample_display_kwargs(module) -> dict:
    """How to turn a model's ``fake_img`` into pixels.

    A data preprocessor with ``destruct`` (MMagic's) already maps samples back to [0, 255] in
    BGR order; a bare model returns its generator's [-1, 1] RGB output.
    """
    if hasattr(getattr(module, 'data_preprocessor', None), 'destruct'):
        return dict(target_mean=0., target_std=1., color_order='bgr')
    return dict(target_mean=127.5, target_std=127.5, color_order='rgb')


@HOOKS.register_module(name=['BasicVisualizationHook', 'EditVisualizationHook'])
class BasicVisualizationHook(Hook):
    """Saves each validation/test prediction through ``runner.visualizer.add_datasample``.

    Example: dict(type='BasicVisualizationHook', interval=1)
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, on_train: bool = False, on_val: bool = True,
                 on_test: bool = True):
        self.interval = interval
        self.on_train = on_train
        self.on_val = on_val
        self.on_test = on_test

    def _save(self, runner, batch_idx: int, outputs) -> None:
        if self.interval <= 0 or batch_idx % self.interval != 0 or outputs is None:
            return
        samples = outputs if isinstance(outputs, list) else list(outputs.split())
        for sample in samples:
            runner.visualizer.add_datasample(data_sample=sample, step=runner.iter)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.on_val:
            self._save(runner, batch_idx, outputs)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.on_test:
            self._save(runner, batch_idx, outputs)


__all__ = ['VisualizationHook', 'BasicVisualizationHook', 'sample_display_kwargs']
