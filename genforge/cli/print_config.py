"""``genforge print-config``: show the fully merged config."""
from __future__ import annotations

from ._common import add_cfg_options, load_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        'print-config', help='print the fully merged config (after _base_ and --cfg-options)',
        description='Print the fully merged config.\n\nExample:\n'
                    '  genforge print-config configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py'
                    ' --cfg-options train_cfg.max_iters=10',
        formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (.py, .json, .yaml)')
    add_cfg_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = load_config(args.config, args.cfg_options)
    print(cfg.pretty_text)
    return 0
