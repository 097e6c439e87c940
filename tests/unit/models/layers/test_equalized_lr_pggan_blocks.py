"""Equalized LR, PixelNorm, minibatch stddev and positional encodings vs independent code."""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genforge.models  # noqa: F401
from genforge.models.layers import (
    CatersianGrid,
    EqualizedLRConvDownModule,
    EqualizedLRConvModule,
    EqualizedLRConvUpModule,
    EqualizedLRLinearModule,
    MiniBatchStddevLayer,
    PixelNorm,
    SinusoidalPositionalEmbedding,
    equalized_lr,
)
from genforge.registry import MODELS


def test_equalized_conv_scales_weight_by_he_constant():
    torch.manual_seed(0)
    m = EqualizedLRConvModule(4, 6, kernel_size=3, padding=1, act_cfg=None,
                              equalized_lr_cfg=dict(gain=2 ** 0.5))
    assert set(dict(m.named_parameters())) == {'conv.weight_orig', 'conv.bias'}
    x = torch.randn(2, 4, 5, 5)
    scale = math.sqrt(2) / math.sqrt(4 * 9)  # fan_in = in * k * k
    ref = F.conv2d(x, m.conv.weight_orig * scale, m.conv.bias, padding=1)
    torch.testing.assert_close(m(x), ref)
    # the graph tensor is dropped after forward: the module deep-copies (EMA) and shares storage
    assert m.conv.weight.data_ptr() == m.conv.weight_orig.data_ptr()
    copy.deepcopy(m)


def test_equalized_lr_gradient_is_scaled():
    lin = nn.Linear(8, 3, bias=False)
    equalized_lr(lin, gain=1., lr_mul=0.5)
    x = torch.randn(4, 8)
    lin(x).sum().backward()
    # d/dW_orig of sum(x @ (c W)^T) = c * sum_n x_n, c = gain / sqrt(fan_in) * lr_mul
    expected = (0.5 / math.sqrt(8)) * x.sum(0).expand(3, 8)
    torch.testing.assert_close(lin.weight_orig.grad, expected)
    with pytest.raises(RuntimeError, match='already'):
        equalized_lr(lin)


def test_linear_module_init_and_output():
    torch.manual_seed(1)
    lin = EqualizedLRLinearModule(256, 128, equalized_lr_cfg=dict(gain=1., lr_mul=0.01))
    assert abs(lin.weight_orig.std().item() - 100.) < 3.  # N(0, 1 / lr_mul)
    assert torch.count_nonzero(lin.bias) == 0
    x = torch.randn(3, 256)
    torch.testing.assert_close(lin(x), x @ (lin.weight_orig * 0.01 / 16.).t() + lin.bias)


def test_fused_up_equals_nearest_upsample_then_conv():
    torch.manual_seed(2)
    fused = EqualizedLRConvUpModule(3, 5, kernel_size=3, stride=2, padding=1, act_cfg=None,
                                    conv_cfg=dict(type='deconv'), upsample=dict(type='fused_nn'))
    x = torch.randn(2, 3, 4, 4)
    # transposed conv weight (in, out, k, k): 'fan_in' is out * k * k (torch's convention)
    w = fused.conv.weight_orig * (math.sqrt(2) / math.sqrt(5 * 9))
    # a transposed conv equals a conv with the flipped, transposed kernel on the upsampled map
    w_conv = w.flip(-1, -2).transpose(0, 1)
    ref = F.conv2d(F.interpolate(x, scale_factor=2, mode='nearest'), w_conv, fused.conv.bias,
                   padding=1)
    torch.testing.assert_close(fused(x), ref, atol=1e-5, rtol=1e-5)


def test_fused_down_equals_conv_then_avgpool():
    torch.manual_seed(3)
    fused = EqualizedLRConvDownModule(3, 5, kernel_size=3, stride=2, padding=1, act_cfg=None)
    plain = EqualizedLRConvDownModule(3, 5, kernel_size=3, stride=1, padding=1, act_cfg=None,
                                      downsample=dict(type='avgpool'))
    plain.load_state_dict(fused.state_dict())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(fused(x), plain(x), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='fused_pool'):
        EqualizedLRConvDownModule(3, 5, kernel_size=3, downsample=dict(type='max'))


def test_pixel_norm_unit_rms():
    x = torch.randn(2, 7, 3, 3)
    out = PixelNorm(eps=0.)(x)
    rms = np.sqrt((x.numpy() ** 2).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(out.numpy(), x.numpy() / rms, rtol=1e-5)
    # built as a norm layer (eps 1e-5 like every MMCV-built norm) inside ConvModule
    conv = MODELS.build(dict(type='ConvModule', in_channels=2, out_channels=3, kernel_size=1,
                             norm_cfg=dict(type='PixelNorm'), act_cfg=None))
    assert conv.norm_name == 'pn' and conv.norm.eps == 1e-5


@pytest.mark.parametrize('n', [2, 8])
def test_minibatch_stddev_naive_loop(n):
    torch.manual_seed(4)
    x = torch.randn(n, 3, 2, 2)
    out = MiniBatchStddevLayer(group_size=4)(x)
    g = min(n, 4)
    m = n // g
    for i in range(n):
        members = x[[j for j in range(n) if j % m == i % m]].double()
        std = (members.var(dim=0, unbiased=False) + 1e-8).sqrt().mean()
        torch.testing.assert_close(out[i, 3], torch.full((2, 2), std.item()), rtol=1e-5,
                                   atol=1e-6)
    torch.testing.assert_close(out[:, :3], x)
    with pytest.raises(ValueError, match='group_size'):
        MiniBatchStddevLayer(group_size=4)(torch.randn(6, 1, 2, 2))


def test_spe_1d_and_grid_against_formula():
    spe = MODELS.build(dict(type='SPE', embedding_dim=4, padding_idx=0, init_size=16))
    assert list(dict(spe.named_buffers())) == ['_float_tensor']
    d_half = 2
    freqs = [10000 ** (-i / (d_half - 1)) for i in range(d_half)]

    def code(p):
        return [math.sin(p * f) for f in freqs] + [math.cos(p * f) for f in freqs]

    tokens = torch.tensor([[5, 0, 7]])  # token 0 is padding: positions 1, 0, 2
    out = spe(tokens)
    expected = torch.tensor([code(1), [0.] * 4, code(2)])
    torch.testing.assert_close(out[0], expected)
    grid = spe(torch.zeros(2, 3, 2, 3))     # (N, 2 * dim, H, W)
    assert grid.shape == (2, 8, 2, 3)
    for y in range(2):
        for x in range(3):
            torch.testing.assert_close(grid[1, :, y, x], torch.tensor(code(x + 1) + code(y + 1)))
    # center_shift: index 0 (padding) gives a zero code at the column left of the centre
    shifted = spe.make_grid2d(1, 4, center_shift=1)  # x indices 1..4 shifted by 1 - 2 = -1
    torch.testing.assert_close(shifted[0, :4, 0, 0], torch.zeros(4))
    torch.testing.assert_close(shifted[0, :4, 0, 1], torch.tensor(code(1)))
    half = SinusoidalPositionalEmbedding(4, 0, init_size=8, div_half_dim=True)
    torch.testing.assert_close(half.weights[3, 1], torch.tensor(math.sin(3 * 1e4 ** -0.5)))


def test_csg_grid_corners():
    grid = MODELS.build(dict(type='CSG'))(torch.zeros(1, 5, 3, 4))
    assert isinstance(MODELS.build(dict(type='CatersianGrid')), CatersianGrid)
    xs, ys = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-1, 1, 3))
    np.testing.assert_allclose(grid[0, 0].numpy(), xs, atol=1e-6)
    np.testing.assert_allclose(grid[0, 1].numpy(), ys, atol=1e-6)
