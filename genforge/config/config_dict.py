"""ConfigDict: a ``dict`` whose keys are also attributes (``cfg.model.generator.type``).

Same interface as MMEngine's ``ConfigDict``: nested ``dict`` values (also inside lists and tuples)
become ``ConfigDict`` on assignment, ``update`` merges nested dicts, and a missing attribute raises
``AttributeError`` (not an empty dict as in ``addict``), here naming the closest existing keys.
"""
from __future__ import annotations

import copy
import difflib
from typing import Any

__all__ = ['ConfigDict', 'to_plain']


def _close_keys(name: str, keys) -> list[str]:
    return difflib.get_close_matches(name, [k for k in keys if isinstance(k, str)], n=3, cutoff=0.6)


class ConfigDict(dict):
    """A dict with attribute access, used for every nested mapping of a :class:`Config`.

    Example:
        >>> cfg = ConfigDict(model=dict(type='DCGAN', generator=dict(type='DCGANGenerator')))
        >>> cfg.model.generator.type
        'DCGANGenerator'
        >>> cfg.model.genrator
        AttributeError: ConfigDict has no key 'genrator'. Did you mean 'generator'? ...
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    @classmethod
    def _hook(cls, value: Any) -> Any:
        """Convert nested dicts (also inside lists/tuples) to ConfigDict; keep other values."""
        if isinstance(value, ConfigDict):
            return value
        if isinstance(value, dict):
            return cls(value)
        if type(value) in (list, tuple):  # exact types: keep namedtuples and custom sequences intact
            return type(value)(cls._hook(v) for v in value)
        return value

    # -- attribute access ---------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        # dunder lookups (copy, pickle) must fail fast, never read keys
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(self._missing_message(name)) from None

    def _missing_message(self, name: str) -> str:
        msg = f'{type(self).__name__} has no key {name!r}.'
        close = _close_keys(name, self.keys())
        if close:
            msg += ' Did you mean ' + ' or '.join(repr(c) for c in close) + '?'
        keys = [k for k in self.keys()]
        shown = keys[:20]
        msg += f' Available keys: {shown}' + (' ...' if len(keys) > 20 else '')
        return msg

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(self._missing_message(name)) from None

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, self._hook(value))

    # -- dict methods that must keep ConfigDict semantics ---------------------------------------
    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Recursive update, as MMEngine: nested dicts are merged, other values replaced."""
        other: dict = {}
        if args:
            if len(args) > 1:
                raise TypeError(f'update expected at most 1 positional argument, got {len(args)}')
            other.update(args[0])
        other.update(kwargs)
        for key, value in other.items():
            current = self.get(key)
            if isinstance(current, ConfigDict) and isinstance(value, dict):
                current.update(value)
            else:
                self[key] = value

    def copy(self) -> ConfigDict:
        return type(self)(self)

    def __copy__(self) -> ConfigDict:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> ConfigDict:
        other = type(self).__new__(type(self))
        memo[id(self)] = other
        for key, value in self.items():
            dict.__setitem__(other, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return other

    def __reduce__(self):
        # pickle as (class, (plain items,)): avoids __getattr__ lookups during unpickling
        return (type(self), (dict(self),))

    def to_dict(self) -> dict:
        """Plain nested ``dict``/``list``/``tuple`` copy (for json, yaml and comparisons)."""
        return to_plain(self)


def to_plain(value: Any) -> Any:
    """Recursively turn ConfigDicts into dicts (lists and tuples keep their type)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(to_plain(v) for v in value)
    return value
