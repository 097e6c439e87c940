"""Helpers shared by the sub-commands: config loading with --cfg-options, summaries, tables."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any


def add_cfg_options(parser) -> None:
    from genforge.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        metavar='KEY=VALUE',
                        help="override config keys, e.g. train_cfg.max_iters=100 "
                             "'model.generator.base_channels=64' 'x=[1,2]'")


def add_data_root(parser) -> None:
    parser.add_argument('--data-root', metavar='DIR', default=None,
                        help='read the images of every dataloader (train, val, test) from DIR '
                             "instead of the config's data_root")


def load_config(path: str, cfg_options: dict | None = None, data_root: str | None = None):
    """Config.fromfile with a one-line error for a missing file; applies --cfg-options.

    ``data_root`` (``--data-root``, or ``data_root=X`` among the options) is copied into every
    dataset of the train/val/test dataloaders, where MMagic's datasets read it.
    """
    from genforge.cli import CLIError
    from genforge.config import Config
    if not os.path.isfile(path):
        raise CLIError(f'config file not found: {path}')
    cfg = Config.fromfile(path, import_custom_modules=False)
    file_values = {k: copy.deepcopy(v) for k, v in cfg.items()}
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    # options are applied before custom_imports run, so --cfg-options can change them too
    cfg.import_custom_modules()
    warn_unread_options(cfg, cfg_options or {}, file_values)
    if cfg_options and 'data_root' in cfg_options and data_root is None:
        override_data_root(cfg, cfg_options['data_root'], flag='--cfg-options data_root=')
    if data_root is not None:
        override_data_root(cfg, data_root)
    return cfg


# Top-level keys that the Runner, the CLI commands or the model-speed options read after the
# file has loaded; any other top-level variable was only used while the file loaded.
READ_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler', 'val_evaluator',
    'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from', 'resume',
    'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'model_wrapper_cfg', 'nan_policy', 'custom_imports',
    'load_strict', 'overwrite_checkpoints', 'vis_backends', 'sync_bn', 'channels_last', 'compile',
    'preflight', 'data_root'))  # data_root: applied to every dataset by load_config


def _paths_holding(node: Any, value: Any, prefix: str = '') -> list[str]:
    """Dotted keys under ``node`` whose value equals ``value`` (strings: or contain it)."""
    found = []
    items = node.items() if isinstance(node, dict) else \
        enumerate(node) if isinstance(node, (list, tuple)) else ()
    for key, child in items:
        path = f'{prefix}.{key}' if prefix else str(key)
        if isinstance(child, (dict, list, tuple)):
            found += _paths_holding(child, value, path)
        elif type(child) is type(value) and (child == value or (
                isinstance(value, str) and len(value) > 2 and value in child)):
            found.append(path)
    return found


def warn_unread_options(cfg, cfg_options: dict, file_values: dict) -> list[str]:
    """Warn about ``--cfg-options`` that set a config-file variable nothing reads any more.

    ``img_size = 64`` at the top of a config is used while the file loads
    (``generator=dict(out_size=img_size)``); ``--cfg-options img_size=128`` changes the variable
    afterwards and so changes no model, dataset or loop. Returns the warned keys.
    """
    import logging
    warned = []
    for key in cfg_options:
        top = key.split('.')[0]
        if top in READ_KEYS or top not in file_values or top in warned:
            continue  # a new key may be read by the user's own code: say nothing
        old = file_values[top]
        where = []
        if isinstance(old, (int, float, str)) and not isinstance(old, bool) and old != '':
            others = {k: v for k, v in cfg.items() if k in READ_KEYS}
            where = _paths_holding(others, old)
        hint = (f'; set the keys that use it instead (keys holding its old value {old!r}: '
                f'{", ".join(where[:4])})' if where else
                '; set the keys of the objects that use it (genforge print-config shows them)')
        logging.getLogger('genforge').warning(
            '--cfg-options %s: %r is a variable of %s that only the file itself reads while it '
            'loads; changing it afterwards changes nothing that genforge builds%s',
            key, top, os.path.basename(getattr(cfg, 'filename', None) or 'the config'), hint)
        warned.append(top)
    return warned


def check_file(path: str, what: str) -> str:
    from genforge.cli import CLIError
    if not os.path.isfile(path):
        raise CLIError(f'{what} not found: {path}')
    return path


def default_work_dir(cfg, config_path: str, override: str | None) -> str:
    if override:
        return override
    if cfg.get('work_dir'):
        return cfg.work_dir
    return str(Path('work_dirs') / Path(config_path).stem)


def count_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def human(n: float) -> str:
    for unit in ('', 'K', 'M', 'B'):
        if abs(n) < 1000:
            return f'{n:.1f}{unit}' if unit else str(int(n))
        n /= 1000.
    return f'{n:.1f}T'


def model_summary(model) -> str:
    """'DCGAN (generator 3.6M, discriminator 2.8M params)' — one line, not a module dump."""
    model = getattr(model, 'module', model)
    parts = []
    for name, child in model.named_children():
        n = count_params(child)
        if n:
            parts.append(f'{name} {human(n)}')
    inner = ', '.join(parts) if parts else f'{human(count_params(model))}'
    return f'{type(model).__name__} ({inner} params)'


def print_metrics_table(metrics: dict[str, Any], title: str = 'metrics') -> None:
    from rich.console import Console
    from rich.table import Table
    table = Table(title=title)
    table.add_column('metric')
    table.add_column('value', justify='right')
    for key, value in metrics.items():
        if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
            value = value.item()
        table.add_row(str(key), f'{value:.4f}' if isinstance(value, float) else str(value))
    Console().print(table)


_PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwrite(outputs, protected=(), flag: str = '--out', png: bool = True) -> None:
    """CLIError when writing ``outputs`` would replace a file the user still needs.

    Refused: an output that is one of ``protected`` (inputs, checkpoint, config, logs; symlinks
    and hard links included), two outputs with the same path, an existing folder, and, when
    ``png``, an existing file that is not a PNG image (a log, a checkpoint, a photo ...).
    """
    from genforge.cli import CLIError
    protected = [Path(p) for p in protected]
    seen: dict[str, Path] = {}
    for out in map(Path, outputs):
        for src in protected:
            if _same_file(out, src) or os.path.abspath(out) == os.path.abspath(src):
                raise CLIError(f'{flag} {out}: writing there would overwrite the input {src}; '
                               f'choose another {flag}')
        key = os.path.realpath(out)
        if key in seen:
            raise CLIError(f'{flag}: two results would be written to {out} (inputs with the same '
                           f'name but different suffixes?); restore them into separate folders')
        seen[key] = out
        if out.is_dir():
            raise CLIError(f'{flag} {out} is a folder; give a file name such as {out}/out.png')
        if png and out.is_file():
            with open(out, 'rb') as f:
                if f.read(8) != _PNG_MAGIC:
                    raise CLIError(f'{flag} {out} exists and is not a PNG image; it would be '
                                   f'replaced. Choose another {flag} or delete it first')


def check_device(device: str) -> None:
    """CLIError for a device this machine does not have (not torch's assertion)."""
    import torch

    from genforge.cli import CLIError
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise CLIError(f"--device {device!r} is not a device; use 'cpu', 'cuda' or 'cuda:N'"
                       ) from None
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise CLIError(f'--device {device}: no CUDA GPU is available here; use --device cpu')
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise CLIError(f'--device {device}: this machine has {torch.cuda.device_count()} '
                           f'GPU(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})')


_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _leaf_datasets(ds) -> list:
    """The dataset dicts that read files: wrappers (``dataset=``/``datasets=[...]``) unwrapped."""
    if isinstance(ds, (list, tuple)):
        return [leaf for d in ds for leaf in _leaf_datasets(d)]
    if not isinstance(ds, dict):
        return []
    if isinstance(ds.get('datasets'), (list, tuple)):  # ConcatDataset-style wrapper
        return _leaf_datasets(ds['datasets'])
    if isinstance(ds.get('dataset'), dict):  # RepeatDataset-style wrapper
        return _leaf_datasets(ds['dataset'])
    return [ds]


def _takes_data_root(ds: dict) -> bool:
    if 'data_root' in ds:
        return True
    import inspect

    import genforge.datasets  # noqa: F401  registers the dataset types
    from genforge.registry import DATASETS
    cls = DATASETS.get(ds.get('type')) if isinstance(ds.get('type'), str) else ds.get('type')
    try:
        return cls is not None and 'data_root' in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def apply_data_root(cfg, root: str) -> list[str]:
    """Point every dataset of train/val/test dataloaders at ``root``; returns the keys set.

    MMagic configs copy the top-level ``data_root`` into each dataset when the file loads, so
    changing only the top-level key afterwards reads nothing; this sets each dataset's own key.
    """
    changed = []
    cfg['data_root'] = root
    for name in _LOADERS:
        loaders = cfg.get(name)
        loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
        for i, loader in enumerate(loaders):
            if not isinstance(loader, dict):
                continue
            for ds in _leaf_datasets(loader.get('dataset')):
                if _takes_data_root(ds):
                    ds['data_root'] = root
                    changed.append(f'{name}{f"[{i}]" if len(loaders) > 1 else ""}.dataset')
    return changed


def override_data_root(cfg, root: str, flag: str = '--data-root ') -> None:
    """``apply_data_root`` that warns when no dataset of the config reads a ``data_root``."""
    import logging
    if not apply_data_root(cfg, root):
        logging.getLogger('genforge').warning(
            '%s%s changed nothing: no train/val/test dataset of this config takes a data_root '
            '(set the dataset keys instead, e.g. --cfg-options '
            'train_dataloader.dataset.data_prefix=...)', flag, root)


def model_class(cfg):
    """The registered class of ``cfg.model.type`` (None when unknown), without building it."""
    import genforge.models  # noqa: F401  registers every model
    from genforge.registry import MODELS
    model = cfg.get('model') or {}
    kind = model.get('type') if isinstance(model, dict) else None
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    return cls if isinstance(cls, type) else None


def is_edit_model(cfg) -> bool:
    """True for restoration models (BaseEditModel, SRGAN, ESRGAN ...): `restore`, not `sample`."""
    from genforge.models.algorithms.base_edit_model import BaseEditModel
    cls = model_class(cfg)
    return cls is not None and issubclass(cls, BaseEditModel)


def drop_training_only_files(cfg) -> None:
    """Evaluation of a restoration checkpoint: the VGG of the perceptual loss and a pretrained
    generator init are training-only, so their weight files are not needed (`restore` alike)."""
    if is_edit_model(cfg):
        from genforge.apis import inference_model_cfg
        from genforge.config.config_dict import to_plain
        cfg.model = inference_model_cfg(to_plain(cfg.model))
