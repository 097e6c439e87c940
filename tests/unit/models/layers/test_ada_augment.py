"""ADA: each augmentation against its definition (flips, quarter turns, integer shifts, color
matrices that keep or negate luma), the band filter bank, the p controller and its state."""
import pytest
import torch

import genforge.models  # noqa: F401
from genforge.models.layers.ada_augment import AugmentPipe, _band_filters
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

ALL = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1,
           contrast=1, lumaflip=1, hue=1, saturation=1, imgfilter=1, noise=1, cutout=1)


def pipe(p=1., **kwargs):
    aug = AugmentPipe(**kwargs)
    aug.p.fill_(p)
    return aug


def test_p_zero_is_the_identity():
    x = torch.randn(4, 3, 16, 16)
    assert torch.equal(pipe(0., **ALL)(x), x)


@pytest.mark.parametrize('name,candidates', [
    ('xflip', lambda x: [x, x.flip(-1)]),
    ('rotate90', lambda x: [torch.rot90(x, k, dims=(-2, -1)) for k in range(4)]),
])
def test_pixel_blits_give_exact_flips_and_rotations(name, candidates):
    torch.manual_seed(0)
    x = torch.randn(16, 3, 8, 8)
    out = pipe(**{name: 1})(x)
    picked = []
    for i in range(16):
        hits = [k for k, c in enumerate(candidates(x[i])) if torch.allclose(out[i], c, atol=1e-5)]
        assert hits, f'sample {i} is no {name} of its input'
        picked.append(hits[0])
    assert len(set(picked)) > 1  # p=1: transformations actually happen


def test_integer_translation_moves_whole_pixels():
    torch.manual_seed(0)
    x = torch.randn(8, 1, 16, 16)
    out = pipe(xint=1, xint_max=0.125)(x)
    for i in range(8):
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if torch.allclose(out[i, :, 2:-2, 2:-2],
                                     x[i, :, 2 - dy:14 - dy, 2 - dx:14 - dx], atol=1e-5)]
        assert matches, f'sample {i} is not a whole-pixel shift'


def luma(x):
    return x.mean(1)


def test_color_transforms_against_their_definitions():
    torch.manual_seed(0)
    x = torch.rand(8, 3, 4, 4)
    out = pipe(brightness=1)(x)
    diff = out - x  # one offset per sample, same for every channel and pixel
    torch.testing.assert_close(diff, diff[:, :1, :1, :1].expand_as(diff))
    out = pipe(contrast=1)(x)
    ratio = out / x
    torch.testing.assert_close(ratio, ratio[:, :1, :1, :1].expand_as(ratio))
    for name in ('hue', 'saturation'):  # rotations/scalings about the luma axis keep luma
        out = pipe(**{name: 1})(x)
        torch.testing.assert_close(luma(out), luma(x))
        assert not torch.allclose(out, x)
    out = pipe(lumaflip=1)(x)
    chroma = lambda t: t - luma(t)[:, None]  # noqa: E731
    torch.testing.assert_close(chroma(out), chroma(x))
    flipped = ~torch.isclose(luma(out), luma(x)).flatten(1).all(1)
    torch.testing.assert_close(luma(out)[flipped], -luma(x)[flipped])
    with pytest.raises(ValueError, match='need RGB images, got 1 channels'):
        pipe(hue=1)(torch.rand(2, 1, 4, 4))


def test_band_filter_bank_splits_the_signal():
    bank = torch.as_tensor(_band_filters())
    assert bank.shape == (4, 43)
    delta = torch.zeros(43, dtype=bank.dtype)
    delta[21] = 1
    torch.testing.assert_close(bank.sum(0), delta)  # bands add up to the identity
    torch.testing.assert_close(bank.sum(1), torch.tensor([1., 0, 0, 0], dtype=bank.dtype))


def test_full_pipeline_r1_double_backward_through_ada_discriminator():
    torch.manual_seed(0)
    d = MODELS.build(dict(type='ADAStyleGAN2Discriminator', in_size=16, max_channels=8,
                          data_aug=dict(type='ADAAug', aug_pipeline=ALL, augment_initial_p=0.5)))
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    grad, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    grad.square().sum().backward()
    assert torch.isfinite(d.convs[0][0].conv.weight_orig.grad).all()
    keys = {k: tuple(v.shape) for k, v in d.state_dict().items() if 'ada_aug' in k}
    assert keys == {'ada_aug.log_buffer': (2,), 'ada_aug.aug_pipeline.p': (),
                    'ada_aug.aug_pipeline.Hz_geom': (12,), 'ada_aug.aug_pipeline.Hz_fbank': (4, 43)}


def test_ada_p_controller_closed_form_and_state():
    ada = MODELS.build(dict(type='ADAAug', update_interval=4, ada_target=0.6, ada_kimg=1,
                            augment_initial_p=0.1, aug_pipeline=dict(xflip=1)))
    scores = torch.tensor([1., 1., 1., 1., 1., 1., -1., -1.])  # E[sign] = 0.5 < 0.6
    ada.log_real_scores(scores)
    ada.update(iteration=0, num_batches=8)  # not an update iteration: nothing changes
    assert ada.aug_pipeline.p.item() == pytest.approx(0.1) and ada.log_buffer[0] == 8
    ada.update(iteration=3, num_batches=8)
    assert ada.aug_pipeline.p.item() == pytest.approx(0.1 - 8 * 4 / 1000)
    assert ada.log_buffer.tolist() == [0, 0]
    ada.log_real_scores(torch.ones(8))  # E[sign] = 1 > 0.6: stronger augmentation
    ada.update(iteration=7, num_batches=8)
    assert ada.aug_pipeline.p.item() == pytest.approx(0.1)
    for _ in range(10):  # never below 0
        ada.log_real_scores(-torch.ones(8))
        ada.update(iteration=3, num_batches=8)
    assert ada.aug_pipeline.p.item() == 0
    ada.aug_pipeline.p.fill_(0.37)
    fresh = MODELS.build(dict(type='ADAAug', aug_pipeline=dict(xflip=1)))
    fresh.load_state_dict(ada.state_dict())
    assert fresh.aug_pipeline.p.item() == pytest.approx(0.37)
