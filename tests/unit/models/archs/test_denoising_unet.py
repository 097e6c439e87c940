"""DenoisingUnet (Improved DDPM): MMagic 1.2 state_dict layout, outputs, blocks vs naive maths."""
import copy
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers everything)
from genforge.models.layers.denoising_blocks import MultiHeadAttention, sinusoidal_embedding
from genforge.registry import MODELS


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Small convs run far faster on one thread than on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# derived by hand from MMagic's source: see derive_denoising_unet_keys.py next to the JSON
REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic' / 'ddpm'
TINY = dict(type='DenoisingUnet', image_size=16, in_channels=3, base_channels=32,
            channels_cfg=[1, 2], resblocks_per_downsample=1, attention_res=[8])


def _randomize(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.05)
    return model


def test_state_dict_layout_matches_mmagic():
    ref = json.loads((REF / 'denoising_unet_tiny.json').read_text())
    model = MODELS.build(ref['config'])
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert got == [(k, v) for k, v in ref['keys'].items()]  # same keys, shapes and order


def test_outputs_split_like_mmgeneration():
    model = _randomize(MODELS.build(TINY))
    x = torch.randn(2, 3, 16, 16)
    out = model(x, torch.tensor([3, 7]))
    assert out['sample'].shape == (2, 6, 16, 16)
    assert torch.equal(out['eps_t_pred'], out['sample'][:, :3])
    assert torch.allclose(out['factor'], (out['sample'][:, 3:] + 1) / 2)
    fixed = MODELS.build(dict(TINY, output_cfg=dict(mean='start_x', var='fixed_small')))
    out = fixed(x, torch.tensor([3, 7]))
    assert out['sample'].shape == (2, 3, 16, 16) and 'x_0_pred' in out and 'factor' not in out


def test_fresh_model_outputs_zero():
    """Improved DDPM zero-initialises the output conv: a fresh U-Net predicts exactly 0."""
    model = MODELS.build(TINY)
    model.init_weights()  # the Runner calls it again: must not undo the zero init
    out = model(torch.randn(2, 3, 16, 16), torch.tensor([0, 5]))['sample']
    assert torch.count_nonzero(out) == 0


def test_rescaled_timesteps_feed_t_times_1000_over_T():
    a = _randomize(MODELS.build(dict(TINY, num_timesteps=4000, use_rescale_timesteps=True)))
    b = MODELS.build(TINY)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 16, 16)
    got = a(x, torch.tensor([400, 3000]))['sample']
    want = b(x, torch.tensor([100., 750.]))['sample']
    assert torch.allclose(got, want, atol=1e-5)


def test_label_embedding_changes_the_output():
    model = _randomize(MODELS.build(dict(TINY, num_classes=3)))
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([5, 5])
    a = model(x, t, label=torch.tensor([0, 0]))['sample']
    b = model(x, t, label=torch.tensor([0, 2]))['sample']
    assert torch.allclose(a[0], b[0]) and not torch.allclose(a[1], b[1])


def test_sinusoidal_embedding_against_loop():
    t = torch.tensor([0, 3, 999])
    dim = 7
    emb = sinusoidal_embedding(t, dim)
    half = dim // 2
    for n, tv in enumerate(t.tolist()):
        for i in range(half):
            freq = math.exp(-math.log(10000) * i / half)
            assert emb[n, i].item() == pytest.approx(math.cos(tv * freq), abs=1e-4)
            assert emb[n, half + i].item() == pytest.approx(math.sin(tv * freq), abs=1e-4)
        assert emb[n, -1].item() == 0


def test_attention_against_sdpa_per_head():
    torch.manual_seed(0)
    attn = MultiHeadAttention(16, num_heads=2, norm_cfg=dict(type='GN', num_groups=4))
    torch.nn.init.normal_(attn.proj.weight)
    x = torch.randn(2, 16, 4, 4)
    qkv = attn.qkv(attn.norm(x.reshape(2, 16, -1)))  # (N, 3C, T)
    # legacy order: heads first, then q/k/v inside each head's 24 channels
    heads = qkv.reshape(2, 2, 24, 16)
    q, k, v = heads[:, :, :8], heads[:, :, 8:16], heads[:, :, 16:]
    h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2),
                                       v.transpose(-1, -2))  # (N, heads, T, 8)
    want = attn.proj(h.transpose(-1, -2).reshape(2, 16, 16)) + x.reshape(2, 16, -1)
    assert torch.allclose(attn(x), want.reshape(2, 16, 4, 4), atol=1e-5)


def test_resblock_updown_resamples():
    model = _randomize(MODELS.build(dict(TINY, resblock_updown=True)))
    assert 'in_blocks.2.0.conv_1.2.weight' in model.state_dict()  # a res block, not a conv
    assert model(torch.randn(1, 3, 16, 16), torch.tensor([1]))['sample'].shape == (1, 6, 16, 16)


def test_bad_inputs_name_the_key():
    with pytest.raises(ValueError, match=r'image_size=20 is not divisible by 2\^3'):
        MODELS.build(dict(TINY, image_size=20, channels_cfg=[1, 2, 2, 2]))
    with pytest.raises(KeyError, match='image_size=48 has no default channels_cfg'):
        MODELS.build(dict(TINY, image_size=48, channels_cfg=None))
    with pytest.raises(ValueError, match="output_cfg.var='learnt'"):
        MODELS.build(dict(TINY, output_cfg=dict(mean='eps', var='learnt')))
    model = MODELS.build(copy.deepcopy(TINY))
    with pytest.raises(ValueError, match='unconditional model'):
        model(torch.randn(1, 3, 16, 16), torch.tensor([1]), label=torch.tensor([0]))
    with pytest.raises(ValueError, match=r'input size \(15, 15\) is not divisible'):
        model(torch.randn(1, 3, 15, 15), torch.tensor([1]))
