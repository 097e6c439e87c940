"""GAN losses and gradient penalties against direct formulas."""
import numpy as np
import pytest
import torch
from torch import nn

from genforge.models.losses import (
    DiscShiftLoss,
    GANLoss,
    GradientPenaltyLoss,
    disc_shift_loss,
    gradient_penalty_loss,
    r1_gradient_penalty_loss,
)
from genforge.registry import MODELS


def _np(x):
    return x.detach().double().numpy()


def _softplus(x):
    return np.log1p(np.exp(x))


@pytest.fixture
def pred():
    torch.manual_seed(0)
    return torch.randn(4, 1) * 2


def test_vanilla_matches_bce_formula(pred):
    loss = GANLoss('vanilla', real_label_val=0.9, fake_label_val=0.1, loss_weight=2.)
    p, x = 1 / (1 + np.exp(-_np(pred))), _np(pred)
    for is_real, y in ((True, 0.9), (False, 0.1)):
        ref = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
        np.testing.assert_allclose(loss(pred, is_real, is_disc=True).item(), ref, rtol=1e-5)
        np.testing.assert_allclose(loss(pred, is_real, is_disc=False).item(), 2 * ref, rtol=1e-5)
    assert x.shape == (4, 1)


def test_lsgan_wgan_logistic(pred):
    x = _np(pred)
    np.testing.assert_allclose(GANLoss('lsgan')(pred, True).item(), np.mean((x - 1) ** 2),
                               rtol=1e-5)
    np.testing.assert_allclose(GANLoss('lsgan')(pred, False, is_disc=True).item(),
                               np.mean(x ** 2), rtol=1e-5)
    np.testing.assert_allclose(GANLoss('wgan')(pred, True).item(), -x.mean(), rtol=1e-5)
    np.testing.assert_allclose(GANLoss('wgan', loss_weight=3.)(pred, False).item(),
                               3 * x.mean(), rtol=1e-5)
    np.testing.assert_allclose(GANLoss('wgan-logistic-ns')(pred, True).item(),
                               np.mean(_softplus(-x)), rtol=1e-5)
    np.testing.assert_allclose(GANLoss('wgan-logistic-ns')(pred, False, is_disc=True).item(),
                               np.mean(_softplus(x)), rtol=1e-5)


def test_hinge(pred):
    x = _np(pred)
    loss = GANLoss('hinge', loss_weight=0.5)
    np.testing.assert_allclose(loss(pred, True, is_disc=True).item(),
                               np.mean(np.maximum(0, 1 - x)), rtol=1e-5)
    np.testing.assert_allclose(loss(pred, False, is_disc=True).item(),
                               np.mean(np.maximum(0, 1 + x)), rtol=1e-5)
    # generator: -mean(D(G(z))) scaled by loss_weight, whatever target_is_real says
    np.testing.assert_allclose(loss(pred, True).item(), -0.5 * x.mean(), rtol=1e-5)


def test_mask_and_errors(pred):
    mask = torch.tensor([[1.], [0.], [1.], [0.]])
    x = _np(pred)
    np.testing.assert_allclose(GANLoss('lsgan')(pred, True, mask=mask).item(),
                               np.mean((x[[0, 2]] - 1) ** 2), rtol=1e-5)
    with pytest.raises(NotImplementedError, match='smgann'):
        GANLoss('smgann')
    assert isinstance(MODELS.build(dict(type='GANLoss', gan_type='hinge')), GANLoss)


class _LinearD(nn.Module):
    """D(x) = sum(w * x) + (sum x)^2: its input gradient has a closed form."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1, keepdim=True) + x.flatten(1).sum(1, keepdim=True) ** 2


def test_gradient_penalty_closed_form():
    torch.manual_seed(0)
    d = _LinearD((3, 4, 4))
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    torch.manual_seed(5)
    gp = gradient_penalty_loss(d, real, fake)
    torch.manual_seed(5)  # same alpha draw
    alpha = torch.rand(2, 1, 1, 1)
    xh = alpha * real + (1 - alpha) * fake
    grad = d.w[None] + 2 * xh.flatten(1).sum(1)[:, None, None, None]  # dD/dx by hand
    ref_pixel = ((grad.norm(dim=1) - 1) ** 2).mean()
    torch.testing.assert_close(gp, ref_pixel)
    torch.manual_seed(5)
    gp_hwc = gradient_penalty_loss(d, real, fake, norm_mode='HWC')
    torch.testing.assert_close(gp_hwc, ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean())
    # the penalty is differentiable w.r.t. D's parameters
    gp.backward()
    assert d.w.grad is not None and torch.isfinite(d.w.grad).all()
    torch.manual_seed(5)
    loss = GradientPenaltyLoss(loss_weight=10.)(d, real, fake)
    torch.testing.assert_close(loss, 10 * ref_pixel.detach())
    with pytest.raises(NotImplementedError, match='norm_mode'):
        gradient_penalty_loss(d, real, fake, norm_mode='bad')


def test_gradient_penalty_fp32_under_autocast():
    d = _LinearD((3, 4, 4))
    real, fake = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        gp = gradient_penalty_loss(d, real, fake)
        r1 = r1_gradient_penalty_loss(d, real)
    assert gp.dtype == torch.float32 and r1.dtype == torch.float32


def test_r1_and_disc_shift_closed_form():
    torch.manual_seed(0)
    d = _LinearD((3, 4, 4))
    real = torch.randn(2, 3, 4, 4)
    grad = d.w[None] + 2 * real.flatten(1).sum(1)[:, None, None, None]
    torch.testing.assert_close(r1_gradient_penalty_loss(d, real), (grad.norm(dim=1) ** 2).mean())
    torch.testing.assert_close(r1_gradient_penalty_loss(d, real, norm_mode='HWC'),
                               grad.pow(2).flatten(1).sum(1).mean())
    x = torch.randn(5, 1)
    torch.testing.assert_close(disc_shift_loss(x), x * x)
    np.testing.assert_allclose(DiscShiftLoss(loss_weight=0.1)(x).item(),
                               0.1 * np.mean(_np(x) ** 2), rtol=1e-5)
