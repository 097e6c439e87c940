"""NVlabs stylegan2-ada-pytorch / stylegan3 snapshots -> genforge networks computing NVlabs' function.

Each test writes tiny seeded networks in NVlabs' key layout, pickles them the way NVlabs'
training loop does (persistent objects carrying module source text and init kwargs,
``_nvlabs_pickle``), reads them with ``load_weights`` and compares ``generate`` / ``discriminate``
with a plain re-statement of NVlabs' forward (``_nvlabs_reference``): truncation 1.0 and 0.7
towards the file's ``w_avg``, constant noise, D logits, unconditional and conditional.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from genforge.interop import discriminate, generate, load_object, load_weights

sys.path.insert(0, str(Path(__file__).parent))
import _nvlabs_pickle as nvp  # noqa: E402
import _nvlabs_reference as ref  # noqa: E402

TOL = 1e-4


def _snapshot(path, g_sd, g_kw, d_sd=None, d_kw=None, none_buffers=(), **extra):
    g = nvp.network('Generator', g_sd, g_kw, none_buffers=none_buffers, z_dim=g_kw['z_dim'],
                    c_dim=g_kw['c_dim'], w_dim=g_kw['w_dim'],
                    img_resolution=g_kw['img_resolution'])
    data = dict(G=g, G_ema=nvp.network('Generator', g_sd, g_kw, none_buffers=none_buffers),
                augment_pipe=nvp.module('AugmentPipe', {'xflip': 1},
                                        buffers={'p': torch.zeros([])}),
                training_set_kwargs=nvp.easy(dict(resolution=g_kw['img_resolution'],
                                                  use_labels=bool(g_kw['c_dim']))), **extra)
    if d_sd is not None:
        data['D'] = nvp.network('Discriminator', d_sd, d_kw)
    nvp.dump(data, path)
    return path


def _labels(c_dim, n):
    return None if not c_dim else F.one_hot(torch.arange(n) % c_dim, c_dim).float()


def _close(got, want):
    assert got.shape == want.shape
    err = (got - want).abs().max().item()
    assert err < TOL, f'max |difference| {err}'


@pytest.mark.parametrize('c_dim,conv_clamp', [(0, None), (3, 0.5)])
def test_stylegan2_snapshot_computes_nvlabs_function(tmp_path, c_dim, conv_clamp):
    g_sd, g_kw = ref.sg2_generator(c_dim=c_dim, conv_clamp=conv_clamp)
    d_sd, d_kw = ref.sg2_discriminator(c_dim=c_dim, conv_clamp=conv_clamp)
    path = _snapshot(tmp_path / 'network-snapshot-000000.pkl', g_sd, g_kw, d_sd, d_kw)
    imported = load_object(path)
    assert imported.format == 'nvlabs' and imported.default_part == 'G_ema'
    assert set(imported.networks) == {'G_ema', 'G', 'D'}
    assert imported.info['architecture'] == 'StyleGAN2' and imported.info['c_dim'] == c_dim
    assert torch.equal(imported.info['w_avg'], g_sd['mapping.w_avg'])
    G, D = load_weights(path), load_weights(path, part='D')
    assert not G.training and next(G.parameters()).dtype == torch.float32
    z, c = torch.randn(4, 8), _labels(c_dim, 4)
    with torch.no_grad():
        for psi in (1.0, 0.7):
            _close(generate(G, z, c, truncation_psi=psi, noise_mode='const'),
                   ref.sg2_generate(g_sd, g_kw, z, c, psi))
        _close(generate(G, z, c, noise_mode='none'),
               ref.sg2_generate(g_sd, g_kw, z, c, noise_mode='none'))
        img = torch.randn(4, 3, 16, 16)
        _close(discriminate(D, img, c), ref.sg2_discriminate(d_sd, d_kw, img, c))
        if c_dim:  # class indices are accepted as well as one-hot rows
            _close(discriminate(D, img, torch.arange(4) % c_dim),
                   ref.sg2_discriminate(d_sd, d_kw, img, c))


def test_stylegan2_without_noise_and_flat_kwargs(tmp_path):
    """stylegan3's copy of the StyleGAN2 generator takes its synthesis kwargs flat."""
    g_sd, g_kw = ref.sg2_generator(use_noise=False, map_layers=3)
    flat = {k: v for k, v in g_kw.items() if k != 'synthesis_kwargs'}
    flat.update(g_kw['synthesis_kwargs'])
    G = load_weights(_snapshot(tmp_path / 'g.pkl', g_sd, flat))
    z = torch.randn(2, 8)
    with torch.no_grad():
        _close(generate(G, z, truncation_psi=0.5), ref.sg2_generate(g_sd, g_kw, z, psi=0.5))


def _sg3_none_buffers(sd, kw):
    _, layers = ref.sg3_layout(res=kw['img_resolution'], **kw)
    out = []
    for lay in layers:
        for name in ('up_filter', 'down_filter'):
            key = f'synthesis.{lay["name"]}.{name}'
            if key not in sd:
                out.append(key)
    return out


@pytest.mark.parametrize('radial,c_dim', [(False, 0), (True, 0), (False, 3)])
def test_stylegan3_snapshot_computes_nvlabs_function(tmp_path, radial, c_dim):
    g_sd, g_kw = ref.sg3_generator(c_dim=c_dim, radial=radial)
    d_sd, d_kw = ref.sg2_discriminator(c_dim=c_dim)
    path = _snapshot(tmp_path / 'sg3.pkl', g_sd, g_kw, d_sd, d_kw,
                     none_buffers=_sg3_none_buffers(g_sd, g_kw))
    imported = load_object(path)
    assert imported.info['architecture'] == ('StyleGAN3-R' if radial else 'StyleGAN3-T')
    assert imported.model_config['type'] == 'StyleGAN3'
    G, D = load_weights(path), load_weights(path, part='D')
    z, c = torch.randn(2, 8), _labels(c_dim, 2)
    with torch.no_grad():
        for psi in (1.0, 0.7):
            _close(generate(G, z, c, truncation_psi=psi), ref.sg3_generate(g_sd, g_kw, z, c, psi))
        img = torch.randn(2, 3, 16, 16)
        _close(discriminate(D, img, c), ref.sg2_discriminate(d_sd, d_kw, img, c))


def test_parts_and_refusals(tmp_path):
    g_sd, g_kw = ref.sg2_generator()
    path = _snapshot(tmp_path / 'a.pkl', g_sd, g_kw)
    G = load_weights(path, part='G')
    assert G.interop_info['part'] == 'G'
    with pytest.raises(ValueError, match="part='D' is not in"):
        load_weights(path, part='D')
    orig = dict(g_kw, synthesis_kwargs=dict(g_kw['synthesis_kwargs'], architecture='orig'))
    with pytest.raises(ValueError, match="architecture='orig'"):
        load_object(_snapshot(tmp_path / 'orig.pkl', g_sd, orig))
    d_sd, d_kw = ref.sg2_discriminator()
    dskip = _snapshot(tmp_path / 'dskip.pkl', g_sd, g_kw, d_sd, dict(d_kw, architecture='skip'))
    # a discriminator genforge cannot compute (CIFAR-10's 'orig' ...) leaves the generators
    imported = load_object(dskip)
    assert list(imported.networks) == ['G_ema', 'G']
    assert "architecture='skip'" in imported.info['skipped']['D']
    assert imported.model_config['discriminator'] is None
    with pytest.raises(ValueError, match="architecture='skip'"):
        load_weights(dskip, part='D')
    bad = dict(g_sd)
    bad['synthesis.b16.conv0.extra'] = torch.zeros(3)
    with pytest.raises(ValueError, match='no place'):
        load_object(_snapshot(tmp_path / 'extra.pkl', bad, g_kw))


def test_payload_hidden_in_a_snapshot_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "MARKER"}',))
    g_sd, g_kw = ref.sg2_generator()
    path = _snapshot(tmp_path / 'evil.pkl', g_sd, g_kw, evil=Payload())
    with pytest.raises(Exception, match=r'system'):
        load_weights(path)
    assert not (tmp_path / 'MARKER').exists()


def test_overrides_use_nvlabs_names(tmp_path):
    g_sd, g_kw = ref.sg2_generator()
    path = _snapshot(tmp_path / 'a.pkl', g_sd, g_kw)
    G = load_weights(path, conv_clamp=0.5)  # nested synthesis_kwargs in the file: still wins
    clamped = dict(g_kw, synthesis_kwargs=dict(g_kw['synthesis_kwargs'], conv_clamp=0.5))
    z = torch.randn(2, 8)
    with torch.no_grad():
        _close(generate(G, z), ref.sg2_generate(g_sd, clamped, z))
    with pytest.raises(ValueError, match='unknown override'):
        load_weights(path, upscale=4)
    with pytest.raises(ValueError, match="arch='RRDBNet'"):
        load_weights(path, arch='RRDBNet')


def test_a_network_saved_alone(tmp_path):
    """``pickle.dump(G_ema)`` / ``torch.save(D)`` of one NVlabs network, and its state_dict()."""
    g_sd, g_kw = ref.sg2_generator()
    d_sd, d_kw = ref.sg2_discriminator()
    nvp.dump(nvp.network('Generator', g_sd, g_kw), tmp_path / 'g.pkl')
    with nvp.nvlabs_globals():
        torch.save(nvp.network('Discriminator', d_sd, d_kw), tmp_path / 'd.pt')
    torch.save(g_sd, tmp_path / 'g_sd.pt')
    z, img = torch.randn(2, 8), torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        want = ref.sg2_generate(g_sd, g_kw, z, psi=0.7)
        _close(generate(load_weights(tmp_path / 'g.pkl'), z, truncation_psi=0.7), want)
        _close(generate(load_weights(tmp_path / 'g_sd.pt'), z, truncation_psi=0.7), want)
        _close(discriminate(load_weights(tmp_path / 'd.pt'), img),
               ref.sg2_discriminate(d_sd, d_kw, img))
