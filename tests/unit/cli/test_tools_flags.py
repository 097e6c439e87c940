"""tools/train.py and tools/test.py accept MMagic's flags: --auto-scale-lr, test --out."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]

CFG = """
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=8,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=4))
train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='InfiniteSampler'),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=8))
test_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(type='DigitsDataset', img_size=16, indices=8, test_mode=True))
test_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', prefix='SWD', fake_nums=8, image_shape=(1, 16, 16), sample_model='orig')])
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=1e-4)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-4)))
auto_scale_lr = dict(enable=False, base_batch_size=1)
train_cfg = dict(by_epoch=False, max_iters=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
"""


def _tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / 'tools' / name), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_tools_train_auto_scale_lr_and_test_out(tmp_path):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CFG)
    work = tmp_path / 'work'
    done = _tool('train.py', str(cfg), '--work-dir', str(work), '--auto-scale-lr')
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = torch.load(work / 'iter_1.pth', map_location='cpu', weights_only=True)
    groups = [g for opt in ckpt['optimizer'].values() for g in opt['param_groups']]
    # batch 4 on one process / base_batch_size 1: every learning rate x4
    assert groups and all(abs(g['lr'] - 4e-4) < 1e-12 for g in groups), groups

    out = tmp_path / 'metrics.json'
    done = _tool('test.py', str(cfg), str(work / 'iter_1.pth'), '--work-dir', str(work),
                 '--out', str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    saved = json.loads(out.read_text())
    assert set(saved) >= {'SWD/avg'} and saved['SWD/avg'] > 0


def test_auto_scale_lr_without_base_batch_size_names_the_key(tmp_path):
    from genforge.cli import main
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CFG.replace('auto_scale_lr = dict(enable=False, base_batch_size=1)', ''))
    assert main(['train', str(cfg), '--work-dir', str(tmp_path / 'w'), '--auto-scale-lr']) == 2
