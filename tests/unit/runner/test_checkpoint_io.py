"""save_checkpoint / load_checkpoint: plain containers, atomic writes, safe loading."""
import os
import pickle

import pytest
import torch
from torch import nn

from genforge.checkpoint import (
    check_plain,
    load_checkpoint,
    load_state_dict_from_file,
    save_checkpoint,
)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))


def test_roundtrip_with_weights_only(tmp_path):
    net = _net()
    ckpt = dict(meta=dict(iter=3, cfg='x = 1'), state_dict=net.state_dict(),
                rng=dict(py=(3, tuple(range(5)), None)))
    save_checkpoint(ckpt, str(tmp_path / 'a.pth'))
    back = torch.load(tmp_path / 'a.pth', weights_only=True)
    assert back['meta'] == ckpt['meta'] and back['rng'] == ckpt['rng']
    for k, v in net.state_dict().items():
        assert torch.equal(back['state_dict'][k], v)
    assert [f for f in os.listdir(tmp_path)] == ['a.pth']  # no temp file left


def test_non_plain_value_is_refused_with_its_path(tmp_path):
    with pytest.raises(TypeError, match=r'checkpoint.meta.obj holds a .*Linear'):
        save_checkpoint(dict(meta=dict(obj=nn.Linear(1, 1))), str(tmp_path / 'x.pth'))
    assert not os.listdir(tmp_path)
    check_plain(dict(a=[1, 2.0, 'x', None, torch.zeros(1), (torch.float32,)]))


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'c.pth')
    save_checkpoint(dict(v=torch.ones(2)), path)

    def broken_save(obj, f, *a, **k):
        f.write(b'partial')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(OSError, match='previous checkpoint is intact'):
        save_checkpoint(dict(v=torch.zeros(2)), path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)['v'], torch.ones(2))
    assert os.listdir(tmp_path) == ['c.pth']


def test_load_checkpoint_revises_keys_and_reports(tmp_path, caplog):
    src = _net()
    raw = {f'module.{k}': v for k, v in src.state_dict().items()}   # DDP-style raw state dict
    torch.save(raw, tmp_path / 'raw.pth')
    dst = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    load_checkpoint(dst, str(tmp_path / 'raw.pth'))
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v)
    # strict: a missing key is an error naming it; non-strict: a warning
    partial = {k: v for k, v in src.state_dict().items() if k != '0.bias'}
    torch.save(dict(meta={}, state_dict=partial), tmp_path / 'partial.pth')
    with pytest.raises(RuntimeError, match=r'missing key\(s\) in checkpoint: 0.bias'):
        load_checkpoint(dst, str(tmp_path / 'partial.pth'), strict=True)
    load_checkpoint(dst, str(tmp_path / 'partial.pth'), strict=False)
    assert '0.bias' in caplog.text


class _Foreign:
    def __init__(self):
        self.payload = [1, 2]


def test_pickled_objects_are_read_without_running_them_or_refused(tmp_path):
    src = _net()
    torch.save(dict(state_dict=src.state_dict(), message_hub=_Foreign()), tmp_path / 'mm.pth')
    # classes are replaced by inert placeholders; the weights load
    state = load_state_dict_from_file(str(tmp_path / 'mm.pth'))
    assert torch.equal(state['0.weight'], src.state_dict()['0.weight'])

    class Evil:
        def __reduce__(self):
            return (os.system, ('echo pwned > ' + str(tmp_path / 'pwned'),))

    with open(tmp_path / 'evil.pth', 'wb') as f:
        pickle.dump(dict(state_dict={}, x=Evil()), f)
    with pytest.raises(RuntimeError, match='allow_pickle=True'):
        load_state_dict_from_file(str(tmp_path / 'evil.pth'))
    assert not (tmp_path / 'pwned').exists()
    # same payload in torch's zip format: torch's unpickler refuses os.system outright
    torch.save(dict(state_dict=src.state_dict(), x=Evil()), tmp_path / 'evil_zip.pth')
    with pytest.raises(RuntimeError, match='Unpickling can run arbitrary code'):
        load_state_dict_from_file(str(tmp_path / 'evil_zip.pth'))
    assert not (tmp_path / 'pwned').exists()
