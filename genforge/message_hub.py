"""MessageHub: the run's shared blackboard of smoothed scalars and runtime info (MMEngine API).

Scalars may be pushed as device tensors every iteration: ``HistoryBuffer`` keeps them as they are
and converts the pending ones to floats in one batch when somebody reads them (the logger, at its
interval). That keeps the training loop free of per-iteration ``.item()`` GPU syncs.
"""
from __future__ import annotations

import copy
import logging
import math
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)


class HistoryBuffer:
    """A bounded history of ``(value, count)`` pairs with windowed statistics.

    Example:
        >>> buf = HistoryBuffer(); buf.update(1.0); buf.update(3.0)
        >>> buf.mean(2), buf.current(), buf.max()
        (2.0, 3.0, 3.0)
    """

    def __init__(self, log_history: list | None = None, count_history: list | None = None,
                 max_length: int = 1000000):
        self.max_length = max_length
        self._log: list[float] = [float(v) for v in (log_history or [])]
        self._count: list[float] = [float(c) for c in (count_history or [])]
        self._pending: list[tuple[Any, float]] = []

    def update(self, log_val: Any, count: float = 1) -> None:
        """Append a value: a Python number, NumPy scalar or (0-d / 1-element) tensor."""
        if isinstance(log_val, torch.Tensor):
            # Keep the tensor (detached) and convert later in one batch: no sync here.
            self._pending.append((log_val.detach().reshape(()), count))
            if len(self._pending) >= 1024:
                self._flush()
            return
        if isinstance(log_val, np.ndarray):
            log_val = log_val.item()
        self._flush()
        self._append(float(log_val), count)

    def _append(self, value: float, count: float) -> None:
        self._log.append(value)
        self._count.append(float(count))
        if len(self._log) > self.max_length:
            del self._log[0], self._count[0]

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        by_device: dict = {}
        for i, (t, _) in enumerate(pending):
            by_device.setdefault(t.device, []).append(i)
        values = [0.0] * len(pending)
        for idx in by_device.values():
            floats = torch.stack([pending[i][0].float() for i in idx]).tolist()  # one sync
            for i, v in zip(idx, floats):
                values[i] = v
        for v, (_, count) in zip(values, pending):
            self._append(v, count)

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as NumPy arrays."""
        self._flush()
        return np.array(self._log), np.array(self._count)

    def mean(self, window_size: int | None = None) -> float:
        self._flush()
        logs = self._log[-window_size:] if window_size else self._log
        counts = self._count[-window_size:] if window_size else self._count
        if not logs:
            return math.nan
        # MMEngine semantics: sum of values over sum of counts (counts default to 1).
        return float(sum(logs) / sum(counts))

    def max(self, window_size: int | None = None) -> float:
        self._flush()
        logs = self._log[-window_size:] if window_size else self._log
        return float(max(logs)) if logs else math.nan

    def min(self, window_size: int | None = None) -> float:
        self._flush()
        logs = self._log[-window_size:] if window_size else self._log
        return float(min(logs)) if logs else math.nan

    def current(self) -> float:
        self._flush()
        if not self._log:
            raise ValueError('HistoryBuffer.current(): the buffer is empty')
        return self._log[-1]

    def statistics(self, method_name: str, *args, **kwargs) -> float:
        """Call one of 'mean' | 'max' | 'min' | 'current' by name (LogProcessor uses this)."""
        if method_name not in ('mean', 'max', 'min', 'current'):
            raise KeyError(f"statistics method {method_name!r} is not one of 'mean', 'max', "
                           f"'min', 'current'")
        return getattr(self, method_name)(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._log) + len(self._pending)

    def state_dict(self) -> dict:
        self._flush()
        return dict(log_history=list(self._log), count_history=list(self._count),
                    max_length=self.max_length)


class MessageHub:
    """Scalars (``update_scalar``) and runtime info (``update_info``) shared by loops and hooks.

    One instance per run: ``MessageHub.get_instance(name)`` creates/returns it and makes it the
    current one; ``MessageHub.get_current_instance()`` returns the latest.

    Example:
        >>> hub = MessageHub.get_instance('run')
        >>> hub.update_scalar('train/loss', 0.5); hub.update_info('iter', 10)
        >>> hub.get_scalar('train/loss').current(), hub.get_info('iter')
        (0.5, 10)
    """

    _instances: dict[str, MessageHub] = {}
    _current: MessageHub | None = None

    def __init__(self, name: str = 'genforge', log_scalars: dict | None = None,
                 runtime_info: dict | None = None, resumed_keys: dict | None = None):
        self.instance_name = name
        self._log_scalars: dict[str, HistoryBuffer] = dict(log_scalars or {})
        self._runtime_info: dict[str, Any] = dict(runtime_info or {})
        self._resumed_keys: dict[str, bool] = dict(resumed_keys or {})
        MessageHub._instances[name] = self
        MessageHub._current = self

    @classmethod
    def get_instance(cls, name: str, **kwargs) -> MessageHub:
        if name not in cls._instances:
            cls(name, **kwargs)
        cls._current = cls._instances[name]
        return cls._current

    @classmethod
    def get_current_instance(cls) -> MessageHub:
        if cls._current is None:
            cls('genforge')
        return cls._current

    @property
    def log_scalars(self) -> dict[str, HistoryBuffer]:
        return self._log_scalars

    @property
    def runtime_info(self) -> dict[str, Any]:
        return self._runtime_info

    def update_scalar(self, key: str, value: Any, count: float = 1, resumed: bool = True) -> None:
        self._log_scalars.setdefault(key, HistoryBuffer()).update(value, count)
        self._resumed_keys.setdefault(key, resumed)

    def update_scalars(self, log_dict: dict, resumed: bool = True) -> None:
        for key, value in log_dict.items():
            if isinstance(value, dict):  # MMEngine form: dict(value=..., count=...)
                self.update_scalar(key, value['value'], value.get('count', 1), resumed)
            else:
                self.update_scalar(key, value, resumed=resumed)

    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        self._runtime_info[key] = value
        self._resumed_keys[key] = resumed

    def update_info_dict(self, info_dict: dict, resumed: bool = True) -> None:
        for key, value in info_dict.items():
            self.update_info(key, value, resumed)

    def get_scalar(self, key: str) -> HistoryBuffer:
        if key not in self._log_scalars:
            raise KeyError(f'MessageHub has no scalar {key!r}; known: {sorted(self._log_scalars)}')
        return self._log_scalars[key]

    def get_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.get(key, default)

    def pop_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.pop(key, default)

    def state_dict(self) -> dict:
        """Plain containers only (``torch.load(weights_only=True)`` can read them back)."""
        scalars = {k: v.state_dict() for k, v in self._log_scalars.items()
                   if self._resumed_keys.get(k, True)}
        info = {}
        for k, v in self._runtime_info.items():
            if self._resumed_keys.get(k, True) and _is_plain(v):
                info[k] = copy.deepcopy(v)
        return dict(log_scalars=scalars, runtime_info=info,
                    resumed_keys={k: True for k in list(scalars) + list(info)})

    def load_state_dict(self, state_dict: dict) -> None:
        for key, buf in state_dict.get('log_scalars', {}).items():
            self._log_scalars[key] = HistoryBuffer(**buf) if isinstance(buf, dict) else buf
            self._resumed_keys[key] = True
        for key, value in state_dict.get('runtime_info', {}).items():
            self._runtime_info[key] = value
            self._resumed_keys[key] = True


def _is_plain(value: Any) -> bool:
    """Numbers, strings, None, tensors and lists/tuples/dicts of those."""
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and _is_plain(v) for k, v in value.items())
    return False


__all__ = ['HistoryBuffer', 'MessageHub']
