"""PGGAN networks: MMagic checkpoint layouts, fading between resolutions, scale errors."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.registry import MODELS

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic' / 'pggan'
SMALL = dict(base_channels=64, max_channels=16)


def _layout(module):
    return {k: list(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize('name,scale', [('pggan_8xb4-12Mimg_celeba-hq-1024x1024', 1024),
                                        ('pggan_8xb4-12Mimgs_celeba-cropped-128x128', 128)])
def test_mmagic_layout_of_networks(name, scale):
    keys = json.loads((REF / f'{name}.json').read_text())['keys']
    with torch.device('meta'):  # full-size layouts without allocating the weights
        gen = MODELS.build(dict(type='PGGANGenerator', out_scale=scale, noise_size=512))
        disc = MODELS.build(dict(type='PGGANDiscriminator', in_scale=scale))
    for prefix, net in (('generator.', gen), ('discriminator.', disc)):
        ref = {k[len(prefix):]: v for k, v in keys.items() if k.startswith(prefix)}
        assert list(_layout(net).items()) == list(ref.items())


def test_generator_fade_in_starts_from_upsampled_previous_resolution():
    torch.manual_seed(0)
    gen = MODELS.build(dict(type='PGGANGenerator', out_scale=32, noise_size=8, **SMALL))
    noise = torch.randn(2, 8)
    prev = gen(noise, curr_scale=8, transition_weight=1.)
    start = gen(noise, curr_scale=16, transition_weight=0.)
    torch.testing.assert_close(start, F.interpolate(prev, scale_factor=2, mode='nearest'))
    mid = gen(noise, curr_scale=16, transition_weight=0.25)
    end = gen(noise, curr_scale=16, transition_weight=1.)
    torch.testing.assert_close(mid, start + 0.25 * (end - start), atol=1e-5, rtol=1e-5)
    assert gen(None, num_batches=3).shape == (3, 3, 32, 32)


def test_discriminator_fade_in_starts_from_pooled_image():
    torch.manual_seed(1)
    disc = MODELS.build(dict(type='PGGANDiscriminator', in_scale=32, **SMALL))
    img = torch.randn(4, 3, 16, 16)
    start = disc(img, curr_scale=16, transition_weight=0.)
    torch.testing.assert_close(start, disc(F.avg_pool2d(img, 2), curr_scale=8))


def test_non_fused_paths_match_fused_layouts_and_run():
    gen = MODELS.build(dict(type='PGGANGenerator', out_scale=16, noise_size=8,
                            fused_upconv=False, **SMALL))
    disc = MODELS.build(dict(type='PGGANDiscriminator', in_scale=16, fused_convdown=False,
                             **SMALL))
    out = gen(None, num_batches=2)
    assert disc(out).shape == (2, 1)
    # the up-conv is a 3x3 conv here (out, in) instead of a transposed conv (in, out)
    assert gen.conv_blocks[1].conv.weight_orig.shape == (16, 16, 3, 3)


def test_scale_errors_name_the_value():
    gen = MODELS.build(dict(type='PGGANGenerator', out_scale=16, noise_size=8, **SMALL))
    with pytest.raises(ValueError, match='curr_scale=32 is outside the schedule'):
        gen(None, num_batches=1, curr_scale=32)
    with pytest.raises(ValueError, match='curr_scale=12'):
        gen(None, num_batches=1, curr_scale=12)
    with pytest.raises(ValueError, match='out_scale=48'):
        MODELS.build(dict(type='PGGANGenerator', out_scale=48, noise_size=8))
