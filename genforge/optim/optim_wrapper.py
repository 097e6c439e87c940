"""Optimizer wrappers: one object that owns backward, accumulation, clipping, AMP and step.

Same interface and semantics as MMEngine's ``OptimWrapper``, ``AmpOptimWrapper`` and
``OptimWrapperDict``.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import Tensor, nn

from genforge.registry import OPTIM_WRAPPERS

from .amp import resolve_amp_dtype

__all__ = ['OptimWrapper', 'AmpOptimWrapper', 'OptimWrapperDict']

logger = logging.getLogger(__name__)


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def _log_scalar(key: str, value: Tensor) -> None:
    """Send a scalar to the runner's MessageHub when there is one (the runner is optional)."""
    try:
        from genforge.message_hub import MessageHub
    except ImportError:
        return
    try:
        MessageHub.get_current_instance().update_scalar(key, float(value))
    except Exception:  # no hub instance yet (plain-PyTorch use): logging is best effort
        logger.debug('no MessageHub to log %s', key)


@OPTIM_WRAPPERS.register_module()
class OptimWrapper:
    """Wraps an optimizer: ``update_params(loss)`` = scale, backward, clip, step, zero_grad.

    With ``accumulative_counts=k`` the optimizer steps every k ``update_params`` calls and each
    loss is divided by k (by the remainder for the last, incomplete group before ``max_counts``),
    so k small batches give the gradient of one k-times larger batch.

    Example: optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
                                accumulative_counts=4, clip_grad=dict(max_norm=1.0))
    """

    def __init__(self, optimizer: torch.optim.Optimizer, accumulative_counts: int = 1,
                 clip_grad: dict | None = None):
        if not isinstance(accumulative_counts, int) or accumulative_counts < 1:
            raise ValueError(f'optim_wrapper.accumulative_counts must be a positive int, got '
                             f'{accumulative_counts!r}')
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f'optim_wrapper.optimizer must be a torch.optim.Optimizer, got '
                            f'{type(optimizer).__name__}')
        self.optimizer = optimizer
        self.clip_grad_kwargs = self._parse_clip_grad(clip_grad)
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        self._accumulative_counts = accumulative_counts

    @property
    def accumulative_counts(self) -> int:
        """How many ``update_params`` calls make one optimizer step."""
        return self._accumulative_counts

    def _parse_clip_grad(self, clip_grad: dict | None) -> dict | None:
        if clip_grad is None:
            return None
        if not isinstance(clip_grad, dict) or not clip_grad:
            raise TypeError(f'optim_wrapper.clip_grad must be a non-empty dict like '
                            f'dict(max_norm=1.0), got {clip_grad!r}')
        clip_grad = dict(clip_grad)
        clip_type = clip_grad.pop('type', 'norm')
        if clip_type == 'norm':
            self.clip_func, self.grad_name = torch.nn.utils.clip_grad_norm_, 'grad_norm'
        elif clip_type == 'value':
            self.clip_func, self.grad_name = torch.nn.utils.clip_grad_value_, 'grad_value'
        else:
            raise ValueError(f"optim_wrapper.clip_grad.type must be 'norm' or 'value', got "
                             f'{clip_type!r}')
        if not clip_grad:
            raise ValueError("optim_wrapper.clip_grad needs arguments besides 'type', e.g. "
                             "max_norm=1.0 ('norm') or clip_value=0.5 ('value')")
        return clip_grad

    # -- the update ------------------------------------------------------------------------
    def update_params(self, loss: Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        """Backward ``loss`` (scaled for accumulation); step and zero grads when due."""
        self.backward(self.scale_loss(loss))
        if self.should_update():
            self.step(**(step_kwargs or {}))
            self.zero_grad(**(zero_kwargs or {}))

    def backward(self, loss: Tensor, **kwargs: Any) -> None:
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def zero_grad(self, **kwargs: Any) -> None:
        self.optimizer.zero_grad(**kwargs)

    def _clip_grad(self) -> None:
        params = [p for g in self.optimizer.param_groups for p in g['params']
                  if p.requires_grad and p.grad is not None]
        if params:
            grad = self.clip_func(params, **self.clip_grad_kwargs)
            if grad is not None:  # clip_grad_value_ returns None
                _log_scalar(f'train/{self.grad_name}', grad)

    # -- gradient accumulation ------------------------------------------------------------
    def scale_loss(self, loss: Tensor) -> Tensor:
        """Divide by the accumulation count (by the remainder in the tail before max_counts)."""
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1:
            return loss / self._accumulative_counts
        if self._inner_count < self._max_counts - self._remainder_counts:
            factor = self._accumulative_counts
        else:
            factor = self._remainder_counts
        if factor <= 0:
            raise RuntimeError(f'OptimWrapper: update_params called {self._inner_count + 1} times '
                               f'but max_counts={self._max_counts}; call '
                               f'initialize_count_status with the right max_counts')
        return loss / factor

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        """Set the counters at the start (or resume) of training; ``max_counts`` = max iters."""
        self._inner_count = init_counts
        self._max_counts = max_counts
        if self._inner_count % self._accumulative_counts != 0:
            logger.warning('Resumed iteration %d is not divisible by accumulative_counts=%d: the '
                           'gradients of the incomplete group are lost.', init_counts,
                           self._accumulative_counts)
        if self._accumulative_counts > 1 and _has_batch_norm(model):
            logger.warning('Gradient accumulation with BatchNorm: statistics use the small '
                           'batch, results may differ slightly from a large batch.')
        self._remainder_counts = self._max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """True when this ``update_params`` call ends an accumulation group (or training)."""
        return self._inner_count % self._accumulative_counts == 0 or \
            self._inner_count == self._max_counts

    def should_sync(self) -> bool:
        """True when the NEXT backward ends a group: only then must DDP all-reduce."""
        return (self._inner_count + 1) % self._accumulative_counts == 0 or \
            (self._inner_count + 1) == self._max_counts

    @property
    def inner_count(self) -> int:
        return self._inner_count

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Forward context: skip DDP gradient sync on accumulation steps."""
        if not self.should_sync() and hasattr(model, 'no_sync'):
            with model.no_sync():
                yield
        else:
            yield

    # -- state and introspection ----------------------------------------------------------
    def state_dict(self) -> dict:
        state = self.optimizer.state_dict()
        state['inner_count'] = self._inner_count
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        self._inner_count = int(state_dict.pop('inner_count', self._inner_count))
        state_dict.pop('loss_scaler', None)
        self.optimizer.load_state_dict(state_dict)

    @property
    def param_groups(self) -> list[dict]:
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict:
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        return {'lr': [group['lr'] for group in self.optimizer.param_groups]}

    def get_momentum(self) -> dict[str, list[float]]:
        momentum = []
        for group in self.optimizer.param_groups:
            if 'momentum' in group:
                momentum.append(group['momentum'])
            elif 'betas' in group:
                momentum.append(group['betas'][0])
            else:
                momentum.append(0)
        return {'momentum': momentum}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(accumulative_counts={self._accumulative_counts}, '
                f'clip_grad={self.clip_grad_kwargs}, optimizer={self.optimizer!r})')


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Mixed precision: autocast inside ``optim_context``, GradScaler for float16 (CUDA or CPU).

    ``dtype`` 'float16' | 'bfloat16' | None. None lets the machine decide (see
    ``genforge.optim.amp``): float16 on CUDA; on CPU bfloat16 where the CPU runs it natively
    (AVX512-BF16/AMX), else fp32 (``cast_dtype == torch.float32``, autocast off, one log line)
    because emulated bf16 is slower than fp32. An explicit 'bfloat16' is obeyed everywhere (with
    a warning on CPUs without native bf16). bfloat16 needs no loss scaling and also runs on CPU
    (MMEngine refuses AMP without a GPU; we don't).
    ``loss_scale``: 'dynamic', a float (static scale) or a dict of GradScaler arguments.

    Example: optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic',
                                optimizer=dict(type='Adam', lr=1e-4))
    """
    valid_dtypes = ('float16', 'bfloat16', None)

    def __init__(self, loss_scale: str | float | dict = 'dynamic', dtype: str | torch.dtype |
                 None = None, use_fsdp: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise ValueError(f'AmpOptimWrapper: dtype must be one of {self.valid_dtypes}, '
                                 f'got {dtype!r}')
            dtype = getattr(torch, dtype)
        params = [p for g in self.optimizer.param_groups for p in g['params']]
        self.device_type = params[0].device.type if params else \
            ('cuda' if torch.cuda.is_available() else 'cpu')
        if dtype is not None and not isinstance(dtype, torch.dtype):
            raise TypeError(f'AmpOptimWrapper: dtype must be a str or torch.dtype, got {dtype!r}')
        dtype = resolve_amp_dtype(dtype, self.device_type)
        self.cast_dtype = dtype  # torch.float32: AMP declined on this CPU, autocast stays off
        self._scale_update_param = None
        scaler_kwargs: dict = {}
        if loss_scale == 'dynamic':
            pass
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            scaler_kwargs = dict(init_scale=float(loss_scale))
        elif isinstance(loss_scale, dict):
            scaler_kwargs = dict(loss_scale)
        else:
            raise TypeError(f"AmpOptimWrapper: loss_scale must be 'dynamic', a float or a dict, "
                            f'got {loss_scale!r}')
        # float16 gradients underflow without loss scaling, on any device (GradScaler('cpu')
        # exists since torch 2.3); bf16 has fp32's exponent range and needs no scaling.
        enabled = dtype == torch.float16
        self.loss_scaler = torch.amp.GradScaler(self.device_type, enabled=enabled,
                                                **scaler_kwargs)

    def backward(self, loss: Tensor, **kwargs: Any) -> None:
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)  # clip true gradients, not scaled ones
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state and self.loss_scaler.is_enabled():
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        device_type = next((p.device.type for p in model.parameters()), self.device_type)
        autocast = nullcontext() if self.cast_dtype == torch.float32 else \
            torch.autocast(device_type=device_type, dtype=self.cast_dtype)
        with super().optim_context(model), autocast:
            yield


@OPTIM_WRAPPERS.register_module()
class OptimWrapperDict(OptimWrapper):
    """A dict of OptimWrappers, one per submodule (``optim_wrapper['generator']``).

    Each wrapper is stepped on its own; ``update_params``/``step``/``zero_grad`` on the dict
    raise, as in MMEngine. ``get_lr()`` -> ``{'generator.lr': [...], ...}``.
    """

    def __init__(self, **optim_wrapper_dict: OptimWrapper):
        for key, value in optim_wrapper_dict.items():
            if not isinstance(value, OptimWrapper):
                raise TypeError(f'OptimWrapperDict[{key!r}] must be an OptimWrapper, got '
                                f'{type(value).__name__}; wrap the optimizer: '
                                f'OptimWrapper(optimizer)')
        self.optim_wrappers = optim_wrapper_dict

    def _unsupported(self, name: str):
        raise NotImplementedError(f'OptimWrapperDict.{name}: call it on one wrapper, e.g. '
                                  f"optim_wrapper['generator'].{name}(...)")

    def update_params(self, loss: Tensor, step_kwargs: dict | None = None,
                      zero_kwargs: dict | None = None) -> None:
        self._unsupported('update_params')

    def backward(self, loss: Tensor, **kwargs: Any) -> None:
        self._unsupported('backward')

    def step(self, **kwargs: Any) -> None:
        self._unsupported('step')

    def zero_grad(self, **kwargs: Any) -> None:
        self._unsupported('zero_grad')

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        self._unsupported('optim_context')
        yield  # pragma: no cover

    def initialize_count_status(self, model: nn.Module, init_counts: int,
                                max_counts: int) -> None:
        for wrapper in self.optim_wrappers.values():
            wrapper.initialize_count_status(model, init_counts, max_counts)

    @property
    def param_groups(self) -> dict[str, list[dict]]:
        return {k: w.param_groups for k, w in self.optim_wrappers.items()}

    def get_lr(self) -> dict[str, list[float]]:
        return {f'{k}.lr': w.get_lr()['lr'] for k, w in self.optim_wrappers.items()}

    def get_momentum(self) -> dict[str, list[float]]:
        return {f'{k}.momentum': w.get_momentum()['momentum']
                for k, w in self.optim_wrappers.items()}

    def state_dict(self) -> dict:
        return {k: w.state_dict() for k, w in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        for key, state in state_dict.items():
            if key not in self.optim_wrappers:
                raise KeyError(f'OptimWrapperDict.load_state_dict: checkpoint has optimizer '
                               f'{key!r}, this model has {list(self.optim_wrappers)}')
            self.optim_wrappers[key].load_state_dict(state)

    def items(self):
        return self.optim_wrappers.items()

    def values(self):
        return self.optim_wrappers.values()

    def keys(self):
        return self.optim_wrappers.keys()

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise KeyError(f'OptimWrapperDict has no {key!r}; keys: {list(self.optim_wrappers)}')
        return self.optim_wrappers[key]

    def __contains__(self, key: str) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __iter__(self):
        return iter(self.optim_wrappers)

    def __repr__(self) -> str:
        return 'OptimWrapperDict(' + ', '.join(f'{k}={w!r}' for k, w in self.items()) + ')'

