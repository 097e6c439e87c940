"""The ``genforge`` command: one module per sub-command, dispatched here.

Each sub-command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module under genforge.cli; modules are imported lazily so `genforge --help` is fast.
COMMANDS = {
    'train': 'train',
    'test': 'test',
    'sample': 'sample',
    'restore': 'restore',
    'translate': 'translate',
    'print-config': 'print_config',
    'migrate-config': 'migrate_config',
    'plot-logs': 'plot_logs',
    'fid-stats': 'fid_stats',
    'demo': 'demo',
    'export': 'export',
    'import-weights': 'import_weights',
    'configs': 'configs',
}


class CLIError(Exception):
    """A user error: printed as one line, exit code 2 (traceback only with --debug)."""


def _available_commands() -> dict:
    found = {}
    for name, mod in COMMANDS.items():
        try:
            found[name] = importlib.import_module(f'genforge.cli.{mod}')
        except ModuleNotFoundError as exc:
            if exc.name != f'genforge.cli.{mod}':
                raise
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='genforge',
        description='Train and evaluate GANs and image-restoration models from MMagic-style configs.',
        epilog='Examples:\n  genforge demo\n  genforge train configs/dcgan/dcgan_1xb128-5epoches'
               '_lsun-bedroom-64x64.py\n  genforge print-config my_config.py',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    for module in _available_commands().values():
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug is accepted anywhere on the line (`genforge train cfg.py --debug` included)
    debug = '--debug' in argv
    argv = [a for a in argv if a != '--debug']
    parser = build_parser()
    args = parser.parse_args(argv)
    args.debug = debug
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:   # the message says what was being done, if anything
        text = str(exc)
        print(text if text.startswith('interrupted') else
              f'interrupted: {text}' if text else 'interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:  # `genforge print-config cfg.py | head`: the reader left, not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one clear line for users; the traceback on --debug
        if debug:
            raise
        kind = type(exc).__name__
        msg = str(exc).strip('"\'') if isinstance(exc, KeyError) else str(exc)
        print(f'genforge {args.command}: error: {msg}' if isinstance(exc, CLIError)
              else f'genforge {args.command}: {kind}: {msg}', file=sys.stderr)
        print('(run again with --debug for the full traceback)', file=sys.stderr)
        return 2
