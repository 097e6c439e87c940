"""`--data-root DIR` and `--cfg-options data_root=DIR` reach every dataset of every dataloader."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from genforge.cli import main
from genforge.cli._common import apply_data_root, load_config

CFG = """
data_root = 'data/does_not_exist'
pipeline = [dict(type='LoadImageFromFile', key='img', color_type='grayscale'),
            dict(type='PackInputs')]
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=8, out_channels=1, base_channels=8,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=8, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=4))
train_dataloader = dict(batch_size=2, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='UnconditionalImageDataset', data_root=data_root,
                                     pipeline=pipeline))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4)))
train_cfg = dict(by_epoch=False, max_iters=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
"""

MULTI = """
data_root = 'old'
ds = dict(type='UnconditionalImageDataset', data_root=data_root, pipeline=[])
train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[ds, ds]))
val_dataloader = [dict(dataset=ds), dict(dataset=dict(type='RepeatDataset', times=2, dataset=ds))]
test_dataloader = dict(dataset=dict(type='DigitsDataset', img_size=8))
"""


def _pngs(folder: Path, n: int = 4) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(folder / f'{i}.png')
    return folder


def test_train_data_root_flag_trains_on_the_folder(tmp_path):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CFG)
    imgs = _pngs(tmp_path / 'imgs')
    work = tmp_path / 'work'
    assert main(['train', str(cfg), '--data-root', str(imgs), '--work-dir', str(work)]) == 0
    assert (work / 'iter_1.pth').is_file()
    # without the flag the config's own folder is read, and the error names it
    assert main(['train', str(cfg), '--work-dir', str(tmp_path / 'w2')]) == 2


def test_cfg_options_data_root_trains_on_the_folder(tmp_path):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CFG)
    imgs = _pngs(tmp_path / 'imgs')
    loaded = load_config(str(cfg), {'data_root': str(imgs)})
    assert loaded.train_dataloader.dataset.data_root == str(imgs)
    work = tmp_path / 'work'
    assert main(['train', str(cfg), '--cfg-options', f'data_root={imgs}',
                 '--work-dir', str(work)]) == 0
    assert (work / 'iter_1.pth').is_file()


def test_every_loader_and_wrapped_dataset_is_pointed(tmp_path, caplog):
    cfg = tmp_path / 'multi.py'
    cfg.write_text(MULTI)
    loaded = load_config(str(cfg), data_root='new')
    assert [d.data_root for d in loaded.train_dataloader.dataset.datasets] == ['new', 'new']
    assert loaded.val_dataloader[0].dataset.data_root == 'new'
    assert loaded.val_dataloader[1].dataset.dataset.data_root == 'new'
    assert 'data_root' not in loaded.test_dataloader.dataset  # DigitsDataset reads no files
    assert loaded.data_root == 'new'


def test_data_root_that_changes_nothing_warns(tmp_path, caplog):
    cfg = tmp_path / 'digits.py'
    cfg.write_text("train_dataloader = dict(dataset=dict(type='DigitsDataset', img_size=8))\n")
    with caplog.at_level(logging.WARNING, logger='genforge'):
        loaded = load_config(str(cfg), {'data_root': 'x'})
    assert 'data_root' not in loaded.train_dataloader.dataset
    assert 'data_root=x changed nothing' in caplog.text
    assert apply_data_root(loaded, 'y') == []
