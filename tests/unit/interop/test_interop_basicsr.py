"""BasicSR / Real-ESRGAN / ESRGAN files -> genforge networks that compute the source's function.

Each test writes a tiny seeded network in the source's key layout, saves it the way that
project saves, reads it back with ``torch.load(weights_only=True)`` + ``detect`` and compares
the genforge network with a plain re-statement of the source's forward (``_sr_reference``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.interop import detect
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _sr_reference as ref  # noqa: E402


def _saved(tmp_path, obj):
    path = tmp_path / 'weights.pth'
    torch.save(obj, path)
    return torch.load(path, map_location='cpu', weights_only=True)


def _built(imported, part=None):
    cfg, sd = imported.networks[part or imported.default_part]
    net = MODELS.build(cfg).eval()
    net.load_state_dict(sd, strict=True)
    return net


def _check(net, reference, x):
    with torch.no_grad():
        got, want = net(x), reference(x)
    assert got.shape == want.shape
    assert (got - want).abs().max().item() < 1e-5


@pytest.mark.parametrize('scale', [4, 2, 1])
def test_rrdbnet_params_ema_and_params(tmp_path, scale):
    ema, raw = ref.basicsr_rrdbnet(0, scale=scale), ref.basicsr_rrdbnet(1, scale=scale)
    obj = _saved(tmp_path, {'params_ema': ema, 'params': raw})   # BasicSR's save_network
    imported = detect(obj)
    assert imported.format == 'basicsr' and imported.default_part == 'params_ema'
    assert imported.info['architecture'] == 'RRDBNet' and imported.info['scale'] == scale
    assert imported.info['num_block'] == 2 and imported.info['num_in_ch'] == 3
    x = torch.rand(2, 3, 8, 12)
    _check(_built(imported), lambda t: ref.ref_rrdbnet(ema, t, scale), x)
    _check(_built(imported, 'params'), lambda t: ref.ref_rrdbnet(raw, t, scale), x)
    # part='params' makes the raw weights the default (model_config / model_state_dict)
    chosen = detect(obj, {'part': 'params'})
    assert chosen.default_part == 'params'
    assert torch.equal(chosen.model_state_dict['generator.conv_first.weight'],
                       raw['conv_first.weight'])
    assert chosen.model_config['generator'] == imported.networks['params'][0]


def test_original_esrgan_sequential_layout(tmp_path):
    sd = ref.basicsr_rrdbnet(2, nb=3)
    legacy = ref.esrgan_sequential(sd, nb=3)
    assert 'model.1.sub.0.RDB1.conv1.0.weight' in legacy and 'model.10.weight' in legacy
    imported = detect(_saved(tmp_path, legacy))
    assert imported.format == 'esrgan' and imported.default_part == 'net'
    _check(_built(imported), lambda t: ref.ref_rrdbnet(sd, t), torch.rand(1, 3, 6, 7))


def test_mmsr_rrdb_trunk_layout(tmp_path):
    sd = ref.basicsr_rrdbnet(3)
    imported = detect(_saved(tmp_path, ref.esrgan_mmsr(sd)))
    assert imported.info['layout'].startswith('ESRGAN (mmsr')
    _check(_built(imported), lambda t: ref.ref_rrdbnet(sd, t), torch.rand(1, 3, 6, 7))


@pytest.mark.parametrize('upscale', [2, 3, 4])
def test_msrresnet_lrelu_after_each_shuffle(tmp_path, upscale):
    sd = ref.basicsr_msrresnet(4, upscale=upscale)
    imported = detect(_saved(tmp_path, {'params': sd}))
    assert imported.default_part == 'params' and imported.info['scale'] == upscale
    assert imported.networks['params'][0]['lrelu_after_upsample'] is True
    _check(_built(imported), lambda t: ref.ref_msrresnet(sd, t, upscale), torch.rand(2, 3, 7, 9))


def test_msrresnet_mmsr_names(tmp_path):
    sd = ref.basicsr_msrresnet(5)
    old = {k.replace('body.', 'recon_trunk.').replace('conv_hr.', 'HRconv.'): v
           for k, v in sd.items()}
    imported = detect(_saved(tmp_path, old))
    _check(_built(imported), lambda t: ref.ref_msrresnet(sd, t), torch.rand(1, 3, 5, 6))


@pytest.mark.parametrize('upscale', [2, 3, 4])
def test_edsr_img_range_255(tmp_path, upscale):
    sd = ref.basicsr_edsr(6, upscale=upscale)
    imported = detect(_saved(tmp_path, {'params': sd}))
    cfg = imported.networks['params'][0]
    assert cfg['img_range'] == 255. and cfg['res_scale'] == 1. and imported.info['scale'] == upscale
    _check(_built(imported), lambda t: ref.ref_edsr(sd, t, upscale), torch.rand(2, 3, 6, 5))


def test_edsr_file_with_its_mean(tmp_path):
    sd = ref.basicsr_edsr(13, upscale=2)
    mean = torch.tensor([0.5, 0.25, 0.75]).view(1, 3, 1, 1)
    imported = detect(_saved(tmp_path, {'params': {**sd, 'mean': mean}}))
    _check(_built(imported), lambda t: ref.ref_edsr(sd, t, 2, mean=mean), torch.rand(1, 3, 6, 5))


def test_edsr_res_scale_override(tmp_path):
    sd = ref.basicsr_edsr(7, upscale=2)
    imported = detect(_saved(tmp_path, {'params': sd}), {'res_scale': 0.1})
    _check(_built(imported), lambda t: ref.ref_edsr(sd, t, 2, res_scale=0.1),
           torch.rand(1, 3, 6, 5))


@pytest.mark.parametrize('upscale', [4, 2])
def test_srvgg_prelu(tmp_path, upscale):
    sd = ref.srvgg(8, upscale=upscale, num_conv=3)
    imported = detect(_saved(tmp_path, {'params': sd}))
    cfg = imported.networks['params'][0]
    assert cfg == dict(type='SRVGGNetCompact', num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3,
                       upscale=upscale, act_type='prelu')
    _check(_built(imported), lambda t: ref.ref_srvgg(sd, t, upscale), torch.rand(2, 3, 5, 7))


@pytest.mark.parametrize('act', ['relu', 'leakyrelu'])
def test_srvgg_without_prelu_needs_act_type(tmp_path, act):
    sd = ref.srvgg(9, prelu=False)
    obj = _saved(tmp_path, {'params_ema': sd})
    with pytest.raises(ValueError, match="act_type='relu'"):
        detect(obj)
    imported = detect(obj, {'act_type': act})
    _check(_built(imported), lambda t: ref.ref_srvgg(sd, t, 4, act), torch.rand(1, 3, 5, 4))


def test_unknown_layout_names_the_first_keys(tmp_path):
    obj = _saved(tmp_path, {'params': {'head.weight': torch.zeros(2, 3, 3, 3),
                                       'tail.weight': torch.zeros(3, 2, 1, 1)}})
    with pytest.raises(ValueError, match=r"params.*head\.weight.*tail\.weight"):
        detect(obj)


def test_missing_part_names_the_parts_present(tmp_path):
    obj = _saved(tmp_path, {'params': ref.srvgg(10)})
    with pytest.raises(ValueError, match=r"part='params_ema'.*\['params'\]"):
        detect(obj, {'part': 'params_ema'})


def test_overrides_are_checked(tmp_path):
    obj = _saved(tmp_path, {'params': ref.srvgg(11)})
    with pytest.raises(ValueError, match=r"num_blocks.*num_conv"):
        detect(obj, {'num_blocks': 3})
    with pytest.raises(ValueError, match='holds a SRVGGNetCompact'):
        detect(obj, {'arch': 'RRDBNet'})


def test_model_config_restores_through_base_edit_model(tmp_path):
    sd = ref.basicsr_rrdbnet(12, scale=2)
    imported = detect(_saved(tmp_path, {'params_ema': sd}))
    model = MODELS.build(imported.model_config).eval()
    model.load_state_dict(imported.model_state_dict, strict=True)
    x = torch.rand(1, 3, 6, 8)
    with torch.no_grad():
        assert (model.generator(x) - ref.ref_rrdbnet(sd, x, 2)).abs().max() < 1e-5


def test_mmagic_layouts_unchanged():
    """The new options default to MMagic's behaviour (no LeakyReLU after shuffle, img_range 1)."""
    torch.manual_seed(0)
    net = MODELS.build(dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4,
                            num_blocks=1, upscale_factor=2)).eval()
    sd = net.state_dict()
    x = torch.rand(1, 3, 5, 5)
    feat = ref.lrelu(ref.conv(sd, 'conv_first', x), 0.1)
    feat = feat + ref.conv(sd, 'trunk_net.0.conv2', ref.conv(sd, 'trunk_net.0.conv1', feat).relu())
    feat = ref.shuffle(ref.conv(sd, 'upsample1.upsample_conv', feat), 2)   # no activation
    want = ref.conv(sd, 'conv_last', ref.lrelu(ref.conv(sd, 'conv_hr', feat), 0.1)) + \
        torch.nn.functional.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
    with torch.no_grad():
        assert (net(x) - want).abs().max() < 1e-5


def test_esrgan_other_than_x4_is_refused_with_the_reason(tmp_path):
    sd = ref.esrgan_sequential(ref.basicsr_rrdbnet(14, nb=1), nb=1)
    # an old-arch x2 model has one upsampling conv: model.3, then model.5 / model.7
    x2 = {k: v for k, v in sd.items() if not k.startswith(('model.6.', 'model.8.', 'model.10.'))}
    x2.update({'model.5.weight': sd['model.8.weight'], 'model.5.bias': sd['model.8.bias'],
               'model.7.weight': sd['model.10.weight'], 'model.7.bias': sd['model.10.bias']})
    with pytest.raises(ValueError, match=r'ESRGAN x4.*only'):
        detect(_saved(tmp_path, x2))
    mmsr = ref.esrgan_mmsr(ref.basicsr_rrdbnet(15, nb=1))
    mmsr['upconv3.weight'] = mmsr['upconv2.weight']
    with pytest.raises(ValueError, match='upconv3'):
        detect(_saved(tmp_path, mmsr))
