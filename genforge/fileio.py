"""Atomic file writes and the weights cache folder, shared by every package."""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = 'wb') -> Iterator[IO]:
    """Open a temp file next to ``path``; on success fsync and ``os.replace`` it onto ``path``.

    A crash or kill at any moment leaves either the old file or the complete new one, never a
    half-written file under the final name. On an exception the temp file is removed.
    """
    if 'w' not in mode:
        raise ValueError(f'atomic_open writes whole files; mode must contain "w", got {mode!r}')
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _match_umask(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not supported on every OS/filesystem."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _match_umask(path: str) -> None:
    """mkstemp creates 0600 files; give the final file the permissions ``open()`` would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_error(path: str | os.PathLike, exc: OSError, what: str = 'write') -> OSError:
    """``exc`` (ENOSPC, EFBIG, EACCES ...) as an OSError that names ``path``; same errno."""
    msg = f'could not {what} {os.fspath(path)}: {exc.strerror or exc}'
    return OSError(exc.errno, msg) if exc.errno else OSError(msg)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    try:
        with atomic_open(path, 'w') as f:
            f.write(text)
    except OSError as exc:
        raise write_error(path, exc) from exc


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    try:
        with atomic_open(path, 'wb') as f:
            f.write(data)
    except OSError as exc:
        raise write_error(path, exc) from exc


def read_text(path: str | os.PathLike, what: str = 'file') -> str:
    """The UTF-8 text of ``path``; bytes that are not UTF-8 give a ValueError naming the file,
    the line and the column (a bare UnicodeDecodeError names none of them)."""
    with open(path, 'rb') as f:
        data = f.read()
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        line = data.count(b'\n', 0, exc.start) + 1
        column = exc.start - (data.rfind(b'\n', 0, exc.start) + 1) + 1
        raise ValueError(f'{what} {os.fspath(path)} is not UTF-8 text: byte 0x{data[exc.start]:02x} '
                         f'at line {line}, column {column}; save it as UTF-8') from None


# What plain-data pickles (FID statistics, CIFAR batches) are made of: containers, NumPy arrays.
_SAFE_PICKLE_GLOBALS = {
    ('collections', 'OrderedDict'), ('builtins', 'set'), ('builtins', 'frozenset'),
    ('builtins', 'complex'), ('builtins', 'slice'), ('_codecs', 'encode'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'), ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'), ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer'),
}


def safe_pickle_load(f: IO[bytes], path: str | os.PathLike, encoding: str = 'ASCII'):
    """``pickle.load`` that builds only containers, numbers, strings and NumPy arrays.

    Any other global (``os.system``, ``builtins.eval``, a class) is refused before it is
    called: no code stored in the file runs. Raises ``pickle.UnpicklingError`` naming the file.
    """
    import pickle

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) in _SAFE_PICKLE_GLOBALS or (
                    module == 'numpy' and name.endswith('dtype')) or (
                    module.startswith('numpy.dtypes')):
                return super().find_class(module, name)
            raise pickle.UnpicklingError(
                f'refusing to unpickle {os.fspath(path)}: it names {module}.{name}, which could '
                f'run code; only plain data and NumPy arrays are read from .pkl files')

    return _Restricted(f, encoding=encoding).load()


def genforge_cache_dir() -> Path:
    """Where downloaded/copied weights live: ``$GENFORGE_CACHE`` or ``~/.cache/genforge``."""
    return Path(os.environ.get('GENFORGE_CACHE') or Path.home() / '.cache' / 'genforge')


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


__all__ = ['atomic_open', 'atomic_write_text', 'atomic_write_bytes', 'read_text', 'write_error',
           'safe_pickle_load',
           'genforge_cache_dir',
           'file_sha256']
