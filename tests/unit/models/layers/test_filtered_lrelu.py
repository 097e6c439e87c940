"""StyleGAN3 ops: filter design against scipy.signal.firwin, filtered_lrelu against a naive
loop with the dense (outer-product) filters, gradcheck and double backward."""
import numpy as np
import pytest
import scipy.signal
import torch
from torch.autograd import gradcheck, gradgradcheck

from genforge.models.layers import design_lowpass_filter, filtered_lrelu
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)
from tests.unit.models.layers.test_stylegan_ops import naive_upfirdn2d


@pytest.mark.parametrize('numtaps,cutoff,width,fs', [(12, 2., 2.3, 16), (24, 10., 6., 64),
                                                     (6, 1., 0.5, 4)])
def test_lowpass_filter_matches_scipy_firwin(numtaps, cutoff, width, fs):
    ours = design_lowpass_filter(numtaps, cutoff, width, fs).numpy()
    ref = scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    assert design_lowpass_filter(1, cutoff, width, fs) is None


def test_radial_filter_is_normalised_and_rotation_symmetric():
    f = design_lowpass_filter(12, 3., 2., 16, radial=True)
    assert f.shape == (12, 12)
    torch.testing.assert_close(f.sum(), torch.tensor(1.))
    torch.testing.assert_close(f, f.t())
    torch.testing.assert_close(f, f.flip(0))
    # a radial filter is not separable: its rank is > 1, unlike an outer product
    assert torch.linalg.matrix_rank(f.double(), atol=1e-6) > 1


def naive_filtered_lrelu(x, fu, fd, b, up, down, pad, gain, slope, clamp):
    x = x + b.reshape(1, -1, 1, 1)
    ku = np.outer(fu, fu) * up ** 2 if fu.ndim == 1 else fu * up ** 2
    x = naive_upfirdn2d(x, ku, (up, up), (1, 1), pad)
    x = np.where(x > 0, x, slope * x) * gain
    if clamp is not None:
        x = np.clip(x, -clamp, clamp)
    kd = np.outer(fd, fd) if fd.ndim == 1 else fd
    return naive_upfirdn2d(x, kd, (1, 1), (down, down), (0, 0, 0, 0))


@pytest.mark.parametrize('radial', [False, True])
def test_filtered_lrelu_matches_naive_loop(radial):
    rng = np.random.default_rng(0)
    x, b = rng.standard_normal((1, 2, 5, 5)), rng.standard_normal(2)
    fu = design_lowpass_filter(4, 1., 1., 4, radial=radial).double().numpy()
    fd = design_lowpass_filter(4, 1., 1., 4).double().numpy()
    pad = (2, 1, 2, 1)
    ours = filtered_lrelu(torch.from_numpy(x), torch.from_numpy(fu), torch.from_numpy(fd),
                          torch.from_numpy(b), up=2, down=2, padding=pad, clamp=0.8)
    ref = naive_filtered_lrelu(x, fu, fd, b, 2, 2, pad, 2 ** 0.5, 0.2, 0.8)
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-10)


def test_filtered_lrelu_gradcheck_and_double_backward():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    fu = design_lowpass_filter(4, 1., 1., 4).double()
    fn = lambda x, b: filtered_lrelu(x, fu, fu, b, up=2, down=2, padding=(2, 1, 2, 1))  # noqa
    assert gradcheck(fn, (x, b))
    assert gradgradcheck(fn, (x, b))
