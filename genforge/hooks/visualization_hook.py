"""Hooks that draw samples during training/testing: GAN grids at fixed noise, restored images."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from genforge.models.wrappers import unwrap_model
from genforge.registry import HOOKS

from .hook import Hook


@HOOKS.register_module(name=['VisualizationHook', 'GenVisualizationHook'])
class VisualizationHook(Hook):
    """Every ``interval`` iterations, sample ``n_samples`` images and save a grid.

    With ``fixed_input=True`` the same noise (and labels, for conditional GANs) is reused, so
    successive grids show how the same latent points evolve.

    Example: dict(type='VisualizationHook', interval=5000, fixed_input=True,
                  vis_kwargs_list=dict(type='GAN', name='fake_img'))
    """

    priority = 'NORMAL'
    # 'Translation' / 'TranslationVal': translate the first n_samples images of the train / val
    # dataset (MMagic's translation configs); 'Noise' (PGGAN configs) and 'SinGAN' sample like
    # 'GAN': noise in, fake_img out
    SUPPORTED_VIS_TYPES = ('GAN', 'Noise', 'SinGAN', 'Translation', 'TranslationVal')

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
        for i, kw in enumerate(vis_kwargs_list):
            if kw.get('type', 'GAN') not in self.SUPPORTED_VIS_TYPES:
                raise ValueError(f'VisualizationHook.vis_kwargs_list.{i}.type={kw.get("type")!r} '
                                 f'is not supported; supported: {self.SUPPORTED_VIS_TYPES}')
        self.interval = interval if enable else 0
        self.vis_kwargs_list = [dict(kw) for kw in vis_kwargs_list]
        self.fixed_input = fixed_input
        self.n_samples = n_samples
        self.n_row = n_row
        self.batch_size = batch_size
        self._fixed: dict[str, Any] = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.interval > 0 and self.every_n_train_iters(runner, self.interval):
            self.vis_sample(runner, step=runner.iter + 1)

    def after_train(self, runner) -> None:
        # The last grid is always written, whatever the interval.
        if self.interval > 0 and runner.iter % self.interval != 0:
            self.vis_sample(runner, step=runner.iter)

    def _fixed_inputs(self, module, n: int) -> tuple[torch.Tensor | None, list | None]:
        if not self.fixed_input:
            return None, None
        if 'noise' not in self._fixed:
            # A private generator: drawing the fixed noise must not shift the training RNG stream.
            gen = torch.Generator().manual_seed(2024)
            noise_size = getattr(module, 'noise_size', None)
            shape = (noise_size,) if isinstance(noise_size, int) else tuple(noise_size or ())
            self._fixed['noise'] = torch.randn((n, *shape), generator=gen) if shape else None
            num_classes = getattr(module, 'num_classes', 0) or 0
            self._fixed['labels'] = (torch.arange(n) % num_classes).tolist() if num_classes else None
        return self._fixed['noise'], self._fixed['labels']

    @torch.no_grad()
    def sample(self, module, n: int, sample_model: str, noise=None, labels=None) -> list:
        from genforge.structures import DataSample
        samples = []
        for start in range(0, n, self.batch_size):
            num = min(self.batch_size, n - start)
            inputs = dict(num_batches=num, sample_model=sample_model)
            if noise is not None:
                inputs['noise'] = noise[start:start + num]
            data = dict(inputs=inputs)
            if labels is not None:
                data['data_samples'] = [DataSample().set_gt_label(lab)
                                        for lab in labels[start:start + num]]
            out = module.val_step(data)
            samples.extend(out if isinstance(out, list) else out.split())
        return samples

    def vis_sample(self, runner, step: int) -> None:
        module = unwrap_model(runner.model)
        was_training = module.training
        module.eval()
        try:
            noise, labels = self._fixed_inputs(module, self.n_samples)
            for kw in self.vis_kwargs_list:
                kw = dict(kw)
                vis_type = kw.pop('type', 'GAN')
                name = kw.pop('name', 'fake_img')
                if vis_type != 'GAN':
                    self._vis_translation(runner, module, vis_type, name, step, kw)
                    continue
                has_ema = getattr(module, 'with_ema_gen', False) or hasattr(module, 'generator_ema')
                sample_model = kw.pop('sample_model', 'ema' if has_ema else 'orig')
                target_keys = kw.pop('target_keys', None)
                if target_keys is None:
                    target_keys = (['ema.fake_img', 'orig.fake_img'] if sample_model == 'ema/orig'
                                   else ['fake_img'])
                # MMagic's target_keys=['ema', 'orig'] name the sub-samples' fake_img
                target_keys = [f'{k}.fake_img' if k in ('ema', 'orig') else k
                               for k in ([target_keys] if isinstance(target_keys, str)
                                         else target_keys)]
                samples = self.sample(module, self.n_samples, sample_model, noise, labels)
                kw = {**sample_display_kwargs(module), **kw}
                runner.visualizer.add_datasample(name, gen_samples=samples, target_keys=target_keys,
                                                 n_row=self.n_row, step=step, **kw)
        finally:
            module.train(was_training)


    def _vis_translation(self, runner, module, vis_type: str, name: str, step: int,
                         kw: dict) -> None:
        """Grid of the sources and their translations: rows ``img_<src>``, ``fake_<tgt>``."""
        from genforge.datasets.collate import pseudo_collate
        from genforge.runner.utils import get_rng_state, set_rng_state
        loader = runner.train_dataloader if vis_type == 'Translation' else runner.val_dataloader
        dataset = getattr(loader, 'dataset', None)
        if dataset is None:
            raise ValueError(f'VisualizationHook: vis type {vis_type!r} needs a '
                             f"{'train' if vis_type == 'Translation' else 'val'}_dataloader")
        key = f'batch_{vis_type}'
        if key not in self._fixed or not self.fixed_input:
            # fetching runs the random pipeline: keep the training RNG streams untouched
            rng = get_rng_state()
            items = [dataset[i] for i in range(min(self.n_samples, len(dataset)))]
            set_rng_state(rng)
            self._fixed[key] = items
        items = self._fixed[key]
        samples = []
        for start in range(0, len(items), self.batch_size):
            samples.extend(module.test_step(pseudo_collate(items[start:start + self.batch_size])))
        target_keys = kw.pop('target_keys', None) or [
            k for src, tgt in module.test_directions() for k in (f'img_{src}', f'fake_{tgt}')]
        kw.pop('sample_model', None)
        kw = {**sample_display_kwargs(module), **kw}
        runner.visualizer.add_datasample(name, gen_samples=samples, target_keys=target_keys,
                                         n_row=self.n_row, step=step, **kw)


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
