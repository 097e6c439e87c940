"""genforge SR networks -> BasicSR files: BasicSR's function on the exported tensors equals the
genforge network, and import(export(x)) gives the same outputs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.checkpoint import save_checkpoint
from genforge.cli import main
from genforge.config import Config
from genforge.interop import detect
from genforge.interop.basicsr import sr_model_config
from genforge.interop.export_sr import export_basicsr, to_basicsr
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _sr_reference as ref  # noqa: E402

NETS = {
    'rrdb_x2': (dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=2,
                     growth_channels=4, upscale_factor=2),
                lambda sd, x: ref.ref_rrdbnet(sd, x, 2)),
    'msrresnet_x4': (dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=8,
                          num_blocks=2, upscale_factor=4, lrelu_after_upsample=True),
                     lambda sd, x: ref.ref_msrresnet(sd, x, 4)),
    # MMagic's EDSR normalisation (img_range 1, std 0.5): folded into BasicSR's 255 convention
    'edsr_mmagic_x4': (dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=8,
                            num_blocks=2, upscale_factor=4, res_scale=0.5,
                            rgb_std=[0.5, 0.4, 0.3]),
                       lambda sd, x: ref.ref_edsr(sd, x, 4, res_scale=0.5)),
    'srvgg_x3': (dict(type='SRVGGNetCompact', num_feat=8, num_conv=2, upscale=3),
                 lambda sd, x: ref.ref_srvgg(sd, x, 3)),
}


def _seeded(cfg):
    torch.manual_seed(0)
    net = MODELS.build(cfg).eval()
    with torch.no_grad():   # biases and PReLU slopes away from their constant inits
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net


@pytest.mark.parametrize('name', list(NETS))
def test_export_computes_the_same_function_and_round_trips(tmp_path, name):
    cfg, basicsr_forward = NETS[name]
    net = _seeded(cfg)
    options, params = to_basicsr(cfg, net.state_dict())
    path = tmp_path / 'exported.pth'
    torch.save({'params': params}, path)
    x = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        want = net(x)
        # BasicSR's forward (restated on the exported names) gives the genforge outputs
        assert (basicsr_forward(params, x) - want).abs().max() < 1e-5
        # res_scale is not in EDSR's tensors: given back as a BasicSR user sets it in its options
        hint = {'res_scale': options['res_scale']} if options['type'] == 'EDSR' else {}
        imported = detect(torch.load(path, weights_only=True), hint)
        back_cfg, back_sd = imported.networks['params']
        back = MODELS.build(back_cfg).eval()
        back.load_state_dict(back_sd, strict=True)
        assert (back(x) - want).abs().max() < 1e-5
    assert imported.info['architecture'] == options['type']


def test_mmagic_msrresnet_is_refused():
    cfg = dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1)
    with pytest.raises(ValueError, match='lrelu_after_upsample=False'):
        to_basicsr(cfg, MODELS.build(cfg).state_dict())


def test_edsr_with_another_mean_is_refused():
    cfg = dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1,
               rgb_mean=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match='rgb_mean'):
        to_basicsr(cfg, MODELS.build(cfg).state_dict())


def _checkpoint(tmp_path, generator_cfg, with_ema):
    model = MODELS.build(sr_model_config(generator_cfg))
    torch.manual_seed(1)
    state = {k: v + 0.01 * torch.randn_like(v) for k, v in model.state_dict().items()}
    if with_ema:
        state.update({f'generator_ema.module.{k[len("generator."):]}': v * 0.9
                      for k, v in state.items() if k.startswith('generator.')})
    text = Config(dict(model=sr_model_config(generator_cfg))).pretty_text
    path = tmp_path / 'iter_10.pth'
    save_checkpoint({'meta': {'cfg': text}, 'state_dict': state}, str(path))
    return path, state


def test_cli_export_basicsr_with_ema(tmp_path):
    cfg = NETS['msrresnet_x4'][0]
    path, state = _checkpoint(tmp_path, cfg, with_ema=True)
    out = tmp_path / 'net_g.pth'
    assert main(['export', str(path), '--format', 'basicsr', '--out', str(out)]) == 0
    saved = torch.load(out, weights_only=True)
    assert sorted(saved) == ['params', 'params_ema']
    x = torch.rand(1, 3, 5, 6)
    for part, prefix in (('params', 'generator.'), ('params_ema', 'generator_ema.module.')):
        net = MODELS.build(cfg).eval()
        net.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                             if k.startswith(prefix)})
        with torch.no_grad():
            assert (ref.ref_msrresnet(saved[part], x, 4) - net(x)).abs().max() < 1e-5


def test_cli_export_errors(tmp_path, capsys):
    cfg = dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1)
    path, _ = _checkpoint(tmp_path, cfg, with_ema=False)
    assert main(['export', str(path), '--format', 'basicsr']) == 2
    assert 'lrelu_after_upsample=False' in capsys.readouterr().err
    assert main(['export', str(path), '--format', 'basicsr', '--ema-only']) == 2
    assert '--ema-only' in capsys.readouterr().err


def test_checkpoint_without_config_infers_rrdbnet(tmp_path):
    cfg = NETS['rrdb_x2'][0]
    net = _seeded(cfg)
    out = tmp_path / 'x2.pth'
    options = export_basicsr({'state_dict': {f'generator.{k}': v
                                             for k, v in net.state_dict().items()}}, str(out))
    assert options['scale'] == 2 and options['num_block'] == 2
    with pytest.raises(ValueError, match='meta'):
        msr = MODELS.build(NETS['msrresnet_x4'][0])
        export_basicsr({'state_dict': {f'generator.{k}': v for k, v in msr.state_dict().items()}},
                       str(tmp_path / 'msr.pth'))
