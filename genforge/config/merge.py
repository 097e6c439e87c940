"""Merging a child config (or ``--cfg-options``) into its base, MMEngine semantics.

* a dict in the child is merged key by key into the base dict of the same key;
* ``_delete_=True`` in a child dict replaces the base dict instead of merging;
* any other value (lists included) replaces the base value;
* with ``allow_list_keys`` (``merge_from_dict``), digit keys index into lists:
  ``{'pipeline.0.key': 'img'}``.
"""
from __future__ import annotations

import difflib
import logging
from typing import Any

from .config_dict import ConfigDict

__all__ = ['DELETE_KEY', 'merge_a_into_b', 'strip_delete_keys']

DELETE_KEY = '_delete_'
logger = logging.getLogger(__name__)


def _join(path: str, key: Any) -> str:
    return f'{path}.{key}' if path else str(key)


def _delete_flag(child: dict, path: str) -> bool:
    flag = child.get(DELETE_KEY, False)
    if not isinstance(flag, bool):
        raise TypeError(f'{_join(path, DELETE_KEY)}={flag!r}: _delete_ must be True or False '
                        f'(True replaces the base dict {path!r} instead of merging into it)')
    return flag


def strip_delete_keys(value: Any, path: str = '') -> Any:
    """Remove leftover ``_delete_`` keys (nothing to delete) after checking they are booleans."""
    if isinstance(value, dict):
        _delete_flag(value, path)
        return ConfigDict({k: strip_delete_keys(v, _join(path, k))
                           for k, v in value.items() if k != DELETE_KEY})
    if type(value) in (list, tuple):
        return type(value)(strip_delete_keys(v, _join(path, i)) for i, v in enumerate(value))
    return value


def merge_a_into_b(a: dict, b: dict | list, allow_list_keys: bool = False, key_path: str = '',
                   warn_new_keys: bool = False) -> Any:
    """Return a copy of ``b`` with ``a`` merged in; neither input is modified.

    ``key_path`` names where ``a`` sits in the whole config, so errors say e.g.
    ``train_dataloader.dataset.pipeline.7``. ``warn_new_keys`` logs a hint when a key is new
    but close to an existing one (a likely typo in ``--cfg-options``).
    """
    if isinstance(b, list):
        return _merge_into_list(a, b, allow_list_keys, key_path, warn_new_keys)
    b = ConfigDict(b) if not isinstance(b, ConfigDict) else b.copy()
    for key, value in a.items():
        path = _join(key_path, key)
        if key == DELETE_KEY:
            continue  # handled by the caller that owns this dict
        if warn_new_keys and key not in b and isinstance(key, str):
            close = difflib.get_close_matches(key, [k for k in b if isinstance(k, str)], n=1)
            if close:
                logger.warning('config key %r is new (not in the config); did you mean %r?',
                               path, _join(key_path, close[0]))
        b[key] = _merge_value(value, b.get(key), key in b, allow_list_keys, path, warn_new_keys)
    return b


def _merge_value(value: Any, old: Any, exists: bool, allow_list_keys: bool, path: str,
                 warn_new_keys: bool) -> Any:
    if not isinstance(value, dict):
        return value
    if not exists or _delete_flag(value, path):
        return strip_delete_keys(value, path)
    if isinstance(old, dict) or (allow_list_keys and isinstance(old, list)):
        return merge_a_into_b(value, old, allow_list_keys, path, warn_new_keys)
    raise TypeError(f'{path}: the child config sets a dict {dict(value)!r} but the base value is '
                    f'{type(old).__name__} {old!r}, so they cannot be merged. Set '
                    f'{DELETE_KEY}=True in the dict to replace the base value.')


def _merge_into_list(a: dict, b: list, allow_list_keys: bool, key_path: str,
                     warn_new_keys: bool) -> list:
    b = list(b)
    for key, value in a.items():
        path = _join(key_path, key)
        if key == DELETE_KEY:
            raise ValueError(f'{path}: _delete_ cannot be used on a list ({key_path!r} is a list in '
                             f'the base); assign a new list to replace it')
        if not (isinstance(key, str) and key.isdigit()) and not isinstance(key, int):
            raise KeyError(f'{path}: {key_path!r} is a list, so its keys must be indices '
                           f'such as {_join(key_path, 0)!r}')
        index = int(key)
        if index >= len(b):
            raise KeyError(f'{path}: index {index} is out of range, {key_path!r} has {len(b)} '
                           f'item(s) (valid: 0..{len(b) - 1})')
        b[index] = _merge_value(value, b[index], True, allow_list_keys, path, warn_new_keys)
    return b
