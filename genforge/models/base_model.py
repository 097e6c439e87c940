"""BaseModel: the top-level model the Runner trains (MMEngine interface)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import Tensor, nn

from genforge.registry import MODELS

from .base_module import BaseModule

__all__ = ['BaseModel']


class BaseModel(BaseModule):
    """Base class of trainable models: preprocessing, ``train_step``/``val_step``/``test_step``.

    Subclasses implement ``forward(inputs, data_samples=None, mode='tensor')`` where ``mode`` is
    'loss' (return a dict of losses), 'predict' (return predictions) or 'tensor' (raw output).

    Example: dict(type='MyModel', data_preprocessor=dict(type='ImgDataPreprocessor',
                  mean=[127.5], std=[127.5]))
    """

    def __init__(self, data_preprocessor: dict | nn.Module | None = None,
                 init_cfg: dict | list[dict] | None = None):
        super().__init__(init_cfg)
        if data_preprocessor is None:
            data_preprocessor = dict(type='BaseDataPreprocessor')
        if isinstance(data_preprocessor, nn.Module):
            self.data_preprocessor = data_preprocessor
        elif isinstance(data_preprocessor, dict):
            self.data_preprocessor = MODELS.build(data_preprocessor,
                                                  key_path='model.data_preprocessor')
        else:
            raise TypeError(f'model.data_preprocessor must be a dict or an nn.Module, got '
                            f'{type(data_preprocessor).__name__}')

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, Tensor]:
        """Preprocess, compute losses, update parameters; return detached log variables."""
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data: dict | tuple | list) -> list | Any:
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode='predict')

    def test_step(self, data: dict | tuple | list) -> list | Any:
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode='predict')

    def parse_losses(self, losses: dict[str, Tensor | list[Tensor]]
                     ) -> tuple[Tensor, dict[str, Tensor]]:
        """Sum every entry whose key contains 'loss'; log every entry (means, detached).

        Returns ``(loss, log_vars)`` with ``log_vars['loss']`` first.
        """
        log_vars = []
        for name, value in losses.items():
            if isinstance(value, Tensor):
                # a scalar is its own mean: no extra kernel and autograd node per loss term
                log_vars.append((name, value if value.ndim == 0 else value.mean()))
            elif isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value):
                log_vars.append((name, sum(v.mean() for v in value)))
            else:
                raise TypeError(f'parse_losses: losses[{name!r}] must be a Tensor or a list of '
                                f'Tensors, got {type(value).__name__}')
        loss_terms = [v for k, v in log_vars if 'loss' in k]
        if not loss_terms:
            raise KeyError(f'parse_losses: no key contains "loss" in {list(losses)}; name the '
                           f'terms to optimise like "loss_pix"')
        loss = loss_terms[0]
        for term in loss_terms[1:]:  # not sum(): that adds a tensor op for its start value 0
            loss = loss + term
        out = OrderedDict([('loss', loss.detach())])
        out.update((k, v.detach()) for k, v in log_vars)
        return loss, out

    def _run_forward(self, data: dict | tuple | list, mode: str) -> Any:
        if isinstance(data, dict):
            if 'inputs' in data:
                # Positional: user models name the first argument freely (seed 001's
                # forward(batch_inputs, data_samples, mode)).
                rest = {k: v for k, v in data.items() if k not in ('inputs', 'data_samples')}
                return self(data['inputs'], data.get('data_samples'), mode=mode, **rest)
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(f'model: the data preprocessor must return a dict, tuple or list, got '
                        f'{type(data).__name__}')

    def forward(self, inputs: Any, data_samples: Any = None, mode: str = 'tensor') -> Any:
        raise NotImplementedError(f'{type(self).__name__}.forward(inputs, data_samples, mode) '
                                  f"must be implemented for mode='loss'/'predict'/'tensor'")

    @property
    def device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return self.data_preprocessor.device if hasattr(self.data_preprocessor, 'device') \
            else torch.device('cpu')
