"""DDP wrappers that keep ``train_step``/``val_step``/``test_step`` (MMEngine names)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from genforge.registry import MODEL_WRAPPERS

__all__ = ['MMDistributedDataParallel', 'MMSeparateDistributedDataParallel', 'is_model_wrapper',
           'unwrap_model']


def is_model_wrapper(model: nn.Module) -> bool:
    """True for DDP-style wrappers (they hold the real model as ``.module``)."""
    return isinstance(model, (DistributedDataParallel, nn.DataParallel,
                              MMSeparateDistributedDataParallel))


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside a DDP-style wrapper (or ``model`` itself when it is not wrapped)."""
    return model.module if is_model_wrapper(model) else model


@MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """DDP whose ``train_step`` runs the wrapped model's loss path through DDP's forward.

    Example: model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                                    find_unused_parameters=False)
    """

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False, **kwargs: Any):
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict:
        # Forward goes through DDP (self(...)) so gradients are all-reduced on backward.
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            if isinstance(data, dict):
                losses = self(**data, mode='loss')
            else:
                losses = self(*data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data: dict | tuple | list) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> Any:
        return self.module.test_step(data)

    def init_weights(self) -> None:
        # A GAN's init_weights reaches its DDP-wrapped generator/discriminator through here
        # (MMSeparateDistributedDataParallel); the Runner broadcasts rank 0's result afterwards.
        if hasattr(self.module, 'init_weights'):
            self.module.init_weights()


def _default_device() -> torch.device:
    return torch.device('cuda', torch.cuda.current_device()) if torch.cuda.is_available() \
        else torch.device('cpu')


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(nn.Module):
    """Wrap each direct submodule that has trainable parameters in its own DDP.

    GANs update generator and discriminator with separate backward passes; one DDP over the
    whole model would all-reduce at the wrong time. ``train_step`` etc. call the model's own.

    Example: model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel',
                                    broadcast_buffers=False, find_unused_parameters=False)
    """

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False,
                 find_unused_parameters: bool = False, **kwargs: Any):
        super().__init__()
        self.module = module
        device = _default_device()
        for name, sub in list(module._modules.items()):
            if sub is None:
                continue
            sub = sub.to(device)
            if any(p.requires_grad for p in sub.parameters()):
                if device.type == 'cuda':
                    kwargs.setdefault('device_ids', [device.index])
                sub = MMDistributedDataParallel(
                    module=sub, broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters, **kwargs)
            module._modules[name] = sub

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict:
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: dict | tuple | list) -> Any:
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> Any:
        return self.module.test_step(data)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip gradient all-reduce in every wrapped submodule (gradient accumulation)."""
        with ExitStack() as stack:
            for sub in self.module._modules.values():
                if isinstance(sub, DistributedDataParallel):
                    stack.enter_context(sub.no_sync())
            yield

    def train(self, mode: bool = True) -> MMSeparateDistributedDataParallel:
        self.training = mode
        self.module.train(mode)
        return self
