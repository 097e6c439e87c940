"""StyleGAN2 networks: MMagic 1.2 checkpoint layouts, the mapping network against an independent
NumPy MLP, style mixing / truncation / noise / latent inputs, fp16 flags on CPU, clear errors."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import genforge.models  # noqa: F401  (registers everything)
from genforge.registry import MODELS
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'
SIZES = {'ffhq-1024x1024': 1024, 'lsun-car-384x512': 512}  # the car config pads to 512
JSONS = sorted(p.stem for p in (REF / 'styleganv2').glob('*.json'))


def tiny_g(**kwargs):
    cfg = dict(type='StyleGANv2Generator', out_size=16, style_channels=8, num_mlps=2,
               max_channels=8)
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('name', JSONS)
def test_state_dict_layout_matches_mmagic(name):
    ref = json.loads((REF / 'styleganv2' / f'{name}.json').read_text())['keys']
    ref = {k: v for k, v in ref.items() if k.startswith(('generator.', 'discriminator.'))}
    size = next((s for key, s in SIZES.items() if key in name), 256)
    mine = {}
    with torch.device('meta'):
        nets = dict(generator=MODELS.build(dict(type='StyleGANv2Generator', out_size=size,
                                                style_channels=512)),
                    discriminator=MODELS.build(dict(type='StyleGAN2Discriminator', in_size=size)))
    for part, net in nets.items():
        mine.update({f'{part}.{k}': list(v.shape) for k, v in net.state_dict().items()})
    assert list(mine) == list(ref)  # same keys, same order
    assert mine == ref


def test_mapping_network_matches_numpy_mlp():
    """Equalized LR: w = weight_orig / sqrt(fan_in) * lr_mul, b = bias * lr_mul."""
    torch.manual_seed(0)
    g = tiny_g(lr_mlp=0.01)
    for p in g.style_mapping.parameters():  # non-trivial biases
        p.data.normal_()
    z = torch.randn(3, 8)
    x = z.numpy().astype(np.float64)
    x = x / (np.linalg.norm(x, axis=1, keepdims=True) / math.sqrt(8) + 1e-6)
    for layer in list(g.style_mapping)[1:]:
        w = layer.linear.weight_orig.detach().numpy() / math.sqrt(8) * 0.01
        x = x @ w.T + layer.bias.detach().numpy() * 0.01
        x = np.where(x > 0, x, 0.2 * x) * math.sqrt(2)
    np.testing.assert_allclose(g.style_mapping(z).detach().numpy(), x, rtol=1e-5, atol=1e-6)


def test_latent_input_mixing_and_truncation_agree_with_manual_latents():
    torch.manual_seed(0)
    g = tiny_g().eval()
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    w1, w2 = g.style_mapping(z1), g.style_mapping(z2)
    fixed = dict(randomize_noise=False)
    img = g(z1, **fixed)
    assert img.shape == (2, 3, 16, 16) and img.dtype == torch.float32
    torch.testing.assert_close(g(w1, input_is_latent=True, **fixed), img)
    out = g([z1, z2], inject_index=3, return_latents=True, **fixed)
    assert out['latent'].shape == (2, g.num_latents, 8) == (2, 6, 8) and out['inject_index'] == 3
    manual = torch.cat([w1[:, None].repeat(1, 3, 1), w2[:, None].repeat(1, 3, 1)], 1)
    torch.testing.assert_close(out['latent'], manual)
    torch.testing.assert_close(out['fake_img'], g(manual, input_is_latent=True, **fixed))
    mean = torch.randn(1, 8)
    trunc = g(z1, truncation=0.7, truncation_latent=mean, return_latents=True, **fixed)
    torch.testing.assert_close(trunc['latent'][:, 0], mean + 0.7 * (w1 - mean))
    same = g(torch.randn(4, 8), truncation=0., truncation_latent=mean, **fixed)
    torch.testing.assert_close(same, same[:1].expand_as(same))  # all collapse onto the mean


def test_noise_modes_and_default_sampler():
    torch.manual_seed(0)
    g = tiny_g()
    for name, p in g.named_parameters():
        if 'noise_injector' in name:  # initialised to 0: noise would have no effect
            p.data.fill_(0.5)
    z = torch.randn(2, 8)
    torch.testing.assert_close(g(z, randomize_noise=False), g(z, randomize_noise=False))
    assert not torch.allclose(g(z), g(z))  # fresh noise each call
    noise = g.make_injected_noise()
    torch.testing.assert_close(g(z, injected_noise=noise), g(z, injected_noise=noise))
    assert [n.shape[-1] for n in noise] == [4, 8, 8, 16, 16]
    assert g(None, num_batches=3).shape == (3, 3, 16, 16)
    assert g.default_style_mode == 'mix' and g.eval().default_style_mode == 'single'
    mean = g.get_mean_latent(num_samples=64, bs_per_repeat=32)
    assert mean.shape == (1, 8)
    grid = g.style_mixing(n_source=2, n_target=2, truncation_latent=mean)
    assert grid.shape == (9, 3, 16, 16)


def test_conditional_mapping_and_w_avg():
    torch.manual_seed(0)
    g = tiny_g(cond_size=4)
    label = torch.eye(4)[:2]
    assert g(torch.randn(2, 8), label=label, update_ws=True).shape == (2, 3, 16, 16)
    assert g.w_avg.abs().sum() > 0  # updated from the batch's w
    torch.testing.assert_close(g.get_mean_latent(), g.w_avg)
    with pytest.raises(ValueError, match=r'cond_size=4 needs a label of shape \(N, 4\)'):
        g(torch.randn(2, 8))


def test_fp16_scales_on_cpu_run_in_float32():
    torch.manual_seed(0)
    g = tiny_g(num_fp16_scales=1)
    d = MODELS.build(dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8,
                          num_fp16_scales=2))
    assert g.convs[-1].fp16_enabled and not g.convs[0].fp16_enabled
    img = g(torch.randn(2, 8))
    score = d(img)
    assert img.dtype == score.dtype == torch.float32 and score.shape == (2, 1)
    score.sum().backward()


def test_discriminator_r1_double_backward():
    torch.manual_seed(0)
    d = MODELS.build(dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8))
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    grad, = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    grad.pow(2).sum().backward()
    # every weight shapes dD/dx, except the last bias (a constant offset of the score)
    without_grad = [n for n, p in d.named_parameters() if p.grad is None]
    assert without_grad == ['final_linear.1.bias']
    assert all(torch.isfinite(p.grad).all() for p in d.parameters() if p.grad is not None)


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r'model.generator.out_size=48 must be a power of two'):
        tiny_g(out_size=48)
    with pytest.raises(ValueError, match=r'model.discriminator.in_size=20 must be a power'):
        MODELS.build(dict(type='StyleGAN2Discriminator', in_size=20))
    g = tiny_g()
    with pytest.raises(ValueError, match=r'noise z must have width 8, got .*\(2, 5\)'):
        g(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r'w latent \(input_is_latent=True\) must have width 8'):
        g(torch.randn(2, 6), input_is_latent=True)
    d = MODELS.build(dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8))
    with pytest.raises(ValueError, match=r'must be \(N, 3, 16, 16\).*got \(2, 3, 32, 32\)'):
        d(torch.randn(2, 3, 32, 32))
    ckpt = tmp_path / 'g32.pth'
    torch.save({'state_dict': {f'generator_ema.module.{k}': v for k, v in
                               tiny_g(out_size=32, max_channels=16).state_dict().items()}}, ckpt)
    with pytest.raises(RuntimeError, match=r'(?s)unexpected key.*convs\.4\.conv\.weight_orig.*'
                                           r'size mismatch: constant_input.input: '
                                           r'checkpoint \(1, 16, 4, 4\) vs model \(1, 8, 4, 4\)'):
        tiny_g(pretrained=dict(ckpt_path=str(ckpt), prefix='generator_ema.module'))
    good = tmp_path / 'g16.pth'
    src = tiny_g()
    torch.save({'state_dict': {f'generator.{k}': v for k, v in src.state_dict().items()}}, good)
    loaded = tiny_g(pretrained=dict(ckpt_path=str(good), prefix='generator'))
    z = torch.randn(1, 8)
    torch.testing.assert_close(loaded(z, randomize_noise=False), src(z, randomize_noise=False))


def test_conditional_projection_discriminator():
    torch.manual_seed(0)
    d = MODELS.build(dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8,
                          cond_size=3, cond_mapping_channels=8, cond_mapping_layers=2))
    assert [k for k in d.state_dict()][:2] == ['mapping.embed.weight', 'mapping.embed.bias']
    x = torch.randn(2, 3, 16, 16)
    feats = {}
    d.final_linear.register_forward_hook(lambda m, i, o: feats.update(out=o))
    labels = torch.eye(3)[[0, 2]]
    score = d(x, labels)
    cmap = d.mapping(None, labels)
    torch.testing.assert_close(score, (feats['out'] * cmap).sum(1, keepdim=True) / 8 ** 0.5)
    assert not torch.allclose(score, d(x, torch.eye(3)[[1, 1]]))
    with pytest.raises(ValueError, match='a label is needed'):
        d(x)
