"""StyleGAN1 networks: MMagic 1.2 layouts, AdaIN / fused-pool conv against closed forms,
progressive growing (every scale, fade-in is the linear blend), clear curr_scale errors."""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.models.layers.stylegan1_blocks import AdaptiveInstanceNorm, _EqualizedConv
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic' / 'styleganv1'


@pytest.mark.parametrize('name', sorted(p.stem for p in REF.glob('*.json')))
def test_state_dict_layout_matches_mmagic(name):
    ref = json.loads((REF / f'{name}.json').read_text())['keys']
    ref = {k: v for k, v in ref.items() if k.startswith(('generator.', 'discriminator.'))}
    size = 1024 if '1024' in name else 256
    with torch.device('meta'):
        nets = dict(generator=MODELS.build(dict(type='StyleGANv1Generator', out_size=size,
                                                style_channels=512)),
                    discriminator=MODELS.build(dict(type='StyleGANv1Discriminator',
                                                    in_size=size)))
    mine = {f'{part}.{k}': list(v.shape) for part, net in nets.items()
            for k, v in net.state_dict().items()}
    assert list(mine) == list(ref)
    assert mine == ref


def test_adain_matches_closed_form():
    torch.manual_seed(0)
    adain = AdaptiveInstanceNorm(3, 5)
    adain.affine.bias.data.normal_()
    x, w = torch.randn(2, 3, 4, 4), torch.randn(2, 5)
    affine = w @ (adain.affine.weight_orig * math.sqrt(2) / math.sqrt(5)).t() + adain.affine.bias
    gamma, beta = affine[:, :3, None, None], affine[:, 3:, None, None]
    mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(adain(x, w), gamma * (x - mean) / torch.sqrt(var + 1e-5) + beta)


def test_fused_pool_conv_is_conv_then_2x2_average():
    torch.manual_seed(0)
    conv = _EqualizedConv(3, 4, 3, stride=2, padding=1, fused_pool=True)
    conv.bias.data.normal_()
    x = torch.randn(2, 3, 8, 8)
    dense = F.conv2d(x, conv.weight_orig * math.sqrt(2) / math.sqrt(27), padding=1)
    torch.testing.assert_close(conv(x), F.avg_pool2d(dense, 2) + conv.bias.view(1, 4, 1, 1),
                               rtol=1e-5, atol=1e-5)


def test_progressive_scales_and_fade_in_blend():
    torch.manual_seed(0)
    g = MODELS.build(dict(type='StyleGANv1Generator', out_size=16, style_channels=8,
                          num_mlps=2, max_channels=16))
    d = MODELS.build(dict(type='StyleGANv1Discriminator', in_size=16, max_channels=16))
    z = torch.randn(2, 8)
    for scale in (4, 8, 16):
        img = g(z, curr_scale=scale, randomize_noise=False)
        assert img.shape == (2, 3, scale, scale)
        assert d(img, curr_scale=scale).shape == (2, 1)
    assert g(z, randomize_noise=False).shape == (2, 3, 16, 16)
    gen = {tw: g(z, curr_scale=8, transition_weight=tw, randomize_noise=False) for tw in (0, .3, 1)}
    torch.testing.assert_close(gen[.3], 0.7 * gen[0] + 0.3 * gen[1], rtol=1e-5, atol=1e-5)
    # weight 0 is exactly the previous resolution (upsampled / average-pooled)
    low = g(z, curr_scale=4, randomize_noise=False)
    torch.testing.assert_close(gen[0], F.interpolate(low, scale_factor=2, mode='nearest'))
    img = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(d(img, curr_scale=8, transition_weight=0),
                               d(F.avg_pool2d(img, 2), curr_scale=4))


def test_curr_scale_errors():
    g = MODELS.build(dict(type='StyleGANv1Generator', out_size=16, style_channels=8,
                          num_mlps=1))
    with pytest.raises(ValueError, match='curr_scale=32 cannot be produced'):
        g(torch.randn(1, 8), curr_scale=32)
    d = MODELS.build(dict(type='StyleGANv1Discriminator', in_size=16))
    with pytest.raises(ValueError, match=r'must be 8x8 at curr_scale=8, got \(1, 3, 16, 16\)'):
        d(torch.randn(1, 3, 16, 16), curr_scale=8)
