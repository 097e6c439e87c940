"""``genforge import-weights SRC --out DIR`` then ``genforge sample``/``restore`` on DIR's files."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.cli import main

sys.path.insert(0, str(Path(__file__).parents[1] / 'unit' / 'interop'))
import _nvlabs_pickle as nvp  # noqa: E402
import _nvlabs_reference as ref  # noqa: E402


def _snapshot(path, c_dim=0):
    g_sd, g_kw = ref.sg2_generator(c_dim=c_dim)
    d_sd, d_kw = ref.sg2_discriminator(c_dim=c_dim)
    nvp.dump(dict(G=nvp.network('Generator', g_sd, g_kw),
                  G_ema=nvp.network('Generator', g_sd, g_kw),
                  D=nvp.network('Discriminator', d_sd, d_kw),
                  augment_pipe=None, training_set_kwargs=nvp.easy({'resolution': 16})), path)
    return g_sd, g_kw


def test_import_weights_then_sample(tmp_path, capsys):
    g_sd, g_kw = _snapshot(tmp_path / 'network-snapshot-000100.pkl')
    out = tmp_path / 'imported'
    assert main(['import-weights', str(tmp_path / 'network-snapshot-000100.pkl'),
                 '--out', str(out)]) == 0
    text = capsys.readouterr().out
    assert 'nvlabs format, StyleGAN2' in text and 'G_ema, G, D' in text
    assert 'channel_base=256' in text
    config = (out / 'model.py').read_text()
    assert "type='StyleGAN2'" in config and "type='StyleGANv2Generator'" in config
    # the checkpoint loads strictly into the config and G_ema computes NVlabs' function
    from genforge.apis import init_model
    model = init_model(str(out / 'model.py'), str(out / 'weights.pth'))
    z = torch.randn(2, 8)
    from genforge.interop import generate
    with torch.no_grad():
        got = generate(model.generator_ema.module, z, truncation_psi=0.7)
    assert (got - ref.sg2_generate(g_sd, g_kw, z, psi=0.7)).abs().max() < 1e-4
    grid = tmp_path / 'grid.png'
    assert main(['sample', str(out / 'model.py'), str(out / 'weights.pth'), '--num', '4',
                 '--out', str(grid), '--truncation', '0.7']) == 0
    assert Image.open(grid).size[0] >= 32
    # restore --weights is for restoration networks
    img = tmp_path / 'x.png'
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    assert main(['restore', '--weights', str(tmp_path / 'network-snapshot-000100.pkl'), str(img),
                 '--out', str(tmp_path / 'r.png')]) == 2
    assert 'not a restoration network' in capsys.readouterr().err
    # a second import into the same folder needs --overwrite
    assert main(['import-weights', str(tmp_path / 'network-snapshot-000100.pkl'),
                 '--out', str(out)]) == 2
    assert '--overwrite' in capsys.readouterr().err
    # and the imported checkpoint exports back to NVlabs' names
    nv = tmp_path / 'back.pth'
    assert main(['export', str(out / 'weights.pth'), '--format', 'nvlabs-state-dict',
                 '--out', str(nv)]) == 0
    back = torch.load(nv, weights_only=True)
    assert torch.equal(back['G_ema']['synthesis.b16.conv0.weight'],
                       g_sd['synthesis.b16.conv0.weight'])


def test_conditional_import_samples_a_label(tmp_path):
    _snapshot(tmp_path / 'cond.pkl', c_dim=3)
    out = tmp_path / 'imp'
    assert main(['import-weights', str(tmp_path / 'cond.pkl'), '--out', str(out)]) == 0
    assert 'num_classes=3' in (out / 'model.py').read_text()
    for label in ('2', None):
        args = ['sample', str(out / 'model.py'), str(out / 'weights.pth'), '--num', '2',
                '--out', str(tmp_path / f'g{label}.png')]
        assert main(args + (['--label', label] if label else [])) == 0


def test_import_weights_sr_then_restore(tmp_path):
    g = torch.Generator().manual_seed(0)
    nf, sd = 4, {}
    sd['body.0.weight'] = torch.randn(nf, 3, 3, 3, generator=g) * 0.1
    sd['body.0.bias'] = torch.zeros(nf)
    sd['body.1.weight'] = torch.full((nf,), 0.25)
    sd['body.2.weight'] = torch.randn(12, nf, 3, 3, generator=g) * 0.1
    sd['body.2.bias'] = torch.zeros(12)
    torch.save({'params': sd}, tmp_path / 'realesr.pth')
    out = tmp_path / 'sr'
    assert main(['import-weights', str(tmp_path / 'realesr.pth'), '--out', str(out)]) == 0
    arr = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / 'img.png')
    assert main(['restore', str(out / 'model.py'), str(out / 'weights.pth'),
                 str(tmp_path / 'img.png'), '--out', str(tmp_path / 'res')]) == 0
    assert Image.open(tmp_path / 'res' / 'img.png').size == (10, 12)


@pytest.mark.parametrize('content', [b'not a pickle at all', None])
def test_import_weights_refuses_clearly(tmp_path, capsys, content):
    path = tmp_path / 'bad.pkl'
    if content is None:  # a D-only NVlabs file: nothing to sample from
        d_sd, d_kw = ref.sg2_discriminator()
        nvp.dump({'D': nvp.network('Discriminator', d_sd, d_kw)}, path)
    else:
        path.write_bytes(content)
    assert main(['import-weights', str(path), '--out', str(tmp_path / 'o')]) == 2
    err = capsys.readouterr().err
    assert 'genforge import-weights' in err
    assert not (tmp_path / 'o' / 'model.py').exists()


def test_import_weights_never_writes_over_its_source(tmp_path, capsys):
    src = tmp_path / 'network-snapshot-000100.pkl'
    _snapshot(src)
    out = tmp_path / 'imported'
    out.mkdir()
    (out / 'weights.pth').symlink_to(src)  # DIR/weights.pth is the source under another name
    before = src.read_bytes()
    assert main(['import-weights', str(src), '--out', str(out), '--overwrite']) == 2
    assert 'would overwrite the input' in capsys.readouterr().err
    assert src.read_bytes() == before and not (out / 'model.py').exists()
