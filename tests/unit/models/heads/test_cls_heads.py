"""Classification / MAE heads: targets handed to the loss, predictions, ViT head layout."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genforge.models.heads import (
    ClsHead,
    LinearClsHead,
    MAEPretrainDecoder,
    MAEPretrainHead,
    MultiLabelLinearClsHead,
    VisionTransformerClsHead,
)
from genforge.structures import DataSample


def _samples(labels) -> list[DataSample]:
    return [DataSample().set_gt_label(lb) for lb in labels]


def test_linear_head_cross_entropy_gets_indices():
    torch.manual_seed(0)
    head = LinearClsHead(num_classes=4, in_channels=6, cal_acc=True, topk=(1, 2))
    feats = (torch.randn(3, 6), )
    losses = head.loss(feats, _samples([0, 2, 3]))
    logits = head.fc(feats[0])
    assert torch.allclose(losses['loss'], F.cross_entropy(logits, torch.tensor([0, 2, 3])))
    top1 = (logits.argmax(1) == torch.tensor([0, 2, 3])).float().mean() * 100
    assert torch.isclose(losses['accuracy_top-1'][0], top1)


def test_l1_loss_gets_one_hot_targets():
    # seed 003's closing config: an L1Loss head (MMPretrain stops on a size assertion here)
    head = LinearClsHead(num_classes=4, in_channels=6, loss=dict(type='L1Loss', loss_weight=1.0))
    feats = (torch.randn(3, 6), )
    loss = head.loss(feats, _samples([1, 0, 3]))['loss']
    onehot = F.one_hot(torch.tensor([1, 0, 3]), 4).float()
    assert torch.isclose(loss, (head.fc(feats[0]) - onehot).abs().sum() / 3)


def test_gt_score_wins_over_labels():
    head = ClsHead(loss=dict(type='CrossEntropyLoss', use_soft=True))
    score = torch.tensor([[0.3, 0.7], [1.0, 0.0]])
    samples = [DataSample().set_gt_label(0).set_gt_score(s) for s in score]
    logits = torch.randn(2, 2)
    loss = head.loss((logits, ), samples)['loss']
    assert torch.isclose(loss, -(score * F.log_softmax(logits, 1)).sum(1).mean())


def test_predict_sets_softmax_scores_and_labels():
    head = ClsHead()
    logits = torch.tensor([[1., 3., 0.], [2., 0., 0.]])
    out = head.predict((logits, ))
    assert torch.allclose(torch.stack([s.pred_score for s in out]), logits.softmax(1))
    assert [int(s.pred_label) for s in out] == [1, 0]
    kept = _samples([2, 0])
    out = head.predict((logits, ), kept)
    assert out[0] is kept[0] and int(out[0].gt_label) == 2


def test_multilabel_head_thr_and_topk():
    head = MultiLabelLinearClsHead(num_classes=3, in_channels=2, thr=0.5)
    head.fc.weight.data = torch.eye(3, 2) * 10
    head.fc.bias.data.zero_()
    out = head.predict((torch.tensor([[1., -1.]]), ))[0]
    assert out.pred_label.tolist() == [0, 2]  # sigmoid(0) = 0.5 >= thr for class 2
    loss = head.loss((torch.tensor([[1., -1.]]), ), [DataSample().set_gt_label([0, 1])])['loss']
    target = torch.tensor([[1., 1., 0.]])
    # MMPretrain's reduction with avg_factor = batch size: summed over classes, mean over samples
    assert torch.isclose(loss, F.binary_cross_entropy_with_logits(
        head.fc(torch.tensor([[1., -1.]])), target, reduction='sum') / 1)


def test_vit_head_layers_and_pre_logits():
    head = VisionTransformerClsHead(num_classes=5, in_channels=8, hidden_dim=16)
    head.init_weights()
    assert [k for k in head.state_dict()] == ['layers.pre_logits.weight', 'layers.pre_logits.bias',
                                              'layers.head.weight', 'layers.head.bias']
    assert float(head.layers.head.weight.detach().abs().sum()) == 0  # Constant(val=0) init
    x = torch.randn(2, 8)
    assert torch.allclose(head.pre_logits((x, )), torch.tanh(head.layers.pre_logits(x)))
    # MMPretrain 0.x ViT output [patch_token, cls_token] is accepted too
    assert torch.allclose(head.pre_logits(([torch.zeros(2, 8, 2, 2), x], )),
                          head.pre_logits((x, )))


def test_mae_head_patchify_roundtrip_and_norm_pix_target():
    head = MAEPretrainHead(loss=dict(type='PixelReconstructionLoss', criterion='L2'),
                           norm_pix=True, patch_size=4)
    imgs = torch.randn(2, 3, 8, 8)
    patches = head.patchify(imgs)
    assert patches.shape == (2, 4, 48)
    # patch (row 0, col 1), pixel (0, 0), channel 2 == image[:, 2, 0, 4]
    assert torch.equal(patches[:, 1, 2], imgs[:, 2, 0, 4])
    assert torch.equal(head.unpatchify(patches), imgs)
    t = head.construct_target(imgs)
    assert torch.allclose(t.mean(-1), torch.zeros(2, 4), atol=1e-5)
    with pytest.raises(ValueError, match='divisible by patch_size=4'):
        head.patchify(torch.randn(1, 3, 6, 6))


def test_mae_decoder_restores_order():
    dec = MAEPretrainDecoder(num_patches=4, patch_size=2, in_chans=3, embed_dim=8,
                             decoder_embed_dim=8, decoder_depth=1, decoder_num_heads=2)
    dec.init_weights()
    latent = torch.randn(1, 1 + 2, 8)
    ids_restore = torch.tensor([[2, 0, 3, 1]])
    assert dec(latent, ids_restore).shape == (1, 4, 12)
    assert not dec.decoder_pos_embed.requires_grad
