"""``genforge export``: write a checkpoint's weights as ``.safetensors`` for sharing.

A ``.safetensors`` file holds tensors only: it loads without unpickling anything (no code runs),
with ``load_from=`` / ``load_checkpoint`` / ``genforge sample``. It cannot resume training.
"""
from __future__ import annotations

import argparse
import os

EXAMPLES = """Examples:
  genforge export work_dirs/dcgan/iter_5000.pth --out dcgan.safetensors
  genforge export work_dirs/dcgan/iter_5000.pth --out dcgan_ema.safetensors --ema-only
  genforge export mmagic_ckpt.pth --out model.safetensors --allow-pickle   # trusted files only
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('export', help='export checkpoint weights to .safetensors',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='a .pth checkpoint (ours, MMagic/MMEngine or a state dict)')
    p.add_argument('--out', default=None,
                   help='output .safetensors file (default: the checkpoint name with .safetensors)')
    p.add_argument('--ema-only', action='store_true',
                   help='keep only the EMA weights, under the raw module names '
                        '(generator_ema.module.x -> generator.x)')
    p.add_argument('--allow-pickle', action='store_true',
                   help='read a checkpoint that needs full pickle (runs code from the file: '
                        'only for files you trust)')
    p.set_defaults(func=run)


def run(args) -> int:
    from genforge.cli import CLIError
    from genforge.runner.checkpoint import export_safetensors

    from ._common import check_file
    check_file(args.checkpoint, 'checkpoint')
    out = args.out or os.path.splitext(args.checkpoint)[0] + '.safetensors'
    if not out.endswith('.safetensors'):
        raise CLIError(f'--out {out}: the file name must end with .safetensors')
    from ._common import refuse_overwrite
    refuse_overwrite([out], [args.checkpoint], png=False)
    tensors = export_safetensors(args.checkpoint, out, ema_only=args.ema_only,
                                 allow_pickle=args.allow_pickle)
    from rich.console import Console
    numel = sum(t.numel() for t in tensors.values())
    Console().print(f'[bold green]exported[/] {out}: {len(tensors)} tensors, {numel:,} values, '
                    f'{os.path.getsize(out) / 2 ** 20:.2f} MiB', highlight=False)
    return 0
