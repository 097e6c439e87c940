"""Issue 24: whatever the user does, checkpoints, logs and input images survive.

Each test builds the misuse in tmp_path, runs the real entry point (``genforge`` in-process
through ``main``, or a subprocess where a process boundary matters: locks, file-size limits) and
checks both the message and that every file the user had is byte-identical afterwards.
"""
from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genforge.cli import main

ROOT = Path(__file__).resolve().parents[2]

TINY = """
model = dict(
    type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1, base_channels=16,
                   noise_size=8),
    discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, in_channels=1,
                       out_channels=1, base_channels=8))
train_dataloader = dict(batch_size=4, num_workers=0,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', img_size=16, indices=16))
optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=2)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False))
randomness = dict(seed=0)
"""


def _cli(*argv) -> tuple[int, str]:
    """``genforge ARGV`` in-process: (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def _one_line_error(code: int, err: str) -> str:
    assert code == 2 and 'Traceback' not in err, err
    assert len(err.strip().splitlines()) <= 2, err   # the error + the --debug hint
    return err


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (except logs of new runs) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob('*'))
            if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope='module')
def run2(tmp_path_factory):
    """A config and a finished 2-iteration run (iter_1.pth, iter_2.pth); tests copy it."""
    root = tmp_path_factory.mktemp('lost')
    cfg = root / 'tiny.py'
    cfg.write_text(TINY)
    work = root / 'work'
    assert main(['train', str(cfg), '--work-dir', str(work)]) == 0
    return cfg, work


def _copy_run(run2, tmp_path) -> tuple[Path, Path]:
    import shutil
    cfg, work = run2
    dst = tmp_path / 'work'
    shutil.copytree(work, dst)
    # the pointer holds an absolute path: point it into the copy
    (dst / 'last_checkpoint').write_text(str(dst / 'iter_2.pth'))
    return cfg, dst


def _ckpt_files(work: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in work.glob('*.pth')}


# -- data loss ----------------------------------------------------------------------------------
def test_resume_with_dangling_pointer_uses_newest_loadable_checkpoint(run2, tmp_path, caplog):
    cfg, work = _copy_run(run2, tmp_path)
    (work / 'iter_2.pth').unlink()                     # last_checkpoint now dangles
    before = (work / 'iter_1.pth').read_bytes()
    with caplog.at_level('WARNING'):
        code, err = _cli('train', cfg, '--work-dir', work, '--resume',
                         '--cfg-options', 'train_cfg.max_iters=2')
    assert code == 0, err
    assert 'resuming from the newest checkpoint that loads' in caplog.text
    assert str(work / 'iter_1.pth') in caplog.text
    assert (work / 'iter_1.pth').read_bytes() == before     # not retrained from scratch
    # continuing from iteration 1 reproduces the uninterrupted run's iteration 2 exactly
    resumed = torch.load(work / 'iter_2.pth', weights_only=True)
    straight = torch.load(run2[1] / 'iter_2.pth', weights_only=True)
    assert resumed['meta']['iter'] == 2
    for key, value in straight['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key


def test_resume_when_no_checkpoint_loads_stops_and_keeps_files(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    for name in ('iter_1.pth', 'iter_2.pth'):
        data = (work / name).read_bytes()
        (work / name).write_bytes(data[:len(data) // 3])  # both truncated
    before = _snapshot(work)
    err = _one_line_error(*_cli('train', cfg, '--work-dir', work, '--resume'))
    assert 'none can be resumed from' in err and 'iter_2.pth' in err and 'iter_1.pth' in err
    after = _snapshot(work)
    assert {k: after[k] for k in before} == before
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_1.pth', 'iter_2.pth']


def test_resume_from_bare_state_dict_is_refused(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    state = torch.load(work / 'iter_1.pth', weights_only=True)['state_dict']
    torch.save(state, tmp_path / 'weights_only.pth')
    before = _ckpt_files(work)
    err = _one_line_error(*_cli('train', cfg, '--work-dir', work,
                                '--resume', tmp_path / 'weights_only.pth'))
    assert 'weights_only.pth' in err and 'bare state dict' in err and '--load-from' in err
    assert _ckpt_files(work) == before


def test_resume_with_other_models_checkpoint_is_one_line(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    from genforge.runner.checkpoint import save_checkpoint
    other = torch.nn.Sequential(torch.nn.Linear(3, 4))
    save_checkpoint(dict(meta=dict(iter=5, cfg="model = dict(type='SRCNNNet')"),
                         state_dict=other.state_dict()), str(tmp_path / 'other.pth'))
    before = _snapshot(work)
    err = _one_line_error(*_cli('train', cfg, '--work-dir', work, '--resume',
                                tmp_path / 'other.pth'))
    assert 'other.pth' in err and 'SRCNNNet' in err and 'builds DCGAN' in err
    assert 'strict=False' not in err and len(err) < 700
    # a failed resume writes nothing into the work dir (not even the config dump)
    after = _snapshot(work)
    assert {k: after[k] for k in before} == before


def test_failed_resume_does_not_rewrite_config_dump(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    (work / 'tiny.py').write_text('# the dump of the first run\n')
    code, _ = _cli('train', cfg, '--work-dir', work, '--resume', tmp_path / 'missing.pth')
    assert code == 2
    assert (work / 'tiny.py').read_text() == '# the dump of the first run\n'


def test_second_run_in_a_locked_work_dir_stops(run2, tmp_path):
    from genforge.runner.work_dir_lock import WorkDirLock
    cfg, work = _copy_run(run2, tmp_path)
    before = _snapshot(work)
    lock = WorkDirLock(str(work)).acquire()        # a run in progress
    try:
        err = _one_line_error(*_cli('train', cfg, '--work-dir', work))
    finally:
        lock.release()
    assert 'is in use by another training run' in err and f'pid {os.getpid()}' in err
    assert '--work-dir' in err
    after = _snapshot(work)
    assert {k: after[k] for k in before} == before
    assert not (work / '.genforge.lock').exists()


def test_stale_lock_of_a_killed_run_is_taken_over(run2, tmp_path, caplog):
    cfg, work = _copy_run(run2, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time; from genforge.runner.work_dir_lock import '
         'WorkDirLock; WorkDirLock(sys.argv[1]).acquire(); print("locked", flush=True); '
         'time.sleep(60)', str(work)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert holder.stdout.readline().strip() == 'locked'
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (work / '.genforge.lock').exists()       # a kill leaves the file behind
    with caplog.at_level('WARNING'):
        code, err = _cli('train', cfg, '--work-dir', work, '--resume',
                         '--cfg-options', 'train_cfg.max_iters=3')
    assert code == 0, err
    assert f'pid {holder.pid}' in caplog.text and 'no longer running' in caplog.text
    assert (work / 'iter_3.pth').is_file() and not (work / '.genforge.lock').exists()


SR_CONFIG = """
model = dict(
    type='BaseEditModel',
    generator=dict(type='MSRResNet', in_channels=3, out_channels=3, mid_channels=4,
                   num_blocks=1, upscale_factor=2),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
"""


@pytest.fixture
def sr(tmp_path):
    """A tiny x2 restorer config + checkpoint and a folder of two 8-bit photos."""
    import genforge.models  # noqa: F401
    from genforge.config import Config
    from genforge.registry import MODELS
    from genforge.runner.checkpoint import save_checkpoint
    torch.manual_seed(0)
    cfg = tmp_path / 'sr.py'
    cfg.write_text(SR_CONFIG)
    model = MODELS.build(dict(Config.fromfile(str(cfg)).model))
    ckpt = tmp_path / 'sr.pth'
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, str(ckpt))
    photos = tmp_path / 'photos'
    photos.mkdir()
    rng = np.random.default_rng(0)
    for name in ('a', 'b'):
        Image.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).save(photos / f'{name}.png')
    return cfg, ckpt, photos


def test_restore_into_its_own_input_folder_is_refused(sr):
    cfg, ckpt, photos = sr
    before = _snapshot(photos)
    err = _one_line_error(*_cli('restore', cfg, ckpt, photos, '--out', photos, '--device', 'cpu'))
    assert 'would overwrite the input' in err and 'a.png' in err
    assert _snapshot(photos) == before


def test_restore_jpg_and_png_of_one_name_into_input_folder_is_refused(sr):
    cfg, ckpt, photos = sr
    (photos / 'b.png').rename(photos / 'b.jpg')   # b.jpg -> b.png, a.png -> a.png
    (photos / 'a.png').rename(photos / 'c.png')
    Image.open(photos / 'c.png').save(photos / 'b.bmp')  # b.bmp and b.jpg -> one b.png
    before = _snapshot(photos)
    err = _one_line_error(*_cli('restore', cfg, ckpt, photos, '--out', photos / 'sr'))
    assert 'two results would be written to' in err and 'b.png' in err
    assert _snapshot(photos) == before


def test_restore_names_the_truncated_file(sr):
    cfg, ckpt, photos = sr
    data = (photos / 'b.png').read_bytes()
    (photos / 'b.png').write_bytes(data[:len(data) // 2])
    err = _one_line_error(*_cli('restore', cfg, ckpt, photos, '--out', photos.parent / 'out'))
    assert str(photos / 'b.png') in err and 'truncated' in err


def _restored(cfg, ckpt, src: Path, out: Path) -> np.ndarray:
    code, err = _cli('restore', cfg, ckpt, src, '--out', out, '--device', 'cpu')
    assert code == 0, err
    return np.asarray(Image.open(out / f'{src.stem}.png'))


def test_16bit_png_is_scaled_to_8bit_for_restore(sr, tmp_path):
    cfg, ckpt, _ = sr
    wide = np.random.default_rng(1).integers(0, 65536, (9, 11), dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / 'deep.png')              # 16-bit grayscale
    Image.fromarray((wide >> 8).astype(np.uint8)).save(tmp_path / 'shallow.png')
    got = _restored(cfg, ckpt, tmp_path / 'deep.png', tmp_path / 'o1')
    expected = _restored(cfg, ckpt, tmp_path / 'shallow.png', tmp_path / 'o2')
    assert np.array_equal(got, expected)
    assert (got < 250).mean() > 0.5     # not the clipped, nearly white image


def test_16bit_png_is_scaled_to_8bit_in_datasets(tmp_path):
    from genforge.datasets.transforms.loading import read_image
    wide = np.random.default_rng(2).integers(0, 65536, (6, 5), dtype=np.uint16)
    Image.fromarray(wide).save(tmp_path / 'deep.png')
    expected = (wide // 256).astype(np.uint8)    # cv2.imread's 16 -> 8 bit rule
    for color_type in ('grayscale', 'unchanged'):
        assert np.array_equal(read_image(str(tmp_path / 'deep.png'), color_type)[..., 0], expected)
    color = read_image(str(tmp_path / 'deep.png'), 'color')
    assert color.shape == (6, 5, 3) and all(np.array_equal(color[..., c], expected)
                                            for c in range(3))


def test_symlink_loop_in_recursive_folder_reads_each_file_once(tmp_path, caplog):
    from genforge.registry import DATASETS
    folder = tmp_path / 'imgs'
    (folder / 'sub').mkdir(parents=True)
    rng = np.random.default_rng(3)
    for name in ('a.png', 'b.png', 'sub/c.png'):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / name)
    (folder / 'loop').symlink_to('.')
    (folder / 'sub' / 'up').symlink_to('..')
    with caplog.at_level('WARNING'):
        dataset = DATASETS.build(dict(
            type='CustomDataset', data_root=str(folder), with_label=False,
            pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]))
    assert len(dataset) == 3
    assert 'symbolic links' in caplog.text


def test_plot_logs_refuses_to_overwrite_the_log(run2, tmp_path):
    _, work = _copy_run(run2, tmp_path)
    scalars = next(work.glob('*/vis_data/scalars.json'))
    text_log = next(work.glob('*/*.log'))
    before = _snapshot(work)
    for out in (scalars, text_log, work / 'iter_1.pth'):
        err = _one_line_error(*_cli('plot-logs', work, '--out', out))
        assert str(out) in err
    assert _snapshot(work) == before


def test_plot_logs_skips_damaged_lines_and_names_the_file(tmp_path, capsys):
    log = tmp_path / 'scalars.json'
    log.write_bytes(b'{"step": 1, "loss": 0.5}\n42\n\xff\xfe garbage\n[1, 2]\n'
                    b'{"step": 2, "loss": 0.25}\n{"step": 3, "lo')
    code = main(['plot-logs', str(log), '--out', str(tmp_path / 'c.png')])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f'skipped 3 line(s) of {log}' in err
    assert Image.open(tmp_path / 'c.png').format == 'PNG'


@pytest.mark.parametrize('args, needle', [
    (['--num', '0'], '--num 0: must be at least 1'),
    (['--num', '-3'], '--num -3: must be at least 1'),
    (['--batch-size', '0'], '--batch-size 0: must be at least 1'),
])
def test_sample_rejects_non_positive_counts(run2, args, needle, tmp_path):
    cfg, work = run2
    err = _one_line_error(*_cli('sample', cfg, work / 'iter_2.pth', '--out', tmp_path / 'g.png',
                                *args))
    assert needle in err


def test_sample_refuses_to_overwrite_checkpoint_or_config(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    before = _snapshot(work)
    for out in (work / 'iter_2.pth', cfg, work / 'iter_1.pth'):
        err = _one_line_error(*_cli('sample', cfg, work / 'iter_2.pth', '--out', out))
        assert str(out) in err
    assert _snapshot(work) == before


# -- nan_policy='skip' ---------------------------------------------------------------------------
class _BNRegressor(torch.nn.Module):
    """Linear -> BatchNorm -> Linear regression; batch 3 of the stream holds a NaN input, which
    poisons the loss, the gradients and (in the forward pass) BatchNorm's running statistics.
    ``poison_buffer_at`` instead writes NaN into a buffer while the loss stays finite."""

    def __init__(self, poison_buffer_at=None):
        super().__init__()
        from genforge.models import BaseModel

        class Net(BaseModel):
            def __init__(self):
                super().__init__()
                self.body = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4),
                                                torch.nn.Linear(4, 1))
                self.calls = 0

            def train_step(self, data, optim_wrapper):
                self.calls += 1
                x = data['inputs']
                if self.calls == 3:
                    x = x.clone()
                    x[0, 0] = float('nan')
                loss = self.body(x).pow(2).mean()
                parsed, log_vars = self.parse_losses({'loss_reg': loss})
                optim_wrapper.update_params(parsed)
                if self.calls == poison_buffer_at:
                    self.body[1].running_var.fill_(float('nan'))
                return log_vars

        self.net = Net()


def _bn_runner(work, poison_buffer_at=None, hooks=(), max_keep=-1):
    from genforge.optim import OptimWrapper
    from genforge.runner import Runner
    torch.manual_seed(0)
    model = _BNRegressor(poison_buffer_at).net
    data = [dict(inputs=torch.randn(2)) for _ in range(12)]
    return Runner(model, work_dir=str(work),
                  train_dataloader=dict(batch_size=3, num_workers=0, dataset=data,
                                        sampler=dict(type='DefaultSampler', shuffle=False),
                                        collate_fn=dict(type='default_collate')),
                  train_cfg=dict(by_epoch=False, max_iters=4, nan_policy='skip'),
                  optim_wrapper=OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1,
                                                             momentum=0.9)),
                  default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1,
                                                     by_epoch=False, max_keep_ckpts=max_keep)),
                  custom_hooks=[dict(type='EMAHook', momentum=0.5), *hooks],
                  randomness=dict(seed=0))


def test_nan_skip_leaves_params_buffers_ema_and_optimizer_untouched(tmp_path):
    import copy

    from genforge.hooks import Hook
    states = {}

    class Record(Hook):
        priority = 'LOWEST'   # after EMAHook's update

        def _state(self, runner):
            ema = runner.hooks[[type(h).__name__ for h in runner.hooks].index('EMAHook')]
            return (copy.deepcopy(runner.model.state_dict()),
                    copy.deepcopy(ema.ema_model.state_dict()),
                    copy.deepcopy(runner.optim_wrapper.state_dict()['state']))

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            states[('before', runner.iter)] = self._state(runner)

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            states[('after', runner.iter)] = self._state(runner)

    runner = _bn_runner(tmp_path / 'w', hooks=[Record()])
    runner.train()
    before, after = states[('before', 2)], states[('after', 2)]   # iteration 3 is the bad one
    for old, new in zip(before[:2], after[:2]):                    # model (+BN stats), EMA
        assert old.keys() == new.keys()
        for key in old:
            assert torch.equal(old[key], new[key]), key
    for idx, slot in before[2].items():                            # SGD momentum buffers
        assert all(torch.equal(v, after[2][idx][k]) for k, v in slot.items())
    # iterations 2 and 4 did train; every checkpoint is finite
    assert not torch.equal(states[('before', 3)][0]['body.0.weight'],
                           states[('after', 3)][0]['body.0.weight'])
    for path in (tmp_path / 'w').glob('iter_*.pth'):
        ckpt = torch.load(path, weights_only=True)
        assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
                   if v.is_floating_point()), path
    assert runner.message_hub.get_info('nan_skipped_iters') == 1


def test_checkpoint_with_nan_weights_is_never_written(tmp_path):
    runner = _bn_runner(tmp_path / 'w', poison_buffer_at=2, max_keep=1)
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    message = str(info.value)
    assert 'iter_2.pth' in message and 'body.1.running_var' in message
    assert 'iter_1.pth is kept' in message
    work = tmp_path / 'w'
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_1.pth']   # not rotated away
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_1.pth')
    ckpt = torch.load(work / 'iter_1.pth', weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values() if v.is_floating_point())


# -- wrong results without a word ------------------------------------------------------------------
def _other_model_checkpoint(path: Path) -> None:
    from genforge.runner.checkpoint import save_checkpoint
    other = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(4, 1, 3))
    save_checkpoint(dict(meta=dict(iter=9, cfg="model = dict(type='EDSRNet')"),
                         state_dict=other.state_dict()), str(path))


def test_test_with_another_models_checkpoint_stops(run2, tmp_path):
    cfg, work = run2
    _other_model_checkpoint(tmp_path / 'other_model.pth')
    val = ("val_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler',"
           " shuffle=False), dataset=dict(type='DigitsDataset', img_size=16, indices=8, "
           "test_mode=True))\ntest_dataloader = val_dataloader\ntest_evaluator = dict("
           "type='Evaluator', metrics=[dict(type='SWD', prefix='SWD', fake_nums=8, "
           "image_shape=(1, 16, 16))])\n")
    (tmp_path / 'cfg.py').write_text(cfg.read_text() + val)
    err = _one_line_error(*_cli('test', tmp_path / 'cfg.py', tmp_path / 'other_model.pth',
                                '--work-dir', tmp_path / 't'))
    assert 'other_model.pth' in err and 'only 0 of the' in err and 'DCGAN' in err
    assert 'EDSRNet' in err and '0.weight' in err and 'generator.' in err and '--no-strict' in err
    # --no-strict is the explicit choice: it evaluates (random weights) and exits 0
    code, err = _cli('test', tmp_path / 'cfg.py', tmp_path / 'other_model.pth',
                     '--work-dir', tmp_path / 't', '--no-strict')
    assert code == 0, err
    # and the run's own checkpoint still passes --strict
    code, err = _cli('test', tmp_path / 'cfg.py', work / 'iter_2.pth', '--work-dir',
                     tmp_path / 't', '--strict')
    assert code == 0, err


# -- clear errors ---------------------------------------------------------------------------------
def _limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return preexec


def test_save_hitting_the_file_size_limit_is_one_clear_line(run2, tmp_path):
    """A real failing write (RLIMIT_FSIZE): torch's 'unexpected pos' becomes the documented
    message, iteration 2's checkpoint and the pointer to it survive, no temp file remains."""
    cfg, work = _copy_run(run2, tmp_path)
    (work / 'iter_2.pth').unlink()
    (work / 'last_checkpoint').write_text(str(work / 'iter_1.pth'))
    size = (work / 'iter_1.pth').stat().st_size
    before = _ckpt_files(work)
    proc = subprocess.run(
        [sys.executable, '-m', 'genforge', 'train', str(cfg), '--work-dir', str(work), '--resume',
         '--cfg-options', 'default_hooks.checkpoint.max_keep_ckpts=1'],
        capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size(size // 2),
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr and 'inline_container' not in proc.stderr
    line = next(x for x in err if x.startswith('genforge train:'))
    assert 'could not save checkpoint' in line and 'iter_2.pth' in line
    assert 'file size limit' in line and 'previous checkpoint is intact' in line
    assert _ckpt_files(work) == before
    assert (work / 'last_checkpoint').read_text().strip().endswith('iter_1.pth')
    assert not [p for p in work.iterdir() if p.name.endswith('.tmp')]


def test_ctrl_c_during_save_says_interrupted(tmp_path, monkeypatch):
    from genforge.runner.checkpoint import save_checkpoint
    path = tmp_path / 'iter_1.pth'
    save_checkpoint({'w': torch.zeros(3)}, str(path))
    before = path.read_bytes()
    import genforge.runner.checkpoint as ckpt_module
    real_open = ckpt_module.atomic_open

    class CtrlCFile:
        """The user presses Ctrl-C during the third write to disk."""

        def __init__(self, f):
            self.f, self.calls = f, 0

        def write(self, data):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

    @contextlib.contextmanager
    def ctrl_c_open(*args, **kwargs):
        with real_open(*args, **kwargs) as f:
            yield CtrlCFile(f)

    monkeypatch.setattr(ckpt_module, 'atomic_open', ctrl_c_open)
    with pytest.raises(KeyboardInterrupt, match='interrupted while saving checkpoint'):
        save_checkpoint({'w': torch.ones(1000)}, str(path))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ['iter_1.pth']


@pytest.mark.parametrize('command', ['train', 'print-config', 'migrate-config'])
@pytest.mark.parametrize('where', ['config', 'base'])
def test_non_utf8_config_names_the_file(tmp_path, command, where):
    latin1 = "# r\xe9glages\nx = 1\n".encode('latin-1')     # 0xe9 is not UTF-8 here
    if where == 'config':
        (tmp_path / 'cfg.py').write_bytes(latin1)
        bad = tmp_path / 'cfg.py'
    else:
        (tmp_path / 'base.py').write_bytes(latin1)
        (tmp_path / 'cfg.py').write_text("_base_ = ['./base.py']\ny = 2\n")
        bad = tmp_path / 'base.py'
    extra = ['--print'] if command == 'migrate-config' else []
    err = _one_line_error(*_cli(command, tmp_path / 'cfg.py', *extra))
    assert f'{bad} is not UTF-8 text' in err and 'line 1, column 4' in err
    assert 'UnicodeDecodeError' not in err


def test_batch_larger_than_dataset_with_drop_last_says_so(run2, tmp_path):
    cfg, _ = run2
    err = _one_line_error(*_cli(
        'train', cfg, '--work-dir', tmp_path / 'w', '--cfg-options',
        "train_dataloader.sampler.type='DefaultSampler'", 'train_dataloader.drop_last=True',
        'train_dataloader.batch_size=32'))
    assert 'batch_size=32 with drop_last=True' in err and '16 sample(s)' in err
    assert 'no full batch can be formed' in err and 'StopIteration' not in err


def test_fresh_run_over_an_earlier_runs_checkpoints_needs_overwrite(run2, tmp_path):
    cfg, work = _copy_run(run2, tmp_path)
    before = _snapshot(work)
    err = _one_line_error(*_cli('train', cfg, '--work-dir', work))
    assert 'already holds checkpoints of an earlier run (iter_2.pth, iter_1.pth)' in err
    assert '--resume' in err and '--overwrite' in err
    after = _snapshot(work)
    assert {k: after[k] for k in before} == before
    code, err = _cli('train', cfg, '--work-dir', work, '--overwrite')   # the explicit choice
    assert code == 0, err
    assert (work / 'iter_2.pth').read_bytes() != before['iter_2.pth']


def test_sample_with_another_models_checkpoint_is_one_line(run2, tmp_path):
    cfg, _ = run2
    _other_model_checkpoint(tmp_path / 'other_model.pth')
    err = _one_line_error(*_cli('sample', cfg, tmp_path / 'other_model.pth',
                                '--out', tmp_path / 'g.png'))
    assert 'other_model.pth holds EDSRNet weights' in err and '0 of the' in err and 'DCGAN' in err
    assert not (tmp_path / 'g.png').exists()


def test_small_file_size_limit_names_the_file_being_written(run2, tmp_path):
    """With a limit too small even for the config dump, the error names the file (any file the
    run writes first), the earlier run's checkpoints stay as they were."""
    cfg, work = _copy_run(run2, tmp_path)
    before = _ckpt_files(work)
    proc = subprocess.run(
        [sys.executable, '-m', 'genforge', 'train', str(cfg), '--work-dir', str(work), '--resume',
         '--cfg-options', 'train_cfg.max_iters=3'],
        capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size(300),
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2, proc.stderr
    line = next(x for x in proc.stderr.splitlines() if x.startswith('genforge train:'))
    assert str(work) in line and ('File too large' in line or 'file size limit' in line), line
    assert 'Traceback' not in proc.stderr, proc.stderr
    assert _ckpt_files(work) == before
    assert not [p for p in work.rglob('*.tmp')]


def test_decompression_bomb_and_non_utf8_ann_file_name_the_file(tmp_path):
    from genforge.datasets.base_dataset import BadImageError
    from genforge.datasets.transforms.loading import read_image
    from genforge.datasets.utils import read_lines
    Image.new('L', (9000, 9000)).save(tmp_path / 'bomb.png')      # 81 Mpx, compresses to KBs
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 1000 * 1000    # so the test image counts as a bomb (> 2x limit)
    try:
        with pytest.raises(BadImageError, match='bomb.png.*MAX_IMAGE_PIXELS'):
            read_image(str(tmp_path / 'bomb.png'))
    finally:
        Image.MAX_IMAGE_PIXELS = old
    (tmp_path / 'ann.txt').write_bytes('a.png\nb\xe9.png\n'.encode('latin-1'))
    with pytest.raises(ValueError, match=r'ann.txt is not UTF-8 text: byte 0xe9 at line 2'):
        read_lines(str(tmp_path / 'ann.txt'), 'BasicImageDataset')


def test_cli_device_and_tile_misuse_is_one_line(run2, sr, tmp_path):
    cfg, work = run2
    err = _one_line_error(*_cli('sample', cfg, work / 'iter_2.pth', '--out', tmp_path / 'g.png',
                                '--device', 'cuda:99'))
    assert '--device cuda:99' in err and ('no CUDA GPU' in err or 'GPU(s)' in err)
    err = _one_line_error(*_cli('sample', cfg, work / 'iter_2.pth', '--out', tmp_path / 'g.png',
                                '--device', 'gpu'))
    assert "--device 'gpu' is not a device" in err
    sr_cfg, ckpt, photos = sr
    err = _one_line_error(*_cli('restore', sr_cfg, ckpt, photos, '--out', tmp_path / 'o',
                                '--tile', '8', '--tile-overlap', '-2'))
    assert '--tile-overlap must be >= 0' in err


class _Payload:
    """Unpickling this calls ``open(marker, 'w')``: proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.mark.parametrize('protocol', [2, 4])
def test_pkl_files_are_read_without_running_code(tmp_path, protocol):
    import pickle

    from genforge.evaluation.metrics.real_stats import load_stats_pkl, save_stats_pkl
    from genforge.fileio import safe_pickle_load
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'evil_stats.pkl'
    evil.write_bytes(pickle.dumps(dict(mean=np.zeros(3), cov=np.eye(3),
                                       x=_Payload(str(marker))), protocol=protocol))
    with pytest.raises(pickle.UnpicklingError, match='evil_stats.pkl: it names io.open'):
        load_stats_pkl(evil)
    assert not marker.exists()
    # what fid-stats writes (and MMagic's mean/cov files) still loads, arrays intact
    rng = np.random.default_rng(0)
    mean, cov = rng.normal(size=4), rng.normal(size=(4, 4))
    save_stats_pkl(tmp_path / 'ok.pkl', dict(real_mean=mean, real_cov=cov, num=4))
    state = load_stats_pkl(tmp_path / 'ok.pkl')
    assert np.array_equal(state['real_mean'], mean) and np.array_equal(state['real_cov'], cov)
    # a CIFAR-style batch (bytes keys, uint8 array, list of labels)
    batch = {b'data': rng.integers(0, 256, (2, 3072), dtype=np.uint8), b'labels': [1, 2]}
    (tmp_path / 'b').write_bytes(pickle.dumps(batch, protocol=protocol))
    with open(tmp_path / 'b', 'rb') as f:
        back = safe_pickle_load(f, tmp_path / 'b', encoding='latin1')
    assert np.array_equal(back[b'data'], batch[b'data']) and back[b'labels'] == [1, 2]


def test_demo_does_not_overwrite_a_real_runs_checkpoints(run2, tmp_path):
    _, work = _copy_run(run2, tmp_path)
    before = _ckpt_files(work)
    err = _one_line_error(*_cli('demo', '--iters', '2', '--work-dir', work, '--fast'))
    assert 'already holds checkpoints of an earlier run' in err
    assert _ckpt_files(work) == before


def test_sample_label_out_of_range_is_one_line(tmp_path):
    import genforge.models  # noqa: F401
    from genforge.registry import MODELS
    from genforge.runner.checkpoint import save_checkpoint
    model_cfg = dict(type='SNGAN', num_classes=3, noise_size=16,
                     data_preprocessor=dict(type='DataPreprocessor'),
                     generator=dict(type='SNGANGenerator', output_scale=32, base_channels=8),
                     discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=8))
    (tmp_path / 'cgan.py').write_text(f'model = {model_cfg!r}\n')
    save_checkpoint(dict(state_dict=MODELS.build(model_cfg).state_dict(), meta={}),
                    str(tmp_path / 'cgan.pth'))
    for label in ('3', '-1'):
        err = _one_line_error(*_cli('sample', tmp_path / 'cgan.py', tmp_path / 'cgan.pth',
                                    '--num', '2', '--label', label, '--out', tmp_path / 'g.png'))
        assert f'--label {label}: SNGAN has 3 classes (labels 0 .. 2)' in err
    assert not (tmp_path / 'g.png').exists()
