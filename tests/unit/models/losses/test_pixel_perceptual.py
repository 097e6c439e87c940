"""Pixel losses vs direct formulas, the weighted_loss decorator (MMagic + MMPretrain styles),
and PerceptualLoss with random VGG weights."""
import numpy as np
import pytest
import torch

import genforge.models  # noqa: F401
from genforge.models.losses import (
    CharbonnierLoss,
    L1Loss,
    MSELoss,
    PerceptualLoss,
    masked_loss,
    weighted_loss,
)
from genforge.models.losses.perceptual_loss import build_vgg_features, resolve_vgg_weights
from genforge.registry import MODELS


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(2, 3, 5, 4, generator=g)
    target = torch.randn(2, 3, 5, 4, generator=g)
    weight = (torch.rand(2, 1, 5, 4, generator=g) > 0.5).float()
    return pred, target, weight


ELEMENTWISE = {
    'L1Loss': lambda p, t: np.abs(p - t),
    'MSELoss': lambda p, t: (p - t) ** 2,
    'CharbonnierLoss': lambda p, t: np.sqrt((p - t) ** 2 + 1e-12),
}


@pytest.mark.parametrize('name', sorted(ELEMENTWISE))
def test_reductions_against_numpy(name, data):
    pred, target, weight = data
    p, t, w = pred.numpy().astype(np.float64), target.numpy().astype(np.float64), \
        weight.numpy().astype(np.float64)
    e = ELEMENTWISE[name](p, t)
    build = lambda **kw: MODELS.build(dict(type=name, **kw))  # noqa: E731
    assert np.isclose(build(loss_weight=2.0)(pred, target).item(), 2 * e.mean(), rtol=1e-5)
    assert np.isclose(build(reduction='sum')(pred, target).item(), e.sum(), rtol=1e-5)
    assert np.allclose(build(reduction='none')(pred, target).numpy(), e, rtol=1e-5)
    # weighted mean = mean over the masked region (N1HW mask broadcast over C)
    wf = np.broadcast_to(w, e.shape)
    assert np.isclose(build()(pred, target, weight).item(), (e * wf).sum() / wf.sum(), rtol=1e-5)
    # sample_wise: per-sample masked mean, then average over samples
    per = [(e[i] * wf[i]).sum() / wf[i].sum() for i in range(2)]
    got = build(sample_wise=True)(pred, target, weight).item()
    assert np.isclose(got, np.mean(per), rtol=1e-5)
    assert np.isclose(build(reduction='sum')(pred, target, weight).item(), (e * wf).sum(),
                      rtol=1e-5)


def test_bad_reduction_names_choices():
    with pytest.raises(ValueError, match="'avg'"):
        L1Loss(reduction='avg')


def test_charbonnier_eps_changes_value(data):
    pred, _, _ = data
    # at pred == target the loss is sqrt(eps)
    assert torch.isclose(CharbonnierLoss(eps=1e-2)(pred, pred), torch.tensor(0.1))
    assert MSELoss()(pred, pred).item() == 0


def test_weighted_loss_mmpretrain_semantics():
    @weighted_loss
    def l1(pred, target):
        return (pred - target).abs()

    pred, target = torch.tensor([0., 2., 3.]), torch.ones(3)
    weight = torch.tensor([1., 0., 1.])
    assert torch.isclose(l1(pred, target), torch.tensor(4. / 3))
    assert torch.isclose(l1(pred, target, weight), torch.tensor(1.))  # mean over all elements
    assert torch.isclose(l1(pred, target, weight, avg_factor=2), torch.tensor(1.5))
    assert torch.equal(l1(pred, target, reduction='none'), torch.tensor([1., 1., 2.]))
    with pytest.raises(ValueError, match='avg_factor'):
        l1(pred, target, weight, reduction='sum', avg_factor=2)
    # the MMagic call style (sample_wise given) averages over the weighted region
    assert torch.isclose(l1(pred, target, weight, sample_wise=False), torch.tensor(1.5))


def test_masked_loss_mmagic_semantics():
    @masked_loss
    def l1(pred, target):
        return (pred - target).abs()

    pred, target = torch.tensor([0., 2., 3.]), torch.ones(3)
    weight = torch.tensor([1., 0., 1.])
    assert torch.isclose(l1(pred, target, weight), torch.tensor(1.5))
    assert torch.isclose(l1(pred, target, weight, reduction='sum'), torch.tensor(3.))


def test_seed003_mmpretrain_l1_pattern():
    """Seed 003's custom loss module, written against genforge's weighted_loss."""
    @weighted_loss
    def l1_loss(pred, target):
        assert pred.size() == target.size() and target.numel() > 0
        return torch.abs(pred - target)

    class SeedL1Loss(torch.nn.Module):
        def __init__(self, reduction='mean', loss_weight=1.0):
            super().__init__()
            self.reduction, self.loss_weight = reduction, loss_weight

        def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
            reduction = reduction_override if reduction_override else self.reduction
            return self.loss_weight * l1_loss(pred, target, weight, reduction=reduction,
                                              avg_factor=avg_factor)

    pred, target = torch.randn(4, 10), torch.randn(4, 10)
    w = torch.rand(4, 1)
    loss = SeedL1Loss(loss_weight=0.5)(pred, target, w, avg_factor=7.)
    assert torch.isclose(loss, 0.5 * ((pred - target).abs() * w).sum() / 7.)


# -- perceptual loss ------------------------------------------------------------------------------
def test_vgg_layout_is_torchvision_like():
    feats = build_vgg_features('vgg19')
    assert len(feats) == 37
    assert tuple(feats[34].weight.shape) == (512, 512, 3, 3)  # conv5_4, MMagic's '34'
    assert isinstance(feats[36], torch.nn.MaxPool2d)
    assert len(build_vgg_features('vgg16_bn')) == 44


def test_perceptual_and_style_match_manual_computation():
    torch.manual_seed(0)
    loss = PerceptualLoss(layer_weights={'2': 1.0, '7': 0.5}, perceptual_weight=2.0,
                          style_weight=3.0, norm_img=True, pretrained=None)
    x, gt = torch.rand(2, 3, 16, 16) * 2 - 1, torch.rand(2, 3, 16, 16) * 2 - 1
    percep, style = loss(x, gt)

    def feats(img):  # a second code path: run the layers by hand
        h = ((img + 1) / 2 - loss.vgg.mean) / loss.vgg.std
        out = {}
        for i, layer in enumerate(loss.vgg.vgg_layers):
            h = layer(h.clone())
            out[str(i)] = h.clone()
        return out

    def gram(f):
        n, c, hh, ww = f.shape
        f = f.reshape(n, c, hh * ww)
        return f @ f.transpose(1, 2) / (c * hh * ww)

    fx, fg = feats(x), feats(gt)
    exp_p = 2.0 * sum((fx[k] - fg[k]).abs().mean() * w for k, w in {'2': 1.0, '7': 0.5}.items())
    exp_s = 3.0 * sum((gram(fx[k]) - gram(fg[k])).abs().mean() * w
                      for k, w in {'2': 1.0, '7': 0.5}.items())
    assert torch.isclose(percep, exp_p, rtol=1e-5)
    assert torch.isclose(style, exp_s, rtol=1e-5)


def test_perceptual_gradients_reach_input_not_vgg():
    loss = PerceptualLoss(layer_weights={'4': 1.0}, style_weight=0, pretrained=None)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    percep, style = loss(x, torch.rand(1, 3, 8, 8))
    assert style is None
    percep.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.vgg.parameters())


def test_pretrained_from_local_file_roundtrip(tmp_path):
    torch.manual_seed(1)
    src = build_vgg_features('vgg11')
    path = tmp_path / 'my_vgg11.pth'
    torch.save({f'features.{k}': v for k, v in src.state_dict().items()}, path)
    loss = PerceptualLoss(layer_weights={'3': 1.0}, vgg_type='vgg11', pretrained=str(path))
    assert torch.equal(loss.vgg.vgg_layers[3].weight, src[3].weight)
    loss2 = PerceptualLoss(layer_weights={'3': 1.0}, vgg_type='vgg11',
                           pretrained=f'file://{path}')
    assert torch.equal(loss2.vgg.vgg_layers[0].bias, src[0].bias)


def test_offline_error_names_file_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    with pytest.raises(FileNotFoundError) as info:
        resolve_vgg_weights('torchvision://vgg19', 'vgg19')
    msg = str(info.value)
    assert 'vgg19-dcbb9e9d.pth' in msg and 'dcbb9e9d' in msg
    assert str(tmp_path / 'cache') in msg and 'pretrained=None' in msg
    # a file placed in the cache is found without network
    (tmp_path / 'cache').mkdir()
    (tmp_path / 'cache' / 'vgg19-dcbb9e9d.pth').write_bytes(b'x')
    assert resolve_vgg_weights('torchvision://vgg19') == tmp_path / 'cache' / 'vgg19-dcbb9e9d.pth'


def test_corrupt_cached_file_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path))
    (tmp_path / 'vgg11-8a719046.pth').write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='8a719046'):
        PerceptualLoss(layer_weights={'0': 1.0}, vgg_type='vgg11',
                       pretrained='torchvision://vgg11')
