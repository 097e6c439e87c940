"""The restricted unpickler: allow-listed globals load, anything else is refused unrun."""
from __future__ import annotations

import argparse
import io
import os
import pickle
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from genforge.interop.safe_unpickle import EasyDict, Namespace, PersistentObject, UnsafeGlobalError, safe_load

sys.path.insert(0, str(Path(__file__).parent))
import _nvlabs_pickle as nvp  # noqa: E402


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


@pytest.mark.parametrize('how', ['pickle', 'torch.save', 'nested'])
def test_command_payload_is_refused_and_never_runs(tmp_path, how):
    marker = tmp_path / 'MARKER'
    path = tmp_path / 'evil.pkl'
    payload = _Payload(marker)
    if how == 'pickle':
        path.write_bytes(pickle.dumps({'G_ema': payload}))
    elif how == 'torch.save':
        torch.save({'params': {'w': torch.ones(1)}, 'x': payload}, path)
    else:  # hidden inside an NVlabs persistent object's state
        nvp.dump({'G_ema': nvp.module('Generator', {'z_dim': 4}, evil=payload)}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        safe_load(path)
    msg = str(info.value)
    assert f'{os.system.__module__}.system' in msg and str(path) in msg
    assert isinstance(info.value, UnsafeGlobalError)
    assert not marker.exists()


def test_torch_zip_and_raw_pickle_tensors(tmp_path):
    sd = OrderedDict(a=torch.randn(2, 3), b=torch.arange(4))
    torch.save({'params_ema': sd, 'meta': {'iter': 3}}, tmp_path / 'z.pth')
    got = safe_load(tmp_path / 'z.pth')
    assert torch.equal(got['params_ema']['a'], sd['a']) and got['meta'] == {'iter': 3}
    (tmp_path / 'raw.pkl').write_bytes(pickle.dumps({'w': torch.nn.Parameter(sd['a'])}))
    got = safe_load(tmp_path / 'raw.pkl')
    assert torch.equal(got['w'], sd['a'])
    got = safe_load(io.BytesIO(pickle.dumps([sd['b']])))
    assert torch.equal(got[0], sd['b'])
    # protocol 2 (torch.save's) names builtins the Python 2 way: '__builtin__.set'
    data = pickle.dumps({'s': {1, 2}}, protocol=2)
    assert b'__builtin__' in data
    assert safe_load(io.BytesIO(data)) == {'s': {1, 2}}
    with pytest.raises(UnsafeGlobalError, match='builtins.eval'):
        safe_load(io.BytesIO(b'\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R.'))


@pytest.mark.parametrize('numpy_pkg', ['numpy.core', 'numpy._core'])
def test_numpy_1x_and_2x_names(numpy_pkg):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    data = pickle.dumps({'a': arr, 's': np.float64(1.5), 'i': np.int64(7)}, protocol=2)
    # protocol 2 names globals as text lines: write both numpy generations' module names
    for pkg in (b'numpy._core', b'numpy.core'):
        data = data.replace(pkg + b'.multiarray', numpy_pkg.encode() + b'.multiarray')
    assert numpy_pkg.encode() + b'.multiarray' in data
    got = safe_load(io.BytesIO(data))
    assert np.array_equal(got['a'], arr) and got['a'].dtype == np.float32
    assert got['s'] == 1.5 and got['i'] == 7
    got = safe_load(io.BytesIO(pickle.dumps(arr, protocol=5)))
    assert np.array_equal(got, arr)


def test_nvlabs_persistent_object_and_easydict(tmp_path):
    w = torch.randn(3, 2)
    inner = nvp.module('FullyConnectedLayer', {'in_features': 2, 'out_features': 3},
                       params={'weight': w, 'bias': torch.zeros(3)})
    net = nvp.module('MappingNetwork', {'z_dim': 2, 'w_dim': 3}, buffers={'w_avg': torch.ones(3)},
                     modules={'fc0': inner}, z_dim=2, size=np.broadcast_to(np.asarray(4), [2]))
    path = tmp_path / 'network-snapshot-000000.pkl'
    nvp.dump({'G_ema': net, 'training_set_kwargs': nvp.easy({'resolution': 16})}, path)
    got = safe_load(path)
    g = got['G_ema']
    assert isinstance(g, PersistentObject) and g.class_name == 'MappingNetwork'
    assert 'os.system' in g.module_src  # kept as text ...
    assert not Path('SHOULD_NOT_EXIST').exists()  # ... never run
    assert g.init_kwargs == {'z_dim': 2, 'w_dim': 3} and g.z_dim == 2
    assert list(g.size) == [4, 4]
    sd = g.state_dict()
    assert list(sd) == ['w_avg', 'fc0.weight', 'fc0.bias'] and torch.equal(sd['fc0.weight'], w)
    tsk = got['training_set_kwargs']
    assert isinstance(tsk, EasyDict) and tsk.resolution == 16


def test_argparse_namespace_and_extra_globals(tmp_path):
    data = pickle.dumps({'args': argparse.Namespace(lr=0.1, scale=4)})
    got = safe_load(io.BytesIO(data))
    assert isinstance(got['args'], Namespace) and got['args'].scale == 4

    class Stub:
        def __init__(self, *a):
            self.a = a

        def __setstate__(self, state):
            self.state = state

    data = pickle.dumps(Path('x'))  # pathlib.PosixPath is not allowed ...
    with pytest.raises(UnsafeGlobalError, match='pathlib'):
        safe_load(io.BytesIO(data), source='mine.pkl')
    got = safe_load(io.BytesIO(data), extra_globals={  # ... unless a reader supplies a stand-in
        ('pathlib', type(Path('x')).__name__): Stub, ('pathlib', 'PosixPath'): Stub,
        ('pathlib', 'Path'): Stub, ('pathlib._local', 'PosixPath'): Stub})
    assert isinstance(got, Stub)
