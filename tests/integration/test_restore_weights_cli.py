"""``genforge restore --weights FILE img.png --out out.png``: a Real-ESRGAN-style file, no config."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from genforge.cli import main


def _srvgg_params(seed: int, nf: int = 4, num_conv: int = 1, upscale: int = 2) -> dict:
    """realesr-general-x4v3's layout: body.0 conv, body.1 PReLU, ..., last conv."""
    g = torch.Generator().manual_seed(seed)
    sd = {'body.0.weight': torch.randn(nf, 3, 3, 3, generator=g) * 0.1,
          'body.0.bias': torch.randn(nf, generator=g) * 0.05}
    for i in range(num_conv + 1):
        sd[f'body.{2 * i + 1}.weight'] = torch.rand(nf, generator=g) * 0.5
        cout = nf if i < num_conv else 3 * upscale * upscale
        sd[f'body.{2 * i + 2}.weight'] = torch.randn(cout, nf, 3, 3, generator=g) * 0.1
        sd[f'body.{2 * i + 2}.bias'] = torch.randn(cout, generator=g) * 0.05
    return sd


def _srvgg_forward(sd, x, upscale=2):
    """Real-ESRGAN's SRVGGNetCompact on the named tensors (PReLU, shuffle, + nearest input)."""
    convs = sorted(int(k.split('.')[1]) for k in sd if sd[k].ndim == 4)
    out = x
    for i in convs:
        out = F.conv2d(out, sd[f'body.{i}.weight'], sd[f'body.{i}.bias'], padding=1)
        if i != convs[-1]:
            out = torch.where(out >= 0, out, sd[f'body.{i + 1}.weight'].view(1, -1, 1, 1) * out)
    return F.pixel_shuffle(out, upscale) + F.interpolate(x, scale_factor=upscale, mode='nearest')


@pytest.fixture
def weights(tmp_path):
    sd = _srvgg_params(0)
    path = tmp_path / 'realesr-tiny.pth'
    torch.save({'params': sd}, path)   # Real-ESRGAN's release format
    arr = np.random.default_rng(0).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / 'img.png')
    return sd, path, arr


def test_restore_weights_writes_the_png_named_by_out(tmp_path, weights, capsys):
    sd, path, arr = weights
    out = tmp_path / 'res' / 'out.png'
    assert main(['restore', '--weights', str(path), str(tmp_path / 'img.png'), '--out', str(out),
                 '--device', 'cpu']) == 0
    assert 'SRVGGNetCompact x2' in capsys.readouterr().out
    got = np.asarray(Image.open(out)).astype(np.float64)
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.
    with torch.no_grad():
        want = (_srvgg_forward(sd, x) * 255.).clamp(0, 255)[0].permute(1, 2, 0).numpy()
    assert got.shape == (14, 18, 3)
    assert np.abs(got - want).max() <= 0.5 + 1e-3


def test_restore_weights_tiled_into_a_folder(tmp_path, weights):
    _, path, _ = weights
    assert main(['restore', '--weights', str(path), str(tmp_path / 'img.png'), '--out',
                 str(tmp_path / 'a'), '--device', 'cpu']) == 0
    assert main(['restore', '--weights', str(path), str(tmp_path / 'img.png'), '--out',
                 str(tmp_path / 'b'), '--tile', '4', '--device', 'cpu']) == 0
    a = np.asarray(Image.open(tmp_path / 'a' / 'img.png')).astype(int)
    b = np.asarray(Image.open(tmp_path / 'b' / 'img.png')).astype(int)
    assert np.abs(a - b).max() <= 1


def test_restore_weights_errors(tmp_path, weights, capsys):
    _, path, _ = weights
    img = str(tmp_path / 'img.png')
    assert main(['restore', '--weights', str(path), 'cfg.py', img, '--out', 'o']) == 2
    assert 'only INPUT' in capsys.readouterr().err
    bad = tmp_path / 'odd.pth'
    torch.save({'params': {'head.weight': torch.zeros(1, 3, 3, 3)}}, bad)
    assert main(['restore', '--weights', str(bad), img, '--out', str(tmp_path / 'o')]) == 2
    assert 'head.weight' in capsys.readouterr().err
    assert main(['restore', img, '--out', str(tmp_path / 'o')]) == 2
    assert 'CONFIG CHECKPOINT INPUT' in capsys.readouterr().err


def test_restore_weights_rrdbnet_x2_pads_odd_sizes(tmp_path):
    """Real-ESRGAN x2 (pixel-unshuffle) on a 7x9 image: padded to the grid, cropped to 14x18."""
    import genforge.models  # noqa: F401
    from genforge.registry import MODELS
    torch.manual_seed(0)
    net = MODELS.build(dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=4,
                            num_blocks=1, growth_channels=2, upscale_factor=2)).eval()
    torch.save({'params_ema': net.state_dict()}, tmp_path / 'x2.pth')
    arr = np.random.default_rng(1).integers(0, 256, (7, 9, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / 'odd.png')
    assert main(['restore', '--weights', str(tmp_path / 'x2.pth'), str(tmp_path / 'odd.png'),
                 '--out', str(tmp_path / 'odd_x2.png'), '--device', 'cpu']) == 0
    got = np.asarray(Image.open(tmp_path / 'odd_x2.png')).astype(np.float64)
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.
    x = F.pad(x, (0, 1, 0, 1), mode='reflect')    # Real-ESRGAN's mod pad
    with torch.no_grad():
        want = (net(x) * 255.).clamp(0, 255)[0, :, :14, :18].permute(1, 2, 0).numpy()
    assert got.shape == (14, 18, 3) and np.abs(got - want).max() <= 0.5 + 1e-3
