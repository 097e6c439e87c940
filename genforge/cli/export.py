"""``genforge export``: write a checkpoint's weights as ``.safetensors`` for sharing, or in
another project's layout: ``--format basicsr`` (a restoration model as a BasicSR / Real-ESRGAN
weights file), ``--format rosinality`` (a StyleGAN2 model as a rosinality stylegan2-pytorch
``.pt``), ``--format nvlabs-state-dict`` (a StyleGAN2/3 model as NVlabs-named state dicts with
their init kwargs).

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
  genforge export work_dirs/stylegan2/iter_80000.pth --format nvlabs-state-dict --out g.pth
"""

# --format NAME -> (module, function, default output suffix). Each function takes
# (checkpoint dict, output path, source name), writes the file and returns what to print.
FOREIGN_FORMATS = {
    'basicsr': ('genforge.interop.export_sr', 'export_basicsr', '_basicsr.pth'),
    'rosinality': ('genforge.interop.export_rosinality', 'export_rosinality', '_rosinality.pt'),
    'nvlabs-state-dict': ('genforge.interop.export_gan', 'export_nvlabs_state_dict',
                          '_nvlabs.pth'),
}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('export', help='export checkpoint weights to .safetensors',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='a .pth checkpoint (ours, MMagic/MMEngine or a state dict)')
    p.add_argument('--out', default=None,
                   help='output file (default: the checkpoint name with .safetensors, or '
                        '_<format>.pth (_rosinality.pt) for the other formats)')
    p.add_argument('--format', default='safetensors', choices=['safetensors', *FOREIGN_FORMATS],
                   help="'safetensors' (default); 'basicsr': {'params', 'params_ema'} in "
                        'BasicSR names for RRDBNet, MSRResNet, EDSRNet, SRVGGNetCompact; '
                        "'rosinality': a StyleGAN2 model as {'g', 'g_ema', 'd', 'latent_avg'} "
                        "in rosinality stylegan2-pytorch names; 'nvlabs-state-dict': "
                        "{'G_ema', 'G', 'D', 'init_kwargs'} in NVlabs names for "
                        'StyleGAN2/StyleGAN3 models')
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


def _rosinality_summary(done: dict) -> str:
    notes = ''.join(f'\n  note: {n}' for n in done['notes'])
    return (f"{', '.join(done['parts'])}, latent_avg from {done['latent_avg']}; rosinality "
            f"Generator arguments: {done['args']}{notes}")


def _run_foreign(args) -> int:
    """--format basicsr / rosinality / nvlabs-state-dict: the networks in another project's
    layout (genforge.interop)."""
    import importlib

    from rich.console import Console

    from genforge.checkpoint import _load_checkpoint
    from genforge.cli import CLIError

    from ._common import refuse_overwrite
    module, function, suffix = FOREIGN_FORMATS[args.format]
    if args.ema_only:
        raise CLIError(f'--ema-only applies to --format safetensors; --format {args.format} '
                       f'writes the EMA generator beside the others when the checkpoint has one')
    out = args.out or os.path.splitext(args.checkpoint)[0] + suffix
    refuse_overwrite([out], [args.checkpoint], png=False)
    exporter = getattr(importlib.import_module(module), function)
    try:
        result = exporter(_load_checkpoint(args.checkpoint, allow_pickle=args.allow_pickle),
                          out, source=args.checkpoint)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if args.format == 'basicsr':
        result = f'BasicSR format; network_g: {result}'
    elif args.format == 'rosinality':
        result = _rosinality_summary(result)
    Console().print(f'[bold green]exported[/] {out} ({args.format}): {result}', highlight=False)
    return 0
