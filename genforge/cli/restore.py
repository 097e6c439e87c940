"""``genforge restore``: super-resolve / restore images with a trained model, tile by tile."""
from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """Examples:
  genforge restore configs/esrgan/esrgan_x4c64b23g32_1xb16-400k_div2k.py esrgan.pth photo.jpg --out results
  genforge restore my_edsr.py iter_300000.pth data/Set5/LRbicx4 --out sr --tile 256
  genforge restore my_edsr.py ckpt.pth big.png --out sr --tile auto --device cuda
  genforge restore --weights RealESRGAN_x4plus.pth photo.png --out photo_x4.png
"""
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'restore', help='restore / super-resolve an image or a folder of images (tiled)',
        description=__doc__ + '\n\nWith --tile, each tile is padded by --tile-overlap pixels '
        "(default: the network's receptive field, which makes the result equal to an untiled "
        'run for fully convolutional networks).', epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('paths', nargs='+', metavar='PATH',
                   help='CONFIG CHECKPOINT INPUT, or INPUT alone with --weights; INPUT is an '
                        'image file or a folder of images')
    p.add_argument('--weights', default=None, metavar='FILE',
                   help='a BasicSR / Real-ESRGAN / ESRGAN (or SwinIR) weights file used directly: '
                        'architecture and scale are read from its tensors, no config needed')
    p.add_argument('--out', required=True,
                   help='output folder (PNG files, same names), or a .png file for one input image')
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


def build_restorer(cfg, checkpoint: str, device: str):
    """``init_model`` for an editing model (one with a generator)."""
    from genforge.apis import init_model
    from genforge.cli import CLIError

    model = init_model(cfg, checkpoint, device)
    if not hasattr(model, 'generator'):
        raise CLIError(f'{type(model).__name__} has no generator; restore needs an editing model '
                       f'(BaseEditModel, SRGAN, ESRGAN ...)')
    return model


def _input_channels(model) -> int:
    """How many channels the generator's first convolution takes (1: a grayscale model)."""
    import torch

    conv = next((m for m in model.generator.modules() if isinstance(m, torch.nn.Conv2d)), None)
    return conv.in_channels if conv is not None else 3


def _read_image(path: Path, gray: bool = False):
    """(C, H, W) uint8 RGB (or (1, H, W) luminance for a grayscale model); 16-bit files are
    scaled to 8 bit as for training (cv2's rule)."""
    import numpy as np
    import torch

    from genforge.cli import CLIError
    from genforge.datasets.base_dataset import BadImageError
    from genforge.datasets.transforms.loading import read_image
    try:
        # colour models are trained on RGB; grayscale ones (SwinIR gray denoising/JPEG) on L
        arr = read_image(str(path), 'grayscale' if gray else 'color', 'rgb')
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
    import torch

    from genforge.models.tiling import tiled_forward
    from genforge.structures import DataSample
    channels = img.shape[0]
    meta = dict(img_channel_order='rgb', img_color_type='color' if channels == 3 else 'grayscale')
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[DataSample(metainfo=meta)]),
                                   False)
    inputs, samples = data['inputs'], data['data_samples']
    if isinstance(inputs, dict):
        inputs = inputs['img']
    # Real-ESRGAN x2/x1 pixel-unshuffle their input: pad right/bottom to the grid (reflect, as
    # Real-ESRGAN's inference does) and crop the result back to H*s x W*s.
    align = int(getattr(model.generator, 'input_divisor', 1))
    h, w = inputs.shape[-2:]
    ph, pw = -h % align, -w % align
    if ph or pw:
        mode = 'reflect' if ph < h and pw < w else 'replicate'  # reflect needs pad < size
        inputs = torch.nn.functional.pad(inputs, (0, pw, 0, ph), mode=mode)
    out = tiled_forward(model.generator, inputs, tile=tile, tile_pad=tile_pad, progress=progress)
    if ph or pw:
        scale = out.shape[-2] // inputs.shape[-2]
        out = out[..., :h * scale, :w * scale]
    if hasattr(model.data_preprocessor, 'destruct'):
        out = model.data_preprocessor.destruct(out, samples)[0]  # BGR, [0, 255]
        return out.flip(0) if out.shape[0] == 3 else out
    return out[0].clamp(0, 1) * 255.  # a plain preprocessor: assume [0, 1] output


def _split_paths(args) -> tuple[str | None, str | None, str]:
    """(config, checkpoint, input) from the positional paths; --weights replaces the first two."""
    from genforge.cli import CLIError
    if args.weights is not None:
        if len(args.paths) != 1:
            raise CLIError(f'with --weights give only INPUT (an image or a folder), got '
                           f'{len(args.paths)} paths: {" ".join(args.paths)}')
        return None, None, args.paths[0]
    if len(args.paths) != 3:
        raise CLIError(f'restore needs CONFIG CHECKPOINT INPUT (or --weights FILE INPUT), got '
                       f'{len(args.paths)} path(s): {" ".join(args.paths)}')
    return args.paths[0], args.paths[1], args.paths[2]


def build_from_weights(path: str, device: str):
    """A restoration model from a foreign weights file: the format, architecture and scale are
    detected from its tensors (``genforge.interop``); no code from the file runs."""
    import pickle

    import genforge.models  # noqa: F401  (registers the networks)
    from genforge.cli import CLIError
    from genforge.interop import load_object
    from genforge.registry import MODELS

    try:
        # restricted unpickling (genforge.interop.safe_unpickle): no code from the file runs
        imported = load_object(path)
    except (ValueError, RuntimeError, pickle.UnpicklingError) as exc:
        msg = str(exc)
        raise CLIError(f'--weights {msg}' if msg.startswith(path) else
                       f'--weights {path}: {msg}') from None
    cfg = imported.model_config or {}
    if cfg.get('type') != 'BaseEditModel':
        raise CLIError(f'--weights {path}: a {imported.info.get("architecture", cfg.get("type"))} '
                       f'({imported.format}) is not a restoration network; use genforge '
                       f'import-weights {path} --out DIR, then genforge sample')
    model = MODELS.build(cfg, key_path='model')
    model.load_state_dict(imported.model_state_dict, strict=True)
    return model.to(device).eval(), imported


def _outputs(files: list[Path], input_path: str, out: Path) -> list[Path]:
    """Where each result goes: ``out/<stem>.png``, or ``out`` itself for one image and a .png."""
    from genforge.cli import CLIError
    if out.suffix.lower() == '.png' and Path(input_path).is_file():
        return [out]
    if out.exists() and not out.is_dir():
        raise CLIError(f'--out {out} is a file; --out names the folder the results go to '
                       f'(or a .png file when INPUT is one image)')
    return [out / f'{p.stem}.png' for p in files]


def _tile(args) -> int | str:
    from genforge.cli import CLIError
    try:
        tile = args.tile if args.tile == 'auto' else int(args.tile)
    except ValueError:
        raise CLIError(f"--tile must be an integer >= 0 or 'auto', got {args.tile!r}") from None
    if tile != 'auto' and tile < 0:
        raise CLIError(f"--tile must be an integer >= 0 or 'auto', got {tile}")
    if args.tile_overlap is not None and args.tile_overlap < 0:
        raise CLIError(f'--tile-overlap must be >= 0, got {args.tile_overlap}')
    return tile


def run(args) -> int:
    import torch
    from rich.console import Console
    from rich.progress import Progress

    from ._common import check_file, load_config, refuse_overwrite

    config, checkpoint, input_path = _split_paths(args)
    cfg = load_config(config) if config else None
    check_file(checkpoint or args.weights, '--weights file' if args.weights else 'checkpoint')
    files = _list_inputs(input_path)
    tile = _tile(args)
    outputs = _outputs(files, input_path, Path(args.out))
    refuse_overwrite(outputs, [*files, checkpoint or args.weights, *([config] if config else [])])
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    from ._common import check_device
    check_device(device)
    if args.weights:
        model, imported = build_from_weights(args.weights, device)
        info = imported.info
        Console().print(f'{args.weights}: {imported.format} {info.get("architecture", "")} '
                        f'x{info.get("scale", "?")} ({imported.default_part})', highlight=False)
    else:
        model = build_restorer(cfg, checkpoint, device)
    gray = _input_channels(model) == 1
    outputs[0].parent.mkdir(parents=True, exist_ok=True)
    with Progress() as bar:
        files_task = bar.add_task('images', total=len(files))
        tiles_task = bar.add_task('tiles', total=1)
        for path, target in zip(files, outputs):
            bar.reset(tiles_task)
            result = restore_image(
                model, _read_image(path, gray).to(device), tile, args.tile_overlap,
                progress=lambda done, total: bar.update(tiles_task, completed=done, total=total))
            _write_png(result, target)
            bar.advance(files_task)
    Console().print(f'restored {len(files)} image(s) into {args.out}', highlight=False)
    return 0
