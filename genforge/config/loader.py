"""Reading a config file into a dict: substitutions, ``_base_`` inheritance, ``.py`` execution.

Order of work for one file (MMEngine's order):
1. text substitutions: ``{{fileDirname}}`` & co., ``{{$ENV:default}}``, and ``{{_base_.x}}``
   references, which become placeholder strings resolved after the bases are loaded;
2. the ``_base_`` files are loaded recursively (relative to this file) and merged side by side
   (a key defined by two bases is an error);
3. the file body is evaluated (``.py``: executed in a fresh namespace that sees the bases'
   variables by name and as ``_base_.name``), then merged into the bases.
"""
from __future__ import annotations

import ast
import builtins
import copy
import difflib
import json
import os
import re
import types
import uuid
import warnings
from typing import Any

from genforge.fileio import read_text

from .config_dict import ConfigDict
from .merge import DELETE_KEY, merge_a_into_b

__all__ = ['BASE_KEY', 'SUPPORTED_FORMATS', 'load_config_file', 'parse_text']

BASE_KEY = '_base_'
DEPRECATION_KEY = '_deprecation_'
SUPPORTED_FORMATS = ('.py', '.json', '.yaml', '.yml')
_BASE_REF = re.compile(r'(["\']?)\{\{\s*' + BASE_KEY + r'\.([\w.]+)\s*\}\}\1')
_ENV_REF = re.compile(r'\{\{\s*\$(\w+)\s*(?::\s*(.*?))?\s*\}\}')
# what a config namespace may hold that is not a config value
_REF_FUNC = '__genforge_base_ref__'
_NOT_VALUES = (types.FunctionType, types.ModuleType, types.BuiltinFunctionType)


def load_config_file(filename: str, use_predefined_variables: bool = True,
                     use_environment_variables: bool = True) -> tuple[dict, str, dict]:
    """Return ``(cfg_dict, text, env_variables)`` for ``filename`` with its bases merged in."""
    env: dict = {}
    opts = dict(predefined=use_predefined_variables, environment=use_environment_variables, env=env)
    cfg, text = _load(os.path.abspath(os.path.expanduser(filename)), (), opts)
    return cfg, text, env


def parse_text(text: str, filename: str, use_predefined_variables: bool = True) -> tuple[dict, str]:
    """Like :func:`load_config_file` for text that is not on disk (``Config.fromstring``)."""
    opts = dict(predefined=use_predefined_variables, environment=True, env={})
    return _load(filename, (), opts, text=text)


def _load(filename: str, chain: tuple[str, ...], opts: dict, text: str | None = None):
    ext = os.path.splitext(filename)[1]
    if ext not in SUPPORTED_FORMATS:
        raise OSError(f'{filename}: unsupported config format {ext!r}; use one of {SUPPORTED_FORMATS}')
    if filename in chain:
        loop = ' -> '.join(os.path.basename(f) for f in (*chain, filename))
        raise RecursionError(f'Circular _base_ inheritance: {loop} ({filename} inherits from itself)')
    if text is None:
        text = read_text(filename, 'config file')   # non-UTF-8 bytes: an error naming the file
    original = text
    text = _substitute_text(text, filename, opts)
    text, refs = _pre_substitute_base_refs(text, python=ext == '.py')
    body, tree = _parse(text, filename, ext)
    base_files = _base_files(body, tree, filename)

    base_cfg: dict = {}
    owner: dict = {}  # key -> base file that defined it, for duplicate errors
    texts = []
    for rel in base_files:
        path = _resolve_base(rel, filename)
        sub_cfg, sub_text = _load(path, (*chain, filename), opts)
        texts.append(sub_text)
        for key in sub_cfg:
            if key in base_cfg:
                raise KeyError(f'{filename}: key {key!r} is defined by two _base_ files, '
                               f'{owner[key]} and {path}; a key may come from one base only')
            owner[key] = path
        base_cfg.update(sub_cfg)

    if tree is not None:
        body = _exec_py(tree, filename, base_cfg)
    body = dict(body or {})
    body.pop(BASE_KEY, None)
    _check_top_level(body, filename)
    body = _substitute_base_refs(body, refs, base_cfg, filename)
    merged = merge_a_into_b(body, base_cfg)
    merged = {k: v for k, v in merged.items() if not (isinstance(k, str) and k.startswith('__'))}
    texts.append(filename + '\n' + original)
    return merged, '\n'.join(texts)


# -- text substitutions ---------------------------------------------------------------------------
def _substitute_text(text: str, filename: str, opts: dict) -> str:
    if opts['predefined']:
        base = os.path.basename(filename)
        values = dict(fileDirname=os.path.dirname(filename), fileBasename=base,
                      fileBasenameNoExtension=os.path.splitext(base)[0],
                      fileExtname=os.path.splitext(base)[1])
        for key, value in values.items():
            value = value.replace('\\', '/')
            text = re.sub(r'\{\{\s*' + key + r'\s*\}\}', lambda _m, v=value: v, text)
    if opts['environment']:
        def env_value(match: re.Match) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                value = os.environ[name]
            elif default is not None:
                value = default.strip('\'"')
            else:
                raise KeyError(f'{filename}: environment variable {name!r} used as {match.group(0)} '
                               f'is not set; set it or give a default: {{{{${name}:default}}}}')
            opts['env'][name] = value
            return value
        text = _ENV_REF.sub(env_value, text)
    return text


def _pre_substitute_base_refs(text: str, python: bool) -> tuple[str, dict[str, str]]:
    """Replace each ``{{_base_.a.b}}`` by a unique quoted placeholder; return placeholder -> path.

    In ``.py`` files a reference outside string literals becomes a call that returns the base
    value itself, so ``{{_base_.train_pipeline}}[:2]`` or ``{{_base_.size}} * 2`` work.
    """
    refs: dict[str, str] = {}
    token = uuid.uuid4().hex[:8]
    lines = text.split('\n')
    for n, line in enumerate(lines):
        def repl(match: re.Match, line: str = line) -> str:
            before = line[:match.start()]
            # inside a longer string literal: insert the bare placeholder, replaced by str(value)
            inside = not match.group(1) and (before.count("'") % 2 or before.count('"') % 2)
            if python and not inside:
                return f'{_REF_FUNC}({match.group(2)!r})'
            placeholder = f'_base_ref_{token}_{len(refs)}_'
            refs[placeholder] = match.group(2)
            return placeholder if inside else f'"{placeholder}"'
        lines[n] = _BASE_REF.sub(repl, line)
    return '\n'.join(lines), refs


def _substitute_base_refs(value: Any, refs: dict[str, str], base_cfg: dict, filename: str) -> Any:
    if not refs:
        return value
    if isinstance(value, dict):
        return {k: _substitute_base_refs(v, refs, base_cfg, filename) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_substitute_base_refs(v, refs, base_cfg, filename) for v in value)
    if isinstance(value, str):
        if value in refs:
            return copy.deepcopy(_lookup(base_cfg, refs[value], filename))
        for placeholder, path in refs.items():
            if placeholder in value:
                text = str(_lookup(base_cfg, path, filename))
                # the quoted form lands inside plain (unquoted) yaml scalars: n"ph" -> n16
                value = value.replace(f'"{placeholder}"', text).replace(placeholder, text)
    return value


def _lookup(base_cfg: dict, path: str, filename: str) -> Any:
    node: Any = base_cfg
    done = []
    for part in path.split('.'):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = '_base_.' + '.'.join(done) if done else 'its _base_ files'
            keys = list(node) if isinstance(node, dict) else []
            close = difflib.get_close_matches(part, [k for k in keys if isinstance(k, str)], n=1)
            hint = f' Did you mean {close[0]!r}?' if close else f' Available: {keys[:20]}'
            raise KeyError(f'{filename}: {{{{_base_.{path}}}}} refers to {part!r}, which '
                           f'{where} does not define.{hint}')
        done.append(part)
    return node


# -- parsing --------------------------------------------------------------------------------------
def _parse(text: str, filename: str, ext: str) -> tuple[dict | None, ast.Module | None]:
    """Return ``(body, None)`` for json/yaml, ``(None, ast)`` for ``.py``."""
    if ext == '.py':
        try:
            return None, ast.parse(text, filename=filename)
        except SyntaxError as exc:
            raise SyntaxError(f'There are syntax errors in config file {filename}, line {exc.lineno}: '
                              f'{exc.msg}\n    {(exc.text or "").strip()}') from exc
    if ext == '.json':
        try:
            body = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f'Invalid JSON in config file {filename}, line {exc.lineno}: '
                             f'{exc.msg}') from exc
    else:
        import yaml
        try:
            body = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, 'problem_mark', None)
            line = f', line {mark.line + 1}' if mark is not None else ''
            raise ValueError(f'Invalid YAML in config file {filename}{line}: {exc}') from exc
    if not isinstance(body, dict):
        raise TypeError(f'{filename}: a config file must hold a mapping at top level, '
                        f'got {type(body).__name__}')
    return body, None


def _is_base_assign(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and node.targets[0].id == BASE_KEY)


def _base_files(body: dict | None, tree: ast.Module | None, filename: str) -> list[str]:
    if tree is not None:
        node = next((n for n in tree.body if _is_base_assign(n)), None)
        if node is None:
            return []
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise ValueError(f'{filename}, line {node.lineno}: _base_ must be a literal string or '
                             f'list of strings (it is read before the file runs)') from None
    else:
        value = (body or {}).get(BASE_KEY, [])
    files = [value] if isinstance(value, str) else value
    if not isinstance(files, (list, tuple)) or not all(isinstance(f, str) for f in files):
        raise TypeError(f'{filename}: _base_ must be a path or a list of paths, got {value!r}')
    return list(files)


def _resolve_base(rel: str, filename: str) -> str:
    if '::' in rel:
        raise FileNotFoundError(
            f'{filename}: _base_ {rel!r} points into another package; genforge reads only local '
            f'files. Copy that config next to yours and use a relative path.')
    folder = os.path.dirname(filename)
    path = os.path.normpath(os.path.join(folder, os.path.expanduser(rel)))
    if not os.path.isfile(path):
        hint = ''
        parent = os.path.dirname(path)
        if os.path.isdir(parent):
            close = difflib.get_close_matches(os.path.basename(path), os.listdir(parent), n=1)
            if close:
                hint = f' Did you mean {os.path.join(os.path.dirname(rel), close[0])!r}?'
        raise FileNotFoundError(f'{filename}: _base_ file {rel!r} not found (looked for {path}).'
                                f'{hint}')
    return path


# -- executing a .py config -----------------------------------------------------------------------
def _exec_py(tree: ast.Module, filename: str, base_cfg: dict) -> dict:
    # `_base_ = [...]` was read statically; drop it so `_base_` stays the dict of base variables
    tree.body = [n for n in tree.body if not _is_base_assign(n)]
    injected = {k: ConfigDict._hook(copy.deepcopy(v)) for k, v in base_cfg.items()}
    namespace: dict = {'__builtins__': builtins, '__name__': '__genforge_config__',
                       '__file__': filename, BASE_KEY: ConfigDict(copy.deepcopy(base_cfg))}
    namespace.update(injected)
    namespace[_REF_FUNC] = lambda path: copy.deepcopy(_lookup(base_cfg, path, filename))
    try:
        exec(compile(tree, filename, 'exec'), namespace)  # noqa: S102 - configs are code, as in MMEngine
    except Exception as exc:
        raise _located(exc, filename) from exc
    body = {}
    for key, value in namespace.items():
        if key == BASE_KEY or (isinstance(key, str) and key.startswith('__')) \
                or isinstance(value, _NOT_VALUES):
            continue
        if key in injected and value is injected[key]:
            if _unchanged(value, base_cfg[key]):
                continue  # an untouched base variable
            if isinstance(value, dict):  # edited in place: the edited copy replaces the base
                value = ConfigDict(value)
                value[DELETE_KEY] = True
        body[key] = value
    return body


def _unchanged(value: Any, base_value: Any) -> bool:
    try:
        return bool(value == base_value)
    except Exception:  # e.g. arrays: ambiguous truth value; treat as edited
        return False


def _located(exc: Exception, filename: str) -> Exception:
    """The same exception type with the config file and line in its message (if possible)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f'{filename}, line {line}' if line else filename
    detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    msg = f'error while executing config file {where}: {type(exc).__name__}: {detail}'
    try:
        return type(exc)(msg)
    except Exception:
        return RuntimeError(msg)


def _check_top_level(body: dict, filename: str) -> None:
    if DELETE_KEY in body:
        raise ValueError(f'{filename}: _delete_ at the top level of a config file is not allowed; '
                         f'put _delete_=True inside the dict that should replace its base, '
                         f'e.g. model = dict(_delete_=True, type=...)')
    if DEPRECATION_KEY in body:
        info = body.pop(DEPRECATION_KEY) or {}
        msg = f'The config file {filename} will be deprecated in the future.'
        if isinstance(info, dict) and 'expected' in info:
            msg += f' Please use {info["expected"]} instead.'
        warnings.warn(msg, DeprecationWarning, stacklevel=2)
