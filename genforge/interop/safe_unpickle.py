"""A restricted unpickler for foreign weights files: it never executes code from the file.

:func:`safe_load` reads

- zip-format ``torch.save`` files (and the legacy pre-1.6 torch format): ``torch.load`` runs with
  this module's restricted ``Unpickler`` as its ``pickle_module``, so every global the file names
  goes through the allow-list below;
- raw pickles (NVlabs ``network-snapshot-*.pkl``, TF-era StyleGAN pickles): ``pickle.dump`` of a
  dict holding tensors (whose storages are nested ``torch.save`` bytes, read the same restricted
  way), numpy arrays and NVlabs persistent objects;
- ``.safetensors`` files (recognised from their header), which hold tensors only.

Allowed globals: torch's tensor/storage/parameter rebuilders, torch dtypes, ``torch.Size`` and
``torch.device``; ``collections.OrderedDict``; a few inert builtins (``set``, ``frozenset``,
``bytearray``, ``complex``, ``slice``); numpy arrays, dtypes and scalars under numpy 1.x
(``numpy.core.multiarray``) and 2.x (``numpy._core.multiarray``) names; ``_codecs.encode`` (how
Python 2 era pickles store bytes). Stand-ins replace the classes of other projects:

- ``argparse.Namespace`` -> :class:`Namespace` (a plain ``types.SimpleNamespace``);
- ``dnnlib.util.EasyDict`` (and ``dnnlib.EasyDict``) -> :class:`EasyDict` (a ``dict`` subclass);
- ``torch_utils.persistence._reconstruct_persistent_obj`` -> :class:`PersistentObject`: the
  class name, init args/kwargs and saved attributes (parameters, buffers, sub-modules) of an
  NVlabs network, with the module source kept as *text* and never executed.

``extra_globals`` adds more stand-ins (e.g. the TF-era reader's ``dnnlib.tflib.network.Network``
stub). Any other global is refused with :class:`UnsafeGlobalError` (a ``pickle.UnpicklingError``)
naming ``module.name`` and the file, before anything from it runs.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import collections
import copyreg
import io
import os
import pickle
import types
from collections.abc import Iterator
from typing import IO, Any

import torch

__all__ = ['safe_load', 'UnsafeGlobalError', 'PersistentObject', 'EasyDict', 'Namespace',
           'ALLOWED_GLOBALS']


class UnsafeGlobalError(pickle.UnpicklingError):
    """The file names a global that is not on the allow-list (nothing from it was run)."""

    def __init__(self, global_name: str, source: str):
        self.global_name, self.source = global_name, source
        super().__init__(
            f'{source}: refusing to unpickle {global_name!r}: it is not on genforge\'s allow-list '
            f'of weights-file globals (tensors, numpy arrays, NVlabs persistent objects ...); '
            f'genforge never runs code from a weights file. If this file is a format genforge '
            f'should read, see docs/interop.md.')


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict whose keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __setstate__(self, state: Any) -> None:  # a pickled EasyDict's (empty) __dict__
        if isinstance(state, dict):
            self.update(state)


class Namespace(types.SimpleNamespace):
    """Stand-in for ``argparse.Namespace``: plain attributes, nothing else."""


class PersistentObject:
    """An NVlabs ``torch_utils.persistence`` object, read without running its embedded source.

    NVlabs pickles each network as ``_reconstruct_persistent_obj(meta)`` where ``meta`` holds
    ``type``, ``version``, ``module_src`` (the Python source of the defining module, kept here as
    text), ``class_name`` and ``state`` (the object's ``__dict__``: for a ``torch.nn.Module`` its
    ``_parameters``, ``_buffers``, ``_modules``, ``_init_args``, ``_init_kwargs`` and plain
    attributes such as ``z_dim``).
    """

    def __init__(self, meta: dict):
        if not isinstance(meta, dict):
            raise pickle.UnpicklingError(
                f'NVlabs persistent object: expected a meta dict, got {type(meta).__name__}')
        self.meta = EasyDict(meta)
        state = meta.get('state')
        self.state = EasyDict(state) if isinstance(state, dict) else EasyDict()

    # what NVlabs' persistent objects expose
    @property
    def class_name(self) -> str:
        return str(self.meta.get('class_name', ''))

    @property
    def module_src(self) -> str:
        """The defining module's source, as text (never executed)."""
        return str(self.meta.get('module_src', ''))

    @property
    def init_args(self) -> tuple:
        return tuple(self.state.get('_init_args') or ())

    @property
    def init_kwargs(self) -> EasyDict:
        return EasyDict(self.state.get('_init_kwargs') or {})

    def __getattr__(self, name: str) -> Any:
        # saved attributes (``z_dim``, ``img_resolution`` ...) and sub-modules by name
        if name.startswith('__') or name in ('meta', 'state'):
            raise AttributeError(name)
        state = self.__dict__.get('state') or {}
        for group in ('_parameters', '_buffers', '_modules'):
            if name in (state.get(group) or {}):
                return state[group][name]
        if name in state:
            return state[name]
        raise AttributeError(f'{self.class_name} has no saved attribute {name!r}')

    def named_tensors(self, prefix: str = '') -> Iterator[tuple[str, torch.Tensor]]:
        """``(name, tensor)`` pairs as ``torch.nn.Module.state_dict()`` would list them."""
        state = self.state
        skip = set(state.get('_non_persistent_buffers_set') or ())
        for name, value in (state.get('_parameters') or {}).items():
            if value is not None:
                yield prefix + name, value
        for name, value in (state.get('_buffers') or {}).items():
            if value is not None and name not in skip:
                yield prefix + name, value
        for name, module in (state.get('_modules') or {}).items():
            if isinstance(module, PersistentObject):
                yield from module.named_tensors(f'{prefix}{name}.')
            elif module is not None:
                raise pickle.UnpicklingError(
                    f'{self.class_name}.{name}: a sub-module of type {type(module).__name__} '
                    'that is not an NVlabs persistent object')

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The network's tensors under NVlabs' parameter/buffer names (detached, as saved)."""
        return {k: (v.detach() if isinstance(v, torch.Tensor) else torch.as_tensor(v))
                for k, v in self.named_tensors()}

    def __repr__(self) -> str:
        return f'PersistentObject({self.class_name}, init_kwargs={dict(self.init_kwargs)})'


def _reconstruct_persistent_obj(meta: dict) -> PersistentObject:
    return PersistentObject(meta)


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """numpy's array/dtype/scalar rebuilders under numpy 1.x and 2.x module names."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a torch dependency in practice
        return {}
    try:
        from numpy._core import multiarray, numeric  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    out: dict[tuple[str, str], Any] = {('numpy', 'ndarray'): np.ndarray,
                                       ('numpy', 'dtype'): np.dtype}
    for pkg in ('numpy.core', 'numpy._core'):
        out[(f'{pkg}.multiarray', '_reconstruct')] = multiarray._reconstruct
        out[(f'{pkg}.multiarray', 'scalar')] = multiarray.scalar
        if hasattr(numeric, '_frombuffer'):
            out[(f'{pkg}.numeric', '_frombuffer')] = numeric._frombuffer
    for name in dir(getattr(np, 'dtypes', None) or ()):  # numpy >= 1.25 DType classes
        if name.endswith('DType'):
            out[('numpy.dtypes', name)] = getattr(np.dtypes, name)
    return out


def _torch_globals() -> dict[tuple[str, str], Any]:
    from torch import _utils
    out: dict[tuple[str, str], Any] = {
        ('torch', 'Tensor'): torch.Tensor,
        ('torch', 'Size'): torch.Size,
        ('torch', 'device'): torch.device,
        ('torch.nn.parameter', 'Parameter'): torch.nn.Parameter,
        ('torch._tensor', '_rebuild_from_type_v2'): _rebuild_from_type_v2,
    }
    for name in ('_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3',
                 '_rebuild_parameter', '_rebuild_parameter_with_state',
                 '_rebuild_device_tensor_from_numpy', '_rebuild_meta_tensor_no_storage'):
        if hasattr(_utils, name):
            out[('torch._utils', name)] = getattr(_utils, name)
    for name in dir(torch):
        if isinstance(getattr(torch, name, None), torch.dtype):
            out[('torch', name)] = getattr(torch, name)
    return out


def _rebuild_from_type_v2(func, new_type, args, state):
    """torch's subclass-preserving tensor rebuild, limited to plain tensors and Parameters."""
    if new_type not in (torch.Tensor, torch.nn.Parameter):
        raise pickle.UnpicklingError(f'tensor subclass {new_type!r} is not allowed')
    return torch._tensor._rebuild_from_type_v2(func, new_type, args, state)


def _copyreg_reconstructor(cls, base, state):
    """``copyreg._reconstructor`` (protocol 0/1 objects) for allow-listed stand-in classes only."""
    if not (isinstance(cls, type) and issubclass(cls, (EasyDict, Namespace, dict))):
        raise pickle.UnpicklingError(f'copyreg._reconstructor of {cls!r} is not allowed')
    return copyreg._reconstructor(cls, base, state)


ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('builtins', 'bytearray'): bytearray,
    ('builtins', 'complex'): complex,
    ('builtins', 'slice'): slice,
    ('builtins', 'object'): object,
    ('_codecs', 'encode'): codecs.encode,
    ('copyreg', '_reconstructor'): _copyreg_reconstructor,
    ('argparse', 'Namespace'): Namespace,
    ('dnnlib.util', 'EasyDict'): EasyDict,
    ('dnnlib', 'EasyDict'): EasyDict,
    ('torch_utils.persistence', '_reconstruct_persistent_obj'): _reconstruct_persistent_obj,
}
ALLOWED_GLOBALS.update(_numpy_globals())
ALLOWED_GLOBALS.update(_torch_globals())


def _make_pickle_module(source: str, extra: dict[tuple[str, str], Any],
                        map_location: Any) -> types.SimpleNamespace:
    """A ``pickle``-like module whose ``Unpickler`` only resolves allow-listed globals."""
    allowed = {**ALLOWED_GLOBALS, **extra}

    def load_from_bytes(b: bytes) -> Any:
        # raw-pickled tensors keep their storage as nested torch.save bytes: read those the
        # same restricted way (torch's own _load_from_bytes would unpickle them unrestricted)
        return _load_stream(io.BytesIO(b), source, extra, map_location)

    class Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            # protocol 0-2 pickles (torch.save's) spell builtins the Python 2 way
            # ('__builtin__.set', 'copy_reg._reconstructor'): map them as pickle itself does
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
            key = (module, name)
            if key == ('torch.storage', '_load_from_bytes'):
                return load_from_bytes
            if key in allowed:
                return allowed[key]
            raise UnsafeGlobalError(f'{module}.{name}', source)

    def load(file: IO[bytes], **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    def loads(data: bytes, **kwargs: Any) -> Any:
        return Unpickler(io.BytesIO(data), **kwargs).load()

    return types.SimpleNamespace(__name__='genforge_safe_pickle', Unpickler=Unpickler,
                                 load=load, loads=loads, UnpicklingError=pickle.UnpicklingError)


_TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def _is_safetensors(head: bytes) -> bool:
    # 8-byte little-endian header length, then a JSON object
    return len(head) >= 10 and head[8:9] == b'{' and \
        0 < int.from_bytes(head[:8], 'little') < (1 << 32)


def _load_stream(f: IO[bytes], source: str, extra: dict, map_location: Any) -> Any:
    module = _make_pickle_module(source, extra, map_location)
    start = f.tell()
    head = f.read(16)
    f.seek(start)
    if head[:4] == b'PK\x03\x04':  # zip-format torch.save
        return torch.load(f, map_location=map_location, pickle_module=module,
                          weights_only=False)
    f.seek(start)
    if _is_safetensors(head):
        from safetensors.torch import load as st_load
        return st_load(f.read())
    unpickler = module.Unpickler(f, encoding='latin1')
    try:
        obj = unpickler.load()
    except UnsafeGlobalError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, IndexError, KeyError,
            UnicodeDecodeError) as exc:
        raise pickle.UnpicklingError(
            f'{source}: not a readable weights file (a PyTorch checkpoint, a pickle or a '
            f'.safetensors file); it may be truncated or of another kind '
            f'({type(exc).__name__}: {exc})') from None
    if isinstance(obj, int) and obj == _TORCH_LEGACY_MAGIC:  # pre-1.6 torch.save
        f.seek(start)
        return torch.load(f, map_location=map_location, pickle_module=module,
                          weights_only=False)
    return obj


def safe_load(path_or_file: str | os.PathLike | IO[bytes], *,
              extra_globals: dict[tuple[str, str], Any] | None = None,
              source: str | None = None, map_location: Any = 'cpu') -> Any:
    """Unpickle a weights file without executing code from it.

    ``path_or_file`` is a path or a binary file object (zip-format or legacy ``torch.save``,
    raw pickle, or safetensors). ``extra_globals`` maps ``(module, name)`` to the object to use
    for it (stand-ins for other projects' classes). ``source`` names the file in errors (the
    path by default). Raises :class:`UnsafeGlobalError` for a global outside the allow-list.
    """
    extra = dict(extra_globals or {})
    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.fspath(path_or_file)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'weights file {path!r} does not exist')
        with open(path, 'rb') as f:
            return _load_stream(f, source or path, extra, map_location)
    f = path_or_file
    if not f.seekable():
        f = io.BytesIO(f.read())
    return _load_stream(f, source or getattr(path_or_file, 'name', None) or 'weights file',
                        extra, map_location)
