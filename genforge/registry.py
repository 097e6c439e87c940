"""Registries: map config ``type=`` names to classes and functions.

One flat table per registry. Scoped names from OpenMMLab configs (``'mmagic.DCGAN'``,
``'mmengine.OptimWrapper'``) resolve to the same table: the scope prefix is dropped.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

# Scopes of the OpenMMLab projects whose configs we load; a prefix 'scope.' on a type is dropped.
KNOWN_SCOPES = ('genforge', 'mmagic', 'mmedit', 'mmgen', 'mmengine', 'mmcv', 'mmcls',
                'mmpretrain', 'mmdet', 'mmseg', 'mmselfsup', 'mmocr', 'mmpose', 'mmaction',
                'mmdet3d', 'mmrazor', 'mmyolo', 'mmtrack', 'mmflow', 'mmrotate', 'mmfewshot')


def _strip_scope(name: str) -> str:
    scope, dot, rest = name.partition('.')
    if dot and scope in KNOWN_SCOPES:
        return rest
    return name


class Registry:
    """A name -> class/function table with ``build(cfg)``.

    Example:
        >>> MODELS = Registry('model')
        >>> @MODELS.register_module()
        ... class MyNet(nn.Module): ...
        >>> net = MODELS.build(dict(type='MyNet'))

    ``parent``, ``scope`` and ``locations`` are accepted for MMEngine compatibility: a child registry
    falls back to its parent on lookup; ``locations`` are imported on first lookup.
    """

    def __init__(self, name: str, build_func: Callable | None = None, parent: Registry | None = None,
                 scope: str | None = None, locations: list[str] | None = None):
        self.name = name
        self.parent = parent
        self.scope = scope or 'genforge'
        self._module_dict: dict[str, Any] = {}
        self._locations = list(locations or [])
        self._imported_locations = False
        self.build_func = build_func

    # -- registration -----------------------------------------------------------------------
    def register_module(self, name: str | list[str] | None = None, force: bool = False,
                        module: Any = None):
        """Register ``module`` under ``name`` (default: its ``__name__``); decorator or call."""
        if name is not None and not isinstance(name, (str, list, tuple)):
            raise TypeError(f'{self.name} registry: name must be None, a str or a list of str, '
                            f'got {type(name).__name__}')
        if module is not None:
            self._register(module, name, force)
            return module

        def decorator(obj):
            self._register(obj, name, force)
            return obj
        return decorator

    def _register(self, obj: Any, name, force: bool) -> None:
        if not (inspect.isclass(obj) or callable(obj)):
            raise TypeError(f'{self.name} registry: only classes and functions can be registered, '
                            f'got {obj!r}')
        names = [obj.__name__] if name is None else ([name] if isinstance(name, str) else list(name))
        for key in names:
            existing = self._module_dict.get(key)
            if existing is not None and existing is not obj and not force:
                raise KeyError(f"{key!r} is already registered in {self.name} registry "
                               f"(by {existing.__module__}.{existing.__qualname__}); "
                               f"pass force=True to replace it")
            self._module_dict[key] = obj

    # -- lookup -----------------------------------------------------------------------------
    @property
    def module_dict(self) -> dict[str, Any]:
        return self._module_dict

    def __len__(self) -> int:
        return len(self._module_dict)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __repr__(self) -> str:
        return f'Registry(name={self.name!r}, items={sorted(self._module_dict)})'

    def keys(self):
        return self._module_dict.keys()

    @staticmethod
    def split_scope_key(key: str) -> tuple[str | None, str]:
        """``'mmagic.DCGAN'`` -> ``('mmagic', 'DCGAN')``; ``'DCGAN'`` -> ``(None, 'DCGAN')``."""
        scope, dot, rest = key.partition('.')
        return (scope, rest) if dot else (None, key)

    def _import_locations(self) -> None:
        if self._imported_locations:
            return
        # set first: a location's own import may look names up while it is half imported
        self._imported_locations = True
        for loc in self._locations:
            try:
                importlib.import_module(loc)
            except Exception as exc:
                self._imported_locations = False  # retry next time, and fail loudly each time
                raise ImportError(f'{self.name} registry: importing {loc!r} (where its classes are '
                                  f'registered) failed: {type(exc).__name__}: {exc}') from exc

    import_from_location = _import_locations  # MMEngine's name

    def get(self, name: str) -> Any:
        """Return the object registered as ``name`` (scope prefix allowed) or None."""
        if not isinstance(name, str):
            return None
        self._import_locations()
        key = _strip_scope(name)
        if key in self._module_dict:
            return self._module_dict[key]
        if self.parent is not None:
            return self.parent.get(name)
        return None

    def suggest(self, name: str) -> list[str]:
        """Closest registered names to ``name`` (for error messages)."""
        candidates = list(self._module_dict)
        if self.parent is not None:
            candidates += list(self.parent.module_dict)
        return difflib.get_close_matches(_strip_scope(name), candidates, n=3, cutoff=0.6)

    def not_found_message(self, name: str, key_path: str | None = None) -> str:
        where = f'{key_path}.type' if key_path else 'type'
        msg = f'{where}={name!r} is not in the {self.name} registry.'
        scope, _ = self.split_scope_key(name)
        if scope is not None and scope not in KNOWN_SCOPES:
            msg += f' (Scope prefix {scope!r} is unknown; known scopes: {", ".join(KNOWN_SCOPES)}.)'
        close = self.suggest(name)
        if close:
            msg += ' Did you mean ' + ' or '.join(repr(c) for c in close) + '?'
        else:
            msg += (' Register it with @' + self.name.upper() + '.register_module() and import '
                    "its module (custom_imports=dict(imports=['my_module'])).")
        return msg

    # -- build ------------------------------------------------------------------------------
    def build(self, cfg: Any, default_args: dict | None = None, key_path: str | None = None,
              **kwargs) -> Any:
        """Build an object from ``cfg['type']`` and the other keys as keyword arguments."""
        if self.build_func is not None:
            return self.build_func(cfg, registry=self, default_args=default_args, key_path=key_path)
        return build_from_cfg(cfg, self, default_args, key_path=key_path)


def build_from_cfg(cfg: Any, registry: Registry, default_args: dict | None = None,
                   key_path: str | None = None) -> Any:
    """Build ``registry[cfg['type']](**rest)``; errors name the key path and the argument."""
    where = key_path or registry.name
    if not isinstance(cfg, dict) and isinstance(getattr(cfg, '_cfg_dict', None), dict):
        cfg = cfg._cfg_dict  # a genforge.config.Config
    if not isinstance(cfg, dict):
        raise TypeError(f'{where}: expected a dict with a "type" key, got {type(cfg).__name__}: {cfg!r}')
    args = dict(cfg)
    if default_args:
        for k, v in default_args.items():
            args.setdefault(k, v)
    if 'type' not in args:
        raise KeyError(f'{where}: the config has no "type" key (keys: {sorted(args)}); '
                       f'set type= to one of the {registry.name} registry names')
    obj_type = args.pop('type')
    args.pop('_scope_', None)
    if isinstance(obj_type, str):
        obj_cls = registry.get(obj_type)
        if obj_cls is None:
            raise KeyError(registry.not_found_message(obj_type, key_path))
    elif callable(obj_type):
        obj_cls = obj_type
    else:
        raise TypeError(f'{where}.type must be a str or a class, got {obj_type!r}')
    _check_arguments(obj_cls, args, where)
    try:
        # unlike MMEngine, ManagerMixin-style classes are constructed, not fetched by name: a
        # second run in the same process must not get the first run's Visualizer
        return obj_cls(**args)
    except Exception as exc:
        if not _reraisable(exc):
            raise
        name = getattr(obj_cls, '__name__', repr(obj_cls))
        detail = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
        raise type(exc)(f'while building {where} (type={name!r}): {detail}') from exc


def build_model_from_cfg(cfg: Any, registry: Registry, default_args: dict | None = None,
                         key_path: str | None = None) -> Any:
    """``build_from_cfg``, except that a list of configs builds an ``nn.Sequential`` (MMEngine)."""
    if isinstance(cfg, (list, tuple)):
        import torch.nn as nn
        where = key_path or registry.name
        return nn.Sequential(*[build_from_cfg(c, registry, default_args, key_path=f'{where}.{i}')
                               for i, c in enumerate(cfg)])
    return build_from_cfg(cfg, registry, default_args, key_path=key_path)


def _reraisable(exc: Exception) -> bool:
    """Only re-wrap exception types whose constructor takes one message argument."""
    try:
        type(exc)('probe')
    except Exception:
        return False
    return type(exc).__init__ is BaseException.__init__ or isinstance(
        exc, (TypeError, ValueError, KeyError, RuntimeError, AssertionError, FileNotFoundError,
              NotImplementedError, AttributeError, IndexError))


def _check_arguments(obj_cls: Any, args: dict, where: str) -> None:
    """Report an unknown keyword with the closest accepted name, before calling."""
    try:
        target = obj_cls.__init__ if inspect.isclass(obj_cls) else obj_cls
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return
    params = sig.parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [n for n, p in params.items() if n != 'self'
                and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for key in args:
        if key not in accepted:
            close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
            hint = f' Did you mean {close[0]!r}?' if close else f' Accepted: {accepted}.'
            name = getattr(obj_cls, '__name__', repr(obj_cls))
            raise TypeError(f'{where}: {name} got an unexpected argument {key!r}.{hint}')
    missing = [n for n, p in params.items() if n != 'self' and p.default is p.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in args]
    if missing:
        name = getattr(obj_cls, '__name__', repr(obj_cls))
        raise TypeError(f'{where}: {name} is missing required argument(s) {missing}')
    for key, value in args.items():
        _check_value_type(key, value, params[key], where)


def _check_value_type(key: str, value: Any, param: inspect.Parameter, where: str) -> None:
    """A quoted number (``base_channels='64'``) where the default is a number is a typo."""
    default, note = param.default, str(param.annotation)
    if not isinstance(value, str) or isinstance(default, str) or default is None \
            or not isinstance(default, (bool, int, float)) or 'str' in note or 'Any' in note:
        return
    kind = 'True or False' if isinstance(default, bool) else 'a number'
    raise TypeError(f'{where}.{key}={value!r} must be {kind} (default: {default!r}), not a '
                    f'string; remove the quotes')


def import_custom_modules(custom_imports: dict | None) -> None:
    """Import ``custom_imports=dict(imports=[...], allow_failed_imports=False)`` modules.

    Importing runs the modules' ``@MODELS.register_module()`` decorators, so their classes can be
    named in ``type=``. ``Config.fromfile`` calls this; call it yourself for hand-made configs.
    """
    if not custom_imports:
        return
    if not isinstance(custom_imports, dict):
        raise TypeError(f'custom_imports must be a dict like dict(imports=[\'my_module\'], '
                        f'allow_failed_imports=False), got {custom_imports!r}')
    unknown = set(custom_imports) - {'imports', 'allow_failed_imports'}
    if unknown:
        raise TypeError(f'custom_imports has unknown key(s) {sorted(unknown)}; '
                        f'accepted: imports, allow_failed_imports')
    imports = custom_imports.get('imports', [])
    if isinstance(imports, str):
        imports = [imports]
    if not isinstance(imports, (list, tuple)) or not all(isinstance(m, str) for m in imports):
        raise TypeError(f'custom_imports.imports must be a module name or a list of module names, '
                        f'got {imports!r}')
    allow_failed = custom_imports.get('allow_failed_imports', False)
    for mod in imports:
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            if not allow_failed:
                raise ImportError(f'custom_imports: cannot import {mod!r}: {exc}. Is it on '
                                  f'PYTHONPATH (run from its folder or pip install it)?') from exc
            logger.warning('custom_imports: failed to import %s: %s', mod, exc)


def init_default_scope(scope: str) -> None:
    """Accepted for MMEngine compatibility: genforge has one flat table per registry, so any
    known scope (``'mmagic'``, ``'mmengine'``, ...) resolves to it; nothing to switch."""
    if scope not in KNOWN_SCOPES:
        logger.warning('default_scope=%r is not a known OpenMMLab scope; type names are looked up '
                       'in genforge registries regardless', scope)


MODELS = Registry('models', build_func=build_model_from_cfg, locations=['genforge.models'])
MODULES = MODELS  # MMGeneration 0.x/1.x spelling
DATASETS = Registry('datasets', locations=['genforge.datasets'])
TRANSFORMS = Registry('transforms', locations=['genforge.datasets.transforms'])
DATA_SAMPLERS = Registry('data_samplers', locations=['genforge.datasets'])
HOOKS = Registry('hooks', locations=['genforge.hooks'])
LOOPS = Registry('loops', locations=['genforge.runner'])
RUNNERS = Registry('runners', locations=['genforge.runner'])
OPTIMIZERS = Registry('optimizers', locations=['genforge.optim'])
OPTIM_WRAPPERS = Registry('optim_wrappers', locations=['genforge.optim'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optim_wrapper_constructors', locations=['genforge.optim'])
PARAM_SCHEDULERS = Registry('param_schedulers', locations=['genforge.optim'])
METRICS = Registry('metrics', locations=['genforge.evaluation'])
EVALUATOR = Registry('evaluator', locations=['genforge.evaluation'])
VISUALIZERS = Registry('visualizers', locations=['genforge.visualization'])
VISBACKENDS = Registry('vis_backends', locations=['genforge.visualization'])
LOG_PROCESSORS = Registry('log_processors', locations=['genforge.runner'])
WEIGHT_INITIALIZERS = Registry('weight_initializers', locations=['genforge.models'])
MODEL_WRAPPERS = Registry('model_wrappers', locations=['genforge.models'])
FUNCTIONS = Registry('functions', locations=['genforge.datasets'])
TASK_UTILS = Registry('task_utils')


def _register_torch_optimizers() -> None:
    import torch
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer) \
                and obj is not torch.optim.Optimizer:
            OPTIMIZERS.register_module(module=obj, force=True)


_register_torch_optimizers()

__all__ = ['Registry', 'build_from_cfg', 'build_model_from_cfg', 'import_custom_modules',
           'init_default_scope', 'KNOWN_SCOPES', 'MODELS', 'MODULES', 'DATASETS',
           'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS', 'LOOPS', 'RUNNERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS',
           'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS', 'EVALUATOR', 'VISUALIZERS',
           'VISBACKENDS', 'LOG_PROCESSORS', 'WEIGHT_INITIALIZERS', 'MODEL_WRAPPERS', 'FUNCTIONS',
           'TASK_UTILS']
