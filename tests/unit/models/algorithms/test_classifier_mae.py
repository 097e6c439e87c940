"""ImageClassifier, batch augments, ClsDataPreprocessor, MAE (incl. 2 epochs of bf16 AMP on CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from genforge.models import ClsDataPreprocessor, CutMix, Mixup, SelfSupDataPreprocessor
from genforge.registry import MODELS
from genforge.structures import DataSample

TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)
CLASSIFIER = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, base_channels=4, stem_channels=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=5, in_channels=32, topk=(1, 3)))


def _batch(n: int = 4, size: int = 8) -> dict:
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
            for _ in range(n)]
    return dict(inputs=imgs, data_samples=[DataSample().set_gt_label(i % 5) for i in range(n)])


@pytest.mark.parametrize('aug', [Mixup(alpha=0.8), CutMix(alpha=1.0)])
def test_batch_augment_scores_sum_to_one_and_match_pixels(aug):
    np.random.seed(0)
    torch.manual_seed(0)
    x = torch.stack([torch.full((1, 8, 8), float(i)) for i in range(4)])  # image i is all i
    scores = torch.eye(4)
    mixed, mixed_scores = aug(x, scores)
    assert torch.allclose(mixed_scores.sum(1), torch.ones(4))
    # each image's mean is the score-weighted mean of the source constants
    assert torch.allclose(mixed.mean(dim=(1, 2, 3)), mixed_scores @ torch.arange(4.), atol=1e-5)


def test_cutmix_lam_is_box_area():
    cm = CutMix(alpha=1.0)
    np.random.seed(3)
    (y1, y2, x1, x2), lam = cm.cutmix_bbox_and_lam((10, 20), 0.6)
    assert np.isclose(lam, 1 - (y2 - y1) * (x2 - x1) / 200)


def test_cls_preprocessor_normalises_and_adds_onehot():
    pre = ClsDataPreprocessor(mean=[10., 20., 30.], std=[2., 4., 5.], to_rgb=True,
                              num_classes=5, to_onehot=True)
    batch = _batch()
    out = pre(batch, training=False)
    x = torch.stack(batch['inputs']).float().flip(1)  # BGR -> RGB
    expect = (x - torch.tensor([10., 20., 30.]).view(1, 3, 1, 1)) / \
        torch.tensor([2., 4., 5.]).view(1, 3, 1, 1)
    assert torch.allclose(out['inputs'], expect)
    assert torch.equal(out['data_samples'][3].gt_score, torch.eye(5)[3])


def test_classifier_modes_and_mixup_training():
    torch.manual_seed(0)
    cfg = dict(CLASSIFIER, train_cfg=dict(augments=[dict(type='Mixup', alpha=0.8),
                                                    dict(type='CutMix', alpha=1.0)]),
               head=dict(CLASSIFIER['head'], loss=dict(type='CrossEntropyLoss', use_soft=True)))
    model = MODELS.build(cfg)
    model.init_weights()
    assert type(model.data_preprocessor).__name__ == 'ClsDataPreprocessor'
    data = model.data_preprocessor(_batch(), training=True)
    assert all(s.gt_score.shape == (5, ) for s in data['data_samples'])
    assert torch.allclose(torch.stack([s.gt_score for s in data['data_samples']]).sum(1),
                          torch.ones(4))
    assert 'loss' in model(**data, mode='loss')
    x = data['inputs']
    assert model(x).shape == (4, 5)
    assert model.extract_feat(x, stage='backbone')[0].shape == (4, 32, 1, 1)
    assert torch.allclose(model.extract_feat(x, stage='pre_logits'),
                          model.extract_feat(x)[0])
    preds = model(x, mode='predict')
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), model(x).softmax(1))
    with pytest.raises(ValueError, match='stage='):
        model.extract_feat(x, stage='fc')


def test_train_step_lowers_loss():
    from genforge.optim import OptimWrapper
    torch.manual_seed(0)
    model = MODELS.build(CLASSIFIER)
    model.init_weights()
    ow = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    losses = [model.train_step(_batch(), ow)['loss'].item() for _ in range(10)]
    assert losses[-1] < losses[0]


def _mae_cfg() -> dict:
    return dict(
        type='MAE',
        backbone=dict(type='MAEViT', arch=TINY_VIT, img_size=16, patch_size=4, mask_ratio=0.75),
        neck=dict(type='MAEPretrainDecoder', num_patches=16, patch_size=4, in_chans=3,
                  embed_dim=32, decoder_embed_dim=16, decoder_depth=1, decoder_num_heads=2),
        head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=4,
                  loss=dict(type='PixelReconstructionLoss', criterion='L2')),
        data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[127.5] * 3,
                               std=[127.5] * 3, to_rgb=True),
        init_cfg=[dict(type='Xavier', layer='Linear', distribution='uniform'),
                  dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)])


def test_mae_loss_and_tensor_mode():
    torch.manual_seed(0)
    mae = MODELS.build(_mae_cfg())
    mae.init_weights()
    data = mae.data_preprocessor(dict(inputs=torch.randint(0, 256, (2, 3, 16, 16),
                                                           dtype=torch.uint8)), True)
    loss = mae(**data, mode='loss')['loss']
    assert loss.ndim == 0 and loss > 0
    assert mae(data['inputs'])[0].shape == (2, 17, 32)  # no masking in 'tensor' mode
    views = SelfSupDataPreprocessor(mean=[1.] * 3, std=[2.] * 3)(
        dict(inputs=[torch.ones(2, 3, 4, 4), torch.zeros(2, 3, 4, 4)]))['inputs']
    assert torch.allclose(views[0], torch.zeros(2, 3, 4, 4))
    assert torch.allclose(views[1], torch.full((2, 3, 4, 4), -0.5))


def test_mae_two_epochs_bf16_amp_on_cpu(tmp_path):
    from genforge.runner import Runner

    class _Images(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            g = torch.Generator().manual_seed(i)
            return dict(inputs=torch.randint(0, 256, (3, 16, 16), generator=g,
                                             dtype=torch.uint8), data_samples=DataSample())

    torch.manual_seed(0)
    runner = Runner(
        model=_mae_cfg(), work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_Images(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic',
                           optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95),
                                          weight_decay=0.05)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)))
    seen = []
    orig = runner.model.head.loss

    def spy(pred, target, mask):
        seen.append(pred.dtype)
        return orig(pred, target, mask)
    runner.model.head.loss = spy
    runner.train()
    assert runner.epoch == 2 and runner.iter == 4
    assert torch.bfloat16 in seen  # the decoder ran under bf16 autocast
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())
