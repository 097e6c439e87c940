"""DCGAN / LSGAN / WGAN-GP networks: output shapes, noise handling, MMagic state_dict layouts."""
import json
from pathlib import Path

import pytest
import torch
from torch import nn

import genforge.models  # noqa: F401  (registers every type)
from genforge.models.archs import (
    DCGANDiscriminator,
    DCGANGenerator,
    LSGANDiscriminator,
    LSGANGenerator,
    WGANGPDiscriminator,
    WGANGPGenerator,
)
from genforge.registry import MODELS

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'

_DCGAN64 = (dict(type='DCGANGenerator', output_scale=64, base_channels=1024),
            dict(type='DCGANDiscriminator', input_scale=64, output_scale=4, out_channels=1))
_DCGAN128 = (dict(type='DCGANGenerator', output_scale=128, base_channels=1024),
             dict(type='DCGANDiscriminator', input_scale=128, output_scale=4, out_channels=1))
_WGAN = (dict(type='WGANGPGenerator', noise_size=128, out_scale=128),
         dict(type='WGANGPDiscriminator', in_channel=3, in_scale=128,
              conv_module_cfg=dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
                                   act_cfg=dict(type='LeakyReLU', negative_slope=0.2),
                                   norm_cfg=dict(type='GN'), order=('conv', 'norm', 'act'))))
# generator / discriminator arguments of each MMagic config (configs/<algo>/<name>.py)
CONFIGS = {
    'dcgan/dcgan_1xb128-300kiters_celeba-cropped-64': _DCGAN64,
    'dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64': _DCGAN64,
    'dcgan/dcgan_Glr4e-4_Dlr1e-4_1xb128-5kiters_mnist-64x64': (
        dict(_DCGAN64[0], out_channels=1), dict(_DCGAN64[1], in_channels=1)),
    'lsgan/lsgan_dcgan-archi_lr1e-3-1xb128-12Mimgs_celeba-cropped-64x64': _DCGAN64,
    'lsgan/lsgan_dcgan-archi_lr1e-4-1xb128-12Mimgs_lsun-bedroom-64x64': _DCGAN64,
    'lsgan/lsgan_dcgan-archi_lr1e-4-1xb64-10Mimgs_celeba-cropped-128x128': _DCGAN128,
    'lsgan/lsgan_lsgan-archi_lr1e-4-1xb64-10Mimgs_lsun-bedroom-128x128': (
        dict(type='LSGANGenerator', output_scale=128, base_channels=256, noise_size=1024),
        dict(type='LSGANDiscriminator', input_scale=128, base_channels=64)),
    'ggan/ggan_dcgan-archi_lr1e-3-1xb128-12Mimgs_celeba-cropped-64x64': _DCGAN64,
    'ggan/ggan_dcgan-archi_lr1e-4-1xb64-10Mimgs_celeba-cropped-128x128': _DCGAN128,
    'ggan/ggan_lsgan-archi_lr1e-4-1xb128-20Mimgs_lsun-bedroom-64x64': (
        dict(type='LSGANGenerator', output_scale=64, noise_size=1024),
        dict(type='LSGANDiscriminator', input_scale=64)),
    'wgan-gp/wgangp_GN-GP-50_1xb64-160kiters_lsun-bedroom-128x128': _WGAN,
    'wgan-gp/wgangp_GN_1xb64-160kiters_celeba-cropped-128x128': _WGAN,
}


def test_every_reference_json_is_covered():
    names = {f'{p.parent.name}/{p.stem}' for algo in ('dcgan', 'lsgan', 'ggan', 'wgan-gp')
             for p in (REF / algo).glob('*.json')}
    if not names:
        pytest.skip('reference state_dicts not available')
    assert names == set(CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_state_dict_matches_mmagic(name):
    path = REF / f'{name}.json'
    if not path.exists():
        pytest.skip(f'{path} not available')
    ref = json.loads(path.read_text())['keys']
    gen_cfg, disc_cfg = CONFIGS[name]
    with torch.device('meta'):  # shapes only: no memory, no init cost
        nets = dict(generator=MODELS.build(gen_cfg), discriminator=MODELS.build(disc_cfg))
    got = {f'{prefix}.{k}': list(v.shape) for prefix, net in nets.items()
           for k, v in net.state_dict().items()}
    assert list(got) == list(ref)  # same keys in the same order
    assert got == ref


@pytest.mark.parametrize('noise_shape', [(2, 8), (2, 8, 1, 1)])
def test_dcgan_generator_noise_inputs(noise_shape):
    torch.manual_seed(0)
    g = DCGANGenerator(16, base_channels=16, noise_size=8).eval()
    noise = torch.randn(noise_shape)
    out = g(noise, return_noise=True)
    assert out['fake_img'].shape == (2, 3, 16, 16)
    assert out['noise_batch'].shape == (2, 8, 1, 1)
    assert out['fake_img'].abs().max() <= 1  # Tanh output
    # a callable sampler gets the per-sample shape, None samples N(0, 1)
    calls = []
    g(lambda shape: calls.append(shape) or torch.zeros(shape), num_batches=3)
    assert calls == [(3, 8, 1, 1)]
    assert g(None, num_batches=4).shape == (4, 3, 16, 16)
    with pytest.raises(ValueError, match='num_batches'):
        g(None)
    with pytest.raises(ValueError, match='noise_size'):
        g(torch.randn(2, 5))


def test_dcgan_discriminator_and_init():
    torch.manual_seed(0)
    d = DCGANDiscriminator(16, 4, 1, base_channels=8)
    assert d(torch.randn(2, 3, 16, 16)).shape == (2, 1)
    d.init_weights()
    w = d.downsamples[1].conv.weight
    assert abs(w.std().item() - 0.02) < 0.004 and abs(w.mean().item()) < 0.004
    assert d.downsamples[1].bn.bias.abs().sum() == 0
    assert not hasattr(d.downsamples[0], 'bn')  # no norm on the input layer


def test_lsgan_networks_shapes():
    torch.manual_seed(0)
    g = LSGANGenerator(output_scale=32, base_channels=16, input_scale=8, noise_size=10)
    img = g(None, num_batches=2)
    assert img.shape == (2, 3, 32, 32)
    d = LSGANDiscriminator(input_scale=32, output_scale=8, base_channels=8)
    assert d(img).shape == (2, 1)
    with pytest.raises(ValueError, match='output_scale'):
        LSGANGenerator(output_scale=16, input_scale=8)


def test_wgangp_networks_shapes_and_ln():
    torch.manual_seed(0)
    g = WGANGPGenerator(noise_size=16, out_scale=8)
    img = g(torch.randn(2, 16))
    assert img.shape == (2, 3, 8, 8)
    d = WGANGPDiscriminator(in_channel=3, in_scale=8)  # default LN2d over (C, H, W)
    assert isinstance(d.conv_blocks[0].LN2d, nn.LayerNorm)
    assert d.conv_blocks[0].LN2d.normalized_shape == (512, 8, 8)
    assert d(img).shape == (2, 1)
    # the 4x4 head conv normalises its (C, 1, 1) output
    assert d.decision.conv.LN2d.normalized_shape == (512, 1, 1)
