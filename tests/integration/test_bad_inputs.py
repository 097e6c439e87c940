"""Bad inputs of every kind fail with a message that names the place and the fix.

One parametrised suite (config, dataset, checkpoint, runtime, CLI); each case builds its bad
input in tmp_path, runs the real entry point and checks the message content.
"""
from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from genforge.checkpoint import load_checkpoint, save_checkpoint
from genforge.cli import main
from genforge.config import Config
from genforge.models import BaseModel
from genforge.registry import DATASETS
from genforge.runner import Runner
from genforge.structures import DataSample


@DATASETS.register_module(force=True)
class BadInputsImages(Dataset):
    """8 fixed 1x16x16 images, no disk I/O."""

    def __init__(self, n: int = 8):
        self.imgs = torch.arange(n * 256, dtype=torch.float32).reshape(n, 1, 16, 16) % 255

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=dict(img=self.imgs[i]), data_samples=DataSample())


def _gan_cfg(work_dir) -> dict:
    return dict(
        work_dir=str(work_dir),
        model=dict(type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
                   generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1,
                                  base_channels=16, noise_size=8),
                   discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                      in_channels=1, out_channels=1, base_channels=8)),
        train_dataloader=dict(batch_size=2, num_workers=0,
                              sampler=dict(type='InfiniteSampler', shuffle=True),
                              dataset=dict(type='BadInputsImages')),
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                           discriminator=dict(optimizer=dict(type='Adam', lr=2e-4))),
        train_cfg=dict(by_epoch=False, max_iters=1),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        randomness=dict(seed=0))


def _set(cfg: dict, path: str, value) -> None:
    *parents, last = path.split('.')
    for key in parents:
        cfg = cfg[int(key)] if isinstance(cfg, list) else cfg[key]
    cfg[last] = value


def cfg_case(path: str, value, train: bool = True, extra: dict | None = None):
    """Train the tiny GAN with ``cfg[path] = value`` (and ``extra`` top-level keys)."""
    def make(tmp_path):
        cfg = _gan_cfg(tmp_path / 'work')
        _set(cfg, path, value)
        cfg.update(copy.deepcopy(extra or {}))
        return lambda: Runner.from_cfg(Config(cfg)).train() if train \
            else Runner.from_cfg(Config(cfg))
    return make


def cfg_drop(path: str):
    def make(tmp_path):
        cfg = _gan_cfg(tmp_path / 'work')
        *parents, last = path.split('.')
        node = cfg
        for key in parents:
            node = node[key]
        del node[last]
        return lambda: Runner.from_cfg(Config(cfg))
    return make


def cfg_file(text: str, base: str | None = None):
    def make(tmp_path):
        (tmp_path / 'cfg.py').write_text(text)
        if base is not None:
            (tmp_path / 'base.py').write_text(base)
        return lambda: Config.fromfile(str(tmp_path / 'cfg.py'))
    return make


# -- datasets ---------------------------------------------------------------------------------
def _png(path, size=(16, 16), mode='RGB'):
    shape = (*size, 3) if mode == 'RGB' else size
    Image.fromarray(np.random.RandomState(0).randint(0, 255, shape, dtype=np.uint8), mode).save(
        path)


def dataset_case(files: dict[str, Callable], crop=16, root='imgs', paired=False):
    """BasicImageDataset over ``files`` (name -> writer); raises on build or on item 0."""
    def make(tmp_path):
        folder = tmp_path / root
        for name, write in files.items():
            (folder / os.path.dirname(name)).mkdir(parents=True, exist_ok=True)
            write(folder / name)
        if paired:
            pipeline = [dict(type='LoadImageFromFile', key='img', color_type='unchanged'),
                        dict(type='LoadImageFromFile', key='gt', color_type='unchanged'),
                        dict(type='SetValues', dictionary=dict(scale=2)),
                        dict(type='PairedRandomCrop', gt_patch_size=crop), dict(type='PackInputs')]
            prefix = dict(img='lq', gt='gt')
        else:
            pipeline = [dict(type='LoadImageFromFile', key='gt'),
                        dict(type='Crop', keys=['gt'], crop_size=(crop, crop)),
                        dict(type='PackInputs')]
            prefix = dict(gt='')
        cfg = dict(type='BasicImageDataset', data_root=str(tmp_path / 'imgs'),
                   data_prefix=prefix, pipeline=pipeline)
        return lambda: DATASETS.build(cfg, key_path='train_dataloader.dataset')[0]
    return make


def _corrupt(path):
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + b'definitely not an image' * 20)


def _truncated(path):
    buf = io.BytesIO()
    Image.fromarray(np.random.RandomState(1).randint(0, 255, (32, 32, 3), dtype=np.uint8)).save(
        buf, format='PNG')
    path.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])


# -- checkpoints ------------------------------------------------------------------------------
def _small_net():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def ckpt_case(write: Callable, **load_kwargs):
    def make(tmp_path):
        path = str(tmp_path / 'ckpt.pth')
        write(path)
        return lambda: load_checkpoint(_small_net(), path, **load_kwargs)
    return make


def _pickled(path):
    with open(path, 'wb') as f:   # a plain pickle naming a function: weights_only must refuse
        pickle.dump(dict(state_dict=_small_net().state_dict(), hook=os.getcwd), f)


def _truncated_ckpt(path):
    save_checkpoint(dict(state_dict=_small_net().state_dict()), path)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) * 2 // 3])


def _other_arch(path):
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Linear(2, 1))
    state = {k: v for k, v in other.state_dict().items() if not k.startswith('0.')}
    save_checkpoint(dict(state_dict=state), path)


def _resume_safetensors(tmp_path):
    from genforge.checkpoint import export_safetensors
    export_safetensors(_small_net(), str(tmp_path / 'w.safetensors'))
    cfg = _gan_cfg(tmp_path / 'work')
    cfg['resume'] = str(tmp_path / 'w.safetensors')
    return lambda: Runner.from_cfg(Config(cfg)).train()


def _truncated_safetensors(tmp_path):
    from genforge.checkpoint import export_safetensors
    path = tmp_path / 'w.safetensors'
    export_safetensors(_small_net(), str(path))
    path.write_bytes(path.read_bytes()[:40])
    return lambda: load_checkpoint(_small_net(), str(path))


# -- runtime ----------------------------------------------------------------------------------
class NanAtThirdStep(BaseModel):
    """Linear regression whose loss turns NaN on the third call of train_step."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.calls = 0

    def train_step(self, data, optim_wrapper):
        self.calls += 1
        loss = self.linear(data['inputs']).pow(2).mean()
        if self.calls == 3:
            loss = loss * float('nan')
        parsed, log_vars = self.parse_losses({'loss_reg': loss})
        optim_wrapper.update_params(parsed)
        return log_vars


def _toy_runner(work_dir, max_iters=5, **kwargs):
    from genforge.optim import OptimWrapper
    model = NanAtThirdStep()
    data = [dict(inputs=torch.full((2,), float(i))) for i in range(8)]
    return Runner(model, work_dir=str(work_dir),
                  train_dataloader=dict(batch_size=2, num_workers=0, dataset=data,
                                        sampler=dict(type='DefaultSampler', shuffle=False),
                                        collate_fn=dict(type='default_collate')),
                  train_cfg=dict(by_epoch=False, max_iters=max_iters),
                  optim_wrapper=OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01)),
                  randomness=dict(seed=0), **kwargs)


def _unwritable_work_dir(tmp_path):
    if os.geteuid() == 0:   # root ignores permission bits: a folder below a regular file fails
        (tmp_path / 'plain_file').write_text('x')
        work = tmp_path / 'plain_file' / 'work'
    else:
        locked = tmp_path / 'locked'
        locked.mkdir()
        locked.chmod(0o500)
        work = locked / 'work'
    return lambda: _toy_runner(work)


# -- CLI --------------------------------------------------------------------------------------
class CLIFailed(Exception):
    pass


def cli_case(*argv: str, setup: Callable | None = None):
    """``genforge ARGV`` exits 2 with a short message on stderr and no traceback."""
    def make(tmp_path):
        args = [a.replace('{tmp}', str(tmp_path)) for a in argv]
        if setup is not None:
            setup(tmp_path)

        def run():
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                try:
                    code = main(args)
                except SystemExit as exc:   # argparse usage errors
                    code = exc.code
            text = err.getvalue()
            assert code == 2 and 'Traceback' not in text, text
            assert len(text.strip().splitlines()) <= 3, text
            raise CLIFailed(text)
        return run
    return make


def _tiny_cfg_file(tmp_path):
    (tmp_path / 'cfg.py').write_text(f'x = {_gan_cfg(tmp_path / "w")!r}\n')


def _not_a_checkpoint(tmp_path):
    (tmp_path / 'a.pth').write_bytes(b'')


@dataclass
class Case:
    id: str
    make: Callable
    exc: type
    needles: list[str] = field(default_factory=list)


CASES = [
    # config: unknown types, with the key path and the closest name
    Case('model_type', cfg_case('model.type', 'DCGANN', train=False), KeyError,
         ["model.type='DCGANN'", "Did you mean 'DCGAN'"]),
    Case('generator_type', cfg_case('model.generator.type', 'DCGANGenerater', train=False),
         KeyError, ["model.generator.type='DCGANGenerater'", "Did you mean 'DCGANGenerator'"]),
    Case('dataset_type', cfg_case('train_dataloader.dataset.type', 'BadInputImages'), KeyError,
         ["train_dataloader.dataset.type='BadInputImages'", "Did you mean 'BadInputsImages'"]),
    Case('hook_type', cfg_case('default_hooks.logger', dict(type='LogerHook')), KeyError,
         ["default_hooks.logger.type='LogerHook'", "Did you mean 'LoggerHook'"]),
    Case('custom_hook_type', cfg_case('custom_hooks', [dict(type='EMAHok')]), KeyError,
         ["custom_hooks[0].type='EMAHok'", "Did you mean 'EMAHook'"]),
    Case('loop_type', cfg_case('train_cfg.type', 'IterBasedTrainLop'), KeyError,
         ["train_cfg.type='IterBasedTrainLop'", "'IterBasedTrainLoop'"]),
    Case('optimizer_type', cfg_case('optim_wrapper.generator.optimizer.type', 'Adamm'), KeyError,
         ["optim_wrapper.generator.optimizer.type='Adamm'", "Did you mean 'Adam'"]),
    Case('scheduler_type', cfg_case('param_scheduler', dict(type='LinearLRR')), KeyError,
         ["param_scheduler[0].type='LinearLRR'", "Did you mean 'LinearLR'"]),
    Case('metric_type', cfg_case('val_evaluator', dict(
        type='Evaluator', metrics=[dict(type='SWDD', fake_nums=4)]), extra=dict(
            val_dataloader=_gan_cfg('.')['train_dataloader'], val_cfg=dict(type='GenValLoop'))),
        KeyError, ["val_evaluator.metrics.0.type='SWDD'", "Did you mean 'SWD'"]),
    # config: arguments
    Case('missing_argument', cfg_drop('model.generator.output_scale'), TypeError,
         ['model.generator', 'DCGANGenerator', "missing required argument(s) ['output_scale']"]),
    Case('unexpected_argument', cfg_case('model.generator.base_channel', 16, train=False),
         TypeError, ['model.generator', "unexpected argument 'base_channel'",
                     "Did you mean 'base_channels'"]),
    Case('quoted_number', cfg_case('model.generator.base_channels', '16', train=False),
         TypeError, ["model.generator.base_channels='16' must be a number", 'remove the quotes']),
    Case('max_iters_not_a_number', cfg_case('train_cfg.max_iters', 'ten'), TypeError,
         ["train_cfg.max_iters='ten' must be a whole number"]),
    Case('train_cfg_misspelled', cfg_case('train_cfg.max_iter', 10), TypeError,
         ['train_cfg', "unexpected argument 'max_iter'", "Did you mean 'max_iters'"]),
    Case('train_cfg_val_interval', cfg_case('train_cfg.val_intervl', 10), TypeError,
         ["unexpected argument 'val_intervl'", "Did you mean 'val_interval'"]),
    Case('nan_policy_value', cfg_case('train_cfg.nan_policy', 'ignore'), ValueError,
         ["train_cfg.nan_policy='ignore'", "'stop', 'skip'"]),
    Case('checkpoint_hook_misspelled', cfg_case('default_hooks.checkpoint.intervall', 5),
         TypeError, ['default_hooks.checkpoint', "unexpected argument 'intervall'",
                     "Did you mean 'interval'"]),
    Case('logger_hook_misspelled', cfg_case('default_hooks.logger.interal', 5), TypeError,
         ['default_hooks.logger', "unexpected argument 'interal'", "Did you mean 'interval'"]),
    Case('dataloader_misspelled', cfg_case('train_dataloader.batchsize', 4), TypeError,
         ['train_dataloader', "unknown key 'batchsize'", "Did you mean 'batch_size'"]),
    Case('optimizer_argument', cfg_case('optim_wrapper.generator.optimizer.lrr', 1e-3), TypeError,
         ['optim_wrapper.generator.optimizer', "unexpected argument 'lrr'", "Did you mean 'lr'"]),
    Case('no_model', cfg_drop('model'), KeyError, ['no "model" key', 'model=dict(type=...)']),
    # config files
    Case('missing_base', cfg_file("_base_ = ['./no_such_base.py']\nx = 1\n"), FileNotFoundError,
         ["_base_ file './no_such_base.py' not found", 'cfg.py']),
    Case('syntax_error', cfg_file('a = 1\nb = dict(x=1\nc = 3\n'), SyntaxError,
         ['cfg.py', 'line 2']),
    Case('base_syntax_error', cfg_file("_base_ = './base.py'\n", base='x = [1,\n'), SyntaxError,
         ['base.py', 'line 1']),
    # datasets
    Case('missing_folder', dataset_case({}, root='elsewhere'), FileNotFoundError,
         ['imgs', 'does not exist', 'data_root']),
    Case('empty_folder', dataset_case({'notes.txt': lambda p: p.write_text('x')}),
         FileNotFoundError, ['found no image files', 'imgs', '1 other file(s) were ignored']),
    Case('corrupt_image', dataset_case({'a.png': _corrupt}), OSError,
         ['a.png', 'cannot decode', 'skip_bad_images=True']),
    Case('truncated_image', dataset_case({'t.png': _truncated}), OSError,
         ['t.png', 'truncated', 'skip_bad_images=True']),
    Case('image_smaller_than_crop', dataset_case({'s.png': lambda p: _png(p, (8, 12))}),
         ValueError, ['s.png', 'is 8x12', 'smaller than crop_size=(16, 16)', 'is_pad_zeros=True']),
    Case('wrong_channel_count', dataset_case(
        {'lq/x.png': lambda p: _png(p, (8, 8), 'L'), 'gt/x.png': lambda p: _png(p, (16, 16))},
        crop=8, paired=True), ValueError,
        ['LQ has 1 channels but GT has 3', 'lq/x.png', 'gt/x.png', 'same color_type']),
    # checkpoints
    Case('missing_checkpoint', lambda tmp: lambda: load_checkpoint(_small_net(), 'nope.pth'),
         FileNotFoundError, ["'nope.pth' does not exist"]),
    Case('pickle_needed', ckpt_case(_pickled), RuntimeError,
         ['refusing to load', 'arbitrary code', 'allow_pickle=True']),
    Case('truncated_checkpoint', ckpt_case(_truncated_ckpt), RuntimeError,
         ['ckpt.pth', 'truncated', 'earlier checkpoint']),
    Case('other_architecture', ckpt_case(_other_arch, strict=True), RuntimeError,
         ['ckpt.pth', 'unexpected key(s) in checkpoint: 3.weight, 3.bias',
          'missing key(s) in checkpoint: 0.weight, 0.bias', 'strict=False']),
    Case('resume_from_safetensors', _resume_safetensors, ValueError,
         ['weights only', 'load_from=']),
    Case('truncated_safetensors', _truncated_safetensors, RuntimeError,
         ['w.safetensors', 'not a readable .safetensors file']),
    # runtime
    Case('nan_loss_stop', lambda tmp: _toy_runner(tmp / 'w').train, FloatingPointError,
         ['non-finite loss at iteration 3', 'loss_reg=nan', "nan_policy='skip'"]),
    Case('unwritable_work_dir', _unwritable_work_dir, PermissionError,
         ['work', 'is not writable', '--work-dir']),
    # command line
    Case('cli_missing_config', cli_case('train', '{tmp}/nope.py'), CLIFailed,
         ['genforge train: error: config file not found:', 'nope.py']),
    Case('cli_unknown_option', cli_case('train', '{tmp}/cfg.py', '--bogus', setup=_tiny_cfg_file),
         CLIFailed, ['unrecognized arguments: --bogus']),
    Case('cli_bad_cfg_options', cli_case('print-config', '{tmp}/cfg.py', '--cfg-options',
                                         'train_cfg.max_iters', setup=_tiny_cfg_file),
         CLIFailed, ["--cfg-options 'train_cfg.max_iters': expected KEY=VALUE"]),
    Case('cli_missing_checkpoint', cli_case('export', '{tmp}/nope.pth'), CLIFailed,
         ['genforge export: error: checkpoint not found', 'nope.pth']),
    Case('cli_export_bad_out', cli_case('export', '{tmp}/a.pth', '--out', '{tmp}/a.st',
                                               setup=_not_a_checkpoint), CLIFailed,
         ['must end with .safetensors']),
]


def test_suite_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize('case', CASES, ids=[c.id for c in CASES])
def test_bad_input_message(case, tmp_path):
    action = case.make(tmp_path)
    with pytest.raises(case.exc) as info:
        action()
    message = str(info.value)
    for needle in case.needles:
        assert needle in message, f'{needle!r} not in: {message}'


def test_disk_full_at_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """ENOSPC while writing iteration 2's checkpoint: a clear error, the iteration-1 file and
    the pointer to it stay valid (even with max_keep_ckpts=1), and no partial file remains."""
    runner = _toy_runner(tmp_path / 'w', max_iters=3, default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False, max_keep_ckpts=1)))
    runner.model.calls = -100   # no NaN in this run
    real_save, saves = torch.save, []

    def full_disk_save(obj, f, *args, **kwargs):
        saves.append(1)
        if len(saves) == 1:
            return real_save(obj, f, *args, **kwargs)
        f.write(b'half a checkpoint')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(torch, 'save', full_disk_save)
    with pytest.raises(OSError, match='No space left on device') as info:
        runner.train()
    monkeypatch.undo()
    assert 'iter_2.pth' in str(info.value) and 'previous checkpoint is intact' in str(info.value)
    work = tmp_path / 'w'
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_1.pth']
    assert not [p for p in work.iterdir() if p.name.endswith('.tmp')]
    pointed = (work / 'last_checkpoint').read_text().strip()
    assert pointed.endswith('iter_1.pth')
    assert torch.load(pointed, weights_only=True)['meta']['iter'] == 1


def test_skip_bad_images_warns_and_uses_another_sample(tmp_path, caplog):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    _corrupt(folder / 'a_bad.png')
    _png(folder / 'b_good.png')
    cfg = dict(type='BasicImageDataset', data_root=str(folder), data_prefix=dict(img=''),
               skip_bad_images=True,
               pipeline=[dict(type='LoadImageFromFile', key='img'), dict(type='PackInputs')])
    dataset = DATASETS.build(cfg)
    with caplog.at_level(logging.WARNING):
        sample = dataset[0]   # a_bad.png sorts first
    assert 'a_bad.png' in caplog.text and 'skip_bad_images' in caplog.text
    expected = np.asarray(Image.open(folder / 'b_good.png'))[..., ::-1]   # BGR, as loaded
    got = sample['inputs'].permute(1, 2, 0).numpy()
    assert np.array_equal(got, expected)
