"""Tiled inference equals untiled inference for fully convolutional networks."""
import pytest
import torch
from torch import nn

import genforge.models  # noqa: F401
from genforge.models.tiling import auto_tile_size, iter_tiles, receptive_radius, tiled_forward
from genforge.registry import MODELS

NETS = [
    dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=2,
         upscale_factor=3),
    dict(type='SRCNNNet', channels=(3, 4, 4, 3), kernel_sizes=(9, 1, 5), upscale_factor=2),
    dict(type='EDSRNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=2,
         upscale_factor=4),
    dict(type='RDNNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=2,
         num_layers=2, channel_growth=2, upscale_factor=2),
    dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=4, num_blocks=1,
         growth_channels=2, upscale_factor=2),
    dict(type='SRVGGNetCompact', num_in_ch=3, num_out_ch=3, num_feat=4, num_conv=2, upscale=2),
]


@pytest.mark.parametrize('cfg', NETS, ids=[c['type'] for c in NETS])
def test_tiled_equals_untiled(cfg):
    torch.manual_seed(0)
    net = MODELS.build(cfg).eval()
    x = torch.rand(2, 3, 22, 26)  # not divisible by the tile size (RRDBNet x2 needs even)
    full = net(x)
    calls = []
    tiled = tiled_forward(net, x, tile=10, progress=lambda d, t: calls.append((d, t)))
    assert tiled.shape == full.shape
    assert (tiled - full).abs().max().item() <= 1e-5
    assert calls[-1][0] == calls[-1][1] == len(calls) > 1


def test_too_small_pad_differs_so_the_pad_matters():
    torch.manual_seed(0)
    net = MODELS.build(NETS[0]).eval()
    x = torch.rand(1, 3, 30, 30)
    assert (tiled_forward(net, x, tile=10, tile_pad=0) - net(x)).abs().max() > 1e-3


def test_receptive_radius_of_plain_chain():
    net = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 5, padding=2),
                        nn.Conv2d(1, 1, 3, padding=2, dilation=2))
    assert receptive_radius(net) == 1 + 2 + 2
    # a single input pixel influences exactly that radius
    for m in net:
        nn.init.constant_(m.weight, 1.)
        nn.init.zeros_(m.bias)
    x = torch.zeros(1, 1, 21, 21)
    x[0, 0, 10, 10] = 1
    nz = net(x)[0, 0].nonzero()
    assert nz[:, 0].min().item() == 10 - 5 and nz[:, 0].max().item() == 10 + 5


def test_iter_tiles_cover_image_once():
    seen = torch.zeros(23, 17, dtype=torch.int)
    for y0, y1, x0, x1 in iter_tiles(23, 17, 8):
        seen[y0:y1, x0:x1] += 1
    assert bool((seen == 1).all())


def test_auto_tile_size_is_bounded_and_used():
    net = MODELS.build(NETS[1]).eval()
    tile = auto_tile_size(net, scale=2, device='cpu', tile_pad=8)
    assert 32 <= tile <= 2048
    x = torch.rand(1, 3, 20, 20)
    assert torch.allclose(tiled_forward(net, x, tile='auto'), net(x), atol=1e-5)
