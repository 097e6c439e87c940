"""The genforge command line end to end on a tiny DCGAN (16x16 digits, a few iterations)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.cli import main

TINY_CFG = """
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=16,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8),
    ema_config=dict(interval=1, momentum=0.5))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=32))
val_dataloader = dict(batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='DigitsDataset', img_size=16, indices=16, test_mode=True))
test_dataloader = val_dataloader
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=4, val_interval=4)
val_cfg = dict(type="MultiValLoop")
test_cfg = dict(type="MultiTestLoop")
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', prefix='SWD', fake_nums=16, image_shape=(1, 16, 16), sample_model='ema')])
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False,
                                     save_best='SWD/avg', rule='less'))
randomness = dict(seed=0)
"""


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train the tiny config once through `genforge train`; later tests reuse its outputs."""
    root = tmp_path_factory.mktemp('cli')
    cfg = root / 'tiny_dcgan.py'
    cfg.write_text(TINY_CFG)
    work = root / 'work'
    assert main(['train', str(cfg), '--work-dir', str(work)]) == 0
    return cfg, work


def test_train_writes_checkpoints_logs_and_config(trained):
    cfg, work = trained
    last = Path((work / 'last_checkpoint').read_text().strip())
    assert last.name == 'iter_4.pth' and last.is_file()
    ckpt = torch.load(last, map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == 4
    assert any(k.startswith('generator_ema.') for k in ckpt['state_dict'])
    scalars = list(work.glob('*/vis_data/scalars.json'))
    assert scalars, 'no scalars.json written'
    records = [json.loads(line) for line in scalars[0].read_text().splitlines() if line]
    assert any('loss_gen' in r for r in records)
    assert any('SWD/avg' in r for r in records), 'validation metric not logged'
    best = list(work.glob('best_SWD_avg_iter_*.pth'))
    assert len(best) == 1, 'save_best keeps exactly one best checkpoint'
    best_meta = torch.load(best[0], map_location='cpu', weights_only=True)['meta']
    assert best_meta['metric_protocols']['SWD'].startswith('swd@')


def test_print_config_applies_cfg_options(trained, capsys):
    cfg, _ = trained
    assert main(['print-config', str(cfg), '--cfg-options', 'train_cfg.max_iters=77']) == 0
    out = capsys.readouterr().out
    assert 'max_iters=77' in out.replace(' ', '')


def test_sample_writes_grid_of_expected_size(trained, tmp_path):
    cfg, work = trained
    out = tmp_path / 'grid.png'
    indiv = tmp_path / 'each'
    assert main(['sample', str(cfg), str(work / 'iter_4.pth'), '--num', '6', '--nrow', '3',
                 '--out', str(out), '--save-dir', str(indiv)]) == 0
    grid = np.asarray(Image.open(out))
    # 3 columns x 2 rows of 16 px tiles with 2 px padding around each
    assert grid.shape[:2] == (2 * 18 + 2, 3 * 18 + 2)
    assert len(list(indiv.glob('*.png'))) == 6


def test_sample_is_reproducible_with_seed(trained, tmp_path):
    cfg, work = trained
    a, b = tmp_path / 'a.png', tmp_path / 'b.png'
    for out in (a, b):
        assert main(['sample', str(cfg), str(work / 'iter_4.pth'), '--num', '4', '--seed', '3',
                     '--out', str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_test_command_prints_metrics(trained, tmp_path, capsys):
    cfg, work = trained
    assert main(['test', str(cfg), str(work / 'iter_4.pth'), '--work-dir', str(tmp_path)]) == 0
    assert 'SWD/avg' in capsys.readouterr().out


def test_plot_logs_writes_png(trained, tmp_path):
    _, work = trained
    out = tmp_path / 'curves.png'
    assert main(['plot-logs', str(work), '--out', str(out)]) == 0
    img = Image.open(out)
    assert img.size[0] > 100 and img.size[1] > 100


def test_plot_logs_unknown_key_is_one_line_error(trained, tmp_path, capsys):
    _, work = trained
    assert main(['plot-logs', str(work), '--keys', 'no_such_loss', '--out',
                 str(tmp_path / 'x.png')]) == 2
    err = capsys.readouterr().err
    assert 'no_such_loss' in err and 'Traceback' not in err


def test_resume_auto_continues_to_more_iters(trained, tmp_path):
    cfg, work = trained
    assert main(['train', str(cfg), '--work-dir', str(work), '--resume',
                 '--cfg-options', 'train_cfg.max_iters=6']) == 0
    ckpt = torch.load(work / 'iter_6.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['iter'] == 6


@pytest.mark.parametrize('argv, needle', [
    (['train', 'does/not/exist.py'], 'config file not found: does/not/exist.py'),
    (['print-config', 'missing.py'], 'config file not found'),
    (['plot-logs', 'no_such_dir'], 'work dir not found'),
])
def test_bad_paths_give_one_line_and_nonzero_exit(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and 'Traceback' not in err


def test_sample_missing_checkpoint(trained, capsys):
    cfg, _ = trained
    assert main(['sample', str(cfg), 'nope.pth', '--out', 'x.png']) == 2
    assert 'checkpoint not found: nope.pth' in capsys.readouterr().err


def _run(args, **kw):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, '-m', 'genforge', *args], capture_output=True,
                          text=True, env=env, timeout=300, **kw)


def test_python_m_genforge_help_and_unknown_option():
    ok = _run(['--help'])
    assert ok.returncode == 0 and 'train' in ok.stdout and 'demo' in ok.stdout
    bad = _run(['train', 'cfg.py', '--no-such-option'])
    assert bad.returncode != 0 and 'unrecognized arguments' in bad.stderr
    assert 'Traceback' not in bad.stderr


def test_every_command_has_help_with_examples(capsys):
    from genforge.cli import _available_commands
    for name in _available_commands():
        with pytest.raises(SystemExit) as exc:
            main([name, '--help'])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert f'usage: genforge {name}' in out
        assert 'Example' in out, f'genforge {name} --help has no examples'


def test_demo_runs_small(tmp_path, capsys):
    work = tmp_path / 'demo'
    assert main(['demo', '--iters', '2', '--work-dir', str(work), '--fast']) == 0
    out = capsys.readouterr().out
    assert 'SWD/avg' in out and '% of samples are confidently a digit; digit score ' in out
    assert 'class-conditional SNGAN' in out and '(real digits: ' in out
    grid = np.asarray(Image.open(work / 'final_grid.png'))
    assert grid.shape[:2] == (8 * 18 + 2, 8 * 18 + 2)  # 64 samples of 16x16, padding 2
    assert (work / 'loss_curves.png').is_file()
    assert (work / 'last_checkpoint').is_file()
    assert list(work.glob('*/vis_data/vis_image/*.png'))


def test_tools_wrappers_forward_to_the_cli():
    root = Path(__file__).resolve().parents[2]
    for script, cmd in (('train.py', 'train'), ('test.py', 'test')):
        proc = subprocess.run([sys.executable, str(root / 'tools' / script), '--help'],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert f'usage: genforge {cmd}' in proc.stdout
