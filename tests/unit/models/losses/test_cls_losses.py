"""Classification losses against closed forms and torch's own implementations."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genforge.models.losses import (
    CrossEntropyLoss,
    L1Loss,
    LabelSmoothLoss,
    MSELoss,
    PixelReconstructionLoss,
    weighted_loss,
)
from genforge.registry import MODELS


@pytest.fixture
def logits_labels():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 5, generator=g), torch.tensor([0, 3, 1, 4])


def _np_log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=1, keepdims=True))


def test_cross_entropy_equals_numpy(logits_labels):
    logits, labels = logits_labels
    ref = -_np_log_softmax(logits.numpy())[np.arange(4), labels.numpy()]
    loss = CrossEntropyLoss()(logits, labels)
    assert np.isclose(loss.item(), ref.mean(), atol=1e-6)
    # avg_factor as ClsHead passes it: sum / N; sample weights multiply each term
    w = torch.tensor([1., 0., 2., 1.])
    loss_w = CrossEntropyLoss(loss_weight=2.)(logits, labels, weight=w, avg_factor=4)
    assert np.isclose(loss_w.item(), 2 * (ref * w.numpy()).sum() / 4, atol=1e-6)
    assert CrossEntropyLoss()(logits, labels, reduction_override='none').shape == (4, )


def test_cross_entropy_class_weight_matches_torch(logits_labels):
    logits, labels = logits_labels
    cw = [1., 2., 0.5, 1., 3.]
    loss = CrossEntropyLoss(class_weight=cw, reduction='sum')(logits, labels)
    ref = F.cross_entropy(logits, labels, weight=torch.tensor(cw), reduction='sum')
    assert torch.allclose(loss, ref)


def test_soft_and_sigmoid_cross_entropy(logits_labels):
    logits, labels = logits_labels
    onehot = F.one_hot(labels, 5).float()
    soft = CrossEntropyLoss(use_soft=True)(logits, onehot)
    assert torch.allclose(soft, F.cross_entropy(logits, labels))
    bce = CrossEntropyLoss(use_sigmoid=True)(logits, onehot)
    p = 1 / (1 + np.exp(-logits.numpy()))
    ref = -(onehot.numpy() * np.log(p) + (1 - onehot.numpy()) * np.log(1 - p)).mean()
    assert np.isclose(bce.item(), ref, atol=1e-6)
    with pytest.raises(ValueError, match='use_sigmoid and use_soft'):
        CrossEntropyLoss(use_sigmoid=True, use_soft=True)


@pytest.mark.parametrize('mode', ['original', 'classy_vision'])
def test_label_smoothing_equals_closed_form(logits_labels, mode):
    logits, labels = logits_labels
    eps, k = 0.1, 5
    e = eps / (1 + eps) if mode == 'classy_vision' else eps
    logp = _np_log_softmax(logits.numpy())
    target = np.full((4, k), e / k)
    target[np.arange(4), labels.numpy()] += 1 - e
    ref = -(target * logp).sum(1).mean()
    loss = LabelSmoothLoss(label_smooth_val=eps, mode=mode)(logits, labels)
    assert np.isclose(loss.item(), ref, atol=1e-6)
    if mode == 'original':  # torch's label_smoothing is the same 'original' formula
        assert torch.allclose(loss, F.cross_entropy(logits, labels, label_smoothing=eps))


def test_label_smooth_multi_label_and_errors(logits_labels):
    logits, _ = logits_labels
    target = torch.zeros(4, 5)
    target[:, 1] = 1
    loss = LabelSmoothLoss(0.2, mode='multi_label', use_sigmoid=True)(logits, target)
    smoothed = torch.full((4, 5), 0.2)
    smoothed[:, 1] = 0.8
    assert torch.allclose(loss, F.binary_cross_entropy_with_logits(logits, smoothed))
    with pytest.raises(ValueError, match='label_smooth_val'):
        LabelSmoothLoss(label_smooth_val=1)
    with pytest.raises(ValueError, match='num_classes=3'):
        LabelSmoothLoss(0.1, num_classes=3)(logits, torch.tensor([0, 1, 2, 0]))


def test_l1_mse_accept_both_call_styles():
    pred = torch.tensor([[0., 2.], [3., 1.]])
    target = torch.tensor([[1., 0.], [0., 1.]])
    w = torch.tensor([[1., 0.], [1., 1.]])
    diff = (pred - target).abs()
    # MMagic style: weighted-region mean
    assert torch.isclose(L1Loss()(pred, target, w), (diff * w).sum() / w.sum())
    # MMPretrain style: sum / avg_factor, reduction_override
    assert torch.isclose(L1Loss(loss_weight=2.)(pred, target, avg_factor=2), 2 * diff.sum() / 2)
    assert torch.isclose(MSELoss()(pred, target, w, reduction_override='sum'),
                         ((pred - target) ** 2 * w).sum())
    assert MODELS.get('L1Loss') is L1Loss  # one registered class serves both libraries


def test_weighted_loss_decorator_mmpretrain_signature():
    @weighted_loss
    def l1(pred, target):
        return (pred - target).abs()

    pred, target = torch.tensor([1., 4., 0.]), torch.tensor([0., 0., 0.])
    w = torch.tensor([1., 0.5, 0.])
    assert torch.isclose(l1(pred, target), torch.tensor(5 / 3))
    assert torch.isclose(l1(pred, target, w), torch.tensor(3 / 3))
    assert torch.isclose(l1(pred, target, w, avg_factor=2.), torch.tensor(3 / 2))
    assert torch.equal(l1(pred, target, reduction='none'), torch.tensor([1., 4., 0.]))


def test_pixel_reconstruction_loss_masked_mean():
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 6, 4, generator=g), torch.randn(2, 6, 4, generator=g)
    mask = torch.tensor([[1., 0, 1, 0, 0, 1], [0, 0, 0, 1, 1, 0]])
    per_patch = ((pred - target) ** 2).mean(-1)
    expect = per_patch[mask.bool()].mean()
    assert torch.isclose(PixelReconstructionLoss('L2')(pred, target, mask), expect)
    l1 = PixelReconstructionLoss('L1')(pred, target)
    assert torch.isclose(l1, (pred - target).abs().mean())
    with pytest.raises(NotImplementedError, match="'L3'"):
        PixelReconstructionLoss('L3')
