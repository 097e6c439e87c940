"""`genforge translate`: any image size (pad to stride, crop back), folders, domain errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import genforge.models  # noqa: F401
from genforge.cli import main
from genforge.config import Config
from genforge.registry import MODELS

CONFIG = """
model = dict(
    type='CycleGAN', data_preprocessor=dict(type='DataPreprocessor',
                                            data_keys=['img_photo', 'img_mask']),
    generator=dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=4,
                   num_blocks=1),
    discriminator=dict(type='PatchDiscriminator', in_channels=3, base_channels=4, num_conv=2,
                       norm_cfg=dict(type='IN')),
    default_domain='photo', reachable_domains=['photo', 'mask'],
    related_domains=['photo', 'mask'])
"""


@pytest.fixture
def setup(tmp_path):
    (tmp_path / 'cfg.py').write_text(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(tmp_path / 'cfg.py')).model.to_dict())
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ckpt.pth')
    rng = np.random.default_rng(0)
    (tmp_path / 'in').mkdir()
    imgs = {}
    for name, (h, w) in (('a', (18, 23)), ('b', (16, 20))):  # one size off the stride of 4
        imgs[name] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(imgs[name]).save(tmp_path / 'in' / f'{name}.png')
    return tmp_path, model, imgs


def _expected(model, rgb: np.ndarray, target: str) -> np.ndarray:
    """The generator applied by hand: BGR, [-1, 1], edge padding to a multiple of 4, crop."""
    x = torch.from_numpy(rgb[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    h, w = x.shape[-2:]
    x = F.pad(x, (0, (-w) % 4, 0, (-h) % 4), mode='replicate')
    with torch.no_grad():
        y = model.generators[target].train()(x)[..., :h, :w]
    y = ((y[0] + 1) * 127.5).clamp(0, 255).round().byte().flip(0)  # BGR -> RGB
    return y.permute(1, 2, 0).numpy()


def test_translate_folder_any_size(setup):
    tmp, model, imgs = setup
    assert main(['translate', str(tmp / 'cfg.py'), str(tmp / 'ckpt.pth'), str(tmp / 'in'),
                 '--target-domain', 'mask', '--out', str(tmp / 'out')]) == 0
    for name, rgb in imgs.items():
        got = np.asarray(Image.open(tmp / 'out' / f'{name}.png'))
        assert got.shape == rgb.shape
        diff = np.abs(got.astype(int) - _expected(model, rgb, 'mask').astype(int))
        assert diff.max() <= 1  # rounding of float noise at .5 only


def test_translate_single_file_and_errors(setup, capsys):
    tmp, model, imgs = setup
    cfg, ckpt, img = str(tmp / 'cfg.py'), str(tmp / 'ckpt.pth'), str(tmp / 'in' / 'a.png')
    assert main(['translate', cfg, ckpt, img, '--target-domain', 'photo',
                 '--out', str(tmp / 'one.png')]) == 0
    assert np.asarray(Image.open(tmp / 'one.png')).shape == imgs['a'].shape
    assert main(['translate', cfg, ckpt, img, '--target-domain', 'zebra', '--out',
                 str(tmp / 'x')]) == 2
    err = capsys.readouterr().err
    assert "--target-domain 'zebra'" in err and "['photo', 'mask']" in err
    before = (tmp / 'in' / 'a.png').read_bytes()
    assert main(['translate', cfg, ckpt, str(tmp / 'in'), '--target-domain', 'photo', '--out',
                 str(tmp / 'in')]) == 2
    assert 'would overwrite the input' in capsys.readouterr().err
    assert (tmp / 'in' / 'a.png').read_bytes() == before


def test_translate_refuses_a_checkpoint_of_another_size(setup, capsys):
    tmp, _, _ = setup
    (tmp / 'big.py').write_text(CONFIG.replace('base_channels=4,\n                   num_blocks',
                                               'base_channels=8,\n                   num_blocks'))
    assert main(['translate', str(tmp / 'big.py'), str(tmp / 'ckpt.pth'), str(tmp / 'in'),
                 '--target-domain', 'mask', '--out', str(tmp / 'out')]) == 2
    err = capsys.readouterr().err
    assert 'tensors that the CycleGAN' in err and 'checkpoint (4, 3, 7, 7)' in err
    assert not (tmp / 'out').exists()
