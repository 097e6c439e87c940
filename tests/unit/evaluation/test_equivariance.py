"""Equivariance metric and its image-space references: exact integer shifts, Lanczos fractional
shifts of band-limited signals, rotations by 0 and 90 degrees; StyleGAN3-R is rotation
equivariant where -T is not (the paper's finding, on tiny random networks)."""
import math

import torch

import genforge.evaluation  # noqa: F401
import genforge.models  # noqa: F401
from genforge.models.archs.stylegan3_utils import (
    apply_fractional_rotation,
    apply_fractional_translation,
    apply_integer_translation,
)
from genforge.registry import METRICS, MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)


def sinusoid(size=24, cycles=2., shift=0.):
    xs = (torch.arange(size) + 0.5) / size - shift
    return torch.sin(2 * math.pi * cycles * xs)[None, None, None, :].expand(1, 1, size, size)


def test_translations():
    x = torch.randn(1, 2, 16, 16)
    out, mask = apply_integer_translation(x, 2 / 16, -1 / 16)  # right 2, up 1
    torch.testing.assert_close(out[..., :15, 2:], x[..., 1:, :14])
    assert mask.sum() == 2 * 15 * 14
    frac, frac_mask = apply_fractional_translation(x, 2 / 16, -1 / 16)
    torch.testing.assert_close(frac * frac_mask, out * frac_mask)  # whole pixels: the same
    img = sinusoid().contiguous()
    half, half_mask = apply_fractional_translation(img, 0.5 / 24, 0)
    exact = sinusoid(shift=0.5 / 24)
    assert ((half - exact).abs() * half_mask).max() < 0.01
    assert half_mask[0, 0, 0].sum() < 24  # the Lanczos support is cut at the borders


def test_rotations():
    img = sinusoid().contiguous()
    same, mask = apply_fractional_rotation(img, 0.)
    assert ((same - img).abs() * mask).max() < 0.01 and mask.sum() > 0
    quarter, mask = apply_fractional_rotation(img, math.pi / 2)
    assert ((quarter - torch.rot90(img, -1, (2, 3))).abs() * mask).max() < 0.01


def eq_scores(**syn):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='StyleGAN3', data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='StyleGANv3Generator', out_size=16, style_channels=16,
                       img_channels=3, noise_size=16,
                       synthesis_cfg=dict(type='SynthesisNetwork', channel_base=256,
                                          channel_max=16, num_layers=6, **syn)),
        discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8),
        ema_config=dict(type='ExponentialMovingAverage', momentum=0.01)))
    metric = METRICS.build(dict(type='Equivariance', fake_nums=4, prefix='EQ', eq_cfg=dict(
        compute_eqt_int=True, compute_eqt_frac=True, compute_eqr=True)))
    out = model.val_step(dict(inputs=dict(num_batches=4, mode=dict(
        eq_cfg=metric.eq_cfg, sample_mode='ema', sample_kwargs={}))))
    metric.process(None, out)
    assert metric.protocol.startswith('eq@') and 'resampler=genforge' in metric.protocol
    return metric.compute_metrics(metric.fake_results)


def test_stylegan3_r_is_rotation_equivariant_and_t_is_not():
    t, r = eq_scores(), eq_scores(conv_kernel=1, use_radial_filters=True)
    assert min(t['eqt_int'], r['eqt_int']) > 60  # both translate exactly by whole pixels
    assert min(t['eqt_frac'], r['eqt_frac']) > 50
    assert r['eqr'] > t['eqr'] + 20
