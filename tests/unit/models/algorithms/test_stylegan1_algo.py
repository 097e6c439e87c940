"""StyleGANv1 algorithm: losses against a direct computation, the progressive schedule it
inherits, sampling at a chosen scale and the errors that name the bad key."""
import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)


def _model(**kw):
    args = dict(type='StyleGANv1', data_preprocessor=dict(type='DataPreprocessor'),
                style_channels=8,
                generator=dict(type='StyleGANv1Generator', out_size=16, style_channels=8,
                               num_mlps=1, max_channels=8),
                discriminator=dict(type='StyleGAN1Discriminator', in_size=16, max_channels=8),
                nkimgs_per_scale={'8': 1.0, '16': 2.0}, transition_kimgs=0.5)
    args.update(kw)
    return MODELS.build(args)


def test_disc_loss_is_softplus_plus_ten_r1_on_the_real_images_at_the_current_scale():
    torch.manual_seed(0)
    model = _model()
    model._curr_scale_int.fill_(8)
    model._curr_transition_weight.fill_(0.25)
    real = torch.randn(3, 3, 16, 16)  # served at 16x16, trained at 8x8
    pred_fake, pred_real = torch.randn(3, 1), torch.randn(3, 1)
    loss, log = model.disc_loss(dict(disc_pred_fake=pred_fake, disc_pred_real=pred_real,
                                     real_imgs=real))
    # independent: bilinear resize, D's input gradient, per-sample squared norm summed by hand
    small = F.interpolate(real, size=(8, 8), mode='bilinear', align_corners=True)
    small.requires_grad_(True)
    out = model.discriminator(small, curr_scale=8, transition_weight=0.25)
    grad = torch.autograd.grad(out.sum(), small)[0]
    r1 = sum((grad[i] ** 2).sum() for i in range(3)) / 3
    expected = (torch.log1p(pred_fake.exp()).mean() + torch.log1p((-pred_real).exp()).mean()
                + 10 * r1)
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    assert set(log) >= {'loss_disc_fake', 'loss_disc_real', 'loss_r1_gp'}
    g_loss, _ = model.gen_loss(dict(disc_pred_fake_g=pred_fake))
    torch.testing.assert_close(g_loss, -pred_fake.mean())


def test_schedule_is_pggans_and_samples_follow_the_requested_scale():
    model = _model()
    assert model.scales == [(8, 8), (16, 16)] and model.noise_size == 8
    # 1000 images at 8x8, then 16x16 fades in over 500 images
    assert model.stage_of(0.999) == 0 and model.stage_of(1.0) == 1
    assert model.transition_weight_of(1.2, 1) == pytest.approx(0.4)
    torch.manual_seed(0)
    out = model(dict(num_batches=2, curr_scale=8, transition_weight=1.0, sample_model='orig'))
    assert out[0].fake_img.shape == (3, 8, 8)
    out = model(dict(num_batches=2, sample_model='orig'))  # untrained: the largest scale
    assert out[0].fake_img.shape == (3, 16, 16)


def test_errors_name_the_key():
    with pytest.raises(ValueError, match='model.nkimgs_per_scale key .32.'):
        _model(nkimgs_per_scale={'8': 1, '32': 1})
    with pytest.raises(ValueError, match='model.style_channels=16 disagrees with '
                                         'model.generator.style_channels=8'):
        _model(style_channels=16)
    model = _model()
    with pytest.raises(ValueError, match='curr_scale=4 is outside the schedule'):
        model(dict(num_batches=1, curr_scale=4))
    model._curr_scale_int.fill_(16)
    with pytest.raises(ValueError, match=r'real images \(8, 8\) are smaller than the current '
                                         r'scale \(16, 16\)'):
        model.discriminate(torch.randn(2, 3, 8, 8))
