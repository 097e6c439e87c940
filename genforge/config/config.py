"""``Config``: MMEngine's config object for ``.py``/``.json``/``.yaml`` files.

Typical use::

    cfg = Config.fromfile('configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py',
                          cfg_options={'train_cfg.max_iters': 100})
    cfg.model.generator.type        # attribute access into nested dicts
    cfg.dump('work_dirs/x/config.py')
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from genforge.fileio import atomic_write_text

from .config_dict import ConfigDict
from .loader import SUPPORTED_FORMATS, load_config_file, parse_text
from .merge import merge_a_into_b
from .pretty import dumps, format_py

__all__ = ['Config']

RESERVED_KEYS = ('filename', 'text', 'pretty_text', 'env_variables')
_OWN_ATTRS = ('_cfg_dict', '_filename', '_text', '_env_variables')


class Config:
    """A config: a :class:`ConfigDict` plus the file it came from.

    Dict-like (``cfg['model']``, ``'model' in cfg``, ``cfg.keys()``) with attribute access
    (``cfg.model.generator``). Build it with :meth:`fromfile`, or directly::

        >>> cfg = Config(dict(model=dict(type='DCGAN')))
        >>> cfg.model.type
        'DCGAN'
    """

    def __init__(self, cfg_dict: dict | None = None, cfg_text: str | None = None,
                 filename: str | Path | None = None, env_variables: dict | None = None,
                 format_python_code: bool = True):
        filename = str(filename) if isinstance(filename, Path) else filename
        if cfg_dict is None:
            cfg_dict = {}
        elif not isinstance(cfg_dict, dict):
            raise TypeError(f'cfg_dict must be a dict, got {type(cfg_dict).__name__}')
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f'{key!r} is reserved for the Config object and cannot be a config '
                               f'key (reserved: {RESERVED_KEYS}); rename it'
                               + (f' in {filename}' if filename else ''))
        if not cfg_text and filename and os.path.isfile(filename):
            from genforge.fileio import read_text
            cfg_text = read_text(filename, 'config file')
        object.__setattr__(self, '_cfg_dict', ConfigDict(cfg_dict))
        object.__setattr__(self, '_filename', filename)
        object.__setattr__(self, '_text', cfg_text or '')
        object.__setattr__(self, '_env_variables', dict(env_variables or {}))

    # -- construction -------------------------------------------------------------------------
    @staticmethod
    def fromfile(filename: str | Path, cfg_options: dict | None = None,
                 use_predefined_variables: bool = True, import_custom_modules: bool = True,
                 use_environment_variables: bool = True, lazy_import: bool | None = None,
                 format_python_code: bool = True) -> Config:
        """Load a config file with its ``_base_`` chain; apply ``cfg_options``; import
        ``custom_imports`` (so user classes are registered before anything is built).

        ``cfg_options`` is a ``{'a.b.c': value}`` dict as produced by :class:`DictAction`.
        """
        if isinstance(cfg_options, bool):  # MMEngine's positional use_predefined_variables
            cfg_options, use_predefined_variables = None, cfg_options
        if lazy_import:
            raise NotImplementedError('lazy_import (MMEngine pure-Python "new style" configs with '
                                      'read_base()) is not supported; use _base_ = [...] files')
        filename = str(filename)
        if not os.path.isfile(filename):
            raise FileNotFoundError(f'config file {filename!r} not found '
                                    f'(resolved to {os.path.abspath(filename)})')
        cfg_dict, text, env = load_config_file(filename, use_predefined_variables,
                                               use_environment_variables)
        cfg = Config(cfg_dict, cfg_text=text, filename=filename, env_variables=env)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        if import_custom_modules:
            cfg.import_custom_modules()
        return cfg

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """Build from config text; ``file_format`` is '.py', '.json', '.yaml' or '.yml'.

        ``_base_`` paths in the text resolve relative to the current directory.
        """
        if file_format not in SUPPORTED_FORMATS:
            raise OSError(f'file_format must be one of {SUPPORTED_FORMATS}, got {file_format!r}')
        fake_name = os.path.join(os.getcwd(), f'<string>{file_format}')
        cfg_dict, _ = parse_text(cfg_str, fake_name)
        cfg = Config(cfg_dict, cfg_text=cfg_str)
        cfg.import_custom_modules()
        return cfg

    def import_custom_modules(self) -> None:
        """Import ``custom_imports=dict(imports=[...], allow_failed_imports=False)`` modules."""
        custom = self._cfg_dict.get('custom_imports')
        if custom:
            from genforge.registry import import_custom_modules
            import_custom_modules(custom)

    # -- properties ---------------------------------------------------------------------------
    @property
    def filename(self) -> str | None:
        return self._filename

    @property
    def text(self) -> str:
        """Source text of the file and its bases (each preceded by its path)."""
        return self._text

    @property
    def env_variables(self) -> dict:
        """Environment variables substituted through ``{{$NAME:default}}``."""
        return self._env_variables

    @property
    def pretty_text(self) -> str:
        """The merged config as Python source that :meth:`fromfile` loads back equal."""
        return format_py(self._cfg_dict)

    # -- editing and output -------------------------------------------------------------------
    def merge_from_dict(self, options: dict, allow_list_keys: bool = True) -> None:
        """Merge ``{'model.generator.out_channels': 1, 'pipeline.0.key': 'img'}`` into the config.

        Dotted keys walk into dicts; digit parts index lists (``allow_list_keys``).
        """
        nested: dict = {}
        for full_key, value in options.items():
            node = nested
            parts = str(full_key).split('.')
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise KeyError(f'cfg options {full_key!r}: {part!r} is also given a plain '
                                   f'value by another option')
                node = child
            node[parts[-1]] = value
        merged = merge_a_into_b(nested, self._cfg_dict, allow_list_keys=allow_list_keys,
                                warn_new_keys=True)
        object.__setattr__(self, '_cfg_dict', ConfigDict(merged))

    def dump(self, file: str | Path | None = None) -> str | None:
        """Write to ``file`` (format from its suffix), or return the text when ``file`` is None."""
        if file is None:
            fmt = os.path.splitext(self.filename)[1] if self.filename else '.py'
            return dumps(self._cfg_dict, fmt if fmt in SUPPORTED_FORMATS else '.py')
        file = str(file)
        atomic_write_text(file, dumps(self._cfg_dict, os.path.splitext(file)[1]))
        return None

    def to_dict(self, keep_imported: bool = False) -> dict:
        """Plain nested dicts (``ConfigDict`` -> ``dict``)."""
        return self._cfg_dict.to_dict()

    # -- copying / pickling ---------------------------------------------------------------------
    def copy(self) -> Config:
        """Shallow copy: a new top-level dict sharing nested values (as MMEngine)."""
        other = Config.__new__(Config)
        for name in _OWN_ATTRS:
            object.__setattr__(other, name, copy.copy(getattr(self, name)))
        return other

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> Config:
        other = Config.__new__(Config)
        memo[id(self)] = other
        for name in _OWN_ATTRS:
            object.__setattr__(other, name, copy.deepcopy(getattr(self, name), memo))
        return other

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, name) for name in _OWN_ATTRS)

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(_OWN_ATTRS, state):
            object.__setattr__(self, name, value)

    # -- dict / attribute protocol --------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in _OWN_ATTRS or (name.startswith('__') and name.endswith('__')):
            raise AttributeError(name)  # not initialised yet (unpickling) or a dunder probe
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __getitem__(self, name: Any) -> Any:
        return self._cfg_dict[name]

    def __setitem__(self, name: Any, value: Any) -> None:
        if name in RESERVED_KEYS:
            raise KeyError(f'{name!r} is reserved for the Config object and cannot be set as a key')
        self._cfg_dict[name] = value

    def __delitem__(self, name: Any) -> None:
        del self._cfg_dict[name]

    def __contains__(self, name: Any) -> bool:
        return name in self._cfg_dict

    def __iter__(self):
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __repr__(self) -> str:
        return f'Config (path: {self.filename}): {dict.__repr__(self._cfg_dict)}'
