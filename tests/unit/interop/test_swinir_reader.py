"""SwinIR release files: a tiny network saved the way the official repository saves
(``torch.save({'params': sd})``) is recognised, its hyper-parameters come back from the tensors,
and the rebuilt network computes the same outputs. Inconsistent layouts fail naming keys."""
from __future__ import annotations

import pytest
import torch

import genforge.interop  # noqa: F401  (registers the readers)
from genforge.interop.formats import detect
from genforge.models.archs import SwinIRNet
from genforge.registry import MODELS

CASES = {  # name: SwinIRNet kwargs of a tiny release-like network
    'classical-x2': dict(upscale=2, upsampler='pixelshuffle', img_size=16, window_size=4),
    'classical-x3': dict(upscale=3, upsampler='pixelshuffle', img_size=8, window_size=4),
    'classical-x4-3conv': dict(upscale=4, upsampler='pixelshuffle', img_size=12, window_size=4,
                               resi_connection='3conv'),
    'lightweight-x3': dict(upscale=3, upsampler='pixelshuffledirect', img_size=16, window_size=8),
    'realworld-x4': dict(upscale=4, upsampler='nearest+conv', img_size=16, window_size=4),
    'realworld-x2': dict(upscale=2, upsampler='nearest+conv', img_size=8, window_size=4),
    'gray-denoise': dict(upscale=1, upsampler='', in_chans=1, img_size=16, window_size=8),
    'color-jpeg': dict(upscale=1, upsampler='', in_chans=3, img_size=14, window_size=7,
                       img_range=255.),
}


def _release(kwargs, seed=0):
    torch.manual_seed(seed)
    net = SwinIRNet(embed_dim=8, depths=[2, 3], num_heads=[2, 4], mlp_ratio=2,
                    **dict(dict(in_chans=3), **kwargs)).eval()
    with torch.no_grad():  # random (not init-time) values everywhere, so every tensor matters
        for p in net.parameters():
            p.normal_(0, 0.2)
    return net


@pytest.mark.parametrize('name', list(CASES))
def test_release_file_is_detected_and_reproduces_outputs(tmp_path, name):
    kwargs = CASES[name]
    net = _release(kwargs)
    path = tmp_path / 'release.pth'
    torch.save({'params': net.state_dict()}, path)  # the official repository's file layout
    obj = torch.load(path, map_location='cpu', weights_only=True)
    found = detect(obj)
    assert found.format == 'swinir' and found.default_part == 'params'
    cfg, sd = found.networks['params']
    for key in ('upscale', 'upsampler', 'img_size', 'window_size'):
        assert cfg[key] == kwargs[key], key
    assert cfg['depths'] == [2, 3] and cfg['num_heads'] == [2, 4] and cfg['embed_dim'] == 8
    assert cfg['resi_connection'] == kwargs.get('resi_connection', '1conv')
    assert cfg['img_range'] == kwargs.get('img_range', 1.)
    rebuilt = MODELS.build(cfg).eval()
    rebuilt.load_state_dict(sd, strict=True)
    x = torch.rand(1, cfg['in_chans'], 11, 9)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), net(x), rtol=0, atol=1e-6)
    # the whole-model checkpoint for import-weights loads strictly into the model config
    model = MODELS.build(found.model_config)
    model.load_state_dict(found.model_state_dict, strict=True)


def test_params_ema_is_the_default_part_and_bare_state_dicts_work():
    ema, raw = _release(CASES['realworld-x4'], 0), _release(CASES['realworld-x4'], 1)
    found = detect({'params': raw.state_dict(), 'params_ema': ema.state_dict()})
    assert found.default_part == 'params_ema' and set(found.networks) == {'params', 'params_ema'}
    assert torch.equal(found.model_state_dict['generator.conv_first.weight'], ema.conv_first.weight)
    chosen = detect({'params': raw.state_dict(), 'params_ema': ema.state_dict()}, {'part': 'params'})
    assert torch.equal(chosen.model_state_dict['generator.conv_first.weight'], raw.conv_first.weight)
    with pytest.raises(ValueError, match=r"part='G_ema' is not in this SwinIR file.*params"):
        detect({'params': raw.state_dict()}, {'part': 'G_ema'})
    bare = detect({f'module.{k}': v for k, v in ema.state_dict().items()})  # saved from DDP
    assert bare.default_part == 'net' and 'conv_first.weight' in bare.networks['net'][1]


def test_user_overrides_win_and_other_archs_are_not_claimed():
    sd = _release(CASES['gray-denoise']).state_dict()
    assert detect(sd, {'img_range': 255.}).networks['net'][0]['img_range'] == 255.
    with pytest.raises(ValueError, match='no known weights format'):
        detect(sd, {'arch': 'RRDBNet'})
    # a params dict that is not SwinIR-shaped is left to the other readers (BasicSR's names it)
    with pytest.raises(ValueError, match=r"conv_first\.weight"):
        detect({'params': {'conv_first.weight': torch.zeros(4, 3, 3, 3)}})


def test_inconsistent_layouts_name_the_keys():
    sd = _release(CASES['classical-x2']).state_dict()
    broken = dict(sd)
    del broken['layers.1.residual_group.blocks.1.attn.qkv.weight']
    missing = r'missing: \[.layers\.1\.residual_group\.blocks\.1\.attn\.qkv\.weight'
    with pytest.raises(ValueError, match=missing):
        detect({'params': broken})
    table = 'layers.1.residual_group.blocks.{}.attn.relative_position_bias_table'
    one_block = dict(sd, **{table.format(0): torch.zeros(9 * 9, 4)})  # a 5x5 window in one block
    with pytest.raises(ValueError, match=r'layers\.1\.residual_group\.blocks\.\* disagree'):
        detect({'params': one_block})
    one_group = dict(sd, **{table.format(j): torch.zeros(9 * 9, 4) for j in range(3)})
    with pytest.raises(ValueError, match='different window sizes'):
        detect({'params': one_group})
    headless = {k: v for k, v in sd.items() if not k.startswith('upsample.')}
    with pytest.raises(ValueError, match='conv_before_upsample.0.weight without upsample.0.weight'):
        detect({'params': headless})


def test_restore_cli_runs_a_swinir_release_file(tmp_path):
    """``genforge restore --weights`` on a SwinIR release file: same pixels as the network."""
    import numpy as np
    from PIL import Image

    from genforge.cli import main
    net = _release(CASES['lightweight-x3'])
    path = tmp_path / '002_lightweightSR_tiny_x3.pth'
    torch.save({'params': net.state_dict()}, path)
    arr = np.random.default_rng(0).integers(0, 256, (10, 7, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / 'img.png')
    out = tmp_path / 'out.png'
    assert main(['restore', '--weights', str(path), str(tmp_path / 'img.png'), '--out', str(out),
                 '--device', 'cpu']) == 0
    got = np.array(Image.open(out))
    with torch.no_grad():
        want = net(torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.)
    want = (want[0].clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
    assert got.shape == (30, 21, 3)
    assert np.abs(got.astype(float) - want).max() <= 1


def test_restore_cli_reads_grayscale_for_a_one_channel_model(tmp_path):
    """A gray denoising release (in_chans=1) restores an RGB file through its luminance."""
    import numpy as np
    from PIL import Image

    from genforge.cli import main
    net = _release(CASES['gray-denoise'])
    path = tmp_path / '004_grayDN_tiny.pth'
    torch.save({'params': net.state_dict()}, path)
    arr = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / 'img.png')
    out = tmp_path / 'out.png'
    assert main(['restore', '--weights', str(path), str(tmp_path / 'img.png'), '--out', str(out),
                 '--device', 'cpu']) == 0
    got = np.array(Image.open(out))
    gray = np.array(Image.fromarray(arr).convert('L'))  # an independent luminance conversion
    with torch.no_grad():
        want = net(torch.from_numpy(gray)[None, None].float() / 255.)
    want = (want[0, 0].clamp(0, 1) * 255).round().numpy()
    assert got.shape == (9, 11)
    assert np.abs(got.astype(float) - want).max() <= 1
