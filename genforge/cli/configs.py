"""``genforge configs``: list the shipped configs, or copy one to start from.

The configs live in ``configs/`` of a source checkout; a wheel installs them under
``<prefix>/share/genforge/configs`` (pyproject ``data-files``). ``GENFORGE_CONFIGS`` names
another folder.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import site
import sys
from pathlib import Path

EXAMPLES = """Examples:
  genforge configs                        # every shipped config
  genforge configs dcgan                  # names containing 'dcgan' (or a glob: '*div2k*')
  genforge configs copy dcgan_1xb128-5epoches_lsun-bedroom-64x64 my_configs/
  genforge train my_configs/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py --data-root my_images/
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('configs', help='list the shipped configs or copy one to a folder',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('words', nargs='*', metavar='PATTERN | copy NAME DIR',
                   help="PATTERN: list configs whose path contains it (globs allowed); "
                        "'copy NAME DIR': write the config NAME, its _base_ files merged in, "
                        "to DIR/NAME.py")
    p.set_defaults(func=run)


def config_root() -> Path:
    """The folder of shipped configs: $GENFORGE_CONFIGS, the checkout, or the installed copy."""
    from genforge.cli import CLIError
    env = os.environ.get('GENFORGE_CONFIGS')
    candidates = [Path(env)] if env else []
    candidates += [Path(__file__).resolve().parents[2] / 'configs',  # source checkout / editable
                   Path(sys.prefix) / 'share' / 'genforge' / 'configs',  # wheel data-files
                   Path(site.getuserbase()) / 'share' / 'genforge' / 'configs']  # pip --user
    for root in candidates:
        if root.is_dir() and any(root.glob('*/*.py')):
            return root
    raise CLIError('no genforge configs found (looked in ' + ', '.join(map(str, candidates)) +
                   '); set GENFORGE_CONFIGS to a folder of configs, e.g. configs/ of a checkout')


def list_configs(pattern: str | None = None) -> list[Path]:
    """Shipped configs (not ``_base_`` parts), relative to the root, filtered by ``pattern``."""
    root = config_root()
    found = sorted(p.relative_to(root) for p in root.rglob('*.py')
                   if '_base_' not in p.relative_to(root).parts)
    if pattern:
        glob = pattern if any(c in pattern for c in '*?[') else f'*{pattern}*'
        found = [p for p in found if fnmatch.fnmatch(str(p), glob)]
    return found


def find_config(name: str) -> Path:
    """The one config whose file name (with or without .py) or relative path is ``name``."""
    from genforge.cli import CLIError
    stem = name.removesuffix('.py')
    every = list_configs()
    hits = [p for p in every if stem in (p.stem, str(p.with_suffix('')))]
    if len(hits) == 1:
        return config_root() / hits[0]
    close = [str(p) for p in every if stem in str(p)][:8]
    if len(hits) > 1:
        raise CLIError(f'config {name!r} is ambiguous: {", ".join(map(str, hits))}')
    raise CLIError(f'no config named {name!r}' + (f'; did you mean: {", ".join(close)}' if close
                                                  else '; `genforge configs` lists them'))


def copy_config(name: str, folder: str) -> Path:
    """Write the config ``name`` with its ``_base_`` chain merged to ``folder/<name>.py``."""
    from genforge.cli import CLIError
    from genforge.config import Config
    src = find_config(name)
    out = Path(folder) / src.name
    if out.exists():
        raise CLIError(f'{out} exists; delete it or copy into another folder')
    out.parent.mkdir(parents=True, exist_ok=True)
    Config.fromfile(src).dump(out)
    return out


def run(args) -> int:
    from genforge.cli import CLIError
    words = list(args.words)
    if words and words[0] == 'copy':
        if len(words) != 3:
            raise CLIError('usage: genforge configs copy NAME DIR')
        out = copy_config(words[1], words[2])
        print(f'wrote {out}; train it with: genforge train {out} --data-root YOUR_IMAGES')
        return 0
    if len(words) > 1:
        raise CLIError('give one PATTERN, or: genforge configs copy NAME DIR')
    found = list_configs(words[0] if words else None)
    if not found:
        raise CLIError(f'no config matches {words[0]!r}; `genforge configs` lists them all')
    for path in found:
        print(path)
    return 0
