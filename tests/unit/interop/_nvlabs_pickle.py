"""Write pickles the way NVlabs' training loops do, without NVlabs' code.

NVlabs (stylegan2-ada-pytorch, stylegan3) ``pickle.dump`` a dict of networks; each network class
is decorated by ``torch_utils.persistence.persistent_class``, whose ``__reduce__`` turns the
object into ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with
``meta = dict(type='class', version=..., module_src=<source text>, class_name=...,
state=<the object's __dict__>)``; the object's ``__init__`` arguments are kept in the state as
``_init_args``/``_init_kwargs``. ``EasyDict`` values pickle as ``dnnlib.util.EasyDict``.

Here stand-in modules named ``torch_utils.persistence`` and ``dnnlib.util`` exist in
``sys.modules`` only while a file is written, so the bytes name the same globals as NVlabs'
files; nothing of NVlabs' is imported or copied.
"""
from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict

import torch

MODULE_SRC = '# NVlabs networks module source would be here; readers must never run it\n' \
             'import os\nos.system("touch SHOULD_NOT_EXIST")\n'


def _never_called(meta):  # pragma: no cover - only its name goes into the pickle
    raise AssertionError('the reconstructor of the writer side must not run')


class EasyDict(dict):
    """What ``dnnlib.util.EasyDict`` pickles as (a dict subclass)."""


class Persistent:
    """An object that pickles like an NVlabs persistent network."""

    def __init__(self, class_name: str, state: dict):
        self.class_name, self.state = class_name, state

    def __reduce__(self):
        meta = dict(type='class', version=6, module_src=MODULE_SRC, class_name=self.class_name,
                    state=self.state)
        return (sys.modules['torch_utils.persistence']._reconstruct_persistent_obj, (meta,))


def module(class_name: str, init_kwargs: dict | None = None, params: dict | None = None,
           buffers: dict | None = None, modules: dict | None = None, **attrs) -> Persistent:
    """A persistent ``torch.nn.Module``-like object: the ``__dict__`` an nn.Module pickles."""
    state = dict(
        training=False,
        _parameters=OrderedDict((k, torch.nn.Parameter(v.detach().clone(), requires_grad=False))
                                for k, v in (params or {}).items()),
        _buffers=OrderedDict((k, v.detach().clone()) for k, v in (buffers or {}).items()),
        _non_persistent_buffers_set=set(),
        _backward_hooks=OrderedDict(), _forward_hooks=OrderedDict(),
        _forward_pre_hooks=OrderedDict(), _state_dict_hooks=OrderedDict(),
        _load_state_dict_pre_hooks=OrderedDict(),
        _modules=OrderedDict(modules or {}),
        _init_args=(), _init_kwargs=easy(init_kwargs or {}),
    )
    state.update(attrs)
    return Persistent(class_name, state)


def easy(d: dict) -> EasyDict:
    return EasyDict({k: easy(v) if isinstance(v, dict) and not isinstance(v, EasyDict) else v
                     for k, v in d.items()})


@contextlib.contextmanager
def nvlabs_globals():
    """``torch_utils.persistence`` and ``dnnlib.util`` stand-ins, present only inside the block."""
    names = ('torch_utils', 'torch_utils.persistence', 'dnnlib', 'dnnlib.util')
    saved = {n: sys.modules.get(n) for n in names}
    tu, per = types.ModuleType('torch_utils'), types.ModuleType('torch_utils.persistence')
    dn, du = types.ModuleType('dnnlib'), types.ModuleType('dnnlib.util')
    fn = types.FunctionType(_never_called.__code__, {}, '_reconstruct_persistent_obj')
    fn.__module__, fn.__qualname__ = 'torch_utils.persistence', '_reconstruct_persistent_obj'
    per._reconstruct_persistent_obj = fn
    tu.persistence = per
    du.EasyDict, dn.util, dn.EasyDict = EasyDict, du, EasyDict
    old_mod, old_qual = EasyDict.__module__, EasyDict.__qualname__
    EasyDict.__module__, EasyDict.__qualname__ = 'dnnlib.util', 'EasyDict'
    sys.modules.update({'torch_utils': tu, 'torch_utils.persistence': per, 'dnnlib': dn,
                        'dnnlib.util': du})
    try:
        yield
    finally:
        EasyDict.__module__, EasyDict.__qualname__ = old_mod, old_qual
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def dump(obj, path, protocol: int = pickle.DEFAULT_PROTOCOL) -> None:
    """``pickle.dump`` as NVlabs' ``training_loop`` does, naming NVlabs' globals."""
    with nvlabs_globals(), open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=protocol)


BUFFERS = {'w_avg', 'noise_const', 'resample_filter', 'magnitude_ema', 'up_filter',
           'down_filter', 'transform', 'freqs', 'phases'}
_CLASS_OF = [('mapping', 'MappingNetwork'), ('synthesis', 'SynthesisNetwork'),
             ('input', 'SynthesisInput'), ('fc', 'FullyConnectedLayer'),
             ('embed', 'FullyConnectedLayer'), ('affine', 'FullyConnectedLayer'),
             ('out', 'FullyConnectedLayer'), ('torgb', 'ToRGBLayer'), ('fromrgb', 'Conv2dLayer'),
             ('skip', 'Conv2dLayer'), ('conv', 'SynthesisLayer'), ('L', 'SynthesisLayer'),
             ('b', 'SynthesisBlock'), ('mbstd', 'MinibatchStdLayer')]


def network(class_name: str, sd: dict, init_kwargs: dict, none_buffers=(), **attrs) -> Persistent:
    """An NVlabs network object tree from a flat NVlabs state dict: each dotted prefix is a
    persistent sub-module, leaves are parameters or (``BUFFERS``) buffers. ``none_buffers``
    lists ``'path.name'`` buffers registered as None (StyleGAN3's 1-tap filters)."""
    tree: dict = {}
    for key, value in sd.items():
        *path, leaf = key.split('.')
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = value
    for key in none_buffers:
        *path, leaf = key.split('.')
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = None

    def build(name: str, node: dict, kwargs: dict | None, extra: dict) -> Persistent:
        params = {k: v for k, v in node.items() if isinstance(v, torch.Tensor) and k not in BUFFERS}
        buffers = {k: v for k, v in node.items() if not isinstance(v, dict) and k in BUFFERS}
        subs = {k: build(next((c for p, c in _CLASS_OF if k.startswith(p)), 'Module'), v, {}, {})
                for k, v in node.items() if isinstance(v, dict)}
        obj = module(name, kwargs, params=params, modules=subs, **extra)
        obj.state['_buffers'] = OrderedDict(
            (k, None if v is None else v.detach().clone()) for k, v in buffers.items())
        return obj
    return build(class_name, tree, init_kwargs, attrs)
