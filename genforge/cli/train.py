"""``genforge train``: train a model from a config (MMagic's tools/train.py flags)."""
from __future__ import annotations

import argparse
import logging

from ._common import add_cfg_options, add_data_root, default_work_dir, load_config, model_summary

EXAMPLES = """Examples:
  genforge train configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py
  genforge train my_cfg.py --work-dir work_dirs/run1 --cfg-options train_cfg.max_iters=1000
  genforge train my_cfg.py --resume                 # continue from work_dir/last_checkpoint
  genforge train my_cfg.py --resume work_dirs/run1/iter_5000.pth
  torchrun --nproc-per-node 2 -m genforge train my_cfg.py --launcher pytorch
"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser('train', help='train a model from a config', description=__doc__,
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file (.py, .json, .yaml)')
    p.add_argument('--work-dir', help='where logs and checkpoints go '
                                      '(default: work_dirs/<config name>)')
    p.add_argument('--resume', nargs='?', const='auto', default=None, metavar='auto|PATH',
                   help='resume training: no value or "auto" = from work_dir/last_checkpoint')
    p.add_argument('--load-from', help='initialise weights from a checkpoint (no optimizer state)')
    p.add_argument('--overwrite', action='store_true',
                   help='start from iteration 0 even though work_dir holds checkpoints of an '
                        'earlier run (they are replaced)')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision: optim_wrapper -> AmpOptimWrapper (CUDA: fp16 + '
                        'GradScaler; CPU: bf16 where native (AVX512-BF16/AMX), else fp32)')
    p.add_argument('--auto-scale-lr', action='store_true',
                   help='scale the learning rates by (GPUs x batch size) / '
                        'auto_scale_lr.base_batch_size of the config (MMagic\'s flag)')
    p.add_argument('--seed', type=int, default=None, help='random seed (randomness.seed)')
    p.add_argument('--deterministic', action='store_true', help='deterministic algorithms')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none',
                   help='"pytorch" under torchrun for distributed training')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0, help=argparse.SUPPRESS)
    strict = p.add_mutually_exclusive_group()
    strict.add_argument('--strict', dest='load_strict', action='store_true', default=None,
                        help='the checkpoint must hold every weight of the model, no other')
    strict.add_argument('--no-strict', dest='load_strict', action='store_false',
                        help='load the matching weights, however few (default: refuse a '
                             'checkpoint that holds under half of the model)')
    add_data_root(p)
    add_cfg_options(p)
    p.set_defaults(func=run)


def enable_amp(cfg) -> None:
    """Switch every optimizer wrapper in ``cfg.optim_wrapper`` to AmpOptimWrapper."""
    ow = cfg.optim_wrapper
    if 'optimizer' in ow:  # a single wrapper
        if ow.get('type', 'OptimWrapper') != 'AmpOptimWrapper':
            ow['type'] = 'AmpOptimWrapper'
            ow.setdefault('loss_scale', 'dynamic')
        return
    for sub in ow.values():  # one wrapper per submodule (GenOptimWrapperConstructor)
        if isinstance(sub, dict) and 'optimizer' in sub:
            sub['type'] = 'AmpOptimWrapper'
            sub.setdefault('loss_scale', 'dynamic')


def apply_args(cfg, args) -> None:
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    if args.amp:
        if 'optim_wrapper' not in cfg:
            from genforge.cli import CLIError
            raise CLIError('--amp needs an optim_wrapper in the config')
        enable_amp(cfg)
    if args.auto_scale_lr:
        scale = dict(cfg.get('auto_scale_lr') or {})
        if not scale.get('base_batch_size'):
            from genforge.cli import CLIError
            raise CLIError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config '
                           '(the batch size its learning rates were tuned for), e.g. '
                           '--cfg-options auto_scale_lr.base_batch_size=64')
        cfg.auto_scale_lr = dict(scale, enable=True)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.load_from:
        cfg.load_from = args.load_from
    if args.load_strict is not None:
        cfg.load_strict = args.load_strict
    if args.overwrite:
        cfg.overwrite_checkpoints = True
    if args.seed is not None or args.deterministic:
        randomness = dict(cfg.get('randomness') or {})
        if args.seed is not None:
            randomness['seed'] = args.seed
        if args.deterministic:
            randomness['deterministic'] = True
        cfg.randomness = randomness
    cfg.launcher = args.launcher


def run(args) -> int:
    from genforge.runner import Runner
    cfg = load_config(args.config, args.cfg_options, args.data_root)
    apply_args(cfg, args)
    runner = Runner.from_cfg(cfg)
    if getattr(runner, 'rank', 0) == 0:
        logging.getLogger('genforge').info('model: %s', model_summary(runner.model))
    runner.train()
    return 0
