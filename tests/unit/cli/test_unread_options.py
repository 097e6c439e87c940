"""--cfg-options on a config-file variable that nothing reads after loading gets a warning."""
from __future__ import annotations

import logging

from genforge.cli._common import load_config

CFG = """
img_size = 16
kind = 'UnconditionalImageDataset'
model = dict(type='DCGAN', generator=dict(type='DCGANGenerator', output_scale=img_size))
train_dataloader = dict(batch_size=2, dataset=dict(type=kind, data_root='x'))
"""


def _cfg(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text(CFG)
    return str(path)


def test_file_variable_warns_with_the_keys_that_took_its_value(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger='genforge'):
        cfg = load_config(_cfg(tmp_path), {'img_size': 32, 'kind': 'Other'})
    assert cfg.img_size == 32 and cfg.model.generator.output_scale == 16  # really unread
    text = caplog.text
    assert "--cfg-options img_size: 'img_size' is a variable of cfg.py" in text
    assert 'old value 16: model.generator.output_scale' in text
    assert "old value 'UnconditionalImageDataset': train_dataloader.dataset.type" in text


def test_read_keys_and_new_keys_do_not_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger='genforge'):
        load_config(_cfg(tmp_path), {'model.generator.output_scale': 32,
                                     'train_dataloader.batch_size': 4, 'my_own_flag': 1,
                                     'work_dir': str(tmp_path / 'w')})
    assert 'cfg-options' not in caplog.text
