"""``genforge test``: evaluate a checkpoint with the config's test loop and print the metrics."""
from __future__ import annotations

import argparse

from ._common import (
    add_cfg_options,
    add_data_root,
    check_file,
    default_work_dir,
    drop_training_only_files,
    load_config,
    print_metrics_table,
)

EXAMPLES = """Examples:
  genforge test configs/srcnn/srcnn_x4k915_1xb16-1000k_div2k.py work_dirs/srcnn/iter_1000.pth
  genforge test my_gan.py ckpt.pth --cfg-options test_evaluator.metrics.0.fake_nums=1000
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('test', help='evaluate a checkpoint and print a metrics table',
                              description=__doc__, epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--work-dir', help='where the test logs go')
    p.add_argument('--out', default=None, metavar='FILE',
                   help='also save the metrics to FILE (.json, or .pkl for a pickle)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    strict = p.add_mutually_exclusive_group()
    strict.add_argument('--strict', dest='load_strict', action='store_true', default=None,
                        help='the checkpoint must hold every weight of the model, no other')
    strict.add_argument('--no-strict', dest='load_strict', action='store_false',
                        help='load the matching weights, however few (default: refuse a '
                             'checkpoint that holds under half of the model)')
    add_data_root(p)
    add_cfg_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from genforge.runner import Runner
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    check_file(args.checkpoint, 'checkpoint')
    if args.out:
        from ._common import refuse_overwrite
        refuse_overwrite([args.out], [args.config, args.checkpoint], png=False)
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    drop_training_only_files(cfg)  # SRGAN/ESRGAN: no VGG file needed to evaluate
    cfg.resume = False
    cfg.launcher = args.launcher
    if args.load_strict is not None:
        cfg.load_strict = args.load_strict
    runner = Runner.from_cfg(cfg)
    metrics = runner.test() or {}
    if getattr(runner, 'rank', 0) == 0:
        print_metrics_table(metrics, title=f'test: {args.checkpoint}')
        if args.out:
            save_metrics(metrics, args.out)
    return 0


def save_metrics(metrics: dict, out: str) -> None:
    """``{name: number}`` as JSON (or a pickle for ``.pkl``), written atomically."""
    import json
    import pickle
    from pathlib import Path

    from genforge.fileio import atomic_open
    plain = {k: (v.item() if hasattr(v, 'item') and getattr(v, 'ndim', 0) == 0 else v)
             for k, v in metrics.items()}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if Path(out).suffix in ('.pkl', '.pickle'):
        with atomic_open(out, 'wb') as f:
            pickle.dump(plain, f)
    else:
        with atomic_open(out, 'w') as f:
            json.dump(plain, f, indent=2, default=str)
    print(f'wrote {out}')
