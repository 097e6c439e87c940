"""rosinality stylegan2-pytorch ``.pt`` files -> genforge StyleGAN2 networks with the same function.

The files are written the way rosinality's ``train.py`` / ``convert_weight.py`` write them (a
``torch.save`` dict holding state dicts, an ``argparse.Namespace`` and ``latent_avg``), read back
with ``safe_load`` (no code from the file runs) and compared with ``_stylegan2_reference``, a plain
re-statement of rosinality's forward pass.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.interop import detect, discriminate, generate, load_weights, safe_load
from genforge.interop.rosinality import genforge_to_rosinality, rosinality_to_genforge
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _stylegan2_reference as ref  # noqa: E402

SIZE, STYLE = 16, 32


def _saved(tmp_path, obj):
    path = tmp_path / '000100.pt'
    torch.save(obj, path)
    return safe_load(path)


def _built(imported, part):
    cfg, sd = imported.networks[part]
    net = MODELS.build(cfg).eval()
    net.load_state_dict(sd, strict=True)
    return net


def _checkpoint(latent_avg=True):
    g, g_ema, d = ref.rosinality_g(1), ref.rosinality_g(2), ref.rosinality_d(3)
    args = argparse.Namespace(size=SIZE, latent=STYLE, n_mlp=2, channel_multiplier=2, r1=10.)
    obj = {'g': g, 'd': d, 'g_ema': g_ema, 'args': args, 'ada_aug_p': 0.0,
           'g_optim': {'state': {}, 'param_groups': [{'lr': 0.002, 'params': [0, 1]}]},
           'd_optim': {'state': {}, 'param_groups': [{'lr': 0.002, 'params': [0]}]}}
    if latent_avg:
        obj['latent_avg'] = torch.randn(STYLE, generator=torch.Generator().manual_seed(4))
    return obj


def test_generator_and_discriminator_compute_rosinalitys_function(tmp_path):
    obj = _checkpoint()
    imported = detect(_saved(tmp_path, obj))
    assert imported.format == 'rosinality' and imported.default_part == 'G_ema'
    assert set(imported.networks) == {'G_ema', 'G', 'D'}
    assert imported.info['size'] == SIZE and imported.info['style_dim'] == STYLE
    assert imported.info['n_mlp'] == 2
    assert torch.equal(imported.info['w_avg'], obj['latent_avg'])
    z = torch.randn(3, STYLE, generator=torch.Generator().manual_seed(5))
    for part, key in (('G_ema', 'g_ema'), ('G', 'g')):
        net = _built(imported, part)
        for psi in (1.0, 0.7):
            with torch.no_grad():
                got = net(z, truncation=psi, randomize_noise=False)
                want = ref.generator(obj[key], z, psi, obj['latent_avg'])
            assert got.shape == (3, 3, SIZE, SIZE)
            assert (got - want).abs().max().item() < 1e-4, (part, psi)
    img = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        got, want = _built(imported, 'D')(img), ref.discriminator(obj['d'], img)
    assert got.shape == (4, 1) and (got - want).abs().max().item() < 1e-4


def test_channel_options_from_channel_tables():
    from genforge.interop.rosinality import _channel_options
    stock = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128}
    assert _channel_options(stock, 'g') == dict(channel_multiplier=1)
    assert _channel_options({**stock, 64: 512, 128: 256}, 'g') == dict(channel_multiplier=2)
    small = {4: 16, 8: 16, 16: 16, 32: 16, 64: 16}
    assert _channel_options(small, 'g') == dict(channel_multiplier=2, max_channels=16)
    with pytest.raises(ValueError, match='channel_multiplier'):
        _channel_options({**stock, 64: 100}, 'rosinality g')


def test_small_channels_from_shapes(tmp_path):
    g = ref.rosinality_g(7, size=8, style_dim=16, n_mlp=1, channels={4: 8, 8: 8})
    imported = detect(_saved(tmp_path, {'g_ema': g}))
    cfg = imported.networks['G_ema'][0]
    assert cfg['out_size'] == 8 and cfg['style_channels'] == 16 and cfg['num_mlps'] == 1
    assert cfg['max_channels'] == 8
    assert 'w_avg' not in imported.info and set(imported.networks) == {'G_ema'}
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        got = _built(imported, 'G_ema')(z, randomize_noise=False)
    assert (got - ref.generator(g, z)).abs().max().item() < 1e-4


def test_model_config_loads_strictly_and_uses_latent_avg(tmp_path):
    obj = _checkpoint()
    imported = detect(_saved(tmp_path, obj))
    model = MODELS.build(imported.model_config)
    model.load_state_dict(imported.model_state_dict, strict=True)
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(9))
    ema = model.generator_ema.module.eval()
    with torch.no_grad():
        got = ema(z, truncation=0.7, randomize_noise=False)
    want = ref.generator(obj['g_ema'], z, 0.7, obj['latent_avg'])
    assert (got - want).abs().max().item() < 1e-4
    assert torch.equal(model.generator.constant_input.input, obj['g']['input.input'])


def test_bare_state_dicts_and_parts(tmp_path):
    d = ref.rosinality_d(10)
    imported = detect(_saved(tmp_path, d))
    assert imported.format == 'rosinality' and imported.default_part == 'D'
    assert set(imported.networks) == {'D'}
    net = MODELS.build(imported.model_config)
    net.load_state_dict(imported.model_state_dict, strict=True)
    g = ref.rosinality_g(11)
    imported = detect(_saved(tmp_path, {f'module.{k}': v for k, v in g.items()}))  # DDP-wrapped
    assert imported.default_part == 'G_ema'
    assert torch.equal(imported.networks['G_ema'][1]['constant_input.input'], g['input.input'])
    obj = _saved(tmp_path, _checkpoint())
    assert detect(obj, {'part': 'D'}).default_part == 'D'
    with pytest.raises(ValueError, match="part='G'.*holds"):
        detect(_saved(tmp_path, {'g_ema': ref.rosinality_g(12)}), {'part': 'G'})


def test_round_trip_of_names_is_exact():
    for sd, kind in ((ref.rosinality_g(13), 'G'), (ref.rosinality_d(14), 'D')):
        back = genforge_to_rosinality(rosinality_to_genforge(sd, kind), kind)
        assert back.keys() == sd.keys()
        assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_bad_files_name_the_key(tmp_path):
    g = ref.rosinality_g(15)
    g['conv1.conv.extra'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"'conv1\.conv\.extra'"):
        detect(_saved(tmp_path, {'g_ema': g}))
    obj = _checkpoint()
    obj['latent_avg'] = torch.zeros(7)
    with pytest.raises(ValueError, match="'latent_avg' is \\(7,\\), expected 32"):
        detect(_saved(tmp_path, obj))
    d = ref.rosinality_d(16)
    d['convs.1.conv2.0.kernel'] = torch.ones(4, 4) / 16
    with pytest.raises(ValueError, match=r'convs\.1\.conv2\.0\.kernel.*blur kernel'):
        detect(_saved(tmp_path, {'d': d}))
    g = ref.rosinality_g(17)
    for key in [k for k in g if k.startswith('noises.')]:   # early versions: no noise buffers
        del g[key]
    found = detect(_saved(tmp_path, {'g': g}))
    assert found.info['notes'] == ["g: no noises.noise_* in the file; constant noise maps drawn "
                                   "with seed 0"]
    assert found.networks['G'][1]['injected_noise_4'].shape == (1, 1, 16, 16)
    del g['convs.1.noise.weight']
    with pytest.raises(ValueError, match=r'missing.*convs\.1\.noise_injector\.weight'):
        detect(_saved(tmp_path, {'g': g}))


def test_load_weights_reads_the_file_and_takes_lr_mlp(tmp_path):
    obj = _checkpoint()
    path = tmp_path / '000100.pt'
    torch.save(obj, path)
    g = load_weights(path)
    assert g.interop_info['format'] == 'rosinality' and g.interop_info['part'] == 'G_ema'
    assert torch.equal(g.interop_info['w_avg'], obj['latent_avg'])
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(18))
    # a generator trained with another mapping learning rate (rosinality's --lr_mlp edits)
    g5 = load_weights(path, part='G', lr_mlp=0.05)
    with torch.no_grad():
        got = g5(z, randomize_noise=False)
    # the seeded mapping weights (drawn for lr_mlp=0.01) now give images of size ~10
    assert torch.allclose(got, ref.generator(obj['g'], z, lr_mlp=0.05), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"unknown override\(s\) \['scale'\]"):
        load_weights(path, scale=2)
    obj['args'].n_mlp = 8
    torch.save(obj, path)
    notes = detect(safe_load(path)).info['notes']
    assert notes == ['args.n_mlp=8 but the tensors hold n_mlp=2']


def test_generate_and_discriminate_follow_rosinality(tmp_path):
    obj = _checkpoint()
    path = tmp_path / '000100.pt'
    torch.save(obj, path)
    z = torch.randn(4, STYLE, generator=torch.Generator().manual_seed(19))
    g = load_weights(path)
    for psi in (1.0, 0.7):
        got = generate(g, z, truncation_psi=psi, noise_mode='const')
        want = ref.generator(obj['g_ema'], z, psi, obj['latent_avg'])
        assert (got - want).abs().max().item() < 1e-4
    logits = discriminate(load_weights(path, part='D'), got)
    assert (logits - ref.discriminator(obj['d'], got)).abs().max().item() < 1e-4
