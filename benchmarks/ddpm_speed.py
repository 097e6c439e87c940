"""Improved DDPM speed: s/iter of genforge's training step against a plain PyTorch loop with the
same U-Net, printed as a ratio, and sampling throughput (img/s) of a 50-step respaced chain.

The plain loop is what a user would write by hand: the same DenoisingUnet (weights copied),
uniform t, q_sample, MSE on ε + the variational bound (KL / discretised NLL, mean detached) on
the learned-range variance, AdamW, an EMA copy updated after each step. genforge's side is
``BasicGaussianDiffusion.train_step`` with its data preprocessor (uint8 -> [-1, 1]), the quartile
logs and ``ExponentialMovingAverage``. Rounds alternate who runs first; medians are compared.

  python benchmarks/ddpm_speed.py                         # DDPM-32 (CIFAR config), batch 16
  python benchmarks/ddpm_speed.py --base-channels 32 --batch 4 --iters 3 --rounds 2 --threads 1
  python benchmarks/ddpm_speed.py --device cuda
"""
from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers everything)
from genforge.models.losses.ddpm_loss import discretized_gaussian_log_likelihood, normal_kl
from genforge.optim import OptimWrapper
from genforge.registry import MODELS
from genforge.structures import DataSample

T = 4000


def model_cfg(args) -> dict:
    return dict(
        type='BasicGaussianDiffusion', num_timesteps=T, betas_cfg=dict(type='cosine'),
        data_preprocessor=dict(type='DataPreprocessor'),
        denoising=dict(type='DenoisingUnet', image_size=32, base_channels=args.base_channels,
                       resblocks_per_downsample=3, attention_res=[16, 8],
                       use_scale_shift_norm=True, dropout=0.3, num_heads=4,
                       use_rescale_timesteps=True),
        ddpm_loss=[dict(type='DDPMVLBLoss', rescale_mode='constant',
                        rescale_cfg=dict(scale=T / 1000),
                        log_cfgs=[dict(type='quartile', prefix_name='loss_vlb',
                                       total_timesteps=T), dict(type='name')]),
                   dict(type='DDPMMSELoss', log_cfgs=dict(type='quartile',
                                                          prefix_name='loss_mse',
                                                          total_timesteps=T))],
        ema_config=dict(momentum=1e-4))


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def plain_step(net, ema, opt, imgs_uint8, tables, device) -> None:
    """One hand-written hybrid-loss step (what the genforge step computes)."""
    x_0 = imgs_uint8.to(device).float() / 127.5 - 1
    n = x_0.shape[0]
    t = torch.randint(0, T, (n,), device=device)
    ab, ab_prev, betas, c1, c2, log_tilde = (tab[t].view(n, 1, 1, 1) for tab in tables)
    noise = torch.randn_like(x_0)
    x_t = ab.sqrt() * x_0 + (1 - ab).sqrt() * noise
    out = net(x_t, t)['sample']
    eps, v = out.chunk(2, dim=1)
    logvar = (v + 1) / 2 * betas.log() + (1 - (v + 1) / 2) * log_tilde
    x0_pred = (x_t - (1 - ab).sqrt() * eps.detach()) / ab.sqrt()
    mean = c1 * x0_pred + c2 * x_t
    mean_q = c1 * x_0 + c2 * x_t
    kl = normal_kl(mean_q, log_tilde, mean, logvar).mean((1, 2, 3))
    nll = -discretized_gaussian_log_likelihood(x_0, mean, logvar).mean((1, 2, 3))
    vlb = torch.where(t == 0, nll, kl) / math.log(2)
    loss = F.mse_loss(eps, noise) + (vlb * T / 1000).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), net.parameters()):
            pe.lerp_(p, 1e-4)


def timed(fn, iters: int, device: str) -> list[float]:
    times = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--base-channels', type=int, default=128, help='U-Net width (config: 128)')
    p.add_argument('--batch', type=int, default=16, help='batch per step (config: 16)')
    p.add_argument('--iters', type=int, default=5, help='timed iterations per round')
    p.add_argument('--rounds', type=int, default=3, help='alternating rounds per side')
    p.add_argument('--sample-steps', type=int, default=50, help='respaced chain length')
    p.add_argument('--sample-num', type=int, default=16, help='images per sampling run')
    p.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    p.add_argument('--device', default='cpu')
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(args)).to(dev).train()
    wrapper = OptimWrapper(torch.optim.AdamW(model.denoising.parameters(), lr=1e-4,
                                             weight_decay=0))
    net = copy.deepcopy(model.denoising)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0)
    s = model.schedule
    tables = [torch.tensor(a, dtype=torch.float32, device=dev) for a in (
        s.alphas_bar, s.alphas_bar_prev, s.betas, s.tilde_mu_t_coef1, s.tilde_mu_t_coef2,
        s.log_tilde_betas_t_clipped)]
    imgs = torch.randint(0, 256, (args.batch, 3, 32, 32), dtype=torch.uint8)
    data = dict(inputs=dict(img=list(imgs.float())),
                data_samples=[DataSample() for _ in range(args.batch)])

    def genforge_step():
        model.train_step(data, wrapper)

    def plain():
        plain_step(net, ema, opt, imgs, tables, dev)

    genforge_step(), plain()  # warm-up (allocator, kernels)
    gf, pl = [], []
    for r in range(args.rounds):
        order = [(gf, genforge_step), (pl, plain)]
        for out, fn in order if r % 2 == 0 else order[::-1]:
            out.extend(timed(fn, args.iters, dev))
    gf_med, pl_med = statistics.median(gf), statistics.median(pl)
    print(f'DDPM-32 train step (base_channels={args.base_channels}, batch {args.batch}, {dev}): '
          f'genforge {gf_med:.3f} s/iter, plain {pl_med:.3f} s/iter')
    print(f'overhead ratio: {gf_med / pl_med:.2f}')

    model.eval()
    with torch.no_grad():
        model.sample_from_noise(None, 2, 'ema', timestep_respacing=2)  # warm-up
        _sync(dev)
        start = time.perf_counter()
        model.sample_from_noise(None, args.sample_num, 'ema',
                                timestep_respacing=args.sample_steps)
        _sync(dev)
        took = time.perf_counter() - start
    print(f'sampling: {args.sample_num / took:.2f} img/s ({args.sample_steps} respaced steps, '
          f'batch {args.sample_num}, EMA model)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
