"""``--cfg-options a.b=1 c=[1,2] d=(3,4) e=None f=true g='str'`` parsing (MMEngine semantics).

Values are parsed as int, then float, then ``true``/``false`` (any case) -> bool, ``None`` -> None,
else a string. ``[...]``/``(...)`` give lists/tuples and may nest; a bare ``1,2`` is a list.
Surrounding quotes are stripped, and, as in MMEngine, spaces inside a value are removed.
"""
from __future__ import annotations

import copy
from argparse import Action, ArgumentParser, Namespace
from collections.abc import Sequence
from typing import Any

__all__ = ['DictAction', 'parse_cfg_options']


def _parse_scalar(val: str) -> Any:
    for cast in (int, float):
        try:
            return cast(val)
        except ValueError:
            pass
    if val.lower() in ('true', 'false'):
        return val.lower() == 'true'
    if val == 'None':
        return None
    return val


def _next_comma(text: str) -> int:
    """Index of the first comma outside brackets (len(text) if none)."""
    depth = 0
    for idx, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
        elif char == ',' and depth == 0:
            return idx
    return len(text)


def _check_brackets(text: str, option: str) -> None:
    stack = []
    for char in text:
        if char in '([':
            stack.append(char)
        elif char in ')]':
            if not stack or {'(': ')', '[': ']'}[stack.pop()] != char:
                raise ValueError(f'--cfg-options {option}: unbalanced brackets in {text!r}')
    if stack:
        raise ValueError(f'--cfg-options {option}: unbalanced brackets in {text!r}')


def _parse_value(val: str) -> Any:
    val = val.strip('\'"').replace(' ', '')
    is_tuple = False
    if val.startswith('(') and val.endswith(')'):
        is_tuple, val = True, val[1:-1]
    elif val.startswith('[') and val.endswith(']'):
        val = val[1:-1]
    elif ',' not in val:
        return _parse_scalar(val)
    values = []
    while val:
        comma = _next_comma(val)
        values.append(_parse_value(val[:comma]))
        val = val[comma + 1:]
    return tuple(values) if is_tuple else values


def parse_cfg_options(items: Sequence[str]) -> dict:
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}`` (for ``Config.merge_from_dict``)."""
    options: dict = {}
    for item in items:
        key, sep, val = item.partition('=')
        if not sep or not key:
            raise ValueError(f'--cfg-options {item!r}: expected KEY=VALUE, e.g. '
                             f'model.generator.out_channels=3')
        _check_brackets(val, item)
        options[key] = _parse_value(val)
    return options


class DictAction(Action):
    """argparse action that collects ``KEY=VALUE`` pairs into a dict.

    Example:
        >>> parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> args = parser.parse_args(['--cfg-options', 'a.b=1', 'c=[1,(2,3)]'])
        >>> args.cfg_options
        {'a.b': 1, 'c': [1, (2, 3)]}
    """

    @staticmethod
    def _parse_int_float_bool(val: str) -> Any:  # MMEngine's name, kept for subclasses
        return _parse_scalar(val)

    @staticmethod
    def _parse_iterable(val: str) -> Any:  # MMEngine's name, kept for subclasses
        return _parse_value(val)

    def __call__(self, parser: ArgumentParser, namespace: Namespace, values: Any,
                 option_string: str | None = None) -> None:
        options = copy.copy(getattr(namespace, self.dest, None) or {})
        if values is not None:
            items = [values] if isinstance(values, str) else list(values)
            try:
                options.update(parse_cfg_options(items))
            except ValueError as exc:
                parser.error(str(exc))
        setattr(namespace, self.dest, options)
