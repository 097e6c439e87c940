"""How fast FID evaluation is on this machine: the Inception feature pass and the FID math.

Prints:
- images/s of the Inception feature pass (``InceptionV3FID`` with random weights: the speed does
  not depend on the weights; no download needed), contiguous and channels_last, fp32;
- seconds of the Fréchet distance on two (D, D) covariances (D=2048 by default) with
  genforge's eigenvalue route and with ``scipy.linalg.sqrtm`` (the textbook route), their ratio
  and the relative difference of the two FIDs;
- the estimated seconds of a ``--fid-samples`` (10k) FID evaluation: fake images through the
  feature pass at the measured rate + statistics + the distance (real statistics are cached on
  disk after the first evaluation, see genforge/evaluation/metrics/real_stats.py).

    python benchmarks/eval_speed.py                                # 299-px pass, D=2048
    python benchmarks/eval_speed.py --batches 2 --batch-size 8 --size 64 --skip-scipy
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from scipy import linalg

from genforge.evaluation.functional.gen_metrics import feature_stats, frechet_distance
from genforge.evaluation.inception import InceptionV3FID
from genforge.optim.amp import cpu_has_native_bf16


def feature_pass_rate(net: torch.nn.Module, batch: torch.Tensor, batches: int, rounds: int,
                      channels_last: bool) -> list[float]:
    """images/s of ``rounds`` timings of ``batches`` forward passes each."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=fmt)
    batch = batch.contiguous(memory_format=fmt)
    rates = []
    with torch.no_grad():
        net(batch)  # warm-up: oneDNN picks its kernels on the first call
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(batches):
                net(batch)
            rates.append(batches * batch.shape[0] / (time.perf_counter() - start))
    return rates


def scipy_fid(mu1, s1, mu2, s2) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        covmean = linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(covmean.real))


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def _stats(rates: list[float]) -> str:
    med = statistics.median(rates)
    return f'{med:7.1f} images/s (min {min(rates):.1f}, max {max(rates):.1f})'


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--batches', type=int, default=4, help='timed forward passes per round')
    p.add_argument('--rounds', type=int, default=3, help='alternating rounds per layout')
    p.add_argument('--size', type=int, default=64, help='input image size (resized to 299)')
    p.add_argument('--dim', type=int, default=2048, help='feature dimension of the FID math')
    p.add_argument('--samples', type=int, default=4096, help='feature rows per covariance')
    p.add_argument('--fid-samples', type=int, default=10000)
    p.add_argument('--skip-scipy', action='store_true', help='skip the slow sqrtm reference')
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(f'CPU native bf16 (AVX512-BF16/AMX): {cpu_has_native_bf16()}; '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    torch.manual_seed(0)
    net = InceptionV3FID().eval()
    batch = torch.randint(0, 256, (args.batch_size, 3, args.size, args.size)).float()
    rates = {False: [], True: []}
    for _ in range(args.rounds):  # interleaved: background load hits both layouts alike
        for cl in (False, True):
            rates[cl] += feature_pass_rate(net, batch, args.batches, 1, cl)
    print(f'feature pass fp32 contiguous    : {_stats(rates[False])}')
    print(f'feature pass fp32 channels_last : {_stats(rates[True])}')
    best = max(statistics.median(r) for r in rates.values())

    rng = np.random.default_rng(0)
    a = rng.standard_normal((args.samples, args.dim))
    b = 0.8 * a + 0.6 * rng.standard_normal((args.samples, args.dim)) + 0.05
    (mu1, s1), stats_s = timed(feature_stats, a)
    mu2, s2 = feature_stats(b)
    # median of 3: the first LAPACK call of a process also pays thread-pool start-up
    runs = [timed(frechet_distance, mu1, s1, mu2, s2) for _ in range(3)]
    fid, fast_s = runs[0][0], statistics.median(t for _, t in runs)
    print(f'FID math D={args.dim}: genforge (eigh)  {fast_s:8.2f} s   FID={fid:.6f} '
          f'(median of 3; runs {", ".join(f"{t:.2f}" for _, t in runs)} s)')
    if not args.skip_scipy:
        ref, slow_s = timed(scipy_fid, mu1, s1, mu2, s2)
        print(f'FID math D={args.dim}: scipy sqrtm      {slow_s:8.2f} s   FID={ref:.6f} (1 run)')
        print(f'FID math speed-up: {slow_s / fast_s:.1f}x, relative difference '
              f'{abs(fid - ref) / abs(ref):.2e}')
    total = args.fid_samples / best + stats_s + fast_s
    print(f'estimated {args.fid_samples}-sample FID evaluation (cached real stats): '
          f'{total:.0f} s = {args.fid_samples / best:.0f} s feature pass + '
          f'{stats_s + fast_s:.1f} s statistics and distance')


if __name__ == '__main__':
    main()
