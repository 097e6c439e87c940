"""``export --format nvlabs-state-dict``: genforge StyleGAN2/3 -> NVlabs names -> back, same outputs.

The exported tensors are also run through the independent NVlabs re-statement
(``_nvlabs_reference``), so the file computes in NVlabs' layout what the genforge network did.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.checkpoint import save_checkpoint
from genforge.cli.import_weights import _fmt
from genforge.interop import discriminate, generate, load_object, load_weights
from genforge.interop.export_gan import _nvlabs_channels, export_nvlabs_state_dict
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _nvlabs_reference as ref  # noqa: E402


def _randomised(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point() and not name.endswith(('.kernel', 'filter')):
                t.copy_(torch.randn(t.shape, generator=g) * (0.5 if t.ndim < 2 else 1.))
            if name.endswith('magnitude_ema'):  # a mean square: positive
                t.copy_(t.abs() + 0.5)
    return net.eval()


def _checkpoint(tmp_path, model_cfg: dict, seed: int = 0) -> tuple[Path, torch.nn.Module]:
    model = _randomised(MODELS.build(dict(model_cfg)), seed)
    path = tmp_path / 'iter_100.pth'
    save_checkpoint(dict(meta=dict(cfg=f'model = {_fmt(model_cfg)}\n'),
                         state_dict=model.state_dict()), str(path))
    return path, model


SG2 = dict(type='StyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
           generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=16,
                          num_mlps=2, max_channels=32, channel_multiplier=1, bgr2rgb=True),
           discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=32,
                              channel_multiplier=1, input_bgr2rgb=True),
           ema_config=dict(type='ExponentialMovingAverage'))


def test_mmagic_layout_stylegan2_round_trip(tmp_path):
    path, model = _checkpoint(tmp_path, SG2)
    out = tmp_path / 'nv.pth'
    summary = export_nvlabs_state_dict(torch.load(path, weights_only=True), str(out))
    assert 'G_ema, G, D' in summary
    saved = torch.load(out, weights_only=True)  # plain containers only
    assert saved['init_kwargs']['G']['synthesis_kwargs']['channel_base'] == 16384
    assert 'synthesis.b8.conv0.resample_filter' in saved['G']
    for part, net in (('G', model.generator), ('G_ema', model.generator_ema.module)):
        back = load_weights(out, part=part)
        z = torch.randn(3, 16)
        with torch.no_grad():
            want = net(z, randomize_noise=False)
            assert (generate(back, z) - want).abs().max() < 1e-4
            # NVlabs' own function on the exported tensors gives the same images
            got = ref.sg2_generate(saved[part], saved['init_kwargs'][part], z)
            assert (got - want).abs().max() < 1e-4
    D = load_weights(out, part='D')
    img = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        want = model.discriminator(img)
        assert (discriminate(D, img) - want).abs().max() < 1e-4
        assert (ref.sg2_discriminate(saved['D'], saved['init_kwargs']['D'], img) - want
                ).abs().max() < 1e-4


def test_conditional_stylegan2_round_trip_keeps_w_avg(tmp_path):
    cfg = dict(SG2, num_classes=3,
               generator=dict(SG2['generator'], cond_size=3, bgr2rgb=False, conv_clamp=256.,
                              channel_base=256),
               discriminator=dict(SG2['discriminator'], cond_size=3, cond_mapping_channels=32,
                                  cond_mapping_layers=2, input_bgr2rgb=False, channel_base=256))
    path, model = _checkpoint(tmp_path, cfg)
    out = tmp_path / 'nv.pth'
    export_nvlabs_state_dict(torch.load(path, weights_only=True), str(out))
    G, D = load_weights(out), load_weights(out, part='D')
    z, c = torch.randn(3, 16), torch.tensor([0, 2, 1])
    onehot = torch.nn.functional.one_hot(c, 3).float()
    src = model.generator_ema.module
    with torch.no_grad():
        w = src._map_styles([z], onehot)[0]
        want = src(src.w_avg.lerp(w, 0.7), input_is_latent=True, randomize_noise=False)
        assert (generate(G, z, c, truncation_psi=0.7) - want).abs().max() < 1e-4
        img = torch.randn(3, 3, 16, 16)
        assert (discriminate(D, img, c) - model.discriminator(img, onehot)).abs().max() < 1e-4


def test_stylegan3_round_trip(tmp_path):
    cfg = dict(type='StyleGAN3', data_preprocessor=dict(type='DataPreprocessor'),
               generator=dict(type='StyleGANv3Generator', out_size=16, style_channels=16,
                              img_channels=3, noise_size=8, rgb2bgr=True,
                              synthesis_cfg=dict(type='SynthesisNetwork', channel_base=512,
                                                 channel_max=32, num_layers=4)),
               discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=32))
    path, model = _checkpoint(tmp_path, cfg)
    out = tmp_path / 'nv.pth'
    export_nvlabs_state_dict(torch.load(path, weights_only=True), str(out))
    saved = torch.load(out, weights_only=True)
    assert saved['class_names']['G'] == 'training.networks_stylegan3.Generator'
    G = load_weights(out)
    assert G.interop_info['part'] == 'G'  # no EMA in this model
    z = torch.randn(2, 8)
    with torch.no_grad():
        want = model.generator(z, truncation=0.7)
        assert (generate(G, z, truncation_psi=0.7) - want).abs().max() < 1e-4
        got = ref.sg3_generate(saved['G'], saved['init_kwargs']['G'], z, psi=0.7)
        assert (got - want).abs().max() < 1e-4


def test_refuses_what_nvlabs_cannot_compute(tmp_path):
    # MMagic's channel_multiplier=4 with max_channels=1024: 1024 channels at 64x64, which
    # NVlabs' min(channel_base // res, channel_max) cannot give together with 512 at 4x4
    wide = dict(type='StyleGANv2Generator', out_size=256, channel_multiplier=4,
                max_channels=1024)
    with pytest.raises(ValueError, match='follow no NVlabs'):
        _nvlabs_channels(wide, 256, 'model.generator', 2)
    assert _nvlabs_channels(dict(wide, max_channels=512), 256, 'model.generator', 2) == \
        (65536, 512)
    edit = dict(type='BaseEditModel', generator=dict(type='SRCNNNet'))
    save_checkpoint(dict(meta=dict(cfg=f'model = {_fmt(edit)}\n'),
                         state_dict={'generator.w': torch.zeros(1)}), str(tmp_path / 'sr.pth'))
    with pytest.raises(ValueError, match='StyleGANv2Generator'):
        export_nvlabs_state_dict(torch.load(tmp_path / 'sr.pth', weights_only=True),
                                 str(tmp_path / 'y.pth'))


def test_import_of_export_of_import_is_exact(tmp_path):
    g_sd, g_kw = ref.sg2_generator(c_dim=2, conv_clamp=256.)
    d_sd, d_kw = ref.sg2_discriminator(c_dim=2, conv_clamp=256.)
    src = tmp_path / 'a.pth'
    torch.save({'format': 'nvlabs-state-dict', 'G_ema': g_sd, 'D': d_sd,
                'init_kwargs': {'G_ema': g_kw, 'D': d_kw}}, src)
    first = load_object(src)
    ckpt = tmp_path / 'b.pth'
    save_checkpoint(dict(meta=dict(cfg=f'model = {_fmt(first.model_config)}\n'),
                         state_dict=first.model_state_dict), str(ckpt))
    export_nvlabs_state_dict(torch.load(ckpt, weights_only=True), str(tmp_path / 'c.pth'))
    second = load_object(tmp_path / 'c.pth')
    for part in ('G', 'D'):  # G_ema was the model's only generator: exported as G
        cfg1, sd1 = first.networks['G_ema' if part == 'G' else part]
        cfg2, sd2 = second.networks[part]
        assert cfg1 == cfg2
        assert sd1.keys() == sd2.keys() and all(torch.equal(sd1[k], sd2[k]) for k in sd1)
