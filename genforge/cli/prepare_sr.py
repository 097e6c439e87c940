"""``genforge prepare-sr HR_DIR --out DIR --scale 4``: low-res / high-res pairs from your photos.

Each image of HR_DIR (top level, sorted) is cropped at the bottom/right to a multiple of the scale
(MMagic's ``GTmod`` convention) and written as ``DIR/HR/NAME.png``; its bicubic downscale is
``DIR/LR_x4/NAME.png`` (``LR_x{scale}``). ``BasicImageDataset(data_root=DIR,
data_prefix=dict(img='LR_x4', gt='HR'))`` reads the pairs (see docs/own-images.md). Every file is
written atomically; an existing pair is replaced.
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image

from genforge.fileio import atomic_open

IMG_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.ppm')
EXAMPLES = """Examples:
  genforge prepare-sr my_photos/ --out my_sr/ --scale 4      # my_sr/HR, my_sr/LR_x4
  genforge train my_sr.py                                     # docs/own-images.md
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('prepare-sr', help='make low-res/high-res training pairs from a '
                                                 'folder of high-res images',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('hr_dir', metavar='HR_DIR', help='folder of high-resolution images')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='output folder: DIR/HR and DIR/LR_x{scale}')
    p.add_argument('--scale', type=int, default=4, help='downscale factor (default 4)')
    p.set_defaults(func=run)


def _encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    return buf.getvalue()


def _hr_images(hr_dir: Path) -> list[Path]:
    from genforge.cli import CLIError
    if not hr_dir.is_dir():
        raise CLIError(f"prepare-sr: HR_DIR '{hr_dir}' is not a folder")
    files = sorted(p for p in hr_dir.iterdir() if p.is_file() and p.suffix.lower() in IMG_SUFFIXES)
    if not files:
        raise CLIError(f"prepare-sr: no images ({', '.join(IMG_SUFFIXES)}) in '{hr_dir}'")
    stems: dict[str, Path] = {}
    for f in files:  # a.png and a.jpg would both become HR/a.png
        if f.stem in stems:
            raise CLIError(f'prepare-sr: {stems[f.stem]} and {f} would both be written as '
                           f'{f.stem}.png; rename one')
        stems[f.stem] = f
    return files


def make_pair(path: Path, scale: int) -> tuple[Image.Image, Image.Image]:
    """(HR cropped to a multiple of ``scale``, its bicubic 1/scale downscale), both RGB."""
    from genforge.cli import CLIError
    try:
        with Image.open(path) as im:
            hr = im.convert('RGB')
    except OSError as exc:
        raise CLIError(f'prepare-sr: cannot read {path} as an image ({exc})') from exc
    w, h = hr.size
    if w < scale or h < scale:
        raise CLIError(f'prepare-sr: {path} is {w}x{h}, smaller than --scale {scale}')
    hr = hr.crop((0, 0, w - w % scale, h - h % scale))
    lr = hr.resize((hr.width // scale, hr.height // scale), Image.BICUBIC)
    return hr, lr


def run(args: argparse.Namespace) -> int:
    from genforge.cli import CLIError
    if args.scale < 2:
        raise CLIError(f'prepare-sr: --scale {args.scale} must be an integer >= 2')
    hr_dir, out = Path(args.hr_dir), Path(args.out)
    files = _hr_images(hr_dir)
    hr_out, lr_out = out / 'HR', out / f'LR_x{args.scale}'
    if hr_dir.resolve() in (hr_out.resolve(), lr_out.resolve()):
        raise CLIError(f'prepare-sr: --out {out} would overwrite the images of {hr_dir}; '
                       f'choose another folder')
    for path in files:
        hr, lr = make_pair(path, args.scale)
        for folder, img in ((hr_out, hr), (lr_out, lr)):
            with atomic_open(folder / f'{path.stem}.png') as f:
                f.write(_encode_png(img))
    print(f'prepare-sr: {len(files)} pair(s) in {hr_out} and {lr_out} (x{args.scale} bicubic)')
    return 0
