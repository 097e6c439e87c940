"""``genforge restore`` on a tiny config + checkpoint: PNGs of the right size and content."""
import numpy as np
import pytest
import torch
from PIL import Image

import genforge.models  # noqa: F401
from genforge.checkpoint import save_checkpoint
from genforge.cli import main
from genforge.registry import MODELS

CONFIG = """
scale = 2
model = dict(
    type='BaseEditModel',
    generator=dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4,
                   num_blocks=1, upscale_factor=scale),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
"""


@pytest.fixture
def setup(tmp_path):
    torch.manual_seed(0)
    cfg_path = tmp_path / 'tiny_sr.py'
    cfg_path.write_text(CONFIG)
    model = MODELS.build(dict(
        type='BaseEditModel',
        generator=dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4,
                       num_blocks=1, upscale_factor=2),
        pixel_loss=dict(type='L1Loss'),
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))
    ckpt = tmp_path / 'iter_2.pth'
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(ckpt))
    rng = np.random.default_rng(0)
    inputs = tmp_path / 'lq'
    inputs.mkdir()
    images = {'a': rng.integers(0, 256, (13, 17, 3), dtype=np.uint8),
              'b': rng.integers(0, 256, (20, 9, 3), dtype=np.uint8)}
    for name, arr in images.items():
        Image.fromarray(arr).save(inputs / f'{name}.png')
    (inputs / 'notes.txt').write_text('not an image')
    return dict(cfg=str(cfg_path), ckpt=str(ckpt), inputs=inputs, images=images,
                generator=model.generator.eval(), tmp=tmp_path)


def _expected(generator, arr):
    x = torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.
    with torch.no_grad():
        y = (generator(x) * 255.).clamp(0, 255)[0]
    return y.permute(1, 2, 0).numpy()


@pytest.mark.parametrize('tile', ['0', '8'])
def test_restore_folder_writes_upscaled_pngs(setup, tile):
    out = setup['tmp'] / f'out_{tile}'
    rc = main(['restore', setup['cfg'], setup['ckpt'], str(setup['inputs']), '--out', str(out),
               '--tile', tile, '--device', 'cpu'])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ['a.png', 'b.png']
    for name, arr in setup['images'].items():
        with Image.open(out / f'{name}.png') as im:
            assert im.size == (arr.shape[1] * 2, arr.shape[0] * 2) and im.mode == 'RGB'
            got = np.asarray(im).astype(np.float64)
        # same pixels as running the generator directly (RGB in, RGB out), up to rounding
        assert np.abs(got - _expected(setup['generator'], arr)).max() <= 0.5 + 1e-3


def test_restore_single_file_and_errors(setup, capsys):
    out = setup['tmp'] / 'single'
    assert main(['restore', setup['cfg'], setup['ckpt'], str(setup['inputs'] / 'b.png'),
                 '--out', str(out), '--tile', 'auto']) == 0
    assert [p.name for p in out.iterdir()] == ['b.png']
    assert main(['restore', setup['cfg'], setup['ckpt'], str(setup['tmp'] / 'missing.png'),
                 '--out', str(out)]) == 2
    assert 'missing.png' in capsys.readouterr().err
    # a checkpoint that does not fit the config is refused with the reason
    bad = setup['tmp'] / 'bad.pth'
    save_checkpoint({'state_dict': {'other.weight': torch.zeros(1)}}, str(bad))
    assert main(['restore', setup['cfg'], str(bad), str(setup['inputs']), '--out',
                 str(out)]) == 2
    assert 'generator' in capsys.readouterr().err
