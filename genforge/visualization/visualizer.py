"""Visualizer: one object the hooks talk to; it fans scalars and images out to its backends."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from genforge.registry import VISBACKENDS, VISUALIZERS

from .grid import make_grid, to_uint8_image


def _as_tensor_image(value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f'expected an image tensor, got {type(value).__name__}')
    return value.detach().float().cpu()


def _get_nested(sample: Any, key: str) -> Any:
    """``'ema.fake_img'`` -> sample.ema.fake_img; works for DataSample and dict."""
    value = sample
    for part in key.split('.'):
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if value is None:
            return None
    return value


def _stack_padded(imgs: list[torch.Tensor]) -> torch.Tensor:
    """Stack (C, H, W) images; smaller ones (e.g. SinGAN's coarse scales) are zero-padded at the
    bottom/right to the largest."""
    h = max(i.shape[-2] for i in imgs)
    w = max(i.shape[-1] for i in imgs)
    return torch.stack([torch.nn.functional.pad(i, (0, w - i.shape[-1], 0, h - i.shape[-2]))
                        for i in imgs])


@VISUALIZERS.register_module(name=['Visualizer', 'GenVisualizer', 'UniversalVisualizer'])
class Visualizer:
    """Sends scalars, configs and image grids to every backend in ``vis_backends``.

    Example: dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])
    """

    _instances: dict[str, Visualizer] = {}
    _current: Visualizer | None = None

    def __init__(self, name: str = 'visualizer', vis_backends: list | dict | None = None,
                 save_dir: str | None = None, fig_save_cfg=None, fig_show_cfg=None, **kwargs):
        self.name = name
        self.save_dir = save_dir
        if isinstance(vis_backends, dict):
            vis_backends = [vis_backends]
        self._vis_backends: dict[str, Any] = {}
        for i, cfg in enumerate(vis_backends or []):
            if isinstance(cfg, dict):
                cfg = dict(cfg)
                cfg.setdefault('save_dir', save_dir)
                backend = VISBACKENDS.build(cfg, key_path=f'visualizer.vis_backends.{i}')
                key = cfg.get('name', type(backend).__name__)
            else:
                backend, key = cfg, type(cfg).__name__
            self._vis_backends[key] = backend
        Visualizer._instances[name] = self
        Visualizer._current = self

    # MMEngine's ManagerMixin interface, without the metaclass.
    @classmethod
    def get_current_instance(cls) -> Visualizer:
        if cls._current is None:
            cls._current = cls(name='visualizer')
        return cls._current

    @classmethod
    def get_instance(cls, name: str, **kwargs) -> Visualizer:
        if name not in cls._instances:
            cls(name=name, **kwargs)
        return cls._instances[name]

    def get_backend(self, name: str) -> Any:
        return self._vis_backends.get(name)

    @property
    def backends(self) -> list:
        return list(self._vis_backends.values())

    def add_config(self, config: Any, **kwargs) -> None:
        for backend in self.backends:
            backend.add_config(config, **kwargs)

    def add_image(self, name: str, image: np.ndarray, step: int = 0) -> None:
        for backend in self.backends:
            backend.add_image(name, image, step)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        for backend in self.backends:
            backend.add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs) -> None:
        for backend in self.backends:
            backend.add_scalars(scalar_dict, step=step, file_path=file_path, **kwargs)

    def add_datasample(self, name: str, *, gen_samples: Sequence[Any] = (),
                       target_keys: str | Sequence[str] | None = None, vis_mode: str | None = None,
                       n_row: int | None = None, color_order: str = 'rgb',
                       target_mean: float = 127.5, target_std: float = 127.5, show: bool = False,
                       wait_time: int = 0, step: int = 0, **kwargs) -> np.ndarray:
        """Tile the ``target_keys`` images of ``gen_samples`` into one grid and save it.

        Each image is mapped back to pixels as ``img * target_std + target_mean``; with several
        keys (e.g. ``['ema.fake_img', 'orig.fake_img']``, or MMagic's ``['ema', 'orig']``) each
        key fills its own rows.
        """
        if target_keys is None:
            target_keys = ['fake_img']
        elif isinstance(target_keys, str):
            target_keys = [target_keys]
        rows = []
        for key in target_keys:
            imgs = [_get_nested(s, key) for s in gen_samples]
            # a sub-sample key ('ema', 'orig', as MMagic's BigGAN configs give) means its image
            imgs = [_get_nested(i, 'fake_img') if i is not None and not isinstance(
                i, (torch.Tensor, np.ndarray)) else i for i in imgs]
            if any(img is None for img in imgs):
                raise KeyError(f'add_datasample: some samples have no {key!r}; available: '
                               f'{list(getattr(gen_samples[0], "keys", lambda: [])())}')
            rows.append(_stack_padded([_as_tensor_image(i) for i in imgs]))
        batch = torch.cat(rows) * target_std + target_mean  # -> pixel range [0, 255]
        if color_order.lower() == 'bgr' and batch.size(1) == 3:
            batch = batch.flip(1)
        n_row = n_row or min(8, len(gen_samples))
        grid = make_grid(batch, nrow=n_row, padding=2, pad_value=0)
        image = to_uint8_image(grid, (0., 255.))
        self.add_image(name, image, step)
        return image

    def close(self) -> None:
        for backend in self.backends:
            backend.close()


@VISUALIZERS.register_module()
class ConcatImageVisualizer(Visualizer):
    """Saves ``img_keys`` of each restored sample side by side, named after ``fn_key``.

    Example: dict(type='ConcatImageVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  fn_key='gt_path', img_keys=['gt_img', 'input', 'pred_img'], bgr2rgb=True)
    """

    def __init__(self, fn_key: str = 'gt_path', img_keys: Sequence[str] = ('pred_img',),
                 pixel_range: dict | None = None, bgr2rgb: bool = False,
                 name: str = 'visualizer', *args, **kwargs):
        super().__init__(name, *args, **kwargs)
        self.fn_key = fn_key
        self.img_keys = list(img_keys)
        self.pixel_range = pixel_range or {}
        self.bgr2rgb = bgr2rgb

    def add_datasample(self, data_sample: Any = None, step: int = 0, **kwargs) -> np.ndarray:
        path = _get_nested(data_sample, self.fn_key) or _get_nested(data_sample, 'metainfo.' +
                                                                     self.fn_key)
        stem = os.path.splitext(os.path.basename(str(path)))[0] if path else f'sample_{step}'
        tiles = []
        for key in self.img_keys:
            img = _get_nested(data_sample, key)
            if img is None:
                continue
            img = _as_tensor_image(img)
            if img.dim() == 4:
                img = img[0]
            lo, hi = self.pixel_range.get(key, (0., 255.))
            img = (img - lo) / max(hi - lo, 1e-12) * 255.
            tiles.append(img)
        if not tiles:
            raise KeyError(f'ConcatImageVisualizer: none of {self.img_keys} found in the sample')
        height = max(t.shape[-2] for t in tiles)
        # Smaller images (e.g. the low-res input) are upsampled to the tallest for comparison.
        tiles = [torch.nn.functional.interpolate(t[None], size=(height, round(
            t.shape[-1] * height / t.shape[-2])), mode='nearest')[0] if t.shape[-2] != height
                 else t for t in tiles]
        tiles = [t.expand(3, -1, -1) if t.shape[0] == 1 else t for t in tiles]
        image = torch.cat(tiles, dim=-1)
        if self.bgr2rgb:
            image = image.flip(0)
        array = to_uint8_image(image, (0., 255.))
        self.add_image(stem, array, step)
        return array


__all__ = ['Visualizer', 'ConcatImageVisualizer']
