"""Visualization backends: where scalars and images go (local files, TensorBoard)."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from genforge.fileio import atomic_write_text
from genforge.registry import VISBACKENDS

from .grid import save_png

logger = logging.getLogger(__name__)


def _to_builtin(value: Any) -> Any:
    if hasattr(value, 'item') and getattr(value, 'ndim', 0) == 0:
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


@VISBACKENDS.register_module(name=['LocalVisBackend', 'VisBackend', 'GenVisBackend'])
class LocalVisBackend:
    """Writes PNGs to ``save_dir/vis_image`` and scalars as JSON lines to ``save_dir/scalars.json``.

    Example: dict(type='LocalVisBackend')  # MMagic: dict(type='VisBackend')
    """

    def __init__(self, save_dir: str | None = None, img_save_dir: str = 'vis_image',
                 config_save_file: str = 'config.py', scalar_save_file: str = 'scalars.json',
                 **kwargs):
        self.save_dir = save_dir
        self.img_save_dir = img_save_dir
        self.config_save_file = config_save_file
        self.scalar_save_file = scalar_save_file

    def _require_dir(self) -> Path:
        if self.save_dir is None:
            raise RuntimeError('LocalVisBackend has no save_dir: the Runner sets it to '
                               '<work_dir>/<timestamp>/vis_data; pass save_dir= when used alone')
        path = Path(self.save_dir)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def add_config(self, config: Any, **kwargs) -> None:
        path = self._require_dir() / self.config_save_file
        text = config.pretty_text if hasattr(config, 'pretty_text') else repr(config)
        atomic_write_text(path, text)

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs) -> None:
        path = self._require_dir() / self.img_save_dir / f'{name}_{step}.png'
        save_png(np.ascontiguousarray(image), path)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.add_scalars({name: value}, step=step, **kwargs)

    def add_scalars(self, scalar_dict: dict, step: int = 0, file_path: str | None = None,
                    **kwargs) -> None:
        record = {k: _to_builtin(v) for k, v in scalar_dict.items()}
        record['step'] = step
        path = self._require_dir() / (file_path or self.scalar_save_file)
        # Appending one short line is atomic enough for a log: a kill loses at most this line.
        try:
            with open(path, 'a') as f:
                f.write(json.dumps(record) + '\n')
        except OSError as exc:   # a full disk: name the log, not just the errno
            from genforge.fileio import write_error
            raise write_error(path, exc, 'append to the log') from exc

    def close(self) -> None:
        pass


@VISBACKENDS.register_module(name=['TensorboardVisBackend', 'TensorboardGenVisBackend'])
class TensorboardVisBackend:
    """Scalars and images to TensorBoard event files under ``save_dir``.

    Example: dict(type='TensorboardVisBackend')  # needs `pip install tensorboard`
    """

    def __init__(self, save_dir: str | None = None, **kwargs):
        self.save_dir = save_dir
        self._writer = None

    @property
    def writer(self):
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise ImportError('TensorboardVisBackend needs the tensorboard package: '
                                  'pip install tensorboard (or pip install genforge[tensorboard]), '
                                  'or remove it from visualizer.vis_backends') from exc
            if self.save_dir is None:
                raise RuntimeError('TensorboardVisBackend has no save_dir')
            self._writer = SummaryWriter(self.save_dir)
        return self._writer

    def add_config(self, config: Any, **kwargs) -> None:
        text = config.pretty_text if hasattr(config, 'pretty_text') else repr(config)
        self.writer.add_text('config', text)

    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs) -> None:
        self.writer.add_image(name, image, step, dataformats='HWC')

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        self.writer.add_scalar(name, _to_builtin(value), step)

    def add_scalars(self, scalar_dict: dict, step: int = 0, **kwargs) -> None:
        for key, value in scalar_dict.items():
            value = _to_builtin(value)
            if isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


__all__ = ['LocalVisBackend', 'TensorboardVisBackend']
