"""``genforge fid-stats DATA_DIR --out stats.pkl``: precompute real Inception statistics.

The pickle is what ``FrechetInceptionDistance(inception_pkl=...)`` reads: ``real_mean``,
``real_cov`` (float64), ``real_nums``, ``weights`` (e.g. 'pt2015'), ``resize``; with
``--save-features`` also ``real_feats`` (needed by KID / PR).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMG_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.ppm')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'fid-stats', help='precompute real-image Inception statistics for FID',
        description='Compute Inception pool3 mean/covariance of the images under DATA_DIR '
                    '(recursive, sorted by path) and save them for inception_pkl=.',
        epilog='Examples:\n'
               '  genforge fid-stats data/ffhq --out work_dirs/ffhq_stats.pkl\n'
               '  genforge fid-stats data/cifar10_png --out cifar.pkl '
               '--inception-path ~/models/pt_inception-2015-12-05-6726825d.pth',
        formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
    p.add_argument('data_dir', help='folder of images')
    p.add_argument('--out', required=True, help='output .pkl (written atomically)')
    p.add_argument('--inception-style', default='StyleGAN', choices=['PyTorch', 'StyleGAN'],
                   help="network of the FID metric that will read the file (default StyleGAN, "
                        "as FrechetInceptionDistance and the shipped configs)")
    p.add_argument('--inception-path', default=None,
                   help='weights file or URL (default: the genforge cache dir)')
    p.add_argument('--num', type=int, default=-1, help='use the first NUM images (-1 = all)')
    p.add_argument('--batch-size', type=int, default=50)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--save-features', action='store_true',
                   help='also store every feature row (for KID / precision-recall)')
    p.set_defaults(func=run)


def list_images(data_dir: str) -> list[Path]:
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"fid-stats: DATA_DIR '{data_dir}' is not a folder")
    files = sorted(p for p in root.rglob('*') if p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"fid-stats: no images ({', '.join(IMG_EXTENSIONS)}) under "
                                f"'{data_dir}'")
    return files


def _load_rgb(path: Path) -> torch.Tensor:
    arr = np.asarray(Image.open(path).convert('RGB'))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float()  # (H, W, 3) -> (3, H, W)


def compute_folder_features(files: list[Path], extractor, batch_size: int,
                            progress=None) -> torch.Tensor:
    """Inception features (N, 2048) of ``files`` in order, batched by image size."""
    feats = []
    for start in range(0, len(files), batch_size):
        imgs = [_load_rgb(f) for f in files[start:start + batch_size]]
        feats.append(extractor.extract(imgs, bgr=False)['feats'])
        if progress is not None:
            progress(len(imgs))
    return torch.cat(feats)


def run(args) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from genforge.evaluation.functional.gen_metrics import feature_stats
    from genforge.evaluation.metrics.inception_cache import InceptionExtractor
    from genforge.evaluation.metrics.real_stats import save_stats_pkl

    console = Console(stderr=True)
    files = list_images(args.data_dir)
    if args.num != -1:
        if args.num > len(files):
            raise ValueError(f'fid-stats: --num {args.num} but only {len(files)} images under '
                             f"'{args.data_dir}'")
        files = files[:args.num]
    from ._common import check_device, refuse_overwrite
    if args.num < -1 or args.num == 0 or args.batch_size < 1:
        from genforge.cli import CLIError
        raise CLIError(f'--num {args.num} / --batch-size {args.batch_size}: use --num -1 (all) or '
                       f'a positive number, and a positive --batch-size')
    refuse_overwrite([args.out], files, png=False)
    check_device(args.device)
    extractor = InceptionExtractor(args.inception_style, args.inception_path).to(args.device)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task('Inception features', total=len(files))
        feats = compute_folder_features(files, extractor, args.batch_size,
                                        lambda n: bar.advance(task, n))
    mean, cov = feature_stats(feats)
    resize = 'tf-bilinear' if args.inception_style == 'PyTorch' else 'stylegan-bilinear'
    state = dict(real_mean=mean, real_cov=cov, real_nums=len(files),
                 weights=extractor.weights_tag, resize=resize, data_dir=str(args.data_dir),
                 inception_style=args.inception_style,
                 protocol=f'fid-stats@inception={extractor.weights_tag},resize={resize},'
                          f'real={Path(args.data_dir).name}:{len(files)}')
    if args.save_features:
        state['real_feats'] = feats.float().numpy()
    save_stats_pkl(args.out, state)
    console.print(f'saved statistics of {len(files)} images to {args.out} '
                  f'({state["protocol"]})')
    return 0


__all__ = ['add_parser', 'run', 'list_images', 'compute_folder_features']

