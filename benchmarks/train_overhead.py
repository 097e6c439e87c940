"""What genforge's Runner costs over a plain hand-written PyTorch training loop.

In ONE process, rounds alternate a plain loop and ``Runner.train()`` on the equivalent config
(same networks, Adam, loss, batch held in memory), ``--iters`` timed iterations each; the
per-iteration median over all rounds is compared. Interleaving and medians keep background load
(a shared machine) from favouring one side.

    python benchmarks/train_overhead.py                      # DCGAN-64, batch 16, + SRCNN x4
    python benchmarks/train_overhead.py --iters 10 --rounds 5 --channels-last --foreach
    python benchmarks/train_overhead.py --models dcgan --g-channels 128 --d-channels 16  # overhead-bound

Each model's line gives both medians (ms/iter), the overhead in ms/iter and the median and spread
of the per-round ratios. Then ``overhead ratio: X.XX`` (genforge / plain, DCGAN-64 when it is
benchmarked) and, for the small fast step where framework cost is visible (DCGAN-32 with few
channels), ``fast-step overhead ratio: X (median of N interleaved rounds, spread ±Y)``.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

import genforge.models  # noqa: F401  (registers DCGAN, BaseEditModel, SRCNNNet ...)
from genforge.datasets.transforms import PackInputs
from genforge.hooks import Hook
from genforge.registry import DATASETS, MODELS
from genforge.runner import Runner

BATCH = 16
# Wall time by default; --clock cpu uses this process's CPU time, which other processes on a
# shared machine cannot inflate (use it with --threads 1: idle OpenMP threads spin).
_now = time.perf_counter
# Where both sides run: the Runner puts the model on CUDA when there is one, so the plain loop
# must too (set in main). CUDA kernels are asynchronous: every timestamp synchronises first.
DEVICE = torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def _stamp() -> float:
    if DEVICE.type == 'cuda':
        torch.cuda.synchronize()
    return _now()


# -- data held in memory (both sides read the same images; no decoding in the timed loop) -------
@DATASETS.register_module(force=True)
class InMemoryImages(Dataset):
    """``num`` random uint8 images packed once by PackInputs (``gt`` and, for SR, ``img``)."""

    def __init__(self, num: int = BATCH, gt_size: int = 64, lq_scale: int = 0, seed: int = 0):
        rng = np.random.default_rng(seed)
        pack = PackInputs()
        self.items = []
        for _ in range(num):
            gt = rng.integers(0, 256, (gt_size, gt_size, 3), dtype=np.uint8)
            results = dict(gt=gt)
            if lq_scale:
                lq = gt[::lq_scale, ::lq_scale].copy()  # nearest downsampling: timing only
                results['img'] = lq
            self.items.append(pack(results))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]


class IterClock(Hook):
    """Timestamps the end of every training iteration (runs after every other hook)."""

    priority = 'LOWEST'

    def __init__(self):
        self.stamps: list[float] = []

    def before_train(self, runner) -> None:
        self.stamps = [_stamp()]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.stamps.append(_stamp())


# -- the plain loops: what a user writes by hand ----------------------------------------------
def plain_dcgan_nets(g_ch: int, d_ch: int, noise: int = 100,
                     scale: int = 64) -> tuple[nn.Module, nn.Module]:
    """DCGAN G and D written with nn.Sequential, layer for layer as DCGANGenerator/-Disc."""
    mid = int(np.log2(scale)) - 3  # 64: 3 blocks (4 -> 32 in G, 32 -> 4 in D); 32: 2
    g = [nn.ConvTranspose2d(noise, g_ch, 4, 1, 0, bias=False), nn.BatchNorm2d(g_ch), nn.ReLU(True)]
    ch = g_ch
    for _ in range(mid):  # 4 -> 8 -> ... -> scale / 2
        g += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2),
              nn.ReLU(True)]
        ch //= 2
    g += [nn.ConvTranspose2d(ch, 3, 4, 2, 1), nn.Tanh()]  # scale / 2 -> scale
    d = [nn.Conv2d(3, d_ch, 4, 2, 1), nn.LeakyReLU(0.01, True)]
    ch = d_ch
    for _ in range(mid):  # scale / 2 -> ... -> 4
        d += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
              nn.LeakyReLU(0.01, True)]
        ch *= 2
    d += [nn.Conv2d(ch, 1, 4, 1, 0), nn.Flatten()]
    return nn.Sequential(*g), nn.Sequential(*d)


def copy_same_layout(src: nn.Module, dst: nn.Module) -> None:
    """Copy ``src``'s tensors into ``dst`` in state_dict order; shapes must match one to one."""
    s, d = list(src.state_dict().values()), list(dst.state_dict().values())
    shapes = ([tuple(t.shape) for t in s], [tuple(t.shape) for t in d])
    if shapes[0] != shapes[1]:
        raise RuntimeError(f'plain and genforge networks differ:\n{shapes[0]}\n{shapes[1]}')
    with torch.no_grad():
        for a, b in zip(s, d):
            b.copy_(a)


def check_same_function(gf: nn.Module, plain: nn.Module, x: torch.Tensor) -> None:
    """Same weights, same input -> same output: the two loops train the same network."""
    gf.eval(), plain.eval()
    with torch.no_grad():
        a, b = gf(x), plain(x)
    gf.train(), plain.train()
    if not torch.allclose(a.reshape(b.shape), b, atol=1e-5):
        raise RuntimeError(f'{type(gf).__name__}: plain re-implementation differs by '
                           f'{(a.reshape(b.shape) - b).abs().max():.2e}')


def plain_dcgan_loop(nets, real: torch.Tensor, opts, iters: int) -> list[float]:
    g, d = nets
    opt_g, opt_d = opts
    stamps = [_stamp()]
    for _ in range(iters):
        # discriminator step on fake (no graph through G) and real images
        with torch.no_grad():
            fake = g(torch.randn(real.shape[0], 100, 1, 1, device=real.device))
        pred_fake, pred_real = d(fake), d(real)
        loss_d = F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake)) + \
            F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real))
        loss_d.backward()
        opt_d.step()
        opt_d.zero_grad()
        # generator step through a frozen D
        d.requires_grad_(False)
        pred = d(g(torch.randn(real.shape[0], 100, 1, 1, device=real.device)))
        loss_g = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred))
        loss_g.backward()
        opt_g.step()
        opt_g.zero_grad()
        d.requires_grad_(True)
        stamps.append(_stamp())
    return np.diff(stamps).tolist()


def plain_srcnn_net() -> nn.Module:
    return nn.Sequential(nn.Upsample(scale_factor=4, mode='bicubic', align_corners=False),
                         nn.Conv2d(3, 64, 9, padding=4), nn.ReLU(), nn.Conv2d(64, 32, 1),
                         nn.ReLU(), nn.Conv2d(32, 3, 5, padding=2))


def plain_srcnn_loop(net, batch: tuple, opt, iters: int) -> list[float]:
    lq, gt = batch
    stamps = [_stamp()]
    for _ in range(iters):
        loss = F.l1_loss(net(lq), gt)
        loss.backward()
        opt.step()
        opt.zero_grad()
        stamps.append(_stamp())
    return np.diff(stamps).tolist()


# -- the genforge side ------------------------------------------------------------------------
def optimizer_cfg(args, betas) -> dict:
    cfg = dict(type='Adam', lr=2e-4, betas=betas)
    if args.foreach:
        cfg['foreach'] = True
    if args.fused:
        cfg['fused'] = True
    return cfg


def run_runner(args, model: nn.Module, dataset: dict, optim_wrapper: dict,
               iters: int) -> list[float]:
    """One ``Runner.train()`` with the config a user would write (MMEngine's default hooks, a
    checkpoint interval out of range). The model is built once and reused across rounds so
    compiled code is too; each round builds fresh optimizers, as the plain loop does."""
    from genforge.config import Config
    options = {k: True for k in ('channels_last', 'compile') if getattr(args, k)}
    clock = IterClock()
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(
            model=model, work_dir=work_dir, optim_wrapper=optim_wrapper,
            train_dataloader=dict(batch_size=BATCH, num_workers=0, dataset=dataset,
                                  sampler=dict(type='InfiniteSampler', shuffle=True)),
            train_cfg=dict(by_epoch=False, max_iters=iters),
            default_hooks=dict(logger=dict(type='LoggerHook', interval=10),
                               checkpoint=dict(type='CheckpointHook', interval=100000,
                                               by_epoch=False, save_last=False)),
            randomness=dict(seed=0), log_level='WARNING', cfg=Config(options))
        runner.register_hook(clock)
        runner.train()
    return np.diff(clock.stamps).tolist()


# -- benchmarks -------------------------------------------------------------------------------
def _to_fmt(module: nn.Module, args) -> nn.Module:
    module = module.to(DEVICE)
    if args.channels_last:
        module = module.to(memory_format=torch.channels_last)
    if args.compile:
        module.compile()
    return module


def bench_dcgan(args, scale: int = 64, g_channels: int | None = None,
                d_channels: int | None = None) -> tuple[list[list[float]], list[list[float]]]:
    g_channels, d_channels = g_channels or args.g_channels, d_channels or args.d_channels
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=scale, base_channels=g_channels),
        discriminator=dict(type='DCGANDiscriminator', input_scale=scale, output_scale=4,
                           out_channels=1, base_channels=d_channels)))
    model.init_weights()
    g, d = plain_dcgan_nets(g_channels, d_channels, scale=scale)
    copy_same_layout(model.generator, g)
    copy_same_layout(model.discriminator, d)
    check_same_function(model.generator, g, torch.randn(2, 100, 1, 1))
    check_same_function(model.discriminator, d, torch.randn(2, 3, scale, scale))
    g, d = _to_fmt(g, args), _to_fmt(d, args)
    dataset = dict(type='InMemoryImages', num=BATCH, gt_size=scale)
    real = torch.stack([it['data_samples'].gt_img
                        for it in InMemoryImages(BATCH, scale).items])
    real = real.to(DEVICE).float() / 127.5 - 1  # what the DataPreprocessor makes: [-1, 1]
    if args.channels_last:
        real = real.contiguous(memory_format=torch.channels_last)
    betas = (0.5, 0.999)
    optim_wrapper = dict(constructor='GenOptimWrapperConstructor',
                         generator=dict(optimizer=optimizer_cfg(args, betas)),
                         discriminator=dict(optimizer=optimizer_cfg(args, betas)))

    def plain(n):
        extra = {k: True for k in ('foreach', 'fused') if getattr(args, k)}
        opts = (torch.optim.Adam(g.parameters(), lr=2e-4, betas=betas, **extra),
                torch.optim.Adam(d.parameters(), lr=2e-4, betas=betas, **extra))
        return plain_dcgan_loop((g, d), real, opts, n)

    return _alternate(args, plain, lambda n: run_runner(args, model, dataset, optim_wrapper, n))


def bench_srcnn(args) -> tuple[list[list[float]], list[list[float]]] | None:
    if MODELS.get('BaseEditModel') is None:
        return None
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='BaseEditModel',
        generator=dict(type='SRCNNNet', channels=(3, 64, 32, 3), kernel_sizes=(9, 1, 5),
                       upscale_factor=4),
        pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3, std=[255.] * 3)))
    model.init_weights()
    net = plain_srcnn_net()
    copy_same_layout(model.generator, net)
    check_same_function(model.generator, net, torch.rand(2, 3, 8, 8))
    net = _to_fmt(net, args)
    size = args.sr_gt_size
    dataset = dict(type='InMemoryImages', num=BATCH, gt_size=size, lq_scale=4)
    items = InMemoryImages(BATCH, size, lq_scale=4).items
    lq = torch.stack([it['inputs'] for it in items]).to(DEVICE).float() / 255.
    gt = torch.stack([it['data_samples'].gt_img for it in items]).to(DEVICE).float() / 255.
    if args.channels_last:
        lq = lq.contiguous(memory_format=torch.channels_last)
    optim_wrapper = dict(optimizer=optimizer_cfg(args, (0.9, 0.999)))

    def plain(n):
        extra = {k: True for k in ('foreach', 'fused') if getattr(args, k)}
        opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.9, 0.999), **extra)
        return plain_srcnn_loop(net, (lq, gt), opt, n)

    return _alternate(args, plain, lambda n: run_runner(args, model, dataset, optim_wrapper, n))


class _NoOp(nn.Module):
    """A model whose train_step does nothing: what is left is the Runner's own loop."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def train_step(self, data, optim_wrapper):
        return dict(loss=torch.zeros(()))


def bench_runner_parts(args) -> None:
    """Median ms/iter of the Runner's loop alone (data fetch from memory, collate, hooks,
    NaN guard, MessageHub) and of the DataPreprocessor on a DCGAN-64 batch of 16."""
    from genforge.datasets.collate import pseudo_collate
    from genforge.models import BaseModel

    class NoOpModel(BaseModel):
        train_step = _NoOp.train_step

        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

    iters = max(args.iters, 200)
    runs = [statistics.median(run_runner(args, NoOpModel(), dict(type='InMemoryImages',
                                                                 num=BATCH, gt_size=64),
                                         dict(optimizer=dict(type='SGD', lr=0.0)), iters))
            for _ in range(args.rounds)]
    print(f'runner loop (no-op train_step, {args.rounds} runs x {iters} iters): '
          f'{statistics.median(runs) * 1e3:.3f} ms/iter (runs {min(runs) * 1e3:.3f}-'
          f'{max(runs) * 1e3:.3f})')
    pre = MODELS.build(dict(type='DataPreprocessor')).to(DEVICE)
    batch = pseudo_collate(InMemoryImages(BATCH, 64).items)
    times = []
    for _ in range(iters):
        t = _stamp()
        pre(batch, True)
        times.append(_stamp() - t)
    print(f'DataPreprocessor, DCGAN-64 batch of {BATCH} (uint8 -> normalised float, '
          f'DataSample stack): {statistics.median(times[1:]) * 1e3:.3f} ms/batch')
    _train_step_vs_plain(args, iters)


def _train_step_vs_plain(args, iters: int) -> None:
    """The fast step's DCGAN.train_step called directly (no Runner) against the plain step,
    alternating every iteration: how much of the gap is model code rather than the Runner."""
    from genforge.datasets.collate import pseudo_collate
    from genforge.optim import OptimWrapper, OptimWrapperDict
    g_ch, d_ch = (int(c) for c in args.fast_channels.split(','))
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=32, base_channels=g_ch),
        discriminator=dict(type='DCGANDiscriminator', input_scale=32, output_scale=4,
                           out_channels=1, base_channels=d_ch))).to(DEVICE)
    g, d = plain_dcgan_nets(g_ch, d_ch, scale=32)
    copy_same_layout(model.generator, g)
    copy_same_layout(model.discriminator, d)
    g, d = g.to(DEVICE), d.to(DEVICE)
    items = InMemoryImages(BATCH, 32).items
    batch = pseudo_collate(items)
    real = torch.stack([it['data_samples'].gt_img for it in items]).to(DEVICE).float() / 127.5 - 1
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    wrapper = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), **adam)),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), **adam)))
    opts = (torch.optim.Adam(g.parameters(), **adam), torch.optim.Adam(d.parameters(), **adam))
    from genforge.message_hub import MessageHub
    MessageHub.get_instance('train_overhead_parts').update_info('iter', 0)
    step, plain = [], []
    for _ in range(iters):
        t = _stamp()
        model.train_step(batch, wrapper)
        step.append(_stamp() - t)
        plain += plain_dcgan_loop((g, d), real, opts, 1)
    ms, mp = statistics.median(step[1:]), statistics.median(plain[1:])
    print(f'DCGAN-32 ({g_ch},{d_ch}) train_step without Runner vs plain step, alternating '
          f'every iteration ({iters} each): {ms * 1e3:.2f} vs {mp * 1e3:.2f} ms/iter '
          f'({(ms - mp) * 1e3:+.2f} ms)')


def _alternate(args, plain, framework) -> tuple[list[list[float]], list[list[float]]]:
    """Interleaved rounds: plain, genforge, plain, genforge, ... (who goes first alternates);
    the first ``--warmup`` iterations of every run are dropped. Per-round iteration times."""
    times: dict[str, list[list[float]]] = dict(plain=[], genforge=[])
    n = args.iters + args.warmup
    for r in range(args.rounds):
        order = (('plain', plain), ('genforge', framework))
        for name, fn in order if r % 2 == 0 else order[::-1]:
            torch.manual_seed(r)
            times[name].append(fn(n)[args.warmup:])
    return times['plain'], times['genforge']


def report(name: str, plain: list[list[float]], gf: list[list[float]]) -> tuple[float, float]:
    """One line: medians over all iterations, overhead in ms/iter, and the median and spread
    (half the range) of the per-round ratios. Returns (ratio, spread)."""
    all_p, all_g = [t for r in plain for t in r], [t for r in gf for t in r]
    mp, mg = statistics.median(all_p), statistics.median(all_g)
    ratios = [statistics.median(g) / statistics.median(p) for p, g in zip(plain, gf)]
    ratio, spread = statistics.median(ratios), (max(ratios) - min(ratios)) / 2
    print(f'{name:<10} plain {mp * 1e3:8.2f} ms/iter   genforge {mg * 1e3:8.2f} ms/iter   '
          f'overhead {(mg - mp) * 1e3:+.2f} ms/iter   ratio {ratio:.3f} (median of '
          f'{len(ratios)} rounds, spread ±{spread:.3f}; n={len(all_p)}+{len(all_g)})')
    return ratio, spread


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--iters', type=int, default=5, help='timed iterations per run')
    p.add_argument('--rounds', type=int, default=4, help='alternating rounds per side')
    p.add_argument('--warmup', type=int, default=None,
                   help='iterations dropped per run (default 1; 2 with --compile)')
    p.add_argument('--models', default='srcnn,dcgan,fast',
                   help='comma list: dcgan (DCGAN-64), srcnn, fast (DCGAN-32, few channels), '
                        'parts (Runner loop with a no-op model; DataPreprocessor alone)')
    p.add_argument('--fast-channels', default='32,8',
                   help='G,D base_channels of the fast step (default 32,8)')
    p.add_argument('--g-channels', type=int, default=1024, help="G base_channels (MMagic: 1024)")
    p.add_argument('--d-channels', type=int, default=128, help="D base_channels (MMagic: 128)")
    p.add_argument('--sr-gt-size', type=int, default=128, help='SRCNN GT patch (MMagic: 128)')
    p.add_argument('--channels-last', action='store_true', help='channels_last=True')
    p.add_argument('--compile', action='store_true', help='compile=True (torch.compile G, D)')
    group = p.add_mutually_exclusive_group()
    group.add_argument('--foreach', action='store_true', help='Adam(foreach=True)')
    group.add_argument('--fused', action='store_true', help='Adam(fused=True)')
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto',
                   help='auto: CUDA when available (where the Runner puts the model)')
    p.add_argument('--clock', choices=['wall', 'cpu'], default='wall',
                   help='time per iteration: wall clock or this process\'s CPU time')
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = 2 if args.compile else 1
    return args


def main(argv=None) -> int:
    global _now, DEVICE
    args = parse_args(argv)
    if args.device == 'cpu' and torch.cuda.is_available():
        raise SystemExit('--device cpu on a CUDA machine: the Runner would still use CUDA; '
                         'hide the GPU with CUDA_VISIBLE_DEVICES= instead')
    if args.device == 'cuda':
        DEVICE = torch.device('cuda')
    _now = time.process_time if args.clock == 'cpu' else time.perf_counter
    logging.getLogger('genforge').setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # denormal slow paths would time the weights, not the loop
    opts = [k for k in ('channels_last', 'compile', 'foreach', 'fused') if getattr(args, k)]
    from genforge.optim.amp import cpu_has_native_bf16
    print(f'CPU native bf16 (AVX512-BF16/AMX, torch.ops.mkldnn._is_mkldnn_bf16_supported()): '
          f'{cpu_has_native_bf16()}; AMP/channels_last/compile variants: benchmarks/amp_speed.py')
    print(f'device {DEVICE}' + (f' ({torch.cuda.get_device_name()})' if DEVICE.type == 'cuda'
                                 else '') + ', ', end='')
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, '
          f'{args.rounds} rounds x {args.iters} iters (+{args.warmup} warm-up), '
          f'options: {", ".join(opts) or "none"}, {args.clock} clock')
    models = [m.strip() for m in args.models.split(',') if m.strip()]
    ratio, fast = None, None
    for name in models:
        if name == 'srcnn':
            result = bench_srcnn(args)
            if result is None:
                print('srcnn      skipped: BaseEditModel/SRCNNNet not available')
                continue
            r, _ = report('SRCNN-x4', *result)
        elif name == 'dcgan':
            r, _ = report('DCGAN-64', *bench_dcgan(args))
        elif name == 'parts':
            bench_runner_parts(args)
            continue
        elif name == 'fast':
            g_ch, d_ch = (int(c) for c in args.fast_channels.split(','))
            fast = report(f'DCGAN-32 ({g_ch},{d_ch})', *bench_dcgan(args, 32, g_ch, d_ch))
            continue
        else:
            raise SystemExit(f'--models: unknown model {name!r}; use dcgan, srcnn, fast, parts')
        ratio = r if name == 'dcgan' or ratio is None else ratio
    if ratio is not None:
        print(f'overhead ratio: {ratio:.2f}')
    if fast is not None:
        print(f'fast-step overhead ratio: {fast[0]:.3f} (median of {args.rounds} interleaved '
              f'rounds, spread ±{fast[1]:.3f})')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
