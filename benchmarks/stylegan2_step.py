"""StyleGAN2 training step (D step + G step, 64x64, batch 4): genforge's ``StyleGAN2.train_step``
against a plain PyTorch loop that calls the same G/D modules and the same losses by hand.

Both sides start from the same weights, see the same images, use Adam with MMagic's settings
and the lazy regularisers (R1 every ``--r1-interval``, path length every ``--g-reg-interval``
iterations). Prints s/iter for both and the ratio genforge/plain.

    python benchmarks/stylegan2_step.py                     # 64x64, batch 4, CPU
    python benchmarks/stylegan2_step.py --iters 4 --max-channels 64 --size 32   # quick
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers every type)
from genforge.message_hub import MessageHub
from genforge.models.losses import gen_path_regularizer, r1_gradient_penalty_loss
from genforge.models.utils import set_requires_grad
from genforge.optim.optim_wrapper import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample


def build(size: int, max_channels: int, r1_interval: int, g_reg_interval: int):
    return MODELS.build(dict(
        type='StyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='StyleGANv2Generator', out_size=size, style_channels=512,
                       max_channels=max_channels),
        discriminator=dict(type='StyleGAN2Discriminator', in_size=size,
                           max_channels=max_channels),
        loss_config=dict(r1_loss_weight=80., r1_interval=r1_interval, norm_mode='HWC',
                         g_reg_interval=g_reg_interval, g_reg_weight=8., pl_batch_shrink=2)))


def adam(params, reg_interval: int) -> torch.optim.Adam:
    ratio = reg_interval / (reg_interval + 1)
    return torch.optim.Adam(params, lr=0.002 * ratio, betas=(0., 0.99 ** ratio))


def batches(n: int, bs: int, size: int) -> list[list[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [[torch.randint(0, 256, (3, size, size), generator=g).float() for _ in range(bs)]
            for _ in range(n)]


def plain_loop(model, data, r1_interval: int, g_reg_interval: int) -> float:
    """The same step written by hand: normalise, D loss (+R1), G loss (+path length)."""
    gen, disc = model.generator, model.discriminator
    opt_g, opt_d = adam(gen.parameters(), g_reg_interval), adam(disc.parameters(), r1_interval)
    mean_path = torch.tensor(0.)
    start = time.perf_counter()
    for it, imgs in enumerate(data):
        real = (torch.stack(imgs) - 127.5) / 127.5
        with torch.no_grad():
            fake = gen(torch.randn(real.shape[0], 512))
        loss = F.softplus(disc(fake)).mean() + F.softplus(-disc(real)).mean()
        if it % r1_interval == 0:
            loss = loss + 80. * r1_gradient_penalty_loss(disc, real, norm_mode='HWC')
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        set_requires_grad(disc, False)
        loss = F.softplus(-disc(gen(torch.randn(real.shape[0], 512)))).mean()
        if it % g_reg_interval == 0:
            penalty, mean_path, _ = gen_path_regularizer(gen, real.shape[0], mean_path,
                                                         pl_batch_shrink=2)
            loss = loss + 8. * penalty
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        set_requires_grad(disc, True)
    return (time.perf_counter() - start) / len(data)


def genforge_loop(model, data, r1_interval: int, g_reg_interval: int) -> float:
    wrapper = OptimWrapperDict(
        generator=OptimWrapper(adam(model.generator.parameters(), g_reg_interval)),
        discriminator=OptimWrapper(adam(model.discriminator.parameters(), r1_interval)))
    hub = MessageHub.get_current_instance()
    start = time.perf_counter()
    for it, imgs in enumerate(data):
        hub.update_info('iter', it)  # what the train loop writes before train_step
        model.train_step(dict(inputs={}, data_samples=[DataSample(gt_img=im) for im in imgs]),
                         wrapper)
    return (time.perf_counter() - start) / len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=16)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--max-channels', type=int, default=512)
    parser.add_argument('--r1-interval', type=int, default=16)
    parser.add_argument('--g-reg-interval', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=2, help='alternating rounds; min kept')
    args = parser.parse_args()
    torch.manual_seed(0)
    base = build(args.size, args.max_channels, args.r1_interval, args.g_reg_interval).train()
    data = batches(args.iters, args.batch_size, args.size)
    results: dict[str, list[float]] = {'plain': [], 'genforge': []}
    for _ in range(args.rounds):
        for name, fn in (('plain', plain_loop), ('genforge', genforge_loop)):
            model = copy.deepcopy(base)
            fn(model, data[:1], args.r1_interval, args.g_reg_interval)  # warm-up
            torch.manual_seed(1)
            results[name].append(fn(model, data, args.r1_interval, args.g_reg_interval))
    plain, ours = min(results['plain']), min(results['genforge'])
    print(f'StyleGAN2 step {args.size}x{args.size} batch={args.batch_size} '
          f'max_channels={args.max_channels} iters={args.iters} threads='
          f'{torch.get_num_threads()}')
    print(f'   plain: {plain:.3f} s/iter')
    print(f'genforge: {ours:.3f} s/iter')
    print(f'ratio genforge/plain: {ours / plain:.3f}')


if __name__ == '__main__':
    main()
