"""ConvModule / LinearModule / layer builders against plain torch layers and MMCV's names."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from genforge.models.layers import (
    ConvModule,
    DepthwiseSeparableConvModule,
    LinearModule,
    build_activation_layer,
    build_conv_layer,
    build_norm_layer,
    build_padding_layer,
    build_upsample_layer,
)
from genforge.registry import MODELS


@pytest.mark.parametrize('cfg,cls', [(None, nn.Conv2d), (dict(type='Conv'), nn.Conv2d),
                                     (dict(type='deconv'), nn.ConvTranspose2d),
                                     (dict(type='ConvTranspose2d'), nn.ConvTranspose2d),
                                     (dict(type='Conv1d'), nn.Conv1d),
                                     (dict(type='Conv3d'), nn.Conv3d)])
def test_build_conv_layer_types(cfg, cls):
    layer = build_conv_layer(cfg, 2, 3, 3, padding=1)
    assert type(layer) is cls and layer.in_channels == 2 and layer.out_channels == 3


@pytest.mark.parametrize('cfg,name,cls', [
    (dict(type='BN'), 'bn', nn.BatchNorm2d), (dict(type='BN1d'), 'bn', nn.BatchNorm1d),
    (dict(type='SyncBN'), 'bn', nn.SyncBatchNorm), (dict(type='GN', num_groups=2), 'gn',
                                                     nn.GroupNorm),
    (dict(type='LN'), 'ln', nn.LayerNorm), (dict(type='IN'), 'in', nn.InstanceNorm2d),
    (dict(type='IN2d', affine=True), 'in', nn.InstanceNorm2d)])
def test_build_norm_layer_names(cfg, name, cls):
    got_name, layer = build_norm_layer(cfg, 4, postfix=1)
    assert got_name == name + '1' and type(layer) is cls


def test_build_norm_layer_errors_and_requires_grad():
    with pytest.raises(KeyError, match='num_groups'):
        build_norm_layer(dict(type='GN'), 4)
    with pytest.raises(KeyError, match="'Foo'"):
        build_norm_layer(dict(type='Foo'), 4)
    _, bn = build_norm_layer(dict(type='BN', requires_grad=False), 4)
    assert not any(p.requires_grad for p in bn.parameters())


def test_activations_match_torch():
    x = torch.linspace(-3, 3, 13)
    torch.testing.assert_close(build_activation_layer(dict(type='LeakyReLU', negative_slope=0.2))(x),
                               torch.where(x > 0, x, 0.2 * x))
    torch.testing.assert_close(build_activation_layer(dict(type='Swish'))(x), x * torch.sigmoid(x))
    torch.testing.assert_close(build_activation_layer(dict(type='Clamp', min=-1, max=2))(x),
                               x.clamp(-1, 2))
    # 'inplace' is dropped for activations that have no in-place variant (MMCV behaviour)
    torch.testing.assert_close(build_activation_layer(dict(type='Tanh', inplace=True))(x),
                               torch.tanh(x))
    assert isinstance(MODELS.build(dict(type='GELU')), nn.GELU)


def test_padding_and_upsample():
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    torch.testing.assert_close(build_padding_layer(dict(type='reflect'), 1)(x),
                               F.pad(x, (1, 1, 1, 1), mode='reflect'))
    up = build_upsample_layer(dict(type='nearest', scale_factor=2))
    torch.testing.assert_close(up(x), x.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert build_upsample_layer(dict(type='bilinear', scale_factor=2)).mode == 'bilinear'


def test_conv_module_equals_manual_composition():
    torch.manual_seed(0)
    m = ConvModule(3, 4, 3, padding=1, norm_cfg=dict(type='BN'),
                   act_cfg=dict(type='LeakyReLU', negative_slope=0.2)).eval()
    assert m.conv.bias is None  # bias='auto' drops the bias before a norm
    assert list(m.state_dict()) == ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean',
                                    'bn.running_var', 'bn.num_batches_tracked']
    with torch.no_grad():
        m.bn.running_mean.uniform_(-1, 1)
        m.bn.running_var.uniform_(0.5, 2)
        m.bn.weight.uniform_(0.5, 2)
    x = torch.randn(2, 3, 8, 8)
    ref = F.conv2d(x, m.conv.weight, padding=1)
    ref = (ref - m.bn.running_mean[None, :, None, None]) / torch.sqrt(
        m.bn.running_var[None, :, None, None] + 1e-5) * m.bn.weight[None, :, None, None] \
        + m.bn.bias[None, :, None, None]
    ref = F.leaky_relu(ref, 0.2)
    torch.testing.assert_close(m(x), ref)
    torch.testing.assert_close(m(x, activate=False, norm=False), F.conv2d(x, m.conv.weight,
                                                                          padding=1))


def test_conv_module_order_padding_and_norm_channels():
    m = ConvModule(3, 6, 3, padding=1, norm_cfg=dict(type='GN', num_groups=3),
                   order=('norm', 'act', 'conv'), padding_mode='reflect')
    assert m.norm_name == 'gn' and m.gn.num_channels == 3  # norm before conv sees in_channels
    assert m.conv.padding == (0, 0) and isinstance(m.padding_layer, nn.ReflectionPad2d)
    x = torch.randn(2, 3, 5, 5)
    ref = F.conv2d(F.pad(F.relu(m.gn(x)), (1, 1, 1, 1), mode='reflect'), m.conv.weight,
                   m.conv.bias)
    torch.testing.assert_close(m(x.clone()), ref)
    with pytest.raises(ValueError, match='order'):
        ConvModule(3, 6, 3, order=('conv', 'act'))


def test_conv_module_spectral_norm_keys_and_sigma():
    torch.manual_seed(0)
    m = ConvModule(4, 5, 3, with_spectral_norm=True, act_cfg=None)
    assert {'conv.weight_orig', 'conv.weight_u', 'conv.weight_v', 'conv.bias'} == set(m.state_dict())
    for _ in range(30):  # power iterations converge to the top singular value
        m(torch.randn(1, 4, 6, 6))
    w = m.conv.weight_orig.reshape(5, -1)
    sigma = torch.linalg.matrix_norm(w, ord=2)
    torch.testing.assert_close(m.conv.weight.reshape(5, -1), w / sigma, rtol=1e-3, atol=1e-4)


def test_conv_module_init_is_kaiming_fan_out():
    torch.manual_seed(0)
    m = ConvModule(16, 64, 3, act_cfg=dict(type='LeakyReLU', negative_slope=0.2))
    fan_out = 64 * 9
    expected_std = (2 / (1 + 0.2 ** 2)) ** 0.5 / fan_out ** 0.5
    assert abs(m.conv.weight.std().item() / expected_std - 1) < 0.05


def test_linear_module_and_depthwise():
    torch.manual_seed(0)
    lin = LinearModule(6, 4, act_cfg=dict(type='LeakyReLU', negative_slope=0.1))
    x = torch.randn(3, 6)
    torch.testing.assert_close(lin(x), F.leaky_relu(x @ lin.linear.weight.T + lin.linear.bias, 0.1))
    assert set(lin.state_dict()) == {'linear.weight', 'linear.bias'}
    sn = LinearModule(6, 4, with_spectral_norm=True, order=('act', 'linear'))
    assert 'linear.weight_orig' in sn.state_dict()
    dw = DepthwiseSeparableConvModule(4, 8, 3, padding=1, norm_cfg=dict(type='BN'))
    assert dw.depthwise_conv.conv.groups == 4 and dw(torch.randn(2, 4, 5, 5)).shape == (2, 8, 5, 5)
