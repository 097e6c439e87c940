"""``genforge migrate-config``: rewrite an MMGeneration 0.x / MMEditing 0.x config as 1.x."""
from __future__ import annotations

import argparse
import os
import textwrap

__all__ = ['add_parser', 'run', 'render']

EPILOG = """Examples:
  genforge migrate-config old/dcgan_celeba-cropped_64_b128x1_300k.py --out configs/my_dcgan.py
  genforge migrate-config old/sagan_cifar10.py -o new_sagan.py --print
  genforge migrate-config old/biggan_128x128.py --print        # only show the result

The old config is loaded with its _base_ files (0.x too) and merged; the new file is one flat
1.x config. Its first lines list what was converted and what still needs a look."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'migrate-config', help='convert an MMGeneration/MMEditing 0.x config to the 1.x format',
        description='Convert an MMGeneration 0.x / MMEditing 0.x config (runner/total_iters, '
                    'optimizer, lr_config, evaluation, data, log/checkpoint_config, ...) to the '
                    'MMGeneration/MMagic 1.x layout genforge runs.',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='the 0.x config file (.py)')
    p.add_argument('-o', '--out', metavar='NEW_CONFIG.py', help='where to write the 1.x config')
    p.add_argument('--print', dest='print_cfg', action='store_true',
                   help='print the new config to stdout')
    p.set_defaults(func=run)


def render(new_cfg: dict, notes: list[str], source: str) -> str:
    """The new config as Python source, headed by comments listing the migration notes."""
    from genforge.config import Config
    header = [f'# Migrated from the 0.x config {os.path.basename(source)} by '
              '`genforge migrate-config`.', '# Notes:']
    for note in notes:
        lines = textwrap.wrap(note, 92) or ['']
        header += [f'#   - {lines[0]}'] + [f'#     {line}' for line in lines[1:]]
    return '\n'.join(header) + '\n\n' + Config(new_cfg).pretty_text


def run(args) -> int:
    from rich.console import Console

    from genforge.cli import CLIError
    from genforge.config import Config
    from genforge.config.migrate import MigrationError, migrate_config
    from genforge.fileio import atomic_write_text
    if not args.out and not args.print_cfg:
        raise CLIError('give --out NEW_CONFIG.py (and/or --print to show the result)')
    if args.out and not args.out.endswith('.py'):
        raise CLIError(f'--out {args.out}: the migrated config is written as Python; use a .py '
                       'file name')
    if not os.path.isfile(args.config):
        raise CLIError(f'config file not found: {args.config}')
    if args.out and os.path.abspath(args.out) == os.path.abspath(args.config):
        raise CLIError(f'--out {args.out} is the input file; write the 1.x config elsewhere')
    cfg = Config.fromfile(args.config, import_custom_modules=False)
    try:
        new_cfg, notes = migrate_config(cfg.to_dict())
    except MigrationError as exc:
        raise CLIError(f'{args.config}: {exc}') from None
    text = render(new_cfg, notes, args.config)
    console = Console(stderr=args.print_cfg)  # keep stdout clean for --print
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        atomic_write_text(args.out, text)
        Config.fromfile(args.out, import_custom_modules=False)  # the result must load back
        console.print(f'wrote [bold]{args.out}[/bold] ({len(notes)} notes)')
    for note in notes:
        console.print(f'  - {note}', markup=False, highlight=False, soft_wrap=True)
    if args.print_cfg:
        print(text, end='')
    return 0
