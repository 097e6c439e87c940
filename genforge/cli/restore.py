"""``genforge restore``: super-resolve / restore images with a trained model, tile by tile."""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

EXAMPLES = """Examples:
  genforge restore configs/esrgan/esrgan_x4c64b23g32_1xb16-400k_div2k.py esrgan.pth photo.jpg --out results
  genforge restore my_edsr.py iter_300000.pth data/Set5/LRbicx4 --out sr --tile 256
  genforge restore my_edsr.py ckpt.pth big.png --out sr --tile auto --device cuda
"""
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'restore', help='restore / super-resolve an image or a folder of images (tiled)',
        description=__doc__ + '\n\nWith --tile, each tile is padded by --tile-overlap pixels '
        "(default: the network's receptive field, which makes the result equal to an untiled "
        'run for fully convolutional networks).', epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('input', help='an image file or a folder of images')
    p.add_argument('--out', required=True, help='output folder (PNG files, same names)')
    p.add_argument('--tile', default='0',
                   help="tile size in input pixels, 'auto' (from free memory) or 0 (no tiling)")
    p.add_argument('--tile-overlap', type=int, default=None,
                   help='margin around each tile in input pixels (default: receptive field)')
    p.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:1' (default: cuda if "
                                                  'available)')
    p.set_defaults(func=run)


def _list_inputs(path: str) -> list[Path]:
    from genforge.cli import CLIError
    p = Path(path)
    if p.is_file():
        return [p]
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTS)
        if not files:
            raise CLIError(f'no images ({", ".join(IMAGE_EXTS)}) in folder {path}')
        return files
    raise CLIError(f'input not found: {path}')


def _inference_model_cfg(model_cfg: dict) -> dict:
    """The model config without anything that needs files at build time (VGG weights,
    pretrained generator init): the checkpoint provides the weights."""
    cfg = copy.deepcopy(dict(model_cfg))
    if cfg.get('perceptual_loss'):
        cfg['perceptual_loss'] = dict(cfg['perceptual_loss'], pretrained=None)
    if isinstance(cfg.get('generator'), dict):
        cfg['generator'] = {k: v for k, v in cfg['generator'].items() if k != 'init_cfg'}
    cfg.pop('init_cfg', None)
    return cfg


def build_restorer(cfg, checkpoint: str, device: str):
    """Build ``cfg.model``, load the checkpoint, check the generator weights are all there."""
    import torch

    import genforge.models  # noqa: F401  (registers the models)
    from genforge.cli import CLIError
    from genforge.config.config_dict import to_plain
    from genforge.registry import MODELS
    from genforge.runner.checkpoint import load_checkpoint

    if 'model' not in cfg:
        raise CLIError('the config has no "model" key')
    model = MODELS.build(_inference_model_cfg(to_plain(cfg.model)), key_path='model')
    if not hasattr(model, 'generator'):
        raise CLIError(f'{type(model).__name__} has no generator; restore needs an editing model '
                       f'(BaseEditModel, SRGAN, ESRGAN ...)')
    loaded = load_checkpoint(model, checkpoint, map_location='cpu', strict=False)['state_dict']
    missing = [k for k in model.state_dict() if k.startswith('generator.') and k not in loaded]
    if missing:
        raise CLIError(f'checkpoint {checkpoint} has no weights for {len(missing)} generator '
                       f'parameter(s) of this config (e.g. {missing[0]}); is it the checkpoint '
                       f'of this config?')
    return model.to(torch.device(device)).eval()


def _read_image(path: Path):
    """(C, H, W) uint8 RGB; 16-bit files are scaled to 8 bit as for training (cv2's rule)."""
    import numpy as np
    import torch

    from genforge.cli import CLIError
    from genforge.datasets.base_dataset import BadImageError
    from genforge.datasets.transforms.loading import read_image
    try:
        arr = read_image(str(path), 'color', 'rgb')  # the SR models here are trained on RGB
    except BadImageError:
        raise CLIError(f'cannot read {path}: the file is corrupt, truncated or not an image; '
                       f're-export it or move it out of the input folder') from None
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def _write_png(img, path: Path) -> None:
    from PIL import Image

    from genforge.fileio import atomic_open
    arr = img.round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()
    im = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    try:
        with atomic_open(path, 'wb') as f:
            im.save(f, format='PNG')
    except OSError as exc:   # full disk, read-only folder: name the file
        from genforge.fileio import write_error
        raise write_error(path, exc) from exc


def restore_image(model, img, tile, tile_pad, progress=None):
    """(C, H, W) uint8 RGB -> (C, H*s, W*s) float RGB in [0, 255], through the model's own
    data preprocessor (normalisation, channel order) and ``tiled_forward``."""
    from genforge.models.tiling import tiled_forward
    from genforge.structures import DataSample
    channels = img.shape[0]
    meta = dict(img_channel_order='rgb', img_color_type='color' if channels == 3 else 'grayscale')
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[DataSample(metainfo=meta)]),
                                   False)
    inputs, samples = data['inputs'], data['data_samples']
    if isinstance(inputs, dict):
        inputs = inputs['img']
    out = tiled_forward(model.generator, inputs, tile=tile, tile_pad=tile_pad, progress=progress)
    if hasattr(model.data_preprocessor, 'destruct'):
        out = model.data_preprocessor.destruct(out, samples)[0]  # BGR, [0, 255]
        return out.flip(0) if out.shape[0] == 3 else out
    return out[0].clamp(0, 1) * 255.  # a plain preprocessor: assume [0, 1] output


def run(args) -> int:
    import torch
    from rich.console import Console
    from rich.progress import Progress

    from genforge.cli import CLIError

    from ._common import check_file, load_config, refuse_overwrite

    cfg = load_config(args.config)
    check_file(args.checkpoint, 'checkpoint')
    files = _list_inputs(args.input)
    try:
        tile = args.tile if args.tile == 'auto' else int(args.tile)
    except ValueError:
        raise CLIError(f"--tile must be an integer >= 0 or 'auto', got {args.tile!r}") from None
    if tile != 'auto' and tile < 0:
        raise CLIError(f"--tile must be an integer >= 0 or 'auto', got {tile}")
    if args.tile_overlap is not None and args.tile_overlap < 0:
        raise CLIError(f'--tile-overlap must be >= 0, got {args.tile_overlap}')
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CLIError(f'--out {out_dir} is a file; --out names the folder the results go to')
    refuse_overwrite([out_dir / f'{p.stem}.png' for p in files],
                     [*files, args.checkpoint, args.config])
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    from ._common import check_device
    check_device(device)
    model = build_restorer(cfg, args.checkpoint, device)
    out_dir.mkdir(parents=True, exist_ok=True)
    with Progress() as bar:
        files_task = bar.add_task('images', total=len(files))
        tiles_task = bar.add_task('tiles', total=1)
        for path in files:
            bar.reset(tiles_task)
            result = restore_image(
                model, _read_image(path).to(device), tile, args.tile_overlap,
                progress=lambda done, total: bar.update(tiles_task, completed=done, total=total))
            _write_png(result, out_dir / f'{path.stem}.png')
            bar.advance(files_task)
    Console().print(f'restored {len(files)} image(s) into {out_dir}')
    return 0
