"""``genforge translate``: translate images into a named domain with a Pix2Pix / CycleGAN model."""
from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """Examples:
  genforge translate configs/cyclegan/cyclegan_lsgan-resnet-in_1xb1-270kiters_horse2zebra.py \\
      cyclegan_horse2zebra.pth horse.jpg --target-domain zebra --out zebra.png
  genforge translate configs/pix2pix/pix2pix_vanilla-unet-bn_1xb1-80kiters_facades.py \\
      pix2pix_facades.pth data/facades/test --target-domain photo --pair-half right --out photos
"""
IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'translate', help='translate an image or a folder of images into another domain',
        description=__doc__ + '\n\nAny image size works: the image is padded (edge pixels '
        "repeated) to a multiple of the generator's stride (256 for the pix2pix U-Net, 4 for "
        "CycleGAN's ResNet) and the result is cropped back. As in MMagic, translation runs the "
        'generator in training mode (batch-norm statistics of the image, dropout on), so '
        '--seed fixes the result.', epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('input', help='an image file or a folder of images')
    p.add_argument('--target-domain', required=True, help='domain to translate into (one of the '
                   "config's model.reachable_domains)")
    p.add_argument('--source-domain', default=None,
                   help='domain of the inputs (default: the other domain of the config)')
    p.add_argument('--out', required=True, help='output folder, or a .png file for one input')
    p.add_argument('--pair-half', choices=('left', 'right'), default=None,
                   help='inputs are A|B pairs (pix2pix datasets): translate this half')
    p.add_argument('--seed', type=int, default=0, help='random seed (dropout at test time)')
    p.add_argument('--device', default=None, help="'cpu', 'cuda' (default: cuda if available)")
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


def _outputs(files: list[Path], out: str, folder_input: bool) -> list[Path]:
    """Output path per input; refuses to overwrite any input (or to write one file twice)."""
    from genforge.cli import CLIError
    out_path = Path(out)
    if out_path.suffix.lower() == '.png':
        if len(files) != 1:
            raise CLIError(f'--out {out} is a file but the input has {len(files)} images; give a '
                           'folder')
        targets = [out_path]
    else:
        targets = [out_path / f'{f.stem}.png' for f in files]
    inputs = {f.resolve() for f in files}
    # writing next to the inputs would also add the results to an image folder (a dataset)
    clash = [t for t in targets if t.resolve() in inputs
             or folder_input and t.resolve().parent in {f.parent for f in inputs}]
    if clash:
        raise CLIError(f'--out would overwrite the input {clash[0]} or write into the input '
                       'folder; choose another folder')
    if len({t.resolve() for t in targets}) != len(targets):
        raise CLIError('two inputs share a file name (e.g. a.jpg and a.png); translate them into '
                       'separate folders')
    return targets


def build_translator(cfg, checkpoint: str, device: str):
    """``init_model`` for a translation model (its discriminators need no weights)."""
    from genforge.apis import init_model
    from genforge.cli import CLIError
    from genforge.models.algorithms.base_translation_model import BaseTranslationModel

    model = init_model(cfg, checkpoint, device)
    if not isinstance(model, BaseTranslationModel):
        raise CLIError(f'{type(model).__name__} is not a translation model; translate needs '
                       'Pix2Pix, CycleGAN or another BaseTranslationModel')
    return model


def _channel_order(cfg) -> str:
    """The order the model was trained in: the test pipeline loader's (MMagic default 'bgr')."""
    for name in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        pipeline = (cfg.get(name) or {}).get('dataset', {}).get('pipeline') or []
        for t in pipeline:
            if str(t.get('type', '')).startswith('Load'):
                return str(t.get('channel_order', 'bgr')).lower()
    return 'bgr'


def _read_image(path: Path, order: str, half: str | None):
    """(3, H, W) uint8 tensor in ``order``; ``half`` takes one side of an A|B pair."""
    import numpy as np
    import torch
    from PIL import Image

    from genforge.cli import CLIError
    with Image.open(path) as im:
        arr = np.asarray(im.convert('RGB'))
    if half is not None:
        h, w = arr.shape[:2]
        if w != 2 * h:
            raise CLIError(f'--pair-half: {path} is {w}x{h} (w x h); an A|B pair is twice as wide '
                           'as high')
        arr = arr[:, :w // 2] if half == 'left' else arr[:, w // 2:]
    if order == 'bgr':
        arr = arr[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def translate_image(model, img, source: str, target: str, order: str):
    """(3, H, W) uint8 in ``order`` -> (3, H, W) float in [0, 255], in ``order``.

    The normalised image is padded to the generator's stride (replicating edge pixels), run
    through ``forward_test`` and cropped back to H x W.
    """
    import torch.nn.functional as F

    from genforge.structures import DataSample
    key = f'img_{source}'
    meta = {f'{key}_channel_order': order, f'{key}_color_type': 'color'}
    data = model.data_preprocessor(dict(inputs={key: [img]},
                                        data_samples=[DataSample(metainfo=meta)]), False)
    x, samples = data['inputs'][key], data['data_samples']
    h, w = x.shape[-2:]
    stride = getattr(model._get_target_generator(target), 'stride', 1)
    ph, pw = (-h) % stride, (-w) % stride
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode='replicate')
    out = model.forward_test(x, target_domain=target)['target'][..., :h, :w]
    out = model.data_preprocessor.destruct(out, samples, key)[0]  # BGR, [0, 255]
    return out if order == 'bgr' else out.flip(0)


def _write_png(img, path: Path, order: str) -> None:
    from PIL import Image

    from genforge.fileio import atomic_open
    if order == 'bgr':
        img = img.flip(0)
    arr = img.round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, 'wb') as f:
        Image.fromarray(arr).save(f, format='PNG')


def _domains(model, target: str, source: str | None) -> str:
    from genforge.cli import CLIError
    if not model.is_domain_reachable(target):
        raise CLIError(f'--target-domain {target!r}: this model translates into '
                       f'{model.reachable_domains} (model.reachable_domains of the config)')
    options = model.get_other_domains(target)
    if source is None:
        return options[0]
    if source not in options:
        raise CLIError(f'--source-domain {source!r}: the {target!r} generator takes images of '
                       f'{options} (model.related_domains of the config)')
    return source


def run(args) -> int:
    import torch
    from rich.console import Console

    from ._common import check_file, load_config

    cfg = load_config(args.config)
    check_file(args.checkpoint, 'checkpoint')
    files = _list_inputs(args.input)
    targets = _outputs(files, args.out, Path(args.input).is_dir())
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_translator(cfg, args.checkpoint, device)
    source = _domains(model, args.target_domain, args.source_domain)
    order = _channel_order(cfg)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        for path, out_path in zip(files, targets):
            img = _read_image(path, order, args.pair_half).to(device)
            _write_png(translate_image(model, img, source, args.target_domain, order), out_path,
                       order)
    Console().print(f'translated {len(files)} image(s) from {source!r} to '
                    f'{args.target_domain!r} into {args.out}')
    return 0
