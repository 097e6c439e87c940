"""``genforge demo``: train a small class-conditional GAN (or, with ``--model ddpm``, an
Improved DDPM) on scikit-learn's bundled digits, on a CPU, in minutes, and say how much the
samples look like digits."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

EXAMPLES = """Examples:
  genforge demo                       # class-conditional GAN, 1000 iterations
  genforge demo --iters 300 --work-dir /tmp/demo
  genforge demo --model ddpm          # diffusion: sample grid, loss curves, denoising chain

Measured time (benchmarks/demo_quality.py, 3 seeds, 2 CPU cores; idle: two torch threads,
shared with other jobs at load average 2-6: one thread, the demo's own choice):
  gan : 1.4-1.5 min, digit score 1.09-1.28x real digits', rarest digit >= 7.0% (idle)
        2.0-3.4 min, digit score 1.08-1.33x real digits' (cores shared)
  ddpm: 4.9-5.2 min, digit score 0.86-0.93x real digits', rarest digit >= 7.8% (idle, 1 thread)
        5.0-10.3 min (cores shared)
"""

IMG_SIZE = 16  # the digits are 8x8: 16x16 keeps every stroke and trains 4x faster than 32x32
NOISE_SIZE = 64
NUM_CLASSES = 10


def demo_config(work_dir: str, iters: int, vis_interval: int, batch_size: int = 64,
                swd_samples: int = 256, digit_samples: int = 500) -> dict:
    """The demo as an ordinary genforge config (print it with --print-config).

    A class-conditional SNGAN (spectral norm, hinge loss, projection discriminator): the
    discriminator judges "is this a good 3" rather than "is this a digit", so each sample
    commits to one digit and every digit keeps its share (no mode collapse) even after a
    short run. The evaluation at the end is kept cheap: SWD on 256 samples (one 16x16 level),
    the digit score on 500.
    """
    channels = dict(base_channels=32, channels_cfg=[1, 1], num_classes=NUM_CLASSES)
    adam = dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))  # short run: a high learning rate
    return dict(
        work_dir=work_dir,
        model=dict(
            type='SNGAN',
            num_classes=NUM_CLASSES,
            noise_size=NOISE_SIZE,
            data_preprocessor=dict(type='DataPreprocessor'),
            # (N, 64) -> (N, 32, 4, 4) -> two x2 residual blocks with class-conditional BN
            generator=dict(type='SNGANGenerator', output_scale=IMG_SIZE, input_scale=4,
                           out_channels=1, noise_size=NOISE_SIZE, **channels),
            # (N, 1, 16, 16) -> 8x8 -> 8x8 -> sum -> linear + <embed(y), h>
            discriminator=dict(type='ProjDiscriminator', input_scale=IMG_SIZE, input_channels=1,
                               downsample_cfg=[True, False], **channels),
            # a short run needs a short EMA memory (about 100 iterations)
            ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.01)),
        train_dataloader=dict(
            batch_size=batch_size, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='DigitsDataset', img_size=IMG_SIZE)),
        val_dataloader=dict(
            batch_size=batch_size, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='DigitsDataset', img_size=IMG_SIZE, test_mode=True)),
        optim_wrapper=dict(
            constructor='GenOptimWrapperConstructor',
            generator=dict(optimizer=adam), discriminator=dict(optimizer=adam)),
        train_cfg=dict(by_epoch=False, max_iters=iters, val_begin=1, val_interval=iters),
        val_cfg=dict(type='GenValLoop'),
        val_evaluator=dict(type='Evaluator', metrics=[
            dict(type='SWD', prefix='SWD', fake_nums=swd_samples, image_shape=(1, IMG_SIZE, IMG_SIZE),
                 sample_model='ema'),
            # how much the samples look like digits, by a small digits classifier; the
            # generator draws each sample's digit uniformly
            dict(type='DigitScore', prefix='digits', fake_nums=digit_samples, sample_model='ema')]),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=25),
            checkpoint=dict(type='CheckpointHook', interval=iters, by_epoch=False,
                            save_best='SWD/avg', rule='less')),
        custom_hooks=[dict(type='VisualizationHook', interval=vis_interval, fixed_input=True,
                           n_samples=64, n_row=8,
                           vis_kwargs_list=dict(type='GAN', name='fake_img'))],
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        randomness=dict(seed=0),
        log_level='INFO',
    )


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('demo', help='train a small GAN or DDPM on bundled digits '
                                           '(CPU, minutes)',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', choices=['gan', 'ddpm', 'dcgan'], default='gan',
                   help='gan (default: class-conditional SNGAN) or ddpm (Improved DDPM); '
                        "'dcgan' is an old name of 'gan'")
    p.add_argument('--work-dir', default=None,
                   help='output folder (default work_dirs/demo, work_dirs/demo_ddpm for ddpm)')
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations (default 1000)')
    p.add_argument('--print-config', action='store_true', help='print the config and exit')
    # for the test-suite: tiny batch and metric so the whole flow runs in seconds
    p.add_argument('--fast', action='store_true', help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console
    console = Console()
    ddpm = args.model == 'ddpm'
    if args.work_dir is None:
        args.work_dir = 'work_dirs/demo_ddpm' if ddpm else 'work_dirs/demo'
    if args.iters is None:
        args.iters = 1000
    if args.iters < 1:
        from genforge.cli import CLIError
        raise CLIError(f'--iters must be positive, got {args.iters}')
    import torch
    threads = torch.get_num_threads()
    if not args.print_config and cores_are_busy():
        console.print('[dim]other processes keep the CPU cores busy: training on one thread[/]')
        torch.set_num_threads(1)
    try:
        if ddpm:
            from ._demo_ddpm import run_ddpm_demo
            return run_ddpm_demo(args, console)
        return _run_gan_demo(args, console)
    finally:
        torch.set_num_threads(threads)


def cores_are_busy() -> bool:
    """Whether the 1-minute load average already fills all usable cores but one.

    On a busy 2-core machine, torch's two threads wait for each other: an iteration of the GAN
    demo took 2.7-4.2 s with two threads against 0.35-0.54 s with one (load average 3-6). On a
    quiet one (load 1) two threads win, 0.10 s against 0.14 s, so the rule errs towards one
    thread: a wrong guess that way costs 1.4x, the other way 5-10x.
    """
    import os

    from genforge.runner.build import usable_cpus
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows: no load average
        return False
    return load > usable_cpus() - 1


def _run_gan_demo(args, console) -> int:
    from genforge.config import Config
    vis_interval = max(1, args.iters // 6)
    size = dict(batch_size=8, swd_samples=64, digit_samples=64) if args.fast else {}
    cfg = Config(demo_config(args.work_dir, args.iters, vis_interval, **size))
    # The demo may be run again into its own folder (recognised by its final grid), but never
    # over the checkpoints of a real run that --work-dir happens to name.
    from genforge.runner.resume import list_checkpoints
    cfg.overwrite_checkpoints = not list_checkpoints(args.work_dir) or \
        (Path(args.work_dir) / 'final_grid.png').is_file()
    if args.print_config:
        print(cfg.pretty_text)
        return 0
    from genforge.runner import Runner

    from .plot_logs import collect_series, find_scalar_files, plot_series, read_scalars
    console.print(f'[bold]genforge demo[/]: class-conditional SNGAN on scikit-learn digits '
                  f'({IMG_SIZE}x{IMG_SIZE}), '
                  f'{args.iters} iterations on the CPU -> {args.work_dir}')
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    work_dir = Path(args.work_dir)

    final_grid = work_dir / 'final_grid.png'
    _save_final_grid(runner, final_grid)
    curves = work_dir / 'loss_curves.png'
    series = collect_series(read_scalars(find_scalar_files(runner.log_dir)), None)
    if series:
        plot_series(series, curves, title='demo losses')
    metrics = _last_metrics(runner)
    ckpt = _last_checkpoint(work_dir)
    minutes = (time.time() - start) / 60
    console.print(f'\n[bold green]done[/] in {minutes:.1f} min')
    console.print(f'  sample grids : {Path(runner.log_dir) / "vis_data" / "vis_image"}')
    console.print(f'  final grid   : {final_grid}')
    if series:
        console.print(f'  loss curves  : {curves}')
    if 'SWD/avg' in metrics:
        console.print(f'  {"SWD/avg":<13}: {metrics["SWD/avg"]:.4f}  '
                      '(sliced Wasserstein distance, lower is better)')
    digits = {k.split('/', 1)[1]: v for k, v in metrics.items() if k.startswith('digits/')}
    if {'confident', 'score', 'real_score', 'min_class_share'} <= set(digits):
        for i, line in enumerate(digit_report(digits)):
            console.print(f'  {"digits" if i == 0 else "":<13}: {line}', soft_wrap=True)
    if ckpt:
        console.print(f'  checkpoint   : {ckpt}')
        console.print('\nSample again:\n  genforge demo --print-config > demo_cfg.py\n'
                      f'  genforge sample demo_cfg.py {ckpt} --num 64 --out grid.png')
    return 0


def _save_final_grid(runner, path: Path) -> None:
    import torch

    from genforge.hooks.visualization_hook import sample_display_kwargs
    from genforge.visualization import save_image_grid

    from .sample import generate
    model = getattr(runner.model, 'module', runner.model)
    model.eval()
    torch.manual_seed(1)
    samples = generate(model, 64, 'ema' if model.with_ema_gen else 'orig', None, 32)
    disp = sample_display_kwargs(model)
    imgs = torch.stack([s.fake_img.float().cpu() for s in samples])
    save_image_grid(imgs * disp['target_std'] + disp['target_mean'], path, nrow=8,
                    value_range=(0., 255.))


def _last_metrics(runner) -> dict:
    hub = runner.message_hub
    found = {}
    for key in ('SWD/avg', 'digits/confident', 'digits/score', 'digits/real_score',
                'digits/min_class_share', 'digits/ratio'):
        try:
            found[key] = float(hub.get_scalar(f'val/{key}').current())
        except Exception:
            try:
                found[key] = float(hub.get_scalar(key).current())
            except Exception:
                pass
    return found


def digit_report(res: dict) -> list[str]:
    """The digit score in words (``res`` as returned by ``digit_score``/``DigitScore``)."""
    return [f'{100 * res["confident"]:.0f}% of samples are confidently a digit; digit score '
            f'{res["score"]:.2f} (real digits: {res["real_score"]:.2f})',
            f'rarest digit: {100 * res["min_class_share"]:.1f}% of samples (10% when balanced); '
            'see docs/getting-started.md']


def _last_checkpoint(work_dir: Path) -> str | None:
    pointer = work_dir / 'last_checkpoint'
    if pointer.is_file():
        return pointer.read_text().strip()
    return None
