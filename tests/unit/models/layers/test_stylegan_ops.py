"""StyleGAN ops against independent formulations: naive loops (upfirdn2d), closed forms
(bias_act) and per-sample dense convolutions (modulated conv), forward, backward and double
backward (gradcheck / gradgradcheck in float64 on tiny shapes)."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck, gradgradcheck

from genforge.models.layers import (
    Blur,
    ConvDownLayer,
    DownsampleUpFIRDn,
    ModMBStddevLayer,
    UpsampleUpFIRDn,
    bias_act,
    fused_bias_leakyrelu,
    make_kernel,
    modulated_conv2d,
    upfirdn2d,
)
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)


def naive_upfirdn2d(x, k, up, down, pad):
    """Loop over output pixels and filter taps; padding/cropping by index arithmetic."""
    (upx, upy), (dx, dy), (x0, x1, y0, y1) = up, down, pad
    n, c, h, w = x.shape
    kh, kw = k.shape
    hp, wp = h * upy + y0 + y1, w * upx + x0 + x1
    oh, ow = (hp - kh) // dy + 1, (wp - kw) // dx + 1
    out = np.zeros((n, c, oh, ow))
    for i, j in itertools.product(range(oh), range(ow)):
        for a, b in itertools.product(range(kh), range(kw)):
            yy, xx = i * dy + a - y0, j * dx + b - x0  # index in the upsampled grid
            if 0 <= yy < h * upy and 0 <= xx < w * upx and yy % upy == 0 and xx % upx == 0:
                out[:, :, i, j] += x[:, :, yy // upy, xx // upx] * k[kh - 1 - a, kw - 1 - b]
    return out


CASES = [((1, 1), (1, 1), (1, 1, 1, 1), (3, 3)),
         ((2, 2), (1, 1), (2, 1, 2, 1), (4, 4)),
         ((1, 1), (2, 2), (1, 1, 1, 1), (4, 4)),
         ((2, 1), (1, 2), (0, 3, 1, 0), (3, 2)),
         ((2, 2), (2, 2), (-1, 2, 1, -2), (5, 3)),
         ((3, 3), (1, 1), (1, 0, 0, 1), (2, 2))]


@pytest.mark.parametrize('up,down,pad,ksize', CASES)
def test_upfirdn2d_matches_naive_loop(up, down, pad, ksize):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6))
    k = rng.standard_normal(ksize)  # asymmetric: catches a missing kernel flip
    mine = upfirdn2d(torch.from_numpy(x), torch.from_numpy(k), up=up, down=down, padding=pad)
    np.testing.assert_allclose(mine.numpy(), naive_upfirdn2d(x, k, up, down, pad), atol=1e-10)


@pytest.mark.parametrize('up,down,pad,ksize', CASES[1:5])
def test_upfirdn2d_gradcheck_and_double_backward(up, down, pad, ksize):
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    k = torch.randn(*ksize, dtype=torch.float64, requires_grad=True)
    fn = lambda x, k: upfirdn2d(x, k, up=up, down=down, padding=pad)  # noqa: E731
    assert gradcheck(fn, (x, k))
    assert gradgradcheck(fn, (x, k))


def test_blur_layers_shapes_and_gain():
    x = torch.ones(1, 2, 8, 8)
    assert Blur([1, 3, 3, 1], pad=(2, 1))(x).shape == (1, 2, 8, 8)
    up, down = UpsampleUpFIRDn([1, 3, 3, 1]), DownsampleUpFIRDn([1, 3, 3, 1])
    assert up(x).shape == (1, 2, 16, 16) and down(x).shape == (1, 2, 4, 4)
    # constant images keep their value away from the zero-padded border
    torch.testing.assert_close(up(x)[..., 4:-4, 4:-4], torch.ones(1, 2, 8, 8))
    torch.testing.assert_close(down(x)[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2))
    torch.testing.assert_close(make_kernel([1, 2, 1]),
                               torch.tensor([[1., 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)


def test_bias_act_closed_forms_and_double_backward():
    torch.manual_seed(0)
    x, b = torch.randn(2, 3, 4, 4, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    pre = x + b.view(1, 3, 1, 1)
    expected = torch.where(pre > 0, pre, 0.2 * pre) * 2 ** 0.5
    torch.testing.assert_close(fused_bias_leakyrelu(x, b), expected)
    torch.testing.assert_close(bias_act(x, b, act='relu', clamp=0.5),
                               (pre.clamp(min=0) * 2 ** 0.5).clamp(max=0.5))
    torch.testing.assert_close(bias_act(x, None, act='tanh'), torch.tanh(x))
    xs, bs = x[:1, :, :2, :2].clone().requires_grad_(), b.clone().requires_grad_()
    assert gradcheck(fused_bias_leakyrelu, (xs, bs))
    assert gradgradcheck(fused_bias_leakyrelu, (xs, bs))
    with pytest.raises(ValueError, match="act='gelu'"):
        bias_act(x, b, act='gelu')


def dense_modconv(x, weight, styles, demodulate, mode, padding):
    """Per-sample loop: build each sample's weight explicitly, run an ordinary conv."""
    outs = []
    for n in range(x.shape[0]):
        w = weight * styles[n].view(1, -1, 1, 1)
        if demodulate:
            w = w / torch.sqrt((w ** 2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        xn = x[n:n + 1]
        if mode == 'up':
            outs.append(F.conv_transpose2d(xn, w.transpose(0, 1), stride=2))
        elif mode == 'down':
            outs.append(F.conv2d(xn, w, stride=2))
        else:
            outs.append(F.conv2d(xn, w, padding=padding))
    return torch.cat(outs)


@pytest.mark.parametrize('mode', ['same', 'up', 'down'])
@pytest.mark.parametrize('demodulate', [True, False])
@pytest.mark.parametrize('fused', [True, False])
def test_modulated_conv2d_matches_per_sample_dense_conv(mode, demodulate, fused):
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    weight = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    styles = torch.randn(3, 4, dtype=torch.float64)
    mine = modulated_conv2d(x, weight, styles, demodulate, upsample=mode == 'up',
                            downsample=mode == 'down', padding=1, fused_modconv=fused)
    torch.testing.assert_close(mine, dense_modconv(x, weight, styles, demodulate, mode, 1))


@pytest.mark.parametrize('mode', ['same', 'up'])
@pytest.mark.parametrize('fused', [True, False])
def test_modulated_conv2d_gradcheck_and_double_backward(mode, fused):
    torch.manual_seed(0)
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    styles = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    fn = lambda x, w, s: modulated_conv2d(x, w, s, True, upsample=mode == 'up',  # noqa: E731
                                          padding=1, fused_modconv=fused)
    assert gradcheck(fn, (x, weight, styles))
    assert gradgradcheck(fn, (x, weight, styles))


def test_modulated_conv2d_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r'styles \(2, 3\)'):
        modulated_conv2d(torch.randn(2, 4, 5, 5), torch.randn(5, 4, 3, 3), torch.randn(2, 3))


def test_conv_down_layer_r1_double_backward_reaches_weights():
    """R1 needs d/dtheta ||dD/dx||^2: compare autograd with a central finite difference."""
    torch.manual_seed(0)
    layer = ConvDownLayer(2, 3, 3, downsample=True).double()
    x = torch.randn(2, 2, 8, 8, dtype=torch.float64)

    def r1(weight):
        layer[1].conv.weight_orig.data.copy_(weight)
        xr = x.clone().requires_grad_()
        g, = torch.autograd.grad(layer(xr).sum(), xr, create_graph=True)
        return g.pow(2).sum()

    w0 = layer[1].conv.weight_orig.detach().clone()
    loss = r1(w0)
    grad, = torch.autograd.grad(loss, layer[1].conv.weight_orig)
    eps, idx = 1e-6, (1, 0, 2, 1)
    wp, wm = w0.clone(), w0.clone()
    wp[idx] += eps
    wm[idx] -= eps
    numeric = (r1(wp) - r1(wm)) / (2 * eps)
    torch.testing.assert_close(grad[idx], numeric, rtol=1e-5, atol=1e-7)


def test_mbstd_matches_loop_over_groups():
    torch.manual_seed(0)
    x = torch.randn(4, 6, 3, 3, dtype=torch.float64)
    out = ModMBStddevLayer(group_size=2, channel_groups=2)(x)
    assert out.shape == (4, 8, 3, 3)
    for i in range(4):
        members = [j for j in range(4) if j % 2 == i % 2]  # reshape (G, M): sample = g*M + m
        std = x[members].std(dim=0, unbiased=False)  # (C, H, W)
        for g in range(2):
            expected = torch.sqrt(std[3 * g:3 * g + 3] ** 2 + 1e-8).mean()
            torch.testing.assert_close(out[i, 6 + g], expected.expand(3, 3))
    with pytest.raises(ValueError, match='group_size'):
        ModMBStddevLayer(group_size=4)(torch.randn(6, 2, 2, 2))
