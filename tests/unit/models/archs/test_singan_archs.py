"""SinGAN / MS-PIE SinGAN networks: level recursion, padding variants, errors."""
import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.registry import MODELS

SMALL = dict(in_channels=3, out_channels=3, num_scales=2, base_channels=8, min_feat_channels=8,
             num_layers=3)
SIZES = [(6, 8), (8, 10), (10, 13)]


def _noises(first_ch=3, pad=0):
    torch.manual_seed(0)
    return [torch.randn(1, first_ch if i == 0 else 3, h + 2 * pad, w + 2 * pad)
            for i, (h, w) in enumerate(SIZES)]


def test_generator_levels_follow_the_recursion():
    gen = MODELS.build(dict(type='SinGANMultiScaleGenerator', **SMALL)).eval()
    noises, weights = _noises(), [1., 0.3, 0.2]
    out = gen(None, noises, weights, 'recon', curr_scale=2, get_prev_res=True)
    # second code path: run each level by hand from the level below
    p = gen.pad_head
    prev = torch.zeros(1, 3, *SIZES[0])
    for s in range(3):
        x = F.pad(noises[s], (p,) * 4) * weights[s] + F.pad(prev, (p,) * 4)
        img = gen.blocks[s](x, prev)
        if s < 2:
            torch.testing.assert_close(out['prev_res_list'][s], img)
            prev = F.interpolate(img, SIZES[s + 1], mode='bicubic', align_corners=True)
    torch.testing.assert_close(out['fake_img'], img)
    assert out['fake_img'].shape == (1, 3, *SIZES[2])
    rand = gen(None, noises, weights, 'rand', curr_scale=1, num_batches=4)
    assert rand.shape == (4, 3, *SIZES[1])


def test_generator_errors_name_the_bad_value():
    gen = MODELS.build(dict(type='SinGANMultiScaleGenerator', **SMALL))
    with pytest.raises(ValueError, match='curr_scale=3 is outside'):
        gen(None, _noises(), [1.] * 3, 'recon', curr_scale=3)
    with pytest.raises(ValueError, match="rand_mode='random'"):
        gen(None, _noises(), [1.] * 3, 'random', curr_scale=0)
    with pytest.raises(ValueError, match='num_layers=2'):
        MODELS.build(dict(type='SinGANMultiScaleGenerator', **{**SMALL, 'num_layers': 2}))


def test_copy_previous_level_weights():
    disc = MODELS.build(dict(type='SinGANMultiScaleDiscriminator', in_channels=3, num_scales=1,
                             base_channels=8, min_feat_channels=8, num_layers=3))
    disc.check_and_load_prev_weight(1)
    for a, b in zip(disc.blocks[0].state_dict().values(), disc.blocks[1].state_dict().values()):
        torch.testing.assert_close(a, b)
    assert disc(torch.randn(2, 3, 9, 9), curr_scale=1).shape == (2, 1, 3, 3)


def test_pe_generator_with_csg_ignores_the_image_at_level_zero():
    cfg = dict(type='SinGANMSGeneratorPE', padding=1, pad_at_head=False,
               first_stage_in_channels=2, positional_encoding=dict(type='CSG'), **SMALL)
    gen = MODELS.build(cfg).eval()
    noises = _noises(first_ch=2)
    out0 = gen(torch.full((1, 3, *SIZES[0]), 5.), noises, [1.] * 3, 'recon', curr_scale=0)
    grid = MODELS.build(dict(type='CSG'))(noises[0])
    # level 0 input is (noise + grid) * w only; the image enters as the residual
    ref = gen.blocks[0].tail(gen.blocks[0].body(gen.blocks[0].head(noises[0] + grid))) + 5.
    torch.testing.assert_close(out0, ref)


def test_pe_generator_interp_pad_with_padded_noises():
    gen = MODELS.build(dict(type='SinGANMSGeneratorPE', interp_pad=True, noise_with_pad=True,
                            **SMALL)).eval()
    p = gen.pad_head
    noises = _noises(pad=p)
    out = gen(None, noises, [1., 0.5, 0.5], 'recon', curr_scale=2)
    assert out.shape == (1, 3, *SIZES[2])
    # level 0 by hand: the image is bicubic-resized to the padded size, not zero padded
    size = noises[0].shape[-2:]
    zero = torch.zeros(1, 3, *SIZES[0])
    x = noises[0] + F.interpolate(zero, size, mode='bicubic', align_corners=True)
    torch.testing.assert_close(gen(None, noises, [1., .5, .5], 'recon', curr_scale=0),
                               gen.blocks[0](x, zero))
    with pytest.raises(ValueError, match='padding_mode'):
        MODELS.build(dict(type='SinGANMSGeneratorPE', padding_mode='circular', **SMALL))
