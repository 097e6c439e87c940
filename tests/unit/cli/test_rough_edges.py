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


VAL_CFG = """
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=8,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=4),
    ema_config=dict(interval=1, momentum=0.5))
train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler'),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=8))
val_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='DigitsDataset', img_size=16, indices=12, test_mode=True))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', prefix='SWD', fake_nums=12, image_shape=(1, 16, 16), sample_model='orig'),
    dict(type='SWD', prefix='SWDema', fake_nums=12, image_shape=(1, 16, 16), sample_model='ema')])
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4)))
train_cfg = dict(by_epoch=False, max_iters=1, val_interval=1)
val_cfg = dict(type='ValLoop')
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
"""


def test_val_progress_counts_the_batches_really_run(tmp_path):
    import re
    cfg = tmp_path / 'val.py'
    cfg.write_text(VAL_CFG)
    work = tmp_path / 'work'
    assert main(['train', str(cfg), '--work-dir', str(work)]) == 0
    text = '\n'.join(p.read_text() for p in work.glob('*/*.log'))
    counts = [(int(i), int(t)) for i, t in re.findall(r'Val\(val\) \[\s*(\d+)/(\d+)\]', text)]
    # each SWD (one per sample_model) runs 12 images in batches of 4: 3 + 3 batches, while the
    # val dataloader itself has 3
    assert counts and all(t == 3 + 3 for _, t in counts), counts
    assert [i for i, _ in counts] == list(range(1, 7))


def test_plot_logs_unknown_key_lists_the_keys_that_exist(tmp_path, capsys):
    import json
    log = tmp_path / 'run' / 'vis_data' / 'scalars.json'
    log.parent.mkdir(parents=True)
    log.write_text('\n'.join(json.dumps(dict(loss_gen=0.5 + i, lr=1e-3, step=i))
                             for i in range(3)))
    out = tmp_path / 'c.png'
    assert main(['plot-logs', str(tmp_path), '--keys', 'loss_gen', 'loss_g',
                 '--out', str(out)]) == 2
    err = capsys.readouterr().err
    assert '[loss_g] not found' in err and 'its keys are: loss_gen, lr' in err
    assert not out.exists()
    assert main(['plot-logs', str(tmp_path), '--keys', 'loss_gen', '--out', str(out)]) == 0


@pytest.mark.parametrize('argv', [['--debug', 'print-config', 'x.py'],
                                  ['print-config', 'x.py', '--debug'],
                                  ['print-config', '--debug', 'x.py']])
def test_debug_anywhere_shows_the_traceback(argv):
    from genforge.cli import CLIError
    with pytest.raises(CLIError, match='config file not found'):
        main(argv)
