"""UnetGenerator / ResnetGenerator / PatchDiscriminator: MMagic layouts, forward vs functional ops."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genforge.models  # noqa: F401  (registers everything)
from genforge.models.utils import generation_init_weights
from genforge.registry import MODELS

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'
JSONS = sorted((REF / 'pix2pix').glob('*.json')) + sorted((REF / 'cyclegan').glob('*.json'))

# _base_/models/base_pix2pix.py and base_cyclegan.py of MMagic 1.2
PIX2PIX_G = dict(type='UnetGenerator', in_channels=3, out_channels=3, num_down=8, base_channels=64,
                 norm_cfg=dict(type='BN'), use_dropout=True, init_cfg=dict(type='normal', gain=0.02))
PIX2PIX_D = dict(type='PatchDiscriminator', in_channels=6, base_channels=64, num_conv=3,
                 norm_cfg=dict(type='BN'), init_cfg=dict(type='normal', gain=0.02))
CYCLE_G = dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=64,
               norm_cfg=dict(type='IN'), use_dropout=False, num_blocks=9, padding_mode='reflect',
               init_cfg=dict(type='normal', gain=0.02))
CYCLE_D = dict(type='PatchDiscriminator', in_channels=3, base_channels=64, num_conv=3,
               norm_cfg=dict(type='IN'), init_cfg=dict(type='normal', gain=0.02))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convolutions run several times faster on one thread than on two contended ones."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _domains(keys):
    out = []
    for k in keys:
        d = k.split('.')[1]
        if k.startswith('generators.') and d not in out:
            out.append(d)
    return out


@pytest.mark.parametrize('path', JSONS, ids=lambda p: p.stem)
def test_layout_equals_mmagic(path):
    ref = json.loads(path.read_text())
    g, d = (PIX2PIX_G, PIX2PIX_D) if ref['model_type'] == 'Pix2Pix' else (CYCLE_G, CYCLE_D)
    with torch.device('meta'):  # full-size networks, no memory or init cost
        holder = nn.Module()
        doms = _domains(ref['keys'])
        holder.generators = nn.ModuleDict({k: MODELS.build(g) for k in doms})
        holder.discriminators = nn.ModuleDict({k: MODELS.build(d) for k in doms})
    got = [(k, list(v.shape)) for k, v in holder.state_dict().items()]
    assert got == [(k, v) for k, v in ref['keys'].items()]


def _norm(x, mod):
    """Eval-mode BN from running stats, or affine-free IN, written with plain tensor ops."""
    if mod is None:
        return x
    if isinstance(mod, nn.BatchNorm2d):
        shape = (1, -1, 1, 1)
        return (x - mod.running_mean.view(shape)) / torch.sqrt(mod.running_var.view(shape) + mod.eps) \
            * mod.weight.view(shape) + mod.bias.view(shape)
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + mod.eps)


def _unet_ref(block, x):
    """The U-Net recursion written out: the skip branch is LeakyReLU(x) (MMagic's in-place act)."""
    down, up = block.model[0], [m for m in block.model if hasattr(m, 'conv')][-1]
    inner = [m for m in block.model[1:] if type(m).__name__ == 'UnetSkipConnectionBlock']
    h = x if block.is_outermost else torch.where(x > 0, x, 0.2 * x)
    d = _norm(F.conv2d(h, down.conv.weight, down.conv.bias, stride=2, padding=1), down.norm)
    mid = _unet_ref(inner[0], d) if inner else d
    u = F.conv_transpose2d(mid.clamp(min=0), up.conv.weight, up.conv.bias, stride=2, padding=1)
    u = _norm(u, up.norm)
    return torch.tanh(u) if block.is_outermost else torch.cat([h, u], 1)


def _randomise_bn(net):
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@torch.no_grad()
def test_unet_forward_matches_functional_recursion():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='UnetGenerator', in_channels=3, out_channels=2, num_down=6,
                            base_channels=4, use_dropout=True))
    net.init_weights()
    _randomise_bn(net)
    net.eval()
    x = torch.randn(2, 3, 64, 64)
    out = net(x)
    assert out.shape == (2, 2, 64, 64)
    torch.testing.assert_close(out, _unet_ref(net.model, x), rtol=1e-4, atol=1e-5)
    # the skip concat carries LeakyReLU(x): feeding x unchanged gives a different result
    assert not torch.allclose(net.model.model[1](net.model.model[0](x))[:, :4],
                              net.model.model[0](x))


@torch.no_grad()
def test_resnet_generator_matches_functional():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=4,
                            num_blocks=2))
    net.init_weights()
    net.eval()
    x = torch.randn(1, 3, 16, 20)
    m = net.model

    def conv(mod, h, pad_reflect=0, stride=1, padding=0):
        if pad_reflect:
            h = F.pad(h, [pad_reflect] * 4, mode='reflect')
        return F.conv2d(h, mod.conv.weight, mod.conv.bias, stride=stride, padding=padding)

    h = _norm(conv(m[0], x, pad_reflect=3), m[0].norm).relu()
    h = _norm(conv(m[1], h, stride=2, padding=1), m[1].norm).relu()
    h = _norm(conv(m[2], h, stride=2, padding=1), m[2].norm).relu()
    for blk in (m[3], m[4]):
        r = _norm(conv(blk.block[0], h, pad_reflect=1), blk.block[0].norm).relu()
        h = h + _norm(conv(blk.block[1], r, pad_reflect=1), blk.block[1].norm)
    for up in (m[5], m[6]):
        h = F.conv_transpose2d(h, up.conv.weight, up.conv.bias, stride=2, padding=1,
                               output_padding=1)
        h = _norm(h, up.norm).relu()
    ref = torch.tanh(conv(m[7], h, pad_reflect=3))
    torch.testing.assert_close(net(x), ref, rtol=1e-4, atol=1e-5)
    assert net(x).shape == x.shape


@pytest.mark.parametrize('num_conv,size', [(3, 64), (2, 32), (4, 64)])
def test_patch_discriminator_map_size(num_conv, size):
    net = MODELS.build(dict(type='PatchDiscriminator', in_channels=6, base_channels=4,
                            num_conv=num_conv))
    out = net(torch.randn(1, 6, size, size))
    s = size
    for _ in range(num_conv):
        s = (s + 2 - 4) // 2 + 1
    s = s - 1  # two stride-1 4x4 convs with padding 1 each shrink by 1
    s = s - 1
    assert out.shape == (1, 1, s, s)
    assert net.model[-1].out_channels == 1
    assert net.model[num_conv].conv.out_channels == 4 * min(2 ** num_conv, 8)


def test_generation_init_weights_rules():
    torch.manual_seed(0)
    net = MODELS.build(dict(type='PatchDiscriminator', in_channels=3, base_channels=16,
                            norm_cfg=dict(type='BN')))
    net.init_weights()
    w = net.model[3].conv.weight  # 128x64x4x4: enough samples for the std
    assert abs(w.std().item() - 0.02) < 1e-3 and abs(w.mean().item()) < 1e-3
    assert torch.count_nonzero(net.model[0].conv.bias) == 0
    bn = net.model[2].bn.weight
    assert abs(bn.mean().item() - 1.0) < 0.02 and torch.count_nonzero(net.model[2].bn.bias) == 0
    # orthogonal on bias-free convs (MMagic assumed a bias here)
    generation_init_weights(net, init_type='orthogonal', init_gain=1.0)
    w2 = net.model[1].conv.weight.flatten(1)  # (32, 256): orthonormal rows
    torch.testing.assert_close(w2 @ w2.T, torch.eye(32), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='init_cfg.type'):
        generation_init_weights(net, init_type='uniformish')


def test_norm_cfg_errors_name_the_network():
    with pytest.raises(TypeError, match='UnetGenerator: norm_cfg'):
        MODELS.build(dict(type='UnetGenerator', in_channels=3, out_channels=3, norm_cfg='BN'))
    with pytest.raises(ValueError, match='num_down=4'):
        MODELS.build(dict(type='UnetGenerator', in_channels=3, out_channels=3, num_down=4))


@pytest.mark.parametrize('path', JSONS, ids=lambda p: p.stem)
def test_shipped_config_builds_the_mmagic_layout(path):
    """The whole algorithm from configs/<the recorded config>: same keys and shapes, no extra
    state (CycleGAN's image pools live outside the state_dict)."""
    from genforge.config import Config
    ref = json.loads(path.read_text())
    cfg = Config.fromfile(str(REF.parents[3] / 'configs' / ref['config']))
    with torch.device('meta'):
        model = MODELS.build(cfg.model.to_dict())
    assert type(model).__name__ == ref['model_type']
    got = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    assert got == [(k, v) for k, v in ref['keys'].items()]
