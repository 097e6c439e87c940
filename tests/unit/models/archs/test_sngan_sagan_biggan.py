"""SNGAN-proj / SAGAN / BigGAN(-deep) networks: MMagic checkpoint layouts, shapes, init, noise."""
import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import genforge.models  # noqa: F401  (registers everything)
from genforge.registry import MODELS

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'

# generator / discriminator arguments of MMagic's configs (_base_ + the config's overrides);
# num_classes comes from the model as BaseConditionalGAN passes it (default argument)
SN32 = dict(num_classes=10, noise_size=128,
            generator=dict(type='SNGANGenerator', output_scale=32, base_channels=256),
            discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=128))
SN128 = dict(num_classes=1000, noise_size=128,
             generator=dict(type='SNGANGenerator', output_scale=128, base_channels=64),
             discriminator=dict(type='ProjDiscriminator', input_scale=128, base_channels=64))
ATT = dict(attention_cfg=dict(type='SelfAttentionBlock'), with_spectral_norm=True)
SA32 = dict(num_classes=10, noise_size=128,
            generator=dict(type='SAGANGenerator', output_scale=32, base_channels=256,
                           attention_after_nth_block=2, **ATT),
            discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=128,
                               attention_after_nth_block=1, **ATT))
SA128 = dict(num_classes=1000, noise_size=128,
             generator=dict(type='SAGANGenerator', output_scale=128, base_channels=64,
                            attention_after_nth_block=4, **ATT),
             discriminator=dict(type='ProjDiscriminator', input_scale=128, base_channels=64,
                                attention_after_nth_block=1, **ATT))
SA128_BIGGAN_SCH = copy.deepcopy(SA128)
SA128_BIGGAN_SCH['generator'].update(init_cfg=dict(type='BigGAN'), norm_eps=1e-5, sn_eps=1e-8,
                                     auto_sync_bn=False, with_embedding_spectral_norm=False)
SA128_BIGGAN_SCH['discriminator'].update(init_cfg=dict(type='BigGAN'), sn_eps=1e-8)
BG32 = dict(num_classes=10, generator=dict(
    type='BigGANGenerator', output_scale=32, noise_size=128, base_channels=64,
    with_shared_embedding=False, sn_eps=1e-8, sn_style='torch', init_type='N02',
    split_noise=False, auto_sync_bn=False), discriminator=dict(
    type='BigGANDiscriminator', input_scale=32, base_channels=64, sn_eps=1e-8, sn_style='torch',
    init_type='N02', with_spectral_norm=True))
RELU = dict(type='ReLU', inplace=True)
BG128 = dict(num_classes=1000, generator=dict(
    type='BigGANGenerator', output_scale=128, noise_size=120, base_channels=96, shared_dim=128,
    with_shared_embedding=True, sn_eps=1e-6, init_type='ortho', act_cfg=RELU, split_noise=True,
    auto_sync_bn=False), discriminator=dict(
    type='BigGANDiscriminator', input_scale=128, base_channels=96, sn_eps=1e-6,
    init_type='ortho', act_cfg=RELU, with_spectral_norm=True))
BG128_CVT = copy.deepcopy(BG128)
for part in ('generator', 'discriminator'):
    BG128_CVT[part].pop('init_type')
    BG128_CVT[part]['init_cfg'] = dict(type='ortho')  # MMagic 1.x spelling


def deep(scale):
    return dict(num_classes=1000, generator=dict(
        type='BigGANDeepGenerator', output_scale=scale, noise_size=128, base_channels=128,
        shared_dim=128, with_shared_embedding=True, sn_eps=1e-6, sn_style='torch', act_cfg=RELU,
        concat_noise=True, auto_sync_bn=False, rgb2bgr=True), discriminator=dict(
        type='BigGANDeepDiscriminator', input_scale=scale, base_channels=128, sn_eps=1e-6,
        sn_style='torch', act_cfg=RELU, with_spectral_norm=True))


CASES = {
    'sngan_proj/sngan-proj-cvt-studioGAN_cifar10-32x32': SN32,
    'sngan_proj/sngan-proj-cvt-studioGAN_imagenet1k-128x128': SN128,
    'sngan_proj/sngan-proj_wReLUinplace_Glr2e-4_Dlr5e-5_ndisc5-2xb128_imagenet1k-128x128': SN128,
    'sngan_proj/sngan-proj_wReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32': SN32,
    'sngan_proj/sngan-proj_woReLUinplace_Glr2e-4_Dlr5e-5_ndisc5-2xb128_imagenet1k-128x128': SN128,
    'sngan_proj/sngan-proj_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32': SN32,
    'sagan/sagan_128_cvt_studioGAN': SA128,
    'sagan/sagan_cvt-studioGAN_cifar10-32x32': SA32,
    'sagan/sagan_wReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32': SA32,
    'sagan/sagan_woReLUinplace-Glr1e-4_Dlr4e-4_noaug-ndisc1-8xb32-bigGAN-sch_imagenet1k-128x128':
        SA128_BIGGAN_SCH,
    'sagan/sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128': SA128,
    'sagan/sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32': SA32,
    'biggan/biggan_2xb25-500kiters_cifar10-32x32': BG32,
    'biggan/biggan_ajbrock-sn_8xb32-1500kiters_imagenet1k-128x128': BG128,
    'biggan/biggan_cvt-BigGAN-PyTorch-rgb_imagenet1k-128x128': BG128_CVT,
    'biggan/biggan-deep_cvt-hugging-face-rgb_imagenet1k-128x128': deep(128),
    'biggan/biggan-deep_cvt-hugging-face_rgb_imagenet1k-256x256': deep(256),
    'biggan/biggan-deep_cvt-hugging-face_rgb_imagenet1k-512x512': deep(512),
}


def test_every_reference_json_is_covered():
    on_disk = {f'{p.parent.name}/{p.stem}' for d in ('sngan_proj', 'sagan', 'biggan')
               for p in (REF / d).glob('*.json')}
    assert on_disk == set(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_state_dict_layout_matches_mmagic(name):
    cfg = CASES[name]
    ref = json.loads((REF / f'{name}.json').read_text())['keys']
    ref = {k: v for k, v in ref.items() if not k.startswith('generator_ema.')}
    mine = {}
    with torch.device('meta'):  # full size, no memory, no forward
        for part in ('generator', 'discriminator'):
            defaults = dict(num_classes=cfg['num_classes'])
            if part == 'generator' and 'noise_size' in cfg:
                defaults['noise_size'] = cfg['noise_size']
            net = MODELS.build(cfg[part], default_args=defaults)
            mine.update({f'{part}.{k}': list(v.shape) for k, v in net.state_dict().items()})
    assert list(mine) == list(ref)  # same keys in the same order
    assert mine == ref


TINY = [
    dict(type='SNGANGenerator', output_scale=32, base_channels=8, num_classes=3, noise_size=16),
    dict(type='SAGANGenerator', output_scale=32, base_channels=16, num_classes=3, noise_size=16,
         attention_after_nth_block=2, with_spectral_norm=True, init_cfg=dict(type='studio')),
    dict(type='SNGANGenerator', output_scale=32, base_channels=8, num_classes=0, noise_size=16,
         use_cbn=False, init_cfg=dict(type='SNGAN')),
    dict(type='BigGANGenerator', output_scale=32, base_channels=4, num_classes=3, noise_size=20,
         shared_dim=8, sn_style='ajbrock'),
    dict(type='BigGANGenerator', output_scale=32, base_channels=4, num_classes=0, noise_size=16,
         with_shared_embedding=False, sn_style='torch', init_type='xavier'),
    dict(type='BigGANGenerator', output_scale=64, base_channels=4, num_classes=3, noise_size=10,
         shared_dim=8, with_shared_embedding=False, split_noise=False, init_type='N02'),
    dict(type='BigGANDeepGenerator', output_scale=32, base_channels=8, num_classes=3,
         noise_size=8, shared_dim=8, sn_style='torch'),
    dict(type='BigGANDeepGenerator', output_scale=32, base_channels=8, num_classes=0,
         noise_size=8, with_shared_embedding=False, concat_noise=False),
]
TINY_D = {
    'SNGANGenerator': dict(type='ProjDiscriminator', input_scale=32, base_channels=8),
    'SAGANGenerator': dict(type='SAGANDiscriminator', input_scale=32, base_channels=16,
                           attention_after_nth_block=[1, 2]),
    'BigGANGenerator': dict(type='BigGANDiscriminator', base_channels=4),
    'BigGANDeepGenerator': dict(type='BigGANDeepDiscriminator', input_scale=32, base_channels=8),
}


@pytest.mark.parametrize('gen_cfg', TINY, ids=lambda c: f"{c['type']}-{c['num_classes']}")
def test_tiny_networks_forward_and_backward(gen_cfg):
    torch.manual_seed(0)
    gen = MODELS.build(gen_cfg)
    gen.init_weights()
    scale = gen_cfg['output_scale']
    d_cfg = dict(TINY_D[gen_cfg['type']], num_classes=gen_cfg['num_classes'])
    d_cfg.setdefault('input_scale', scale)
    disc = MODELS.build(d_cfg)
    disc.init_weights()
    label = torch.tensor([0, 2]) if gen_cfg['num_classes'] else None
    out = gen(None, num_batches=2, label=label, return_noise=True)
    img = out['fake_img']
    assert img.shape == (2, 3, scale, scale)
    assert float(img.detach().abs().max()) <= 1.0 and torch.isfinite(img).all()
    assert out['noise_batch'].shape == (2, gen.noise_size)
    score = disc(img, label=label)
    assert score.shape == (2, 1) and torch.isfinite(score).all()
    score.sum().backward()
    grads = [p.grad for p in gen.parameters() if p.requires_grad]
    assert any(g is not None and float(g.abs().sum()) > 0 for g in grads)


def _capture_block_inputs(gen, noise, label):
    seen = []
    hooks = [b.register_forward_hook(lambda m, args, out: seen.append(args[1]))
             for b in gen.conv_blocks if type(b).__name__.endswith('GenResBlock')]
    gen(noise, label=label)
    for h in hooks:
        h.remove()
    return seen


def test_biggan_split_noise_and_shared_embedding():
    torch.manual_seed(1)
    gen = MODELS.build(dict(type='BigGANGenerator', output_scale=32, base_channels=4,
                            num_classes=5, noise_size=22, shared_dim=6))
    assert gen.noise_size == 20 and gen.noise_chunk_size == 5  # 4 slots: 22 -> 20
    noise, label = torch.randn(3, 20), torch.tensor([4, 0, 2])
    ys = _capture_block_inputs(gen, noise, label)
    emb = gen.shared_embedding(label)
    assert len(ys) == 3
    for i, y in enumerate(ys):  # block i sees cat(embedding, chunk i + 1)
        torch.testing.assert_close(y, torch.cat([emb, noise[:, 5 * (i + 1):5 * (i + 2)]], 1))
    # the first chunk alone feeds the input linear
    assert gen.noise2feat.in_features == 5


def test_biggan_deep_concatenates_noise_and_embedding():
    gen = MODELS.build(dict(type='BigGANDeepGenerator', output_scale=32, base_channels=8,
                            num_classes=4, noise_size=6, shared_dim=5))
    noise, label = torch.randn(2, 6), torch.tensor([1, 3])
    ys = _capture_block_inputs(gen, noise, label)
    expected = torch.cat([noise, gen.shared_embedding(label)], 1)
    assert len(ys) == 6 and all(torch.equal(y, expected) for y in ys)


def test_truncation_and_rgb2bgr():
    torch.manual_seed(2)
    cfg = dict(type='BigGANGenerator', output_scale=32, base_channels=4, num_classes=3,
               noise_size=20, shared_dim=8)
    gen, flipped = MODELS.build(cfg), MODELS.build(dict(cfg, rgb2bgr=True))
    flipped.load_state_dict(gen.state_dict())
    gen.eval(), flipped.eval()
    noise, label = torch.randn(2, 20) * 3, torch.tensor([0, 1])
    out = gen(noise, label=label, truncation=0.5, return_noise=True)
    assert float(out['noise_batch'].abs().max()) <= 0.5
    torch.testing.assert_close(flipped(noise, label=label), gen(noise, label=label).flip(1))


def _is_orthogonal(w: torch.Tensor) -> bool:
    w = w.detach().reshape(w.shape[0], -1)
    w = w if w.shape[0] <= w.shape[1] else w.t()
    return torch.allclose(w @ w.t(), torch.eye(w.shape[0]), atol=1e-4)


@pytest.mark.parametrize('spelling', [dict(init_type='ortho'), dict(init_cfg=dict(type='ortho')),
                                      {}])
def test_biggan_accepts_both_init_spellings(spelling):
    torch.manual_seed(3)
    disc = MODELS.build(dict(type='BigGANDiscriminator', input_scale=32, base_channels=4,
                             num_classes=3, sn_style='torch', **spelling))
    disc.init_weights()
    assert disc.init_type == 'ortho'
    assert _is_orthogonal(disc.conv_blocks[1].conv1.conv.weight_orig)
    assert _is_orthogonal(disc.proj_y.weight_orig)


def test_biggan_init_errors_and_n02():
    with pytest.raises(ValueError, match="init_type='N02'.*'ortho'"):
        MODELS.build(dict(type='BigGANDiscriminator', input_scale=32, init_type='N02',
                          init_cfg=dict(type='ortho')))
    with pytest.raises(NotImplementedError, match="'kaiming'"):
        MODELS.build(dict(type='BigGANDiscriminator', input_scale=32, init_type='kaiming'))
    torch.manual_seed(4)
    gen = MODELS.build(dict(type='BigGANGenerator', output_scale=32, base_channels=16,
                            num_classes=0, noise_size=16, with_shared_embedding=False,
                            sn_style='torch', init_type='N02'))
    gen.init_weights()
    w = gen.conv_blocks[0].conv1.conv.weight_orig.detach().numpy()
    assert np.std(w) == pytest.approx(0.02, rel=0.05) and abs(np.mean(w)) < 2e-3
    assert float(gen.conv_blocks[0].conv1.conv.bias.detach().abs().max()) == 0


def test_sngan_init_styles():
    torch.manual_seed(5)
    gen = MODELS.build(dict(type='SNGANGenerator', output_scale=32, base_channels=8,
                            num_classes=3, noise_size=16, init_cfg=dict(type='SNGAN')))
    gen.init_weights()
    block = gen.conv_blocks[0]
    assert torch.all(block.norm_1.weight_embedding.weight == 1)
    assert torch.all(block.norm_1.bias_embedding.weight == 0)
    # xavier uniform bound sqrt(6 / (fan_in + fan_out)) * gain, gain sqrt(2) for the 3x3 convs
    w = block.conv_1.conv.weight.detach()
    bound = np.sqrt(2) * np.sqrt(6 / (8 * 9 + 8 * 9))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.9 * bound
    studio = MODELS.build(dict(type='ProjDiscriminator', input_scale=32, base_channels=8,
                               num_classes=3, init_cfg=dict(type='studio')))
    studio.init_weights()
    assert _is_orthogonal(studio.conv_blocks[0].conv_1.conv.weight_orig)
    assert float(studio.conv_blocks[0].conv_1.conv.bias.detach().abs().max()) == 0
    with pytest.raises(NotImplementedError, match="'foo'"):
        MODELS.build(dict(type='ProjDiscriminator', input_scale=32, init_cfg=dict(type='foo')))
