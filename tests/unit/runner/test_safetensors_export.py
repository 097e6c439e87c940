"""export_safetensors / save_safetensors / .safetensors loading, and `genforge export`."""
from collections import OrderedDict

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from genforge.checkpoint import (
    export_safetensors,
    load_checkpoint,
    load_state_dict_from_file,
    save_checkpoint,
    save_safetensors,
)
from genforge.cli import main


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def _gan_state(seed=0):
    """A MMagic BaseGAN-style state dict: generator, its EMA copy (module. + steps), discriminator."""
    g, ema, d = _net(seed), _net(seed + 1), nn.Linear(3, 1)
    state = OrderedDict((f'generator.{k}', v) for k, v in g.state_dict().items())
    state.update((f'generator_ema.module.{k}', v) for k, v in ema.state_dict().items())
    state['generator_ema.steps'] = torch.tensor([7])
    state.update((f'discriminator.{k}', v) for k, v in d.state_dict().items())
    return state, ema.state_dict()


def test_model_roundtrip_through_load_checkpoint(tmp_path):
    src, dst = _net(0), _net(1)
    path = str(tmp_path / 'm.safetensors')
    export_safetensors(src, path)
    raw = load_file(path)   # the safetensors library itself reads it back
    assert set(raw) == set(src.state_dict())
    load_checkpoint(dst, path, strict=True)
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key
        assert torch.equal(raw[key], value), key
    with safe_open(path, framework='pt') as f:
        assert f.metadata()['source'] == 'Sequential' and f.metadata()['ema_only'] == 'False'


def test_checkpoint_file_ema_only_renames_and_keeps_metadata(tmp_path):
    state, ema = _gan_state()
    ckpt = str(tmp_path / 'iter_9.pth')
    save_checkpoint(dict(meta=dict(iter=9, cfg='model = dict(type="DCGAN")'), state_dict=state,
                         optimizer=dict(generator=dict(state={}, param_groups=[]))), ckpt)
    out = str(tmp_path / 'g.safetensors')
    exported = export_safetensors(ckpt, out, ema_only=True)
    # only the average, under the raw generator's names; no counters, no discriminator
    assert sorted(exported) == sorted(f'generator.{k}' for k in ema)
    back = load_state_dict_from_file(out)
    for key, value in ema.items():
        assert torch.equal(back[f'generator.{key}'], value), key
    plain = _net(5)
    load_checkpoint(plain, out, strict=True, revise_keys=[(r'^generator\.', '')])
    assert torch.equal(plain[0].weight, ema['0.weight'])
    with safe_open(out, framework='pt') as f:
        meta = f.metadata()
    assert meta['iter'] == '9' and meta['source'] == 'iter_9.pth' and 'DCGAN' in meta['cfg']


def test_full_export_keeps_every_tensor(tmp_path):
    state, _ = _gan_state()
    out = str(tmp_path / 'all.safetensors')
    export_safetensors(dict(state_dict=state), out)
    back = load_file(out)
    assert set(back) == set(state)
    assert all(torch.equal(back[k], v) for k, v in state.items())


def test_mmengine_ema_hook_layout_and_missing_ema(tmp_path):
    # MMEngine's EMAHook: 'state_dict' already holds the average, raw weights in 'ema_state_dict'
    avg, raw = _net(0).state_dict(), _net(1).state_dict()
    ckpt = dict(state_dict=avg, ema_state_dict={f'module.{k}': v for k, v in raw.items()})
    exported = export_safetensors(ckpt, str(tmp_path / 'e.safetensors'), ema_only=True)
    assert all(torch.equal(exported[k], v) for k, v in avg.items())
    with pytest.raises(ValueError, match='no EMA weights.*without ema_only'):
        export_safetensors(_net(0), str(tmp_path / 'x.safetensors'), ema_only=True)
    assert not (tmp_path / 'x.safetensors').exists()


def test_shared_and_strided_tensors_serialise(tmp_path):
    base = torch.arange(12.).reshape(3, 4)
    state = dict(a=base, tied=base, t=base.t(), n=3)   # same storage twice, a view, a non-tensor
    save_safetensors(state, str(tmp_path / 's.safetensors'), metadata=dict(k=1))
    back = load_file(str(tmp_path / 's.safetensors'))
    assert set(back) == {'a', 'tied', 't'}
    assert torch.equal(back['t'], base.t()) and torch.equal(back['tied'], base)
    with pytest.raises(ValueError, match='no tensors'):
        save_safetensors(dict(n=1), str(tmp_path / 'empty.safetensors'))


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / 'w.safetensors')
    save_safetensors(dict(w=torch.ones(3)), path)
    import safetensors.torch as st

    def broken(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(st, 'save', broken)
    with pytest.raises(OSError, match='previous checkpoint is intact'):
        save_safetensors(dict(w=torch.zeros(3)), path)
    monkeypatch.undo()
    assert torch.equal(load_file(path)['w'], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ['w.safetensors']


def test_cli_export(tmp_path, capsys):
    state, ema = _gan_state()
    ckpt = tmp_path / 'iter_3.pth'
    save_checkpoint(dict(meta=dict(iter=3), state_dict=state), str(ckpt))
    assert main(['export', str(ckpt), '--ema-only']) == 0   # default: next to the checkpoint
    back = load_file(str(tmp_path / 'iter_3.safetensors'))
    assert set(back) == {f'generator.{k}' for k in ema}
    assert 'iter_3.safetensors' in capsys.readouterr().out
    out = tmp_path / 'full.safetensors'
    assert main(['export', str(ckpt), '--out', str(out)]) == 0
    assert set(load_file(str(out))) == set(state)
