"""genforge StyleGAN2 checkpoints -> rosinality ``.pt``: rosinality's function (restated in
``_stylegan2_reference``) on the exported tensors equals the genforge networks, and
import(export(x)) gives the same outputs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.checkpoint import save_checkpoint
from genforge.cli import main
from genforge.config import Config
from genforge.interop import detect, load_weights, safe_load
from genforge.interop.export_rosinality import export_rosinality, to_rosinality_discriminator
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _stylegan2_reference as ref  # noqa: E402

SIZE, STYLE = 16, 16


def _model_cfg(**g_extra):
    return dict(type='StyleGAN2', data_preprocessor=dict(type='EditDataPreprocessor'),
                generator=dict(type='StyleGANv2Generator', out_size=SIZE, style_channels=STYLE,
                               num_mlps=2, max_channels=16, **g_extra),
                discriminator=dict(type='StyleGAN2Discriminator', in_size=SIZE, max_channels=16),
                ema_config=dict(type='ExponentialMovingAverage'))


def _checkpoint(tmp_path, with_config=True, **g_extra):
    cfg = _model_cfg(**g_extra)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    state = {}
    for k, v in model.state_dict().items():   # away from the constant inits; EMA != G
        noisy = k.endswith(('bias', 'weight', 'w_avg')) and v.is_floating_point()
        state[k] = v + 0.1 * torch.randn_like(v) if noisy else v
    meta = {'cfg': Config(dict(model=cfg)).pretty_text} if with_config else {}
    path = tmp_path / 'iter_10.pth'
    save_checkpoint({'meta': meta, 'state_dict': state}, str(path))
    return path, cfg, state


def _net(cfg, state, prefix):
    net = MODELS.build(cfg).eval()
    net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
    return net


def test_cli_export_computes_rosinalitys_function_and_round_trips(tmp_path, capsys):
    path, cfg, state = _checkpoint(tmp_path, update_mean_latent_with_ema=True)
    out = tmp_path / 'sg2.pt'
    assert main(['export', str(path), '--format', 'rosinality', '--out', str(out)]) == 0
    printed = capsys.readouterr().out
    assert 'g_ema, g, d' in printed and 'max_channels=16' in printed
    saved = safe_load(out)
    assert sorted(saved) == ['d', 'g', 'g_ema', 'latent_avg']
    ema = _net(cfg['generator'], state, 'generator_ema.module.')
    assert torch.equal(saved['latent_avg'], ema.w_avg)
    imported = detect(saved)
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(1))
    for part, prefix in (('g_ema', 'generator_ema.module.'), ('g', 'generator.')):
        net = _net(cfg['generator'], state, prefix)
        back = MODELS.build(imported.networks['G_ema' if part == 'g_ema' else 'G'][0]).eval()
        back.load_state_dict(imported.networks['G_ema' if part == 'g_ema' else 'G'][1])
        # the file has one truncation centre (g_ema's w_avg); g's own w_avg is not kept
        centre = None if part == 'g_ema' else saved['latent_avg']
        for psi in (1.0, 0.7):
            with torch.no_grad():
                want = net(z, truncation=psi, truncation_latent=centre, randomize_noise=False)
                rosinality = ref.generator(saved[part], z, psi, saved['latent_avg'])
                again = back(z, truncation=psi, randomize_noise=False)
            assert (rosinality - want).abs().max().item() < 1e-4, (part, psi)
            assert (again - want).abs().max().item() < 1e-5, (part, psi)
    d = _net(cfg['discriminator'], state, 'discriminator.')
    back_d = MODELS.build(imported.networks['D'][0]).eval()
    back_d.load_state_dict(imported.networks['D'][1])
    img = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (ref.discriminator(saved['d'], img) - d(img)).abs().max().item() < 1e-4
        assert (back_d(img) - d(img)).abs().max().item() < 1e-5


def test_lr_mlp_is_folded_and_latent_avg_is_the_seeded_mean(tmp_path):
    path, cfg, state = _checkpoint(tmp_path, lr_mlp=0.05)
    out = tmp_path / 'sg2.pt'
    done = export_rosinality({'meta': {'cfg': Config(dict(model=cfg)).pretty_text},
                              'state_dict': state}, str(out))
    assert done['latent_avg'].startswith('the mean w') and done['args']['n_mlp'] == 2
    saved = safe_load(out)
    net = _net(cfg['generator'], state, 'generator_ema.module.')
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(3))
    zs = torch.randn(4096, STYLE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(saved['latent_avg'], net.style_mapping(zs).mean(0), atol=1e-6)
        want = net(z, randomize_noise=False)
    assert (ref.generator(saved['g_ema'], z) - want).abs().max().item() < 1e-4


def test_checkpoint_without_config_reads_the_tensors(tmp_path):
    path, cfg, state = _checkpoint(tmp_path, with_config=False)
    out = tmp_path / 'sg2.pt'
    done = export_rosinality({'state_dict': state}, str(out))
    assert any('no config' in n for n in done['notes'])
    assert done['args'] == dict(size=SIZE, style_dim=STYLE, n_mlp=2, channel_multiplier=2)
    net = _net(cfg['generator'], state, 'generator_ema.module.')
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert (ref.generator(safe_load(out)['g_ema'], z) -
                net(z, randomize_noise=False)).abs().max().item() < 1e-4


def test_networks_rosinality_cannot_compute_are_refused(tmp_path, capsys):
    path, _, _ = _checkpoint(tmp_path, bgr2rgb=True)
    assert main(['export', str(path), '--format', 'rosinality']) == 2
    assert 'model.generator.bgr2rgb=True' in capsys.readouterr().err
    assert not (tmp_path / 'iter_10_rosinality.pt').exists()
    d_cfg = dict(type='StyleGAN2Discriminator', in_size=8, max_channels=8,
                 mbstd_cfg=dict(group_size=2, channel_groups=1))
    with pytest.raises(ValueError, match=r"mbstd_cfg=.*'group_size': 2"):
        to_rosinality_discriminator(d_cfg, MODELS.build(d_cfg).state_dict(), 'model.discriminator')
    with pytest.raises(ValueError, match='no generator'):
        export_rosinality({'state_dict': {'discriminator.x': torch.zeros(1)}},
                          str(tmp_path / 'x.pt'))


def test_nvlabs_channel_rule_and_clamp_round_trip(tmp_path):
    # an NVlabs-style generator (channel_base, conv_clamp) as import-weights builds it
    cfg = dict(type='StyleGAN2Generator', out_size=SIZE, style_channels=STYLE, num_mlps=1,
               channel_base=256, max_channels=32, conv_clamp=256.)
    torch.manual_seed(5)
    net = MODELS.build(cfg).eval()
    out = tmp_path / 'sg2.pt'
    done = export_rosinality({'state_dict': {f'generator.{k}': v
                                             for k, v in net.state_dict().items()},
                              'meta': {'cfg': Config(dict(model=dict(generator=cfg))).pretty_text}},
                             str(out))
    assert any('conv_clamp=256.0' in n for n in done['notes'])
    back = load_weights(out)
    # min(256 // res, 32): 32 channels up to 8 px, 16 at 16 px (no channel_multiplier gives it)
    assert back.channels[16] == 16 and back.channels[4] == 32
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        assert (back(z, randomize_noise=False) - net(z, randomize_noise=False)).abs().max() < 1e-5
