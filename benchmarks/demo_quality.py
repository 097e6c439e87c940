"""How good are the default ``genforge demo`` (DCGAN) samples, and how long does the demo take?

For each seed, trains the demo config exactly as ``genforge demo`` does (same config, same
validation at the end: SWD + the DigitScore of 500 EMA samples) and prints the digit score ratio
(samples' classifier Inception Score / real held-out digits'), the confident fraction, the
smallest class share and the wall time of training + validation. Runs one seed after the other,
nothing else interleaved; the CPU's bf16 capability, the thread count and the load average are
printed first, since wall time depends on them (on a shared machine it is inflated).

    python benchmarks/demo_quality.py                          # seeds 0 1 2, 1500 iterations
    python benchmarks/demo_quality.py --seeds 0 --iters 300 --threads 1   # a short look
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time

import torch

from genforge.cli.demo import _last_metrics, demo_config
from genforge.config import Config
from genforge.optim.amp import cpu_has_native_bf16
from genforge.runner import Runner
from genforge.runner.build import usable_cpus


def run_seed(seed: int, iters: int, digit_samples: int, swd_samples: int) -> dict:
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = demo_config(work_dir, iters, vis_interval=max(1, iters // 6),
                          swd_samples=swd_samples, digit_samples=digit_samples)
        cfg['randomness'] = dict(seed=seed)
        cfg['log_level'] = 'WARNING'
        start = time.perf_counter()
        runner = Runner.from_cfg(Config(cfg))
        runner.train()
        wall = time.perf_counter() - start
        metrics = _last_metrics(runner)
    return dict(seed=seed, wall_s=wall, **metrics)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--iters', type=int, default=1500, help='demo default: 1500')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch)')
    p.add_argument('--digit-samples', type=int, default=500, help='demo default: 500')
    p.add_argument('--swd-samples', type=int, default=1024, help='demo default: 1024')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger('genforge').setLevel(logging.WARNING)
    print(f'CPU native bf16 (AVX512-BF16/AMX): {cpu_has_native_bf16()}; usable CPU cores: '
          f'{usable_cpus()}; torch threads: {torch.get_num_threads()}; load average at start: '
          f'{os.getloadavg()[0]:.1f}; torch {torch.__version__}')
    print(f'demo: {args.iters} iterations, digit score on {args.digit_samples} samples, '
          f'SWD on {args.swd_samples}')
    print(f'{"seed":>4} {"ratio":>6} {"confident":>9} {"min class":>9} {"score":>6} '
          f'{"real":>5} {"SWD":>8} {"wall s":>7}')
    for seed in args.seeds:
        r = run_seed(seed, args.iters, args.digit_samples, args.swd_samples)
        print(f'{seed:>4} {r["digits/ratio"]:>6.3f} {r["digits/confident"]:>9.3f} '
              f'{r["digits/min_class_share"]:>9.3f} {r["digits/score"]:>6.2f} '
              f'{r["digits/real_score"]:>5.2f} {r.get("SWD/avg", float("nan")):>8.2f} '
              f'{r["wall_s"]:>7.1f}', flush=True)
    print(f'load average at end: {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
