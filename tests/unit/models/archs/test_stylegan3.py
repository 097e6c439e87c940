"""StyleGAN3 generator: MMagic 1.2 layouts of every styleganv3 config (T and R), a tiny
network's translation equivariance (the property the architecture exists for), mapping /
truncation / latent input, clear errors."""
import json
import re
from pathlib import Path

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic' / 'styleganv3'
R_CFG = dict(type='SynthesisNetwork', conv_kernel=1, use_radial_filters=True, channel_max=1024)


def nets_for(name):
    size = int(re.search(r'(\d+)x\d+$', name).group(1))
    is_r = name.startswith('stylegan3-r')
    if size == 256:  # the 256 px configs halve channel_base (and use channel_multiplier=1)
        syn = dict(R_CFG, channel_base=32768) if is_r else dict(type='SynthesisNetwork',
                                                                 channel_base=16384)
    else:
        syn = dict(R_CFG, channel_base=65536) if is_r else dict(type='SynthesisNetwork')
    disc = dict(type='StyleGAN2Discriminator', in_size=size,
                channel_multiplier=1 if size == 256 else 2)
    if '_ada-' in name:
        disc.update(type='ADAStyleGAN2Discriminator', data_aug=dict(type='ADAAug'))
    gen = dict(type='StyleGANv3Generator', out_size=size, style_channels=512, img_channels=3,
               synthesis_cfg=syn)
    return gen, disc


@pytest.mark.parametrize('name', sorted(p.stem for p in REF.glob('*.json')))
def test_state_dict_layout_matches_mmagic(name):
    ref = json.loads((REF / f'{name}.json').read_text())['keys']
    ref = {k: v for k, v in ref.items() if k.startswith(('generator.', 'discriminator.'))}
    gen, disc = nets_for(name)
    with torch.device('meta'):
        nets = dict(generator=MODELS.build(gen), discriminator=MODELS.build(disc))
    mine = {f'{part}.{k}': list(v.shape) for part, net in nets.items()
            for k, v in net.state_dict().items()}
    assert list(mine) == list(ref)
    assert mine == ref


def tiny(**syn):
    torch.manual_seed(0)
    return MODELS.build(dict(type='StyleGANv3Generator', out_size=16, style_channels=16,
                             img_channels=3, noise_size=16, synthesis_cfg=dict(
                                 type='SynthesisNetwork', channel_base=256, channel_max=16,
                                 num_layers=6, **syn)))


def psnr(a, b):
    return (10 * torch.log10(4 / (a - b).square().mean())).item()


@pytest.mark.parametrize('syn', [{}, dict(conv_kernel=1, use_radial_filters=True)],
                         ids=['T', 'R'])
def test_translating_the_input_translates_the_image(syn):
    """EQ-T: a one-pixel shift of the Fourier features shifts the output by one pixel."""
    g = tiny(**syn)
    z = torch.randn(3, 16)
    with torch.no_grad():
        ref = g(z)
        shift = torch.eye(3)
        shift[0, 2] = 1 / 16  # the image spans one unit: 1/16 is one output pixel
        g.synthesis.input.transform.copy_(torch.inverse(shift))
        out = g(z)
    inner = ref[..., 2:-2, 2:-2]
    assert psnr(out[..., 2:-2, 3:-1], inner) > 60  # out[x] == ref[x - 1]
    assert psnr(out[..., 2:-2, 1:-3], inner) < 50  # the wrong direction does not match


def test_mapping_truncation_latent_input_and_errors():
    g = tiny()
    z = torch.randn(2, 16)
    out = g(z, return_latents=True)
    assert out['fake_img'].shape == (2, 3, 16, 16) and out['latent'].shape == (2, 8, 16)
    torch.testing.assert_close(g(out['latent'][:, 0], input_is_latent=True), out['fake_img'])
    g.style_mapping.w_avg.normal_()
    trunc = g(z, truncation=0.5, num_truncation_layer=3, return_latents=True)['latent']
    w_avg = g.style_mapping.w_avg
    torch.testing.assert_close(trunc[:, :3], w_avg + 0.5 * (out['latent'][:, :3] - w_avg))
    torch.testing.assert_close(trunc[:, 3:], out['latent'][:, 3:])
    before = g.style_mapping.w_avg.clone()
    g(z, update_emas=True)
    assert not torch.equal(before, g.style_mapping.w_avg)
    g(None, num_batches=2).mean().backward()
    with pytest.raises(ValueError, match=r'noise z must have shape \(N, 16\), got \(2, 9\)'):
        g(torch.randn(2, 9))
