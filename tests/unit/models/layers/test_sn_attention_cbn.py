"""Spectral norm (both styles), conditional BN and self-attention against direct computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genforge.models.layers.conditional_bn import BigGANConditionBN, SNConditionNorm
from genforge.models.layers.self_attention import SelfAttentionBlock
from genforge.models.layers.spectral_norm import (
    SNConv2d,
    SNConvModule,
    SNEmbedding,
    SNLinear,
    power_iteration,
)


def top_singular_value(w: torch.Tensor) -> float:
    return float(np.linalg.svd(w.detach().reshape(w.shape[0], -1).numpy(), compute_uv=False)[0])


def test_power_iteration_matches_numpy_step():
    torch.manual_seed(0)
    w = torch.randn(6, 10)
    u = torch.randn(1, 6)
    u_np = u.numpy().copy()
    svs, _, _ = power_iteration(w, [u], update=True)
    # one step of power iteration written out in NumPy
    v_np = u_np @ w.numpy()
    v_np /= np.linalg.norm(v_np)
    u2_np = v_np @ w.numpy().T
    u2_np /= np.linalg.norm(u2_np)
    np.testing.assert_allclose(u.numpy(), u2_np, rtol=1e-5, atol=1e-6)  # buffer updated
    np.testing.assert_allclose(float(svs[0]), (v_np @ w.numpy().T @ u2_np.T).item(), rtol=1e-5)


@pytest.mark.parametrize('layer', [
    lambda: SNLinear(12, 7),
    lambda: SNConv2d(3, 5, 3, padding=1),
    lambda: SNEmbedding(4, 9),
])
def test_ajbrock_sn_normalises_largest_singular_value(layer):
    torch.manual_seed(1)
    m = layer().train()
    for _ in range(200):  # each W_() call in training mode is one power-iteration step
        w_sn = m.W_()
    sigma = top_singular_value(m.weight)
    assert float(m.sv0) == pytest.approx(sigma, rel=1e-3)
    assert top_singular_value(w_sn) == pytest.approx(1.0, rel=1e-3)


def test_ajbrock_sn_forward_uses_normalised_weight_and_eval_keeps_buffers():
    torch.manual_seed(2)
    conv = SNConv2d(3, 4, 3, padding=1).train()
    for _ in range(200):
        conv.W_()
    conv.eval()
    u_before = conv.u0.clone()
    x = torch.randn(2, 3, 8, 8)
    expected = F.conv2d(x, conv.weight / top_singular_value(conv.weight), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(conv.u0, u_before)  # eval mode does not update u

    emb = SNEmbedding(5, 3).train()
    for _ in range(200):
        emb.W_()
    emb.eval()
    idx = torch.tensor([0, 4, 2])
    torch.testing.assert_close(emb(idx), emb.weight[idx] / top_singular_value(emb.weight),
                               rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize('sn_style,keys', [
    ('torch', {'conv.weight_orig', 'conv.weight_u', 'conv.weight_v', 'conv.bias'}),
    ('ajbrock', {'conv.weight', 'conv.u0', 'conv.sv0', 'conv.bias'}),
])
def test_sn_conv_module_both_styles(sn_style, keys):
    torch.manual_seed(3)
    m = SNConvModule(4, 6, kernel_size=3, padding=1, act_cfg=None, with_spectral_norm=True,
                     spectral_norm_cfg=dict(eps=1e-6, sn_style=sn_style)).train()
    assert set(m.state_dict()) == keys
    x = torch.randn(2, 4, 8, 8)
    for _ in range(100):
        m(x)
    weight = m.conv.weight if sn_style == 'torch' else m.conv.W_()
    assert top_singular_value(weight) == pytest.approx(1.0, rel=2e-3)


def test_sn_conv_module_rejects_unknown_style():
    with pytest.raises(NotImplementedError, match="sn_style='bad'"):
        SNConvModule(3, 3, 1, with_spectral_norm=True, spectral_norm_cfg=dict(sn_style='bad'))


def bn_numpy(x: torch.Tensor, eps: float) -> np.ndarray:
    x = x.numpy().astype(np.float64)
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)  # biased, as BatchNorm in training mode
    return (x - mean) / np.sqrt(var + eps)


@pytest.mark.parametrize('init_type,reweight', [('BigGAN', True), ('SNGAN', False)])
def test_sn_condition_norm_matches_formula(init_type, reweight):
    torch.manual_seed(4)
    m = SNConditionNorm(6, num_classes=3, norm_eps=1e-4, init_cfg=dict(type=init_type))
    m.init_weights()
    with torch.no_grad():  # distinct values so that a wrong lookup would show
        m.weight_embedding.weight.normal_()
        m.bias_embedding.weight.normal_()
    x, y = torch.randn(4, 6, 5, 5), torch.tensor([0, 2, 1, 2])
    w = m.weight_embedding.weight.detach().numpy()[y.numpy()][:, :, None, None]
    b = m.bias_embedding.weight.detach().numpy()[y.numpy()][:, :, None, None]
    expected = bn_numpy(x, 1e-4) * (w + 1 if reweight else w) + b
    np.testing.assert_allclose(m(x, y).detach().numpy(), expected, rtol=1e-4, atol=1e-4)


def test_sn_condition_norm_sngan_init_and_errors():
    m = SNConditionNorm(4, num_classes=2, init_cfg=dict(type='SNGAN'))
    m.init_weights()
    assert torch.all(m.weight_embedding.weight == 1) and torch.all(m.bias_embedding.weight == 0)
    assert 'norm.weight' not in m.state_dict()  # no affine under cBN
    with pytest.raises(ValueError, match='num_classes=0'):
        SNConditionNorm(4, num_classes=0)
    with pytest.raises(NotImplementedError, match="'foo'"):
        SNConditionNorm(4, num_classes=2, init_cfg=dict(type='foo'))


def test_biggan_condition_bn_linear_and_label_inputs():
    torch.manual_seed(5)
    x = torch.randn(3, 4, 6, 6)
    m = BigGANConditionBN(4, 5, with_spectral_norm=False, bn_eps=1e-5)
    y = torch.randn(3, 5)
    gain = 1 + y.numpy() @ m.gain.weight.detach().numpy().T
    bias = y.numpy() @ m.bias.weight.detach().numpy().T
    expected = bn_numpy(x, 1e-5) * gain[:, :, None, None] + bias[:, :, None, None]
    np.testing.assert_allclose(m(x, y).detach().numpy(), expected, rtol=1e-4, atol=1e-4)

    m = BigGANConditionBN(4, 7, input_is_label=True)
    labels = torch.tensor([6, 0, 3])
    g = m.gain.weight.detach().numpy()[labels.numpy()]
    b = m.bias.weight.detach().numpy()[labels.numpy()]
    expected = bn_numpy(x, 1e-5) * (1 + g)[:, :, None, None] + b[:, :, None, None]
    np.testing.assert_allclose(m(x, labels).detach().numpy(), expected, rtol=1e-4, atol=1e-4)

    plain = BigGANConditionBN(4, 0)  # no conditioning: an affine BatchNorm
    assert plain.bn.affine and not plain.use_cbn


def attention_numpy(m: SelfAttentionBlock, x: torch.Tensor) -> np.ndarray:
    """The attention written with einsum over explicit 1x1-conv weight matrices."""
    def w(conv):
        return conv.conv.weight.detach().numpy()[:, :, 0, 0]

    def pool(a):  # 2x2 max pooling of (N, C, H, W)
        n, c, h, wd = a.shape
        return a.reshape(n, c, h // 2, 2, wd // 2, 2).max(axis=(3, 5))

    xn = x.numpy()
    n, c, h, wd = xn.shape
    theta = np.einsum('oc,nchw->nohw', w(m.theta), xn).reshape(n, c // 8, -1)
    phi = pool(np.einsum('oc,nchw->nohw', w(m.phi), xn)).reshape(n, c // 8, -1)
    g = pool(np.einsum('oc,nchw->nohw', w(m.g), xn)).reshape(n, c // 2, -1)
    logits = np.einsum('nci,ncj->nij', theta, phi)
    beta = np.exp(logits - logits.max(-1, keepdims=True))
    beta /= beta.sum(-1, keepdims=True)
    attended = np.einsum('ncj,nij->nci', g, beta).reshape(n, c // 2, h, wd)
    o = np.einsum('oc,nchw->nohw', w(m.o), attended)
    return xn + float(m.gamma.detach()) * o


def test_self_attention_identity_at_gamma_zero_and_manual_value():
    torch.manual_seed(6)
    m = SelfAttentionBlock(16, with_spectral_norm=False)
    x = torch.randn(2, 16, 8, 6)
    out = m(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out, x)  # gamma starts at 0: the block is the identity
    with torch.no_grad():
        m.gamma.fill_(0.7)
    np.testing.assert_allclose(m(x).detach().numpy(), attention_numpy(m, x), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize('sn_style,key', [('torch', 'theta.conv.weight_orig'),
                                          ('ajbrock', 'theta.conv.u0')])
def test_self_attention_submodule_names(sn_style, key):
    keys = set(SelfAttentionBlock(32, sn_style=sn_style).state_dict())
    assert 'gamma' in keys and key in keys
    assert {k.split('.')[0] for k in keys} == {'theta', 'phi', 'g', 'o', 'gamma'}
