"""Checkpoint files: atomic saves of plain containers, safe loads, MMEngine-style weight loading.

Everything we write loads with ``torch.load(weights_only=True)``: dicts, lists, tuples, strings,
numbers and tensors only. Checkpoints written by MMEngine/MMagic pickle Python objects (the
message hub, NumPy scalars); we read those without executing their pickle code by standing in
inert placeholders for their classes, and only read the tensors we need.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from genforge.fileio import atomic_open

logger = logging.getLogger(__name__)

_PLAIN_SCALARS = (bool, int, float, complex, str, bytes, type(None), torch.dtype, torch.device,
                  torch.Size)


def check_plain(obj: Any, path: str = 'checkpoint') -> None:
    """Raise TypeError naming the first value that ``torch.load(weights_only=True)`` would refuse."""
    if isinstance(obj, (torch.Tensor, *_PLAIN_SCALARS)):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int, float, bool, type(None))):
                raise TypeError(f'{path}: key {k!r} of type {type(k).__name__} is not a plain key')
            check_plain(v, f'{path}.{k}')
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_plain(v, f'{path}[{i}]')
        return
    raise TypeError(f'{path} holds a {type(obj).__module__}.{type(obj).__qualname__}, which a '
                    f'weights_only checkpoint cannot store; convert it to numbers/str/tensors '
                    f'(e.g. in its state_dict())')


def weights_to_cpu(state_dict: dict) -> OrderedDict:
    """Copy of ``state_dict`` with every tensor moved to the CPU."""
    return OrderedDict((k, v.detach().cpu() if isinstance(v, torch.Tensor) else v)
                       for k, v in state_dict.items())


def get_state_dict(module: nn.Module) -> OrderedDict:
    """``module.state_dict()``, unwrapping DDP-style wrappers (``.module``)."""
    from genforge.registry import MODEL_WRAPPERS
    wrappers = tuple(c for c in MODEL_WRAPPERS.module_dict.values() if isinstance(c, type))
    if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel, *wrappers)):
        module = module.module
    return module.state_dict()


def save_checkpoint(checkpoint: dict, filename: str) -> None:
    """Atomically write ``checkpoint``: temp file in the same folder, fsync, ``os.replace``.

    A kill at any moment leaves either the old file or the complete new one. Raises TypeError
    (before writing) when the dict holds something other than plain containers and tensors.
    """
    check_plain(checkpoint)
    _atomic_write(filename, lambda f: torch.save(checkpoint, f))


class _RecordingFile:
    """File proxy that remembers the exception a ``write`` raised.

    torch.save writes through C++, which turns any error of ``write`` (ENOSPC, EFBIG, a
    KeyboardInterrupt) into ``RuntimeError: [enforce fail at inline_container.cc] unexpected
    pos``; the recorded exception says what really happened.
    """

    def __init__(self, f):
        self._f, self.error = f, None

    def write(self, data):
        try:
            return self._f.write(data)
        except BaseException as exc:
            self.error = exc
            raise

    def __getattr__(self, name):
        return getattr(self._f, name)


def _why_write_failed(filename: str, exc: BaseException) -> str:
    """Words for an OSError's cause, checking errno, free space and the file-size limit."""
    import errno
    code = getattr(exc, 'errno', None)
    if code == errno.EFBIG or code is None and _fsize_limited():
        import resource
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        return f'the file size limit (ulimit -f: {limit} bytes) was reached'
    try:
        import shutil
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(filename))).free
    except OSError:
        free = None
    if code == errno.ENOSPC or free is not None and free < (1 << 20):
        return 'No space left on device (disk full)'
    return f'{getattr(exc, "strerror", None) or exc} (disk full or folder not writable?)'


def _fsize_limited() -> bool:
    try:
        import resource
    except ImportError:   # Windows
        return False
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY


def _atomic_write(filename: str, write: Any) -> None:
    """Call ``write(file)`` through ``genforge.fileio.atomic_open``; name the checkpoint on failure.

    Every failure (OSError, torch's RuntimeError wrapping one, Ctrl-C) leaves the previous file
    untouched and the temp file removed; the error says which, in one line.
    """
    proxy = None
    try:
        with atomic_open(filename, 'wb') as f:
            proxy = _RecordingFile(f)
            write(proxy)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f'interrupted while saving checkpoint {filename!r}; the partial '
                                f'file was removed and the previous checkpoint is intact') from None
    except (OSError, RuntimeError) as exc:
        cause = proxy.error if proxy is not None and proxy.error is not None else exc
        if isinstance(cause, KeyboardInterrupt):
            raise KeyboardInterrupt(f'interrupted while saving checkpoint {filename!r}; the '
                                    f'partial file was removed and the previous checkpoint is '
                                    f'intact') from None
        if not isinstance(cause, OSError) and 'inline_container' not in str(cause):
            raise
        code = getattr(cause, 'errno', None)
        msg = (f'could not save checkpoint {filename!r}: {_why_write_failed(filename, cause)}; '
               f'the previous checkpoint is intact and the partial file was removed')
        raise (OSError(code, msg) if code else OSError(msg)) from exc


class _Placeholder:
    """Inert stand-in for a pickled class we do not import (e.g. mmengine's MessageHub)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __call__(self, *args, **kwargs):
        return _Placeholder(*args, **kwargs)


def _placeholder_for(qualified: str) -> type:
    module, _, name = qualified.rpartition('.')
    cls = type(name, (_Placeholder,), {'__module__': module, '__qualname__': name})
    return cls


def _torch_load_safe(filename: str, map_location: Any) -> Any:
    """weights_only load; foreign classes become inert placeholders (no pickle code runs)."""
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError for unknown globals
        first_error = exc
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except Exception:
        raise first_error from None
    stubs = [_placeholder_for(name) for name in unsafe]
    with torch.serialization.safe_globals(stubs):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except Exception:
            raise first_error from None


def _is_pickle_refusal(exc: BaseException) -> bool:
    """True when torch refused an unsafe global; False for an unreadable (truncated) file."""
    return isinstance(exc, pickle.UnpicklingError) and 'Weights only load failed' in str(exc)


def _load_checkpoint(filename: str, map_location: Any = 'cpu', allow_pickle: bool = False) -> Any:
    """Read a checkpoint file safely; ``allow_pickle=True`` is the explicit opt-in to full pickle."""
    filename = os.fspath(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    if filename.endswith('.safetensors'):
        return load_safetensors(filename, map_location)
    if allow_pickle:
        logger.warning('loading %s with allow_pickle=True: this runs any code stored in the '
                       'file; only do this for files you trust', filename)
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        return _torch_load_safe(filename, map_location)
    except Exception as exc:
        if not _is_pickle_refusal(exc):
            # pickle would not help: the bytes themselves are damaged (or not a checkpoint)
            raise RuntimeError(
                f'{filename!r} is not a readable checkpoint ({os.path.getsize(filename)} bytes): '
                f'it is truncated, corrupt or not a PyTorch file ({type(exc).__name__}: '
                f'{str(exc).splitlines()[0] if str(exc) else "no detail"}). Copy it again, or '
                f'use an earlier checkpoint of the same run.') from exc
        raise RuntimeError(
            f'refusing to load {filename!r} with pickle: it holds objects that '
            f'torch.load(weights_only=True) cannot read ({type(exc).__name__}: '
            f'{str(exc).splitlines()[0] if str(exc) else ""}). Unpickling can run arbitrary '
            f'code from the file. If you trust its source, pass allow_pickle=True '
            f'(load_checkpoint(..., allow_pickle=True)).') from exc


def _extract_state_dict(checkpoint: Any, filename: str) -> dict:
    if not isinstance(checkpoint, dict):
        raise TypeError(f'{filename}: expected a dict checkpoint, got {type(checkpoint).__name__}')
    if 'state_dict' in checkpoint and isinstance(checkpoint['state_dict'], dict):
        return checkpoint['state_dict']
    if 'model' in checkpoint and isinstance(checkpoint['model'], dict):  # other trainers
        return checkpoint['model']
    tensors = [k for k, v in checkpoint.items() if isinstance(v, torch.Tensor)]
    if not tensors:
        raise KeyError(f'{filename}: no "state_dict" key and no tensors at the top level '
                       f'(keys: {sorted(map(str, checkpoint))[:10]})')
    return checkpoint


def load_state_dict_from_file(filename: str, map_location: Any = 'cpu',
                              allow_pickle: bool = False) -> dict:
    """The model weights of a checkpoint file (its 'state_dict', or the raw state dict)."""
    checkpoint = _load_checkpoint(filename, map_location, allow_pickle)
    return _extract_state_dict(checkpoint, filename)


def load_state_dict(module: nn.Module, state_dict: dict, strict: bool = False,
                    logger: logging.Logger | None = None) -> tuple[list[str], list[str]]:
    """Load ``state_dict``; report missing/unexpected/mismatched keys (raise when ``strict``)."""
    log = logger or logging.getLogger(__name__)
    own = module.state_dict()
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                  for k, v in state_dict.items()
                  if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape]
    filtered = {k: v for k, v in state_dict.items()
                if not (k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape)}
    result = module.load_state_dict(filtered, strict=False)
    missing = [k for k in result.missing_keys if k not in state_dict]
    unexpected = list(result.unexpected_keys)
    parts = []
    if unexpected:
        parts.append(f'unexpected key(s) in checkpoint: {", ".join(unexpected)}')
    if missing:
        parts.append(f'missing key(s) in checkpoint: {", ".join(missing)}')
    if mismatched:
        parts.append(f'size mismatch: {"; ".join(mismatched)}')
    if parts:
        msg = 'load_state_dict: ' + '\n'.join(parts)
        if strict:
            raise RuntimeError(msg + '\n(pass strict=False to load the matching keys only)')
        log.warning(msg)
    return missing, unexpected


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = 'cpu',
                    strict: bool = False,
                    revise_keys: list[tuple[str, str]] = ((r'^module\.', ''),),
                    allow_pickle: bool = False) -> dict:
    """Load a checkpoint's weights into ``model`` (MMEngine signature); return the checkpoint.

    Accepts our checkpoints, MMEngine/MMagic ones (``state_dict`` + ``meta``) and raw state dicts.
    ``revise_keys`` are ``(pattern, replacement)`` regex pairs applied to every key.
    """
    checkpoint = _load_checkpoint(filename, map_location, allow_pickle)
    state_dict = _extract_state_dict(checkpoint, filename)
    metadata = getattr(state_dict, '_metadata', None)
    for pattern, repl in revise_keys:
        state_dict = OrderedDict((re.sub(pattern, repl, k), v) for k, v in state_dict.items())
    if metadata is not None:
        state_dict._metadata = metadata
    target = model.module if hasattr(model, 'module') and isinstance(model.module, nn.Module) \
        else model
    try:
        load_state_dict(target, state_dict, strict=strict)
    except RuntimeError as exc:
        raise RuntimeError(f'{filename} does not fit {type(target).__name__}: {exc}') from None
    return checkpoint if isinstance(checkpoint, dict) and 'state_dict' in checkpoint \
        else {'state_dict': state_dict}


# -- safetensors: weights only, for sharing ------------------------------------------------
def save_safetensors(state_dict: dict, filename: str, metadata: dict | None = None) -> None:
    """Atomically write the tensors of ``state_dict`` to a ``.safetensors`` file.

    Non-tensor entries are dropped. Tensors are copied to contiguous CPU memory, so tied weights
    and views serialise (safetensors refuses shared storage). ``metadata`` values become strings.
    """
    from safetensors.torch import save
    tensors = {str(k): v.detach().cpu().contiguous().clone()
               for k, v in state_dict.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f'save_safetensors({filename!r}): the state dict holds no tensors')
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    _atomic_write(filename, lambda f: f.write(save(tensors, metadata=meta)))


def load_safetensors(filename: str, map_location: Any = 'cpu') -> dict:
    """``{'state_dict': tensors, 'safetensors_metadata': {...}}`` from a ``.safetensors`` file.

    Such a file holds weights only (no optimizer, counters or RNG): fine for ``load_from``,
    not for ``resume``.
    """
    from safetensors import safe_open
    device = str(map_location) if isinstance(map_location, (str, torch.device)) else 'cpu'
    try:
        with safe_open(filename, framework='pt', device=device) as f:
            metadata = dict(f.metadata() or {})
            state = OrderedDict((k, f.get_tensor(k)) for k in f.keys())
    except Exception as exc:
        raise RuntimeError(f'{filename!r} is not a readable .safetensors file: it is truncated or '
                           f'corrupt ({type(exc).__name__}: {exc}). Export it again with '
                           f'`genforge export CHECKPOINT --out {os.path.basename(filename)}`.'
                           ) from exc
    return {'state_dict': state, 'safetensors_metadata': metadata}


def _ema_weights(checkpoint: dict, state: dict, source: str) -> OrderedDict:
    # MMagic models keep the average as a submodule: '<name>_ema.module.<rest>' -> '<name>.<rest>'
    ema = OrderedDict()
    for key, value in state.items():
        head, sep, rest = key.partition('_ema.module.')
        if sep:
            ema[f'{head}.{rest}'] = value
    if ema:
        return ema
    if isinstance(checkpoint.get('ema_state_dict'), dict):
        # MMEngine's EMAHook swaps the average into 'state_dict' (raw weights: 'ema_state_dict')
        return OrderedDict(state)
    raise ValueError(f'{source}: no EMA weights (no "*_ema.module.*" keys and no "ema_state_dict"); '
                     f'export without ema_only / --ema-only')


def export_safetensors(checkpoint_or_model: Any, filename: str, ema_only: bool = False,
                       allow_pickle: bool = False) -> OrderedDict:
    """Export the weights of a model, a checkpoint dict or a checkpoint file to ``.safetensors``.

    ``ema_only=True`` keeps only the EMA average, under the raw module's names
    (``generator_ema.module.x`` -> ``generator.x``), so it loads where the raw weights would.
    The file's metadata records the source, iteration, EMA choice and the config text.
    Returns the exported tensors.

    Example:
        >>> export_safetensors('work_dirs/dcgan/iter_5000.pth', 'dcgan.safetensors', ema_only=True)
    """
    checkpoint: Any
    if isinstance(checkpoint_or_model, nn.Module):
        source = type(checkpoint_or_model).__name__
        checkpoint = {'state_dict': get_state_dict(checkpoint_or_model)}
    elif isinstance(checkpoint_or_model, (str, os.PathLike)):
        source = os.path.basename(os.fspath(checkpoint_or_model))
        checkpoint = _load_checkpoint(os.fspath(checkpoint_or_model), 'cpu', allow_pickle)
    else:
        source, checkpoint = 'checkpoint', checkpoint_or_model
    state = _extract_state_dict(checkpoint, source)
    if ema_only:
        state = _ema_weights(checkpoint, state, source)
    import genforge
    metadata = dict(format='pt', source=source, ema_only=ema_only,
                    genforge_version=getattr(genforge, '__version__', 'unknown'))
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    metadata.update({k: meta[k] for k in ('epoch', 'iter', 'experiment_name', 'cfg')
                     if meta.get(k) not in (None, '')})
    save_safetensors(state, filename, metadata)
    logger.info('exported %d tensors from %s to %s', len(state), source, filename)
    return OrderedDict((k, v) for k, v in state.items() if isinstance(v, torch.Tensor))


def check_finite_weights(state_dict: dict, filename: str, work_dir: str) -> None:
    """FloatingPointError before a checkpoint whose weights hold NaN/inf would be written.

    Such a file is useless, and with ``max_keep_ckpts`` it would rotate away the good ones.
    """
    for key, value in state_dict.items():
        if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex()) \
                and not bool(torch.isfinite(value).all()):
            previous = find_latest_checkpoint(work_dir)
            kept = f'the last finite checkpoint {previous} is kept' if previous else \
                'no checkpoint of this run was written'
            raise FloatingPointError(
                f'refusing to write {filename}: model tensor {key!r} holds non-finite values; '
                f'{kept}. Lower the learning rate, enable gradient clipping (optim_wrapper.'
                f'clip_grad=dict(max_norm=...)) and resume from it')


def find_latest_checkpoint(work_dir: str) -> str | None:
    """Path written in ``work_dir/last_checkpoint`` (None when there is none)."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    if path and not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(work_dir, path)
    if not path or not os.path.isfile(path):
        logger.warning('%s points to %r, which does not exist', pointer, path)
        return None
    return path


__all__ = ['check_plain', 'check_finite_weights', 'weights_to_cpu', 'get_state_dict', 'save_checkpoint',
           'load_state_dict_from_file', 'load_state_dict', 'load_checkpoint',
           'find_latest_checkpoint', 'save_safetensors', 'load_safetensors', 'export_safetensors']
