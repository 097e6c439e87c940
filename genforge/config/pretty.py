"""Writing a config dict as Python source (``pretty_text``, ``dump('x.py')``), JSON or YAML.

The Python text loads back equal: every value is written as a literal (``dict(...)`` when all keys
are identifiers, ``{...}`` otherwise), non-finite floats as ``float('inf')``, and module-level
classes/functions (``type=torch.nn.ReLU``) as an import expression.
"""
from __future__ import annotations

import json
import keyword
import math
import sys
from typing import Any

__all__ = ['format_py', 'dumps']

_WIDTH = 100
_INDENT = 4


def format_py(cfg: dict) -> str:
    """``key = value`` lines for the top level of ``cfg``."""
    lines = []
    for key, value in cfg.items():
        text = _fmt(value, 0, str(key))
        if _is_name(key):
            lines.append(f'{key} = {text}')
        else:  # not a Python name (from json/yaml): still a key of the module namespace
            lines.append(f'globals()[{key!r}] = {text}')
    return '\n'.join(lines) + '\n'


def _is_name(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _fmt(value: Any, indent: int, path: str) -> str:
    if isinstance(value, dict):
        return _fmt_dict(value, indent, path)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _fmt_seq(value, indent, path)
    return _fmt_scalar(value, path)


def _fmt_scalar(value: Any, path: str) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return int.__repr__(value)  # plain repr also for numpy/int subclasses
    if isinstance(value, float):
        if math.isfinite(value):
            return float.__repr__(value)
        return f"float('{value}')"
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, (bytes, complex)):
        return repr(value)
    return _fmt_object(value, path)


def _fmt_object(value: Any, path: str) -> str:
    """Importable classes, functions and module attributes (e.g. torch.float16)."""
    module = getattr(value, '__module__', None)
    qualname = getattr(value, '__qualname__', None)
    if module and qualname and '<' not in qualname and _resolve(module, qualname) is value:
        return f'__import__({module!r}, fromlist=[{qualname.split(".")[0]!r}]).{qualname}'
    if type(value).__module__ == 'torch' and repr(value).startswith('torch.'):
        name = repr(value)[len('torch.'):]  # dtypes and devices print as torch.float16
        if _resolve('torch', name) is value:
            return f"__import__('torch').{name}"
    raise TypeError(f'cannot write {path}={value!r} (type {type(value).__name__}) to a .py config: '
                    f'only literals, dict/list/tuple and module-level classes or functions can be '
                    f'written. Use a registered type name string instead.')


def _resolve(module: str, qualname: str) -> Any:
    obj: Any = sys.modules.get(module)
    for part in qualname.split('.'):
        obj = getattr(obj, part, None)
    return obj


def _fmt_dict(value: dict, indent: int, path: str) -> str:
    named = all(_is_name(k) for k in value)
    if not value:
        return 'dict()'
    parts = []
    for key, item in value.items():
        text = _fmt(item, indent + _INDENT, f'{path}.{key}')
        parts.append(f'{key}={text}' if named else f'{_fmt(key, indent, path)}: {text}')
    open_, close = ('dict(', ')') if named else ('{', '}')
    return _join(parts, open_, close, indent)


def _fmt_seq(value: Any, indent: int, path: str) -> str:
    items = list(value)
    if isinstance(value, (set, frozenset)):
        if not items:
            return 'set()' if isinstance(value, set) else 'frozenset()'
        items = sorted(items, key=repr)  # stable output
    parts = [_fmt(v, indent + _INDENT, f'{path}.{i}') for i, v in enumerate(items)]
    if isinstance(value, tuple):
        if len(parts) == 1:
            return f'({parts[0]},)'
        return _join(parts, '(', ')', indent)
    if isinstance(value, frozenset):
        return 'frozenset(' + _join(parts, '{', '}', indent) + ')'
    return _join(parts, '{' if isinstance(value, set) else '[', '}' if isinstance(value, set) else ']',
                 indent)


def _join(parts: list[str], open_: str, close: str, indent: int) -> str:
    one_line = open_ + ', '.join(parts) + close
    if '\n' not in one_line and indent + len(one_line) <= _WIDTH:
        return one_line
    pad = ' ' * (indent + _INDENT)
    if all('\n' not in p and len(p) < 30 for p in parts):
        return open_ + '\n' + _pack(parts, pad) + ',\n' + ' ' * indent + close
    return open_ + '\n' + ',\n'.join(pad + p for p in parts) + ',\n' + ' ' * indent + close


def _pack(parts: list[str], pad: str) -> str:
    """Short items (numbers, names) several per line instead of one per line."""
    lines, line = [], ''
    for part in parts:
        candidate = f'{line}, {part}' if line else part
        if line and len(pad) + len(candidate) + 1 > _WIDTH:
            lines.append(line)
            candidate = part
        line = candidate
    lines.append(line)
    return ',\n'.join(pad + text for text in lines)


def _plain_for_data(value: Any) -> Any:
    """Tuples -> lists, dicts -> plain dicts, for json/yaml."""
    if isinstance(value, dict):
        return {k: _plain_for_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_for_data(v) for v in value]
    return value


def dumps(cfg: dict, file_format: str) -> str:
    """Text of ``cfg`` in ``file_format`` ('.py', '.json', '.yaml' or '.yml')."""
    if file_format == '.py':
        return format_py(cfg)
    if file_format == '.json':
        return json.dumps(_plain_for_data(cfg), indent=4) + '\n'
    if file_format in ('.yaml', '.yml'):
        import yaml
        return yaml.safe_dump(_plain_for_data(cfg), sort_keys=False, default_flow_style=None)
    raise ValueError(f'cannot dump a config as {file_format!r}: use .py, .json, .yaml or .yml')
