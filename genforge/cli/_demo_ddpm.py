"""``genforge demo --model ddpm``: a small Improved DDPM on the bundled digits (CPU, minutes).

Writes the final sample grid, the loss curves and the denoising chain (rows: samples, columns:
x_T ... x_0 of a respaced chain) as PNGs next to the checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path

IMG_SIZE = 16
NUM_TIMESTEPS = 200
SAMPLE_STEPS = 50  # respaced chain for the pictures: 4x faster than the full one
DIGIT_SAMPLES = 256  # samples the digit score is measured on (a grid's 64 are too few)


def ddpm_demo_config(work_dir: str, iters: int, batch_size: int = 64) -> dict:
    """The DDPM demo as an ordinary genforge config (print it with --print-config)."""
    return dict(
        work_dir=work_dir,
        model=dict(
            type='BasicGaussianDiffusion',
            num_timesteps=NUM_TIMESTEPS,
            betas_cfg=dict(type='cosine'),
            data_preprocessor=dict(type='DataPreprocessor'),
            denoising=dict(type='DenoisingUnet', image_size=IMG_SIZE, in_channels=1,
                           base_channels=32, channels_cfg=[1, 2, 2], resblocks_per_downsample=1,
                           attention_res=[4], num_heads=2, use_scale_shift_norm=True,
                           use_rescale_timesteps=True,
                           output_cfg=dict(mean='eps', var='learned_range')),
            timestep_sampler=dict(type='UniformTimeStepSampler'),
            ddpm_loss=[
                dict(type='DDPMVLBLoss', rescale_mode='constant',
                     rescale_cfg=dict(scale=NUM_TIMESTEPS / 1000),
                     log_cfgs=dict(type='quartile', prefix_name='loss_vlb',
                                   total_timesteps=NUM_TIMESTEPS)),
                dict(type='DDPMMSELoss',
                     log_cfgs=dict(type='quartile', prefix_name='loss_mse',
                                   total_timesteps=NUM_TIMESTEPS))],
            # a short run needs a short EMA memory (real runs: 1e-4)
            ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.01)),
        train_dataloader=dict(
            batch_size=batch_size, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(type='DigitsDataset', img_size=IMG_SIZE)),
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           denoising=dict(optimizer=dict(type='AdamW', lr=1e-3,
                                                         weight_decay=0))),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=25),
            checkpoint=dict(type='CheckpointHook', interval=iters, by_epoch=False)),
        visualizer=dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]),
        randomness=dict(seed=0),
        log_level='INFO',
    )


def run_ddpm_demo(args, console) -> int:
    """Train, then write final_grid.png, loss_curves.png and denoising_chain.png."""
    from genforge.config import Config
    from genforge.runner import Runner

    from .plot_logs import collect_series, find_scalar_files, plot_series, read_scalars
    batch = dict(batch_size=8) if args.fast else {}
    cfg = Config(ddpm_demo_config(args.work_dir, args.iters, **batch))
    if args.print_config:
        print(cfg.pretty_text)
        return 0
    console.print(f'[bold]genforge demo[/]: Improved DDPM on scikit-learn digits '
                  f'({IMG_SIZE}x{IMG_SIZE}, T={NUM_TIMESTEPS}), {args.iters} iterations on the '
                  f'CPU -> {args.work_dir}')
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    work_dir = Path(args.work_dir)
    model = getattr(runner.model, 'module', runner.model).eval()
    steps = 4 if args.fast else SAMPLE_STEPS
    grid, chain = work_dir / 'final_grid.png', work_dir / 'denoising_chain.png'
    samples = save_ddpm_pictures(model, grid, chain, steps, num=16 if args.fast else 64,
                                 extra=16 if args.fast else DIGIT_SAMPLES - 64)
    curves = work_dir / 'loss_curves.png'
    keys = ['loss', 'loss_ddpm_mse', 'loss_ddpm_vlb']
    series = collect_series(read_scalars(find_scalar_files(runner.log_dir)), keys)
    if series:
        plot_series(series, curves, title='DDPM demo losses')
    console.print(f'\n[bold green]done[/] in {(time.time() - start) / 60:.1f} min')
    console.print(f'  final grid      : {grid}  ({steps} respaced steps, EMA model)')
    console.print(f'  denoising chain : {chain}  (left: pure noise x_T, right: x_0)')
    if series:
        console.print(f'  loss curves     : {curves}')
    try:
        from genforge.evaluation.metrics.digit_score import digit_score

        from .demo import digit_report
        res = digit_score((samples.clamp(-1, 1) + 1) * 127.5, img_size=IMG_SIZE)
        for i, line in enumerate(digit_report(res)):
            console.print(f'  {"digits" if i == 0 else "":<16}: {line}', soft_wrap=True)
    except ImportError as exc:  # scikit-learn is the demo's dependency; say so, keep results
        console.print(f'  digits          : not measured ({exc})')
    pointer = work_dir / 'last_checkpoint'
    if pointer.is_file():
        ckpt = pointer.read_text().strip()
        console.print(f'  checkpoint      : {ckpt}')
        console.print('\nSample again:\n  genforge demo --model ddpm --print-config > ddpm_cfg.py\n'
                      f'  genforge sample ddpm_cfg.py {ckpt} --num 64 --steps 50 --out grid.png')
    return 0


def save_ddpm_pictures(model, grid_path: Path, chain_path: Path, steps: int,
                       num: int = 64, chain_rows: int = 8, chain_cols: int = 10,
                       extra: int = 0):
    """Sample ``num`` images into a grid; draw ``chain_rows`` chains of ``chain_cols`` frames.

    Returns the grid's samples plus ``extra`` more (for the digit score), in [-1, 1]."""
    import math

    import torch

    from genforge.visualization import save_image_grid
    torch.manual_seed(1)
    imgs = model.sample_from_noise(None, num, 'ema', timestep_respacing=steps).cpu()
    save_image_grid(imgs, grid_path, nrow=int(math.ceil(math.sqrt(num))))
    chain = model.sample_from_noise(None, chain_rows, 'ema', timestep_respacing=steps,
                                    save_intermedia=True)
    ts = sorted(chain, reverse=True)  # x_T first
    picks = [ts[round(i * (len(ts) - 1) / (chain_cols - 1))] for i in range(chain_cols)]
    frames = torch.stack([chain[t] for t in picks], dim=1)  # (rows, cols, C, H, W)
    save_image_grid(frames.flatten(0, 1).clamp(-1, 1), chain_path, nrow=chain_cols)
    more = [model.sample_from_noise(None, min(64, extra - i), 'ema',
                                    timestep_respacing=steps).cpu() for i in range(0, extra, 64)]
    return torch.cat([imgs] + more)
