"""ResNet / ViT / MAEViT: shapes, published parameter counts, checkpoint layouts, position
embedding resizing, MAE random masking."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from genforge.models.archs import (
    GlobalAveragePooling,
    MAEViT,
    ResNet,
    ResNet_CIFAR,
    ResNetV1d,
    VisionTransformer,
)
from genforge.models.layers import resize_pos_embed
from genforge.registry import MODELS

REF = str(Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmpretrain')
TINY_VIT = dict(embed_dims=32, num_layers=2, num_heads=4, feedforward_channels=64)


def _n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_published_parameter_counts():
    with torch.device('meta'):
        r50 = ResNet(depth=50)
        vit = VisionTransformer(arch='b', img_size=224, patch_size=16)
    # torchvision resnet50 (25,557,032) minus its fc (2048 * 1000 + 1000)
    assert _n_params(r50) == 25_557_032 - (2048 * 1000 + 1000) == 23_508_032
    assert _n_params(vit) == 85_798_656


@pytest.mark.parametrize('depth,channels', [(18, 512), (50, 2048)])
def test_resnet_stage_shapes(depth, channels):
    net = ResNet(depth=depth, base_channels=8, stem_channels=8, out_indices=(0, 3))
    net.init_weights()
    out = net(torch.randn(2, 3, 32, 32))
    scale = channels // 512  # 1 for BasicBlock, 4 for Bottleneck
    assert [tuple(o.shape) for o in out] == [(2, 8 * scale, 8, 8), (2, 64 * scale, 1, 1)]


def test_resnet_cifar_keeps_resolution_and_matches_reference_layout():
    ref = json.load(open(f'{REF}/resnet/resnet18_8xb16_cifar10.json'))['keys']
    net = ResNet_CIFAR(depth=18)
    ours = {f'backbone.{k}': list(v.shape) for k, v in net.state_dict().items()}
    assert ours == {k: v for k, v in ref.items() if k.startswith('backbone.')}
    assert not hasattr(net, 'maxpool')
    net.eval()
    assert net(torch.randn(1, 3, 32, 32))[0].shape == (1, 512, 4, 4)  # 32 / 8, no stem stride


def test_zero_init_residual_makes_blocks_identity_like():
    net = ResNet_CIFAR(depth=18, base_channels=8, stem_channels=8)
    net.init_weights()
    assert all(float(m.norm2.weight.detach().abs().sum()) == 0 for m in net.modules()
               if type(m).__name__ == 'BasicBlock')


def test_frozen_stages_and_norm_eval():
    net = ResNetV1d(depth=50, base_channels=8, stem_channels=8, frozen_stages=1, norm_eval=True)
    net.train()
    assert not any(p.requires_grad for p in net.stem.parameters())
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert not net.layer3[0].bn1.training  # norm_eval keeps BN statistics frozen


def test_resnet_bad_depth_names_the_value():
    with pytest.raises(KeyError, match='depth=19'):
        MODELS.build(dict(type='ResNet', depth=19))


def test_global_average_pooling_equals_mean():
    x = torch.randn(2, 5, 3, 4)
    gap = GlobalAveragePooling()
    assert torch.allclose(gap(x), x.mean(dim=(2, 3)))
    a, b = gap((x, x * 2))
    assert torch.allclose(b, 2 * a)


@pytest.mark.parametrize('out_type,shape', [('cls_token', (2, 32)), ('raw', (2, 17, 32)),
                                            ('featmap', (2, 32, 4, 4)),
                                            ('avg_featmap', (2, 32))])
def test_vit_out_types(out_type, shape):
    vit = VisionTransformer(arch=TINY_VIT, img_size=16, patch_size=4, out_type=out_type)
    vit.init_weights()
    assert vit(torch.randn(2, 3, 16, 16))[-1].shape == shape


def test_vit_featmap_and_cls_token_are_views_of_raw_tokens():
    torch.manual_seed(0)
    kw = dict(arch=TINY_VIT, img_size=16, patch_size=4)
    raw = VisionTransformer(out_type='raw', **kw).eval()
    fm = VisionTransformer(out_type='featmap', **kw).eval()
    fm.load_state_dict(raw.state_dict())
    x = torch.randn(2, 3, 16, 16)
    tokens = raw(x)[0]
    # featmap (N, C, H, W) -> (N, H*W, C) must equal the patch tokens row-major
    assert torch.allclose(fm(x)[0].flatten(2).transpose(1, 2), tokens[:, 1:], atol=1e-6)


def test_resize_pos_embed_identity_and_bilinear_values():
    pos = torch.randn(1, 1 + 4 * 4, 8)
    assert resize_pos_embed(pos, (4, 4), (4, 4)) is pos
    out = resize_pos_embed(pos, (4, 4), (8, 8), mode='bilinear')
    grid = pos[:, 1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2)
    expect = F.interpolate(grid, size=(8, 8), mode='bilinear', align_corners=False)
    assert torch.equal(out[:, :1], pos[:, :1])
    assert torch.allclose(out[:, 1:], expect.flatten(2).transpose(1, 2))


def test_vit_loads_checkpoint_of_other_image_size_and_runs_other_sizes():
    small = VisionTransformer(arch=TINY_VIT, img_size=16, patch_size=4)
    big = VisionTransformer(arch=TINY_VIT, img_size=32, patch_size=4, interpolate_mode='bilinear')
    big.load_state_dict(small.state_dict(), strict=True)  # 1+16 tokens -> 1+64 tokens
    expect = resize_pos_embed(small.pos_embed.data, (4, 4), (8, 8), mode='bilinear')
    assert torch.allclose(big.pos_embed.data, expect)
    assert big(torch.randn(1, 3, 24, 24))[0].shape == (1, 32)  # resized on the fly: 6x6 patches


def test_vit_layer_depth_for_lr_decay():
    vit = VisionTransformer(arch=TINY_VIT, img_size=16, patch_size=4)
    assert vit.get_layer_depth('backbone.pos_embed', 'backbone.') == (0, 4)
    assert vit.get_layer_depth('backbone.layers.1.attn.qkv.weight', 'backbone.') == (2, 4)
    assert vit.get_layer_depth('head.fc.weight', 'backbone.') == (3, 4)


def test_vit_bad_arch_names_the_choices():
    with pytest.raises(KeyError, match="arch='xxl'"):
        VisionTransformer(arch='xxl')


@pytest.mark.parametrize('mask_ratio', [0.75, 0.5])
def test_random_masking_keeps_share_and_ids_restore_inverts(mask_ratio):
    torch.manual_seed(0)
    vit = MAEViT(arch=TINY_VIT, img_size=16, patch_size=4, mask_ratio=mask_ratio)
    N, L, D = 3, 16, 5
    x = torch.arange(N * L * D, dtype=torch.float32).reshape(N, L, D)
    kept, mask, ids_restore = vit.random_masking(x, mask_ratio)
    n_keep = int(L * (1 - mask_ratio))
    assert kept.shape == (N, n_keep, D)
    assert torch.equal(mask.sum(1), torch.full((N, ), float(L - n_keep)))
    # the kept rows are exactly the rows of x where mask == 0, in shuffled order
    for i in range(N):
        kept_idx = (kept[i, :, 0] / D).long() - i * L
        assert set(kept_idx.tolist()) == set(torch.where(mask[i] == 0)[0].tolist())
    # ids_restore undoes the shuffle: shuffled order gathered by ids_restore is the identity
    ids_shuffle = torch.argsort(ids_restore, dim=1)
    shuffled = torch.gather(x, 1, ids_shuffle.unsqueeze(-1).expand(-1, -1, D))
    restored = torch.gather(shuffled, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))
    assert torch.equal(restored, x)
    assert torch.equal(kept, shuffled[:, :n_keep])


def test_maevit_forward_modes_and_sincos_pos_embed():
    vit = MAEViT(arch=TINY_VIT, img_size=16, patch_size=4, mask_ratio=0.75)
    vit.init_weights()
    latent, mask, ids = vit(torch.randn(2, 3, 16, 16))
    assert latent.shape == (2, 1 + 4, 32) and mask.shape == ids.shape == (2, 16)
    assert vit(torch.randn(2, 3, 16, 16), mask=None)[0].shape == (2, 17, 32)
    assert not vit.pos_embed.requires_grad
    pe = vit.pos_embed[0, 1:]  # sin/cos pairs: sin^2 + cos^2 = 1 per frequency
    q = 32 // 4
    assert torch.allclose(pe[:, :q] ** 2 + pe[:, q:2 * q] ** 2, torch.ones(16, q), atol=1e-6)
