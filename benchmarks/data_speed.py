"""Does the data pipeline keep up with training? Loader images/s beside the training step's.

Takes a shipped config's training pipeline verbatim (default: EDSR x4 on DIV2K, random
``PairedRandomCrop`` patches from 480x480 PNG sub-images, and DCGAN-64 on LSUN-style JPEGs),
writes ``--num-images`` synthetic files in that layout into a temporary folder and prints:

- the loader's images/s over two epochs (worker start-up included) with num_workers 0 and 2,
  2 + persistent_workers, 2 + pin_memory (only with CUDA), and ``cache=True`` (decode once);
- the training step's images/s of the config's model on the same batches (fp32, this CPU).

The loader keeps up when its images/s is above the step's.

    python benchmarks/data_speed.py                             # both configs, batch 16
    python benchmarks/data_speed.py --configs dcgan --num-images 32 --steps 1
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
from PIL import Image

import genforge.datasets  # noqa: F401  (registers the datasets and transforms)
import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.optim import build_optim_wrapper, cpu_has_native_bf16
from genforge.registry import MODELS
from genforge.runner.build import build_dataloader, usable_cpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = dict(
    edsr=('configs/edsr/edsr_x4c64b16_1xb16-300k_div2k.py', 'png', 480),
    dcgan=('configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py', 'jpg', 256))


def _photo_like(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour fields plus noise: compresses like a photo, not like pure noise."""
    small = rng.integers(0, 256, (size // 16 + 1, size // 16 + 1, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC), np.int16)
    return np.clip(big + rng.integers(-12, 13, big.shape), 0, 255).astype(np.uint8)


def write_dataset(cfg: Config, folder: str, ext: str, size: int, num: int) -> dict:
    """Files in the config dataset's layout; returns the dataset dict pointing at them."""
    dataset = dict(cfg.train_dataloader['dataset'])
    prefixes = dict(dataset.get('data_prefix') or dict(gt=''))
    scale = int(cfg.get('scale', 1))
    rng = np.random.default_rng(0)
    for prefix in prefixes.values():
        os.makedirs(os.path.join(folder, prefix), exist_ok=True)
    for i in range(num):
        gt = _photo_like(rng, size)
        for key, prefix in prefixes.items():
            # the SR configs' LR folder holds the bicubic x``scale`` downsampling
            img = gt if key == 'gt' or scale == 1 else np.asarray(
                Image.fromarray(gt).resize((size // scale, size // scale), Image.BICUBIC))
            Image.fromarray(img).save(os.path.join(folder, prefix, f'{i:04d}.{ext}'),
                                      quality=90)
    dataset.update(data_root=folder, ann_file='')
    return dataset


def _batch_len(batch: dict) -> int:
    # SR configs pack the LR image as inputs; GAN configs pack only data_samples.gt_img
    return len(batch['data_samples'])


def loader_rate(cfg: Config, dataset: dict, batch_size: int, epochs: int = 2, **loader_kw
                ) -> tuple[float, list]:
    """images/s over ``epochs`` passes (worker start included) and the first batch."""
    dl = dict(batch_size=batch_size, drop_last=True, dataset=dataset,
              sampler=dict(type='DefaultSampler', shuffle=True), **loader_kw)
    start, seen, first = time.perf_counter(), 0, None
    # built inside the timing: cache=True decodes everything here, once
    loader = build_dataloader(dl, seed=0, key_path='train_dataloader')
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            first = first or batch
            seen += _batch_len(batch)
    return seen / (time.perf_counter() - start), first


def step_rate(cfg: Config, batch: dict, steps: int) -> float:
    """images/s of the config model's ``train_step`` on ``batch`` (after one warm-up step)."""
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train_step(batch, wrapper)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_step(batch, wrapper)
    return steps * _batch_len(batch) / (time.perf_counter() - start)


def run_config(name: str, args: argparse.Namespace) -> None:
    path, ext, size = CONFIGS[name]
    cfg = Config.fromfile(os.path.join(ROOT, path))
    with tempfile.TemporaryDirectory() as folder:
        dataset = write_dataset(cfg, folder, ext, size, args.num_images)
        variants = [('num_workers=0', dict(num_workers=0), {}),
                    ('num_workers=2', dict(num_workers=2), {}),
                    ('num_workers=2, persistent_workers', dict(num_workers=2,
                                                               persistent_workers=True), {}),
                    ('num_workers=0, cache=True', dict(num_workers=0), dict(cache=True)),
                    ('num_workers=2, persistent, cache=True',
                     dict(num_workers=2, persistent_workers=True), dict(cache=True))]
        if torch.cuda.is_available():
            variants.insert(3, ('num_workers=2, pin_memory', dict(num_workers=2,
                                                                  pin_memory=True), {}))
        print(f'{name}: {path} ({args.num_images} {ext} images of {size}px, batch '
              f'{args.batch_size}, 2 epochs)')
        batch = None
        for label, loader_kw, ds_kw in variants:
            rate, first = loader_rate(cfg, dict(dataset, **ds_kw), args.batch_size, **loader_kw)
            batch = batch or first
            print(f'  loader {label:40s} {rate:8.1f} images/s')
        if not torch.cuda.is_available():
            print('  loader num_workers=2, pin_memory              n/a (no CUDA: pinning only '
                  'helps host-to-GPU copies)')
        print(f'  train_step (fp32, {torch.get_num_threads()} threads)'
              f'{"":17s} {step_rate(cfg, batch, args.steps):8.1f} images/s')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--configs', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument('--num-images', type=int, default=64)
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--steps', type=int, default=2, help='timed training steps')
    args = p.parse_args()
    print(f'usable CPU cores: {usable_cpus()}; CPU native bf16 (AVX512-BF16/AMX): '
          f'{cpu_has_native_bf16()}; torch {torch.__version__}')
    for name in args.configs:
        run_config(name, args)


if __name__ == '__main__':
    main()
