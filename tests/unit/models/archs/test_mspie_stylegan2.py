"""MS-PIE StyleGAN2 networks: output sizes at chosen_scale against the closed form, the SPE/CSG
heads against NumPy grids, the deconv2conv / no_pad conv against a per-sample dense conv, the
adaptive-pool discriminator against StyleGAN2's, fixed noise that survives a reload, errors."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers everything)
from genforge.models.layers.mspie_modulated import ModulatedPEConv2d
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

UP = dict(scale_factor=2, mode='bilinear', align_corners=True)
SPE = dict(type='SPE', embedding_dim=4, padding_idx=0, init_size=256, center_shift=100)
# the head / conv options of MMagic's configs c, d, e, h, i, j, k at 16 px and 8 channels
VARIANTS = {
    'c': dict(head_pos_encoding=None, up_after_conv=True, interp_head=True),
    'd': dict(head_pos_encoding=dict(type='CSG'), up_after_conv=True),
    'e': dict(head_pos_encoding=SPE, up_after_conv=True, interp_head=True),
    'h': dict(head_pos_encoding=None, interp_pad=4, no_pad=True, head_pos_size=(6, 6),
              interp_head=True),
    'i': dict(head_pos_encoding=dict(type='CSG'), interp_pad=4, no_pad=True,
              head_pos_size=(6, 6)),
    'j': dict(head_pos_encoding=SPE, interp_pad=4, no_pad=True, head_pos_size=(6, 6),
              interp_head=True),
    'k': dict(head_pos_encoding=SPE, interp_pad=4, no_pad=True, head_pos_size=(6, 6)),
}


def tiny_g(variant='d', out_size=16, **kwargs):
    cfg = dict(type='MSStyleGANv2Generator', out_size=out_size, style_channels=8, num_mlps=2,
               max_channels=8, deconv2conv=True, up_config=UP, **VARIANTS[variant])
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


@pytest.mark.parametrize('variant', sorted(VARIANTS))
@pytest.mark.parametrize('scale', [0, 2, (1, 3)])
def test_chosen_scale_gives_the_larger_image(variant, scale):
    g = tiny_g(variant)
    s_h, s_w = (scale, scale) if isinstance(scale, int) else scale
    out = g(None, num_batches=2, chosen_scale=scale)
    # two x2 blocks after the 4x4 stage: (4 + s) * 2 ** (log2(16) - 2)
    assert out.shape == (2, 3, (4 + s_h) * 4, (4 + s_w) * 4)
    assert g.output_size(scale) == tuple(out.shape[-2:])
    assert torch.isfinite(out).all()


def test_truncation_and_style_mixing_at_a_larger_scale():
    g = tiny_g('e').eval()
    z = torch.randn(2, 8)
    mean = g.get_mean_latent(num_samples=64, bs_per_repeat=64)
    # truncation psi = 0 collapses every z onto the mean w: identical images
    out = g(z, truncation=0., truncation_latent=mean, randomize_noise=False, chosen_scale=2)
    assert out.shape == (2, 3, 24, 24)
    torch.testing.assert_close(out[0], out[1])
    grid = g.style_mixing(n_source=2, n_target=1, chosen_scale=2, truncation=1.)
    assert grid.shape == ((2 + 1) * (1 + 1), 3, 24, 24)


def numpy_csg(h, w):
    """Channel 0 = x, channel 1 = y, both from -1 to 1 (grid_sample's convention)."""
    xs, ys = np.linspace(-1, 1, w), np.linspace(-1, 1, h)
    return np.stack([np.tile(xs, (h, 1)), np.tile(ys[:, None], (1, w))])


def numpy_spe(h, w, dim=4):
    """x codes then y codes; position p -> [sin(p f_i), cos(p f_i)], f_i = 1e4^(-i/(d/2-1)),
    p = 1..n. (MMagic shifts the indices by ``center_shift`` but then numbers the non-padding
    tokens 1..n, so the shift never reaches the codes; genforge keeps that.)"""
    half = dim // 2
    freqs = np.exp(-np.arange(half) * math.log(1e4) / (half - 1))

    def codes(n):
        pos = np.arange(1, n + 1)
        return np.concatenate([np.sin(pos[:, None] * freqs), np.cos(pos[:, None] * freqs)], 1).T

    x, y = codes(w), codes(h)  # (dim, w), (dim, h)
    return np.concatenate([np.repeat(x[:, None, :], h, 1), np.repeat(y[:, :, None], w, 2)])


def conv1_input(g, scale):
    seen = []
    handle = g.conv1.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    g(torch.randn(2, 8), chosen_scale=scale)
    handle.remove()
    return seen[0]


@pytest.mark.parametrize('variant,scale', [('d', 0), ('d', 2), ('i', 3)])
def test_csg_head_is_the_cartesian_grid(variant, scale):
    g = tiny_g(variant)
    h = g.head_pos_size[0] + scale
    head = conv1_input(g, scale)
    assert head.shape == (2, 2, h, h)
    np.testing.assert_allclose(head[1].numpy(), numpy_csg(h, h), atol=1e-6)


def test_interpolated_csg_head_equals_the_larger_grid():
    # bilinear (align_corners) resizing of a linear ramp is exact: same as a larger grid
    g = tiny_g('d', interp_head=True)
    np.testing.assert_allclose(conv1_input(g, 3)[0].numpy(), numpy_csg(7, 7), atol=1e-6)


@pytest.mark.parametrize('variant,scale', [('k', 0), ('k', 2)])
def test_spe_head_is_the_sinusoidal_grid(variant, scale):
    g = tiny_g(variant)
    h = 6 + scale
    head = conv1_input(g, scale)
    assert head.shape == (2, 8, h, h)
    np.testing.assert_allclose(head[0].numpy(), numpy_spe(h, h), atol=1e-5)
    spe = MODELS.build(copy.deepcopy(SPE))
    torch.testing.assert_close(head, spe.make_grid2d(h, h, 2))


def test_interpolated_spe_head_resizes_the_trained_grid():
    g = tiny_g('j')
    head = conv1_input(g, 2)
    small = torch.from_numpy(numpy_spe(6, 6)).float()[None]
    want = F.interpolate(small, size=(8, 8), mode='bilinear', align_corners=True)
    torch.testing.assert_close(head[:1], want, atol=1e-5, rtol=1e-5)


def dense_modulated_conv(x, conv, style, padding):
    """Per sample: weight * style (input channels), demodulated per output channel, F.conv2d."""
    outs = []
    for n in range(x.shape[0]):
        s = conv.style_modulation(style[n:n + 1])[0]
        w = conv.weight_orig[0] * conv.scale * s[None, :, None, None]
        w = w / torch.sqrt(w.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        outs.append(F.conv2d(x[n:n + 1], w, padding=padding))
    return torch.cat(outs)


@pytest.mark.parametrize('up_after_conv,interp_pad,no_pad',
                         [(False, 4, True), (True, None, False), (False, None, False)])
def test_deconv2conv_is_interpolation_and_a_plain_conv(up_after_conv, interp_pad, no_pad):
    torch.manual_seed(0)
    conv = ModulatedPEConv2d(4, 5, 3, 6, upsample=True, deconv2conv=True, no_pad=no_pad,
                             interp_pad=interp_pad, up_config=UP, up_after_conv=up_after_conv)
    assert not hasattr(conv, 'blur')  # no transposed conv, so no blur either
    x, style = torch.randn(2, 4, 5, 5), torch.randn(2, 6)
    pad = 0 if no_pad else 1
    size = 10 + (interp_pad or 0)
    if up_after_conv:
        want = F.interpolate(dense_modulated_conv(x, conv, style, pad), size=(size, size),
                             mode='bilinear', align_corners=True)
    else:
        up = F.interpolate(x, size=(size, size), mode='bilinear', align_corners=True)
        want = dense_modulated_conv(up, conv, style, pad)
    torch.testing.assert_close(conv(x, style), want, atol=1e-5, rtol=1e-5)


def test_no_pad_noise_maps_fit_the_layers():
    g = tiny_g('k')
    shapes = [tuple(getattr(g, f'injected_noise_{i}').shape[-2:]) for i in range(5)]
    # 4x4 stage, then per block: up-conv map (2h + 4 - 2), conv map (2h)
    assert shapes == [(4, 4), (10, 10), (8, 8), (18, 18), (16, 16)]
    out = g(torch.randn(1, 8), randomize_noise=False)  # shapes must fit the feature maps
    assert out.shape == (1, 3, 16, 16)


def test_fixed_noise_at_a_larger_scale_survives_a_reload():
    g = tiny_g('e').eval()
    for name, param in g.named_parameters():
        if 'noise_injector' in name:  # initialised to 0: make the noise matter
            param.data.fill_(0.5)
    z = torch.randn(2, 8)
    first = g(z, randomize_noise=False, chosen_scale=2)
    torch.testing.assert_close(g(z, randomize_noise=False, chosen_scale=2), first)
    other = tiny_g('e', mix_prob=0.5)
    other.load_state_dict(g.state_dict(), strict=True)
    torch.testing.assert_close(other.eval()(z, randomize_noise=False, chosen_scale=2), first)
    assert not torch.allclose(g(z, chosen_scale=2), first)  # randomized noise does change it


@pytest.mark.parametrize('variant,scale,match', [
    ('d', -4, 'chosen_scale=-4 is not reachable'),
    ('k', -5, r'chosen_scale=-5 is not reachable.*chosen_scale >= -3'),
    ('d', 1.5, 'must be an int or a pair of ints'),
    ('d', (1, 2, 3), 'must be an int or a pair of ints')])
def test_unreachable_chosen_scale_is_a_clear_error(variant, scale, match):
    g = tiny_g(variant)
    with pytest.raises(ValueError, match=match):
        g(None, num_batches=1, chosen_scale=scale)


def test_spe_width_must_feed_the_first_block():
    with pytest.raises(ValueError, match=r'head_pos_encoding.embedding_dim=8.*embedding_dim=4'):
        tiny_g('e', head_pos_encoding=dict(SPE, embedding_dim=8))


def tiny_d(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='MSStyleGAN2Discriminator', in_size=16, max_channels=8,
                             **kwargs))


def test_adaptive_pool_to_4x4_is_stylegan2s_discriminator():
    # at in_size the last map is 4x4 already, so pooling to (4, 4) changes nothing
    ms = tiny_d(with_adaptive_pool=True, pool_size=(4, 4))
    plain = MODELS.build(dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8))
    plain.load_state_dict(ms.state_dict(), strict=True)
    x = torch.randn(4, 3, 16, 16)
    torch.testing.assert_close(ms(x), plain(x))


def test_adaptive_pool_scores_every_scale_and_averages_the_map():
    d = tiny_d(with_adaptive_pool=True)
    assert d.final_linear[0].linear.weight_orig.shape == (8, 8 * 2 * 2)
    for size in (16, 24, 32):
        assert d(torch.randn(2, 3, size, size)).shape == (2, 1)
    x = torch.randn(2, 3, 24, 24)
    feats = d.final_conv(d.mbstd_layer(d.convs(x)))  # (2, 8, 6, 6)
    pooled = feats.reshape(2, 8, 2, 3, 2, 3).mean(dim=(3, 5))  # 3x3 cells -> 2x2
    torch.testing.assert_close(d(x), d.final_linear(pooled.flatten(1)))


def test_discriminator_sizes_are_checked():
    with pytest.raises(ValueError, match=r'in_size'):
        tiny_d()(torch.randn(2, 3, 24, 24))  # no pool: only 16x16
    with pytest.raises(ValueError, match=r'H, W >= 4'):
        tiny_d(with_adaptive_pool=True)(torch.randn(2, 3, 2, 2))
