"""What AMP, channels_last and compile give on the machine at hand (DCGAN-64, batch 16).

In ONE process, interleaved rounds run every variant for ``--iters`` timed iterations (the
first ``--warmup`` of each run dropped; the starting variant rotates between rounds):

- genforge fp32 (the baseline of every ratio), ``--amp`` (``AmpOptimWrapper`` left to choose
  its dtype: bf16 on a CPU with native bf16, fp32 on one without), ``--amp`` + channels_last,
  ``compile=True`` (fp32);
- the plain hand-written loop of benchmarks/train_overhead.py in fp32 and with bf16 autocast +
  channels_last (what a user would write without asking the machine).

Prints the CPU capability line, then per variant: median s/iter, spread (min-max), n, ratio to
genforge fp32 (> 1 = faster).

    python benchmarks/amp_speed.py                                   # MMagic's G 1024 / D 128
    python benchmarks/amp_speed.py --g-channels 128 --d-channels 16 --iters 4 --rounds 3
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import tempfile
import time

import numpy as np
import torch
import train_overhead
from train_overhead import (
    BATCH,
    InMemoryImages,
    IterClock,
    copy_same_layout,
    plain_dcgan_loop,
    plain_dcgan_nets,
)

import genforge.optim.amp as amp
from genforge.config import Config
from genforge.optim.amp import resolve_amp_dtype
from genforge.registry import MODELS
from genforge.runner import Runner


def cpu_line() -> str:
    flags, name = set(), 'unknown CPU'
    with contextlib.suppress(OSError):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name') and name == 'unknown CPU':
                    name = line.split(':', 1)[1].strip()
                elif line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
    found = [f for f in ('avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile') if f in flags]
    chosen = resolve_amp_dtype(None, 'cpu')
    return (f'CPU: {name}; flags {", ".join(found) or "none of avx512f/avx512_bf16/amx"}; '
            f'torch.ops.mkldnn._is_mkldnn_bf16_supported() = '
            f'{torch.ops.mkldnn._is_mkldnn_bf16_supported()}; '
            f'--amp trains in {str(chosen).replace("torch.", "")}')


def build_model(args) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=64, base_channels=args.g_channels),
        discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4,
                           out_channels=1, base_channels=args.d_channels)))
    model.init_weights()
    return model


def genforge_variant(args, amp: bool, channels_last: bool, compile_: bool):
    """A callable running ``Runner.train()`` for n iterations; the model is built once."""
    model = build_model(args)
    wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic') if amp else {}
    optim_wrapper = dict(constructor='GenOptimWrapperConstructor', **{
        k: dict(wrapper, optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
        for k in ('generator', 'discriminator')})
    options = dict(channels_last=channels_last, compile=compile_)

    def run(n: int) -> list[float]:
        clock = IterClock()
        with tempfile.TemporaryDirectory() as work_dir:
            runner = Runner(
                model=model, work_dir=work_dir, optim_wrapper=optim_wrapper,
                train_dataloader=dict(batch_size=BATCH, num_workers=0,
                                      dataset=dict(type='InMemoryImages', num=BATCH, gt_size=64),
                                      sampler=dict(type='InfiniteSampler', shuffle=True)),
                train_cfg=dict(by_epoch=False, max_iters=n),
                default_hooks=dict(logger=dict(type='LoggerHook', interval=10),
                                   checkpoint=dict(type='CheckpointHook', interval=100000,
                                                   by_epoch=False, save_last=False)),
                randomness=dict(seed=0), log_level='WARNING', cfg=Config(options))
            runner.register_hook(clock)
            runner.train()
        return np.diff(clock.stamps).tolist()
    return run


def plain_variant(args, bf16_channels_last: bool):
    """The hand-written loop; optionally under bf16 autocast with channels_last tensors."""
    g, d = plain_dcgan_nets(args.g_channels, args.d_channels)
    model = build_model(args)
    copy_same_layout(model.generator, g)
    copy_same_layout(model.discriminator, d)
    real = torch.stack([it['data_samples'].gt_img for it in InMemoryImages(BATCH, 64).items])
    device = train_overhead.DEVICE  # where the Runner puts the genforge model
    g, d, real = g.to(device), d.to(device), real.to(device).float() / 127.5 - 1
    if bf16_channels_last:
        g, d = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
        real = real.contiguous(memory_format=torch.channels_last)

    def run(n: int) -> list[float]:
        opts = (torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999)))
        ctx = torch.autocast(device.type, dtype=torch.bfloat16) if bf16_channels_last \
            else contextlib.nullcontext()
        with ctx:
            return plain_dcgan_loop((g, d), real, opts, n)
    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=3, help='timed iterations per run')
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--warmup', type=int, default=2, help='dropped iterations per run '
                   '(compile runs drop 2 more: their first call compiles)')
    p.add_argument('--g-channels', type=int, default=1024)
    p.add_argument('--d-channels', type=int, default=128)
    p.add_argument('--no-compile', action='store_true', help='skip the compile variant')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--assume-no-native-bf16', action='store_true',
                   help="pretend the CPU check is False: shows what --amp costs on such a CPU "
                        '(fp32); the plain bf16 loop still runs emulated-free here')
    p.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                   help="wall clock or this process's CPU time (steadier on a shared machine; "
                        'use with --threads 1)')
    args = p.parse_args(argv)
    # IterClock and the plain loop read train_overhead's clock
    train_overhead._now = time.process_time if args.clock == 'cpu' else time.perf_counter
    logging.getLogger('genforge').setLevel(logging.ERROR)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if args.assume_no_native_bf16:
        amp.cpu_has_native_bf16 = lambda: False
        print('(--assume-no-native-bf16: the capability check is forced to False)')
    print(cpu_line())
    if train_overhead.DEVICE.type == 'cuda':
        print(f'device: {torch.cuda.get_device_name()} (the Runner and the plain loop run on '
              'CUDA; --amp = fp16 + GradScaler there)')
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, DCGAN-64 G '
          f'{args.g_channels} / D {args.d_channels}, batch {BATCH}, {args.rounds} rounds x '
          f'{args.iters} iters (+{args.warmup} warm-up), {args.clock} clock')
    variants = [('genforge fp32', genforge_variant(args, False, False, False), 0),
                ('genforge --amp', genforge_variant(args, True, False, False), 0),
                ('genforge --amp + channels_last', genforge_variant(args, True, True, False), 0)]
    if not args.no_compile:
        variants.append(('genforge compile (fp32)', genforge_variant(args, False, False, True),
                         2))
    variants += [('plain loop fp32', plain_variant(args, False), 0),
                 ('plain loop bf16 autocast + channels_last', plain_variant(args, True), 0)]
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for r in range(args.rounds):
        shift = r % len(variants)  # rotate who goes first: load drifts hit every variant
        for name, run, extra_warmup in variants[shift:] + variants[:shift]:
            torch.manual_seed(r)
            skip = args.warmup + (extra_warmup if r == 0 else 0)
            start = time.perf_counter()
            times[name] += run(args.iters + skip)[skip:]
            if r == 0 and extra_warmup:
                print(f'  ({name}: first run incl. compilation {time.perf_counter() - start:.0f} s)')
    base = statistics.median(times['genforge fp32'])
    print(f'{"variant":42s} {"s/iter":>8s} {"min-max":>15s} {"n":>3s} {"speed vs genforge fp32":>23s}')
    for name, values in times.items():
        med = statistics.median(values)
        print(f'{name:42s} {med:8.3f} {min(values):7.3f}-{max(values):<7.3f} {len(values):3d} '
              f'{base / med:20.2f}x')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
