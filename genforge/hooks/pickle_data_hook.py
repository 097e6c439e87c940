"""PickleDataHook: write model attributes (SinGAN's noise pyramid) to a pickle, as MMagic does."""
from __future__ import annotations

import logging
import os
import pickle
from typing import Any

import torch

from genforge.dist import is_main_process
from genforge.fileio import atomic_open
from genforge.models.wrappers import is_model_wrapper
from genforge.registry import HOOKS

from .hook import Hook

logger = logging.getLogger(__name__)


def to_numpy(data: Any) -> Any:
    """Tensors (also inside lists) -> numpy arrays; other values unchanged."""
    if isinstance(data, list):
        return [to_numpy(x) for x in data]
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    return data


@HOOKS.register_module()
class PickleDataHook(Hook):
    """Pickle ``{name: getattr(model, name)}`` (tensors as numpy) to
    ``work_dir/output_dir/iter_{N}.pkl``: every ``interval`` iterations, and/or before/after
    the run. SinGAN's test/sample path reads this file back (``model.test_pkl_data``).

    Example: dict(type='PickleDataHook', output_dir='pickle', interval=-1, after_run=True,
                  data_name_list=['noise_weights', 'fixed_noises', 'curr_stage'])
    """

    priority = 'NORMAL'

    def __init__(self, output_dir: str, data_name_list: list[str], interval: int = -1,
                 before_run: bool = False, after_run: bool = False,
                 filename_tmpl: str = 'iter_{}.pkl'):
        if not (isinstance(data_name_list, (list, tuple))
                and all(isinstance(n, str) for n in data_name_list)):
            raise TypeError(f'PickleDataHook: data_name_list must be a list of attribute '
                            f'names, got {data_name_list!r}')
        self.output_dir, self.data_name_list = output_dir, list(data_name_list)
        self.interval, self.filename_tmpl = interval, filename_tmpl
        self._before_run, self._after_run = before_run, after_run

    def before_run(self, runner) -> None:
        if self._before_run:
            self._pickle_data(runner)

    def after_run(self, runner) -> None:
        if self._after_run:
            self._pickle_data(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._pickle_data(runner)

    def _pickle_data(self, runner) -> str | None:
        if not is_main_process():
            return None
        module = runner.model.module if is_model_wrapper(runner.model) else runner.model
        missing = [k for k in self.data_name_list if not hasattr(module, k)]
        data = {k: to_numpy(getattr(module, k)) for k in self.data_name_list
                if hasattr(module, k)}
        out_dir = os.path.join(runner.work_dir, self.output_dir)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, self.filename_tmpl.format(runner.iter + 1))
        with atomic_open(path, 'wb') as f:
            pickle.dump(data, f)
        logger.info('PickleDataHook: wrote %s', path)
        if missing:
            logger.warning('PickleDataHook: the model has no %s', missing)
        return path


__all__ = ['PickleDataHook', 'to_numpy']
