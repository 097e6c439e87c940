"""``genforge export``: write a checkpoint's weights as ``.safetensors`` for sharing, or (with
``--format basicsr``) a restoration model as a BasicSR / Real-ESRGAN weights file, or (with
``--format rosinality``) a StyleGAN2 model as a rosinality stylegan2-pytorch ``.pt``.

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
  genforge export work_dirs/esrgan/iter_400000.pth --format basicsr --out esrgan_basicsr.pth
  genforge export work_dirs/stylegan2/iter_800000.pth --format rosinality --out stylegan2.pt
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('export', help='export checkpoint weights to .safetensors',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='a .pth checkpoint (ours, MMagic/MMEngine or a state dict)')
    p.add_argument('--out', default=None,
                   help='output file (default: the checkpoint name with .safetensors, or '
                        '_basicsr.pth / _rosinality.pt for --format basicsr / rosinality)')
    p.add_argument('--format', default='safetensors', choices=['safetensors', *FOREIGN_FORMATS],
                   help="'safetensors' (default); 'basicsr': {'params', 'params_ema'} in "
                        'BasicSR names for RRDBNet, MSRResNet, EDSRNet, SRVGGNetCompact; '
                        "'rosinality': a StyleGAN2 model as {'g', 'g_ema', 'd', 'latent_avg'} "
                        'in rosinality stylegan2-pytorch names')
    p.add_argument('--ema-only', action='store_true',
                   help='keep only the EMA weights, under the raw module names '
                        '(generator_ema.module.x -> generator.x)')
    p.add_argument('--allow-pickle', action='store_true',
                   help='read a checkpoint that needs full pickle (runs code from the file: '
                        'only for files you trust)')
    p.set_defaults(func=run)


def run(args) -> int:
    from genforge.checkpoint import export_safetensors
    from genforge.cli import CLIError

    from ._common import check_file
    check_file(args.checkpoint, 'checkpoint')
    if args.format != 'safetensors':
        return _run_foreign(args)
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


def _export_basicsr(checkpoint: dict, out: str, source: str) -> str:
    from genforge.interop.export_sr import export_basicsr
    options = export_basicsr(checkpoint, out, source=source)
    return f'(BasicSR format); network_g: {options}'


def _export_rosinality(checkpoint: dict, out: str, source: str) -> str:
    from genforge.interop.export_rosinality import export_rosinality
    done = export_rosinality(checkpoint, out, source=source)
    notes = ''.join(f'\n  note: {n}' for n in done['notes'])
    return (f"(rosinality stylegan2-pytorch format: {', '.join(done['parts'])}, latent_avg from "
            f"{done['latent_avg']}); Generator arguments: {done['args']}{notes}")


# --format name -> (default output suffix, writer(checkpoint, out, source) -> summary line)
FOREIGN_FORMATS = {
    'basicsr': ('_basicsr.pth', _export_basicsr),
    'rosinality': ('_rosinality.pt', _export_rosinality),
}


def _run_foreign(args) -> int:
    """--format basicsr / rosinality: the network in another project's layout (genforge.interop)."""
    from rich.console import Console

    from genforge.checkpoint import _load_checkpoint
    from genforge.cli import CLIError

    from ._common import refuse_overwrite
    if args.ema_only:
        raise CLIError(f'--ema-only applies to --format safetensors; --format {args.format} '
                       f'writes the EMA generator beside the trained one when the checkpoint '
                       f'has both')
    suffix, writer = FOREIGN_FORMATS[args.format]
    out = args.out or os.path.splitext(args.checkpoint)[0] + suffix
    refuse_overwrite([out], [args.checkpoint], png=False)
    try:
        summary = writer(_load_checkpoint(args.checkpoint, allow_pickle=args.allow_pickle),
                         out, args.checkpoint)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    Console().print(f'[bold green]exported[/] {out} {summary}', highlight=False)
    return 0
