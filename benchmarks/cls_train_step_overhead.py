"""ResNet-18 (CIFAR) train_step overhead: ImageClassifier.train_step vs a plain PyTorch step.

What it measures: a bare loop calling ``model.train_step(batch, optim_wrapper)`` on prepared
batches (data preprocessor, losses, OptimWrapper) against the same network trained by hand. It
does NOT measure the Runner (DataLoader, collate, hooks, logging); benchmarks/train_overhead.py
does. Same process, same weights, same batches; prints the ratio and the bf16 AMP step time.

    python benchmarks/cls_train_step_overhead.py --iters 20 --batch-size 32
"""
from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F

from genforge.optim import AmpOptimWrapper, OptimWrapper
from genforge.registry import MODELS
from genforge.structures import DataSample

MODEL = dict(type='ImageClassifier',
             backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=4, out_indices=(3, )),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=10, in_channels=512,
                       loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
             data_preprocessor=dict(type='ClsDataPreprocessor', mean=[125.3, 123.0, 113.9],
                                    std=[51.6, 50.8, 51.3]))


def _batches(n: int, bs: int, device: torch.device) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        imgs = torch.randint(0, 256, (bs, 3, 32, 32), generator=g, dtype=torch.uint8)
        labels = torch.randint(0, 10, (bs, ), generator=g)
        out.append(dict(inputs=imgs.to(device), labels=labels.to(device),
                        data_samples=[DataSample().set_gt_label(int(lb)) for lb in labels]))
    return out


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize()


def plain_loop(model: torch.nn.Module, batches: list[dict], device: torch.device) -> float:
    """The same network trained by hand: normalise, forward, CE, backward, SGD step."""
    net = torch.nn.Sequential(model.backbone, model.neck)
    fc = model.head.fc
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    mean = torch.tensor([125.3, 123.0, 113.9], device=device).view(1, 3, 1, 1)
    std = torch.tensor([51.6, 50.8, 51.3], device=device).view(1, 3, 1, 1)
    _sync(device)
    t = time.perf_counter()
    for b in batches:
        x = (b['inputs'].float() - mean) / std
        loss = F.cross_entropy(fc(net(x)[-1]), b['labels'])
        opt.zero_grad()
        loss.backward()
        opt.step()
    _sync(device)
    return time.perf_counter() - t


def genforge_loop(model, batches: list[dict], device: torch.device, amp: bool = False) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    wrapper = AmpOptimWrapper(optimizer=opt, dtype='bfloat16') if amp else OptimWrapper(opt)
    _sync(device)
    t = time.perf_counter()
    for b in batches:
        model.train_step(dict(inputs=b['inputs'], data_samples=b['data_samples']), wrapper)
    _sync(device)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    base = MODELS.build(MODEL)
    base.init_weights()
    base.to(device).train()
    batches = _batches(args.iters + 3, args.batch_size, device)
    warm, timed = batches[:3], batches[3:]
    results = {}
    for name, fn in (('plain', lambda m, b: plain_loop(m, b, device)),
                     ('genforge', lambda m, b: genforge_loop(m, b, device)),
                     ('genforge_bf16_amp', lambda m, b: genforge_loop(m, b, device, amp=True))):
        model = copy.deepcopy(base)
        fn(model, warm)  # warm-up: allocator, autotuning
        results[name] = fn(model, timed) / len(timed)
    print(f'train_step only (no Runner, DataLoader or hooks): device={device} '
          f'batch={args.batch_size} iters={args.iters}')
    for name, sec in results.items():
        print(f'{name:>18}: {sec * 1000:8.2f} ms/iter')
    print(f'train_step ratio genforge/plain: {results["genforge"] / results["plain"]:.3f} '
          '(goal <= 1.02)')
    print(f'ratio bf16 AMP/fp32 : {results["genforge_bf16_amp"] / results["genforge"]:.3f}')


if __name__ == '__main__':
    main()
