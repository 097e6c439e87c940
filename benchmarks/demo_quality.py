"""How good are the default ``genforge demo`` samples, and how long does the demo take?

For each seed, trains the shipped demo config exactly as ``genforge demo`` does and prints the
digit score ratio (samples' classifier Inception Score / real held-out digits'), the confident
fraction, the smallest class share and the wall time:

- ``--model gan`` (the default demo): training + the validation at the end (SWD on 256 samples,
  the DigitScore of 500 EMA samples);
- ``--model ddpm``: training + the sampling the demo does at the end (grid, denoising chain and
  256 EMA samples in all for the digit score, 50 respaced steps).

Runs one seed after the other, nothing else interleaved; the CPU's bf16 capability, the thread
count and the load average are printed first, since wall time depends on them (on a shared
machine it is inflated: compare the load average with the usable cores).

    python benchmarks/demo_quality.py                          # GAN demo, seeds 0 1 2
    python benchmarks/demo_quality.py --model ddpm --seeds 0   # DDPM demo, one seed
    python benchmarks/demo_quality.py --seeds 0 --iters 300 --threads 2   # a short look
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import torch

from genforge.cli._demo_ddpm import (
    DIGIT_SAMPLES,
    IMG_SIZE,
    SAMPLE_STEPS,
    ddpm_demo_config,
    save_ddpm_pictures,
)
from genforge.cli.demo import _last_metrics, cores_are_busy, demo_config
from genforge.config import Config
from genforge.evaluation.metrics.digit_score import digit_score
from genforge.optim.amp import cpu_has_native_bf16
from genforge.runner import Runner
from genforge.runner.build import usable_cpus


def run_gan(work_dir: str, seed: int, iters: int) -> dict:
    cfg = demo_config(work_dir, iters, vis_interval=max(1, iters // 6))
    cfg['randomness'] = dict(seed=seed)
    cfg['log_level'] = 'WARNING'
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    metrics = _last_metrics(runner)
    return {k.split('/', 1)[1]: v for k, v in metrics.items() if k.startswith('digits/')}


def run_ddpm(work_dir: str, seed: int, iters: int) -> dict:
    cfg = ddpm_demo_config(work_dir, iters)
    cfg['randomness'] = dict(seed=seed)
    cfg['log_level'] = 'WARNING'
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    model = getattr(runner.model, 'module', runner.model).eval()
    # the chain picture too: it draws from the same random stream as the demo's samples
    samples = save_ddpm_pictures(model, Path(work_dir) / 'grid.png', Path(work_dir) / 'chain.png',
                                 SAMPLE_STEPS, extra=DIGIT_SAMPLES - 64)
    return digit_score((samples.clamp(-1, 1) + 1) * 127.5, img_size=IMG_SIZE)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', choices=['gan', 'ddpm'], default='gan')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--iters', type=int, default=1000, help='demo default: 1000')
    p.add_argument('--threads', type=int, default=None,
                   help="torch threads (default: the demo's choice: 1 when the cores are busy)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    elif cores_are_busy():  # what `genforge demo` does
        torch.set_num_threads(1)
    logging.getLogger('genforge').setLevel(logging.WARNING)
    print(f'CPU native bf16 (AVX512-BF16/AMX): {cpu_has_native_bf16()} (the demo trains in '
          f'fp32); usable CPU cores: {usable_cpus()}; torch threads: {torch.get_num_threads()}; '
          f'load average at start: {os.getloadavg()[0]:.1f}; torch {torch.__version__}')
    print(f'demo --model {args.model}: {args.iters} iterations')
    print(f'{"seed":>4} {"ratio":>6} {"confident":>9} {"min class":>9} {"score":>6} '
          f'{"real":>5} {"wall s":>7} {"load":>5}')
    run = run_gan if args.model == 'gan' else run_ddpm
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as work_dir:
            start = time.perf_counter()
            r = run(work_dir, seed, args.iters)
            wall = time.perf_counter() - start
        print(f'{seed:>4} {r["ratio"]:>6.3f} {r["confident"]:>9.3f} {r["min_class_share"]:>9.3f} '
              f'{r["score"]:>6.2f} {r["real_score"]:>5.2f} {wall:>7.1f} '
              f'{os.getloadavg()[0]:>5.1f}', flush=True)
    print('ratio: digit score / real digits\' (bar: >= 0.8); min class: share of the rarest '
          'digit (bar: >= 0.05); load: 1-minute load average at the end of the seed')


if __name__ == '__main__':
    main()
