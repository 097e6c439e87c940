"""Which precision mixed precision actually uses on this machine.

AMP is a request for speed. On a CPU, bf16 autocast is fast only where oneDNN runs bf16 in
hardware (AVX512-BF16 or AMX); elsewhere (e.g. AMD EPYC before Zen 4, older Xeons) every bf16
op is emulated and a run gets several times slower. So an ``AmpOptimWrapper`` left to choose
(``dtype=None``, what ``genforge train --amp`` writes) trains in fp32 on such a CPU and says so
once; an explicit ``dtype='bfloat16'`` is obeyed, with a warning that it will be slow.

On CUDA the default is MMagic's: float16 with a GradScaler; bfloat16 when the config asks.
``channels_last='auto'`` (see ``genforge.runner.speed``) uses the same check.
"""
from __future__ import annotations

import contextlib
import logging

import torch

__all__ = ['cpu_has_native_bf16', 'resolve_amp_dtype', 'channels_last_helps', 'autocast_for',
           'NO_BF16_MESSAGE']

logger = logging.getLogger(__name__)

NO_BF16_MESSAGE = 'AMP: this CPU has no native bf16 (AVX512-BF16/AMX); training in fp32'
SLOW_BF16_MESSAGE = ("AMP: dtype='bfloat16' was asked for, but this CPU has no native bf16 "
                     '(AVX512-BF16/AMX): bf16 is emulated and training will be several times '
                     'slower than fp32. Leave dtype unset to let genforge pick fp32 here.')

_said: set[str] = set()


def _say_once(level: int, message: str) -> None:
    # one line per process, however many wrappers (a GAN has two) are built
    if message not in _said:
        _said.add(message)
        logger.log(level, message)


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 natively on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN: no fast bf16 either
        return False


def resolve_amp_dtype(dtype: torch.dtype | None, device_type: str) -> torch.dtype:
    """The autocast dtype to use; ``torch.float32`` means autocast off.

    Args:
        dtype: what the config asked for (None: let the machine decide).
        device_type: 'cuda', 'cpu', ... (where the parameters live).
    """
    if device_type == 'cuda':
        return torch.float16 if dtype is None else dtype
    if device_type != 'cpu':
        return torch.bfloat16 if dtype is None else dtype
    native = cpu_has_native_bf16()
    if dtype is None:
        if native:
            return torch.bfloat16
        _say_once(logging.WARNING, NO_BF16_MESSAGE)
        return torch.float32
    if dtype == torch.bfloat16 and not native:
        _say_once(logging.WARNING, SLOW_BF16_MESSAGE)
    return dtype


def channels_last_helps(device: torch.device | str) -> bool:
    """``channels_last='auto'``: NHWC pays off with native bf16 on CPU, tensor cores on CUDA."""
    device = torch.device(device)
    if device.type == 'cuda':
        return torch.cuda.get_device_capability(device)[0] >= 7
    if device.type == 'cpu':
        return cpu_has_native_bf16()
    return False


def autocast_for(device_type: str, enabled: bool = True,
                 dtype: torch.dtype | None = None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` with the dtype :func:`resolve_amp_dtype` picks; a no-op context where
    that is fp32 (a CPU without native bf16) or ``enabled`` is False. Used by the
    validation/test loops' ``fp16=True``."""
    if not enabled:
        return contextlib.nullcontext()
    dtype = resolve_amp_dtype(dtype, device_type)
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, dtype=dtype)
