"""``genforge demo``: train a small DCGAN (or, with ``--model ddpm``, an Improved DDPM) on
scikit-learn's bundled digits, on a CPU, in minutes."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

EXAMPLES = """Examples:
  genforge demo                       # ~3 minutes on 2 CPU cores
  genforge demo --iters 300 --work-dir /tmp/demo
  genforge demo --model ddpm          # diffusion: sample grid, loss curves, denoising chain
"""

IMG_SIZE = 32
NOISE_SIZE = 64


def demo_config(work_dir: str, iters: int, vis_interval: int, batch_size: int = 64,
                swd_samples: int = 1024, digit_samples: int = 500) -> dict:
    """The demo as an ordinary genforge config (print it with --print-config)."""
    return dict(
        work_dir=work_dir,
        model=dict(
            type='DCGAN',
            noise_size=NOISE_SIZE,
            data_preprocessor=dict(type='DataPreprocessor'),
            generator=dict(type='DCGANGenerator', output_scale=IMG_SIZE, out_channels=1,
                           base_channels=128, noise_size=NOISE_SIZE),
            discriminator=dict(type='DCGANDiscriminator', input_scale=IMG_SIZE, output_scale=4,
                               in_channels=1, out_channels=1, base_channels=32,
                               default_act_cfg=dict(type='LeakyReLU', negative_slope=0.2)),
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
            generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
            discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))),
        train_cfg=dict(by_epoch=False, max_iters=iters, val_begin=1, val_interval=iters),
        val_cfg=dict(type='GenValLoop'),
        val_evaluator=dict(type='Evaluator', metrics=[
            dict(type='SWD', prefix='SWD', fake_nums=swd_samples, image_shape=(1, IMG_SIZE, IMG_SIZE),
                 sample_model='ema'),
            # how much the samples look like digits, by a small digits classifier
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
    p = subparsers.add_parser('demo', help='train a small DCGAN or DDPM on bundled digits '
                                           '(CPU, minutes)',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', choices=['dcgan', 'ddpm'], default='dcgan',
                   help='dcgan (default) or ddpm (Improved DDPM)')
    p.add_argument('--work-dir', default=None,
                   help='output folder (default work_dirs/demo, work_dirs/demo_ddpm for ddpm)')
    p.add_argument('--iters', type=int, default=None,
                   help='training iterations (default 1500 for dcgan, 1000 for ddpm)')
    p.add_argument('--print-config', action='store_true', help='print the config and exit')
    # for the test-suite: tiny batch and metric so the whole flow runs in seconds
    p.add_argument('--fast', action='store_true', help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    from genforge.config import Config
    console = Console()
    ddpm = args.model == 'ddpm'
    if args.work_dir is None:
        args.work_dir = 'work_dirs/demo_ddpm' if ddpm else 'work_dirs/demo'
    if args.iters is None:
        args.iters = 1000 if ddpm else 1500
    if args.iters < 1:
        from genforge.cli import CLIError
        raise CLIError(f'--iters must be positive, got {args.iters}')
    if ddpm:
        from ._demo_ddpm import run_ddpm_demo
        return run_ddpm_demo(args, console)
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
    console.print(f'[bold]genforge demo[/]: DCGAN on scikit-learn digits ({IMG_SIZE}x{IMG_SIZE}), '
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
