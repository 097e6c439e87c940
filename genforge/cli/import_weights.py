"""``genforge import-weights``: read another project's weights file (NVlabs StyleGAN2-ADA /
StyleGAN3 pickles, BasicSR / Real-ESRGAN / ESRGAN / SwinIR checkpoints, ...) and write
``DIR/model.py`` (an ordinary genforge config, MMagic type names) and ``DIR/weights.pth`` (a
genforge checkpoint that loads strictly into it). The file's format is detected from its
content; no code from it runs (restricted unpickling, see docs/interop.md).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

EXAMPLES = """Examples:
  genforge import-weights network-snapshot-000200.pkl --out imported/ffhq
  genforge sample imported/ffhq/model.py imported/ffhq/weights.pth --truncation 0.7
  genforge import-weights RealESRGAN_x4plus.pth --out imported/realesrgan
  genforge restore imported/realesrgan/model.py imported/realesrgan/weights.pth photo.png --out out/
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('import-weights',
                              help='turn a foreign weights file into a genforge config + checkpoint',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('source', metavar='SRC', help='the foreign weights file')
    p.add_argument('--out', required=True, metavar='DIR',
                   help='folder for model.py and weights.pth (created if missing)')
    p.add_argument('--arch', default=None,
                   help='the architecture, when detection should be overridden (e.g. RRDBNet)')
    p.add_argument('--overwrite', action='store_true',
                   help='replace DIR/model.py and DIR/weights.pth if they exist')
    p.set_defaults(func=run)


def _fmt(value: Any, indent: int = 0) -> str:
    """A config value as MMagic-style Python source (``dict(type=...)`` for dicts)."""
    pad = ' ' * (indent + 4)
    if isinstance(value, dict):
        if not value:
            return 'dict()'
        if all(isinstance(k, str) and k.isidentifier() for k in value):
            items = [f'{pad}{k}={_fmt(v, indent + 4)}' for k, v in value.items()]
            return 'dict(\n' + ',\n'.join(items) + ')'
        items = [f'{pad}{k!r}: {_fmt(v, indent + 4)}' for k, v in value.items()]
        return '{\n' + ',\n'.join(items) + '}'
    if isinstance(value, (list, tuple)):
        inner = ', '.join(_fmt(v, indent) for v in value)
        return f'[{inner}]' if isinstance(value, list) else f'({inner}{"," if len(value) == 1 else ""})'
    if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
        value = value.item()
    return repr(value)


def _shown(info: dict) -> dict:
    """What is printed and written as comments: no tensors."""
    import torch
    out = {}
    for k, v in info.items():
        if isinstance(v, torch.Tensor):
            continue
        out[k] = _shown(v) if isinstance(v, dict) else v
    return out


def config_text(imported, source: str) -> str:
    """``model.py``: the imported model as a genforge config."""
    info = _shown(imported.info)
    lines = [f'# Imported by `genforge import-weights` from {os.path.basename(source)}',
             f'# format: {imported.format}; architecture: {info.get("architecture", "?")}; '
             f'parts: {", ".join(imported.networks)}']
    lines += [f'# {k}: {v}' for k, v in info.items() if k not in ('architecture', 'parts')]
    lines.append('')
    lines.append(f'model = {_fmt(imported.model_config)}')
    return '\n'.join(lines) + '\n'


def _outputs(args) -> tuple[Path, Path]:
    """``DIR/model.py`` and ``DIR/weights.pth``; refused when they exist (no --overwrite) or
    would replace the source."""
    from genforge.cli import CLIError

    from ._common import refuse_overwrite
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f'--out {out} is a file; give a folder')
    config_path, weights_path = out / 'model.py', out / 'weights.pth'
    existing = [str(p) for p in (config_path, weights_path) if p.exists()]
    if existing and not args.overwrite:
        raise CLIError(f'--out {out}: {" and ".join(existing)} exist; pass --overwrite to '
                       f'replace them')
    # the shared check also catches a source reached through a symlink or hard link
    refuse_overwrite([config_path, weights_path], [args.source], png=False)
    return config_path, weights_path


def _read(args):
    """The source as an ``Imported`` whose whole model builds and loads strictly."""
    import pickle

    import genforge.models  # noqa: F401
    from genforge.cli import CLIError
    from genforge.interop import load_object
    from genforge.registry import MODELS
    try:
        imported = load_object(args.source, arch=args.arch)
    except (ValueError, pickle.UnpicklingError) as exc:
        msg = str(exc)
        raise CLIError(msg if args.source in msg else f'{args.source}: {msg}') from None
    if imported.model_config is None or 'generator' not in imported.model_config:
        raise CLIError(f'{args.source}: holds only {", ".join(imported.networks)} '
                       f'({imported.format}); there is no generator to build a model around. '
                       f'Use genforge.interop.load_weights(path, part=...) for it')
    try:  # before anything is written
        model = MODELS.build(dict(imported.model_config), key_path='model')
        model.load_state_dict(imported.model_state_dict, strict=True)
    except (ValueError, RuntimeError, KeyError, TypeError) as exc:
        raise CLIError(f'{args.source}: the imported model does not build/load in genforge: '
                       f'{exc}') from None
    return imported


def _summary(args, imported, config_path: Path, weights_path: Path, numel: int) -> None:
    from rich.console import Console
    info = _shown(imported.info)
    console = Console(highlight=False)
    console.print(f'[bold]{args.source}[/]: {imported.format} format, '
                  f'{info.get("architecture", imported.model_config.get("type"))}')
    console.print(f'  parts: {", ".join(imported.networks)} (default: {imported.default_part})')
    skip = {'architecture', 'parts'}
    params = ', '.join(f'{k}={v}' for k, v in info.items()
                       if k not in skip and not isinstance(v, dict))
    if params:
        console.print(f'  hyper-parameters: {params}')
    for k, v in info.items():
        if isinstance(v, dict) and k not in skip:
            console.print(f'  {k}: ' + ', '.join(f'{a}={b}' for a, b in v.items()))
    console.print(f'[bold green]wrote[/] {config_path} and {weights_path} ({numel:,} values)')
    if 'StyleGAN' in str(imported.model_config.get('type')):
        console.print(f'  next: genforge sample {config_path} {weights_path} --truncation 0.7')
    else:
        console.print(f'  next: genforge restore {config_path} {weights_path} INPUT --out DIR')


def run(args) -> int:
    from genforge.checkpoint import save_checkpoint
    from genforge.fileio import atomic_open

    from ._common import check_file
    check_file(args.source, 'weights file')
    config_path, weights_path = _outputs(args)
    imported = _read(args)
    text = config_text(imported, args.source)
    state = {k: v.detach().cpu().contiguous() for k, v in imported.model_state_dict.items()}
    meta = dict(cfg=text, imported_from=os.path.basename(args.source), format=imported.format)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    # each file is written atomically; the config last, so a model.py always has its weights
    save_checkpoint(dict(meta=meta, state_dict=state), str(weights_path))
    with atomic_open(config_path, 'w') as f:
        f.write(text)
    _summary(args, imported, config_path, weights_path, sum(v.numel() for v in state.values()))
    return 0
