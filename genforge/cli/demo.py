"""``genforge demo``: train a small GAN on bundled data (placeholder until the demo lands)."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('demo', help='train a small DCGAN on bundled digits in minutes (CPU)',
                              description='Train a small DCGAN on scikit-learn digits.')
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--iters', type=int, default=None)
    p.add_argument('--debug', action='store_true', help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args) -> int:
    print('genforge demo: will train a small DCGAN on scikit-learn digits under', args.work_dir)
    return 0
