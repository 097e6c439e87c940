"""Super-resolution networks: output shapes per scale, MMagic state_dict layouts, blocks."""
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers everything)
from genforge.models.layers import RRDB, PixelShufflePack, ResidualBlockNoBN
from genforge.registry import MODELS

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'

TINY = {
    'SRCNNNet': dict(channels=(3, 4, 4, 3), kernel_sizes=(9, 1, 5)),
    'MSRResNet': dict(in_channels=3, out_channels=3, mid_channels=4, num_blocks=1),
    'EDSRNet': dict(in_channels=3, out_channels=3, mid_channels=4, num_blocks=1),
    'RDNNet': dict(in_channels=3, out_channels=3, mid_channels=4, num_blocks=2, num_layers=2,
                   channel_growth=4),
    'RRDBNet': dict(in_channels=3, out_channels=3, mid_channels=4, num_blocks=1,
                    growth_channels=2),
}
SCALES = {'SRCNNNet': (2, 3, 4), 'MSRResNet': (2, 3, 4), 'EDSRNet': (2, 3, 4),
          'RDNNet': (2, 3, 4), 'RRDBNet': (1, 2, 4)}
CASES = [(name, s) for name in TINY for s in SCALES[name]]


@pytest.mark.parametrize('name,scale', CASES)
def test_upscale_shape(name, scale):
    net = MODELS.build(dict(type=name, upscale_factor=scale, **TINY[name]))
    x = torch.rand(2, 3, 12, 8)
    out = net(x)
    assert out.shape == (2, 3, 12 * scale, 8 * scale)
    out.mean().backward()  # every parameter of the trunk takes part
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize('name,bad', [('MSRResNet', 5), ('RDNNet', 8), ('RRDBNet', 3),
                                      ('EDSRNet', 5)])
def test_unsupported_scale_names_value(name, bad):
    with pytest.raises(ValueError, match=str(bad)):
        MODELS.build(dict(type=name, upscale_factor=bad, **TINY[name]))


def test_pixel_shuffle_pack_matches_functional():
    torch.manual_seed(0)
    m = PixelShufflePack(4, 2, 3, upsample_kernel=3)
    x = torch.randn(2, 4, 5, 6)
    ref = F.pixel_shuffle(F.conv2d(x, m.upsample_conv.weight, m.upsample_conv.bias, padding=1), 3)
    assert torch.allclose(m(x), ref)
    assert m(x).shape == (2, 2, 15, 18)


def test_residual_block_formula():
    torch.manual_seed(0)
    blk = ResidualBlockNoBN(mid_channels=3, res_scale=0.5)
    x = torch.randn(1, 3, 6, 6)
    branch = blk.conv2(torch.relu(blk.conv1(x)))
    assert torch.allclose(blk(x), x + 0.5 * branch)


def test_rrdb_residual_scaling():
    torch.manual_seed(0)
    blk = RRDB(mid_channels=4, growth_channels=2)
    x = torch.randn(1, 4, 5, 5)
    inner = blk.rdb3(blk.rdb2(blk.rdb1(x)))
    assert torch.allclose(blk(x), inner * 0.2 + x)


def test_edsr_identity_mean_shift():
    """With all convs zero, EDSR returns the mean it adds back: (0 - mean)/std*std + mean."""
    net = MODELS.build(dict(type='EDSRNet', upscale_factor=2, **TINY['EDSRNet']))
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    out = net(torch.rand(1, 3, 4, 4))
    mean = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)
    assert torch.allclose(out, mean.expand_as(out))
    assert 'mean' not in net.state_dict()


def test_modified_vgg_shape_and_size_check():
    net = MODELS.build(dict(type='ModifiedVGG', in_channels=3, mid_channels=2))
    assert net(torch.rand(2, 3, 128, 128)).shape == (2, 1)
    with pytest.raises(ValueError, match='128x128'):
        net(torch.rand(1, 3, 64, 64))


# -- MMagic checkpoint layouts ------------------------------------------------------------------
FULL = {
    'srcnn/srcnn_x4k915_1xb16-1000k_div2k.json':
        dict(type='SRCNNNet', channels=(3, 64, 32, 3), kernel_sizes=(9, 1, 5), upscale_factor=4),
    'srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.json':
        dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=16,
             upscale_factor=4),
    'esrgan/esrgan_psnr-x4c64b23g32_1xb16-1000k_div2k.json':
        dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=23,
             growth_channels=32, upscale_factor=4),
}
for s in (2, 3, 4):
    FULL[f'edsr/edsr_x{s}c64b16_1xb16-300k_div2k.json'] = dict(
        type='EDSRNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=16,
        upscale_factor=s)
    FULL[f'rdn/rdn_x{s}c64b16_1xb16-1000k_div2k.json'] = dict(
        type='RDNNet', in_channels=3, out_channels=3, mid_channels=64, num_blocks=16,
        upscale_factor=s)


def _ref_keys(rel: str, prefix: str) -> dict:
    path = REF / rel
    if not path.is_file():
        pytest.skip(f'reference {path} not available')
    keys = json.loads(path.read_text())['keys']
    return {k[len(prefix):]: tuple(v) for k, v in keys.items() if k.startswith(prefix)}


@pytest.mark.parametrize('rel', sorted(FULL))
def test_generator_state_dict_matches_mmagic(rel):
    net = MODELS.build(FULL[rel])
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == _ref_keys(rel, 'generator.')


def test_modified_vgg_state_dict_matches_mmagic():
    net = MODELS.build(dict(type='ModifiedVGG', in_channels=3, mid_channels=64))
    ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    assert ours == _ref_keys('srgan_resnet/srgan_x4c64b16_1xb16-1000k_div2k.json',
                             'discriminator.')
