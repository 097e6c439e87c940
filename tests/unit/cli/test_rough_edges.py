"""Rough edges a new user meets first: restoration configs in `sample`/`test`, progress counts,
`--debug` placement, plot-logs keys."""
from __future__ import annotations

from pathlib import Path

import pytest

from genforge.cli import main
from genforge.cli._common import drop_training_only_files, is_edit_model, load_config

ROOT = Path(__file__).resolve().parents[3]
SRGAN = str(ROOT / 'configs/srgan_resnet/srgan_x4c64b16_1xb16-1000k_div2k.py')
DCGAN = str(ROOT / 'configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py')
SMALL = {'model.generator.mid_channels': 8, 'model.generator.num_blocks': 1,
         'model.discriminator.mid_channels': 8}


def test_srgan_evaluation_needs_no_vgg_file(tmp_path, monkeypatch):
    from genforge.registry import MODELS
    monkeypatch.setenv('GENFORGE_CACHE', str(tmp_path))  # no VGG19 file here
    cfg = load_config(SRGAN, dict(SMALL))
    assert is_edit_model(cfg)
    with pytest.raises(FileNotFoundError, match='vgg19'):
        MODELS.build(cfg.model, key_path='model')  # training needs the file ...
    drop_training_only_files(cfg)
    model = MODELS.build(cfg.model, key_path='model')  # ... evaluation does not
    assert type(model).__name__ == 'SRGAN' and cfg.model.perceptual_loss.pretrained is None


def test_gan_config_is_left_alone():
    cfg = load_config(DCGAN)
    before = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    assert not is_edit_model(cfg)
    drop_training_only_files(cfg)
    after = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    assert after == before


def test_sample_of_a_restoration_config_points_to_restore(tmp_path, capsys):
    ckpt = tmp_path / 'ckpt.pth'
    ckpt.write_bytes(b'not read')
    assert main(['sample', SRGAN, str(ckpt), '--out', str(tmp_path / 'g.png')]) == 2
    err = capsys.readouterr().err
    assert 'genforge restore' in err and 'SRGAN' in err
