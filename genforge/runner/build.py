"""Builders the Runner uses: dataloaders, hooks (default set + custom), evaluators, loggers."""
from __future__ import annotations

import copy
import difflib
import functools
import inspect
import logging
import os
import sys
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from genforge.dist import get_rank, is_distributed, is_main_process
from genforge.registry import (
    DATA_SAMPLERS,
    DATASETS,
    EVALUATOR,
    FUNCTIONS,
    HOOKS,
    LOG_PROCESSORS,
    MODEL_WRAPPERS,
    MODELS,
    VISUALIZERS,
)

from .speed import apply_model_options, convert_sync_batchnorm

logger = logging.getLogger(__name__)

# MMEngine's default hook set (+ a progress bar that is silent off a terminal).
DEFAULT_HOOKS = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    logger=dict(type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    progress=dict(type='ProgressBarHook'),
)

_DATALOADER_ARGS = set(inspect.signature(DataLoader.__init__).parameters) - {'self'}


def build_dataloader(dataloader: DataLoader | dict, seed: int | None = None,
                     diff_rank_seed: bool = False, key_path: str = 'dataloader') -> DataLoader:
    """A DataLoader from MMEngine's dict (``dataset``, ``sampler``, ``batch_size`` per GPU, ...)."""
    if not isinstance(dataloader, dict):
        return dataloader
    cfg = copy.copy(dict(dataloader))
    if 'dataset' not in cfg:
        raise KeyError(f'{key_path} has no "dataset" key; give dataset=dict(type=...) or a '
                       f'dataset object')
    dataset = cfg.pop('dataset')
    if isinstance(dataset, dict):
        dataset = DATASETS.build(dataset, key_path=f'{key_path}.dataset')
    if hasattr(dataset, 'full_init'):
        dataset.full_init()
    sampler_cfg = cfg.pop('sampler', None)
    if sampler_cfg is None:
        logger.warning('%s has no sampler; using DefaultSampler(shuffle=False)', key_path)
        sampler_cfg = dict(type='DefaultSampler', shuffle=False)
    sampler_seed = None if diff_rank_seed else seed
    if isinstance(sampler_cfg, dict):
        sampler = DATA_SAMPLERS.build(sampler_cfg, default_args=dict(dataset=dataset,
                                                                     seed=sampler_seed),
                                      key_path=f'{key_path}.sampler')
    else:
        sampler = sampler_cfg
    batch_size = cfg.pop('batch_size', 1)
    batch_sampler = cfg.pop('batch_sampler', None)
    if isinstance(batch_sampler, dict):
        batch_sampler = DATA_SAMPLERS.build(
            batch_sampler, default_args=dict(sampler=sampler, batch_size=batch_size),
            key_path=f'{key_path}.batch_sampler')
    collate_fn = _build_collate(cfg.pop('collate_fn', dict(type='pseudo_collate')), key_path)
    num_workers = _fit_num_workers(int(cfg.get('num_workers', 0)), key_path)
    cfg['num_workers'] = num_workers
    if num_workers == 0:
        # DataLoader refuses persistent_workers/prefetch_factor without workers.
        cfg.pop('persistent_workers', None)
        cfg.pop('prefetch_factor', None)
    init_fn = None
    if seed is not None:
        from genforge.datasets.collate import worker_init_fn
        init_fn = functools.partial(worker_init_fn, num_workers=num_workers, rank=get_rank(),
                                    seed=seed)
    cfg.pop('worker_init_fn', None)
    for key in cfg:
        if key not in _DATALOADER_ARGS:
            close = difflib.get_close_matches(key, sorted(_DATALOADER_ARGS), n=1)
            hint = f' Did you mean {close[0]!r}?' if close else ''
            raise TypeError(f'{key_path}: unknown key {key!r} for DataLoader.{hint}')
    if batch_sampler is not None:
        return DataLoader(dataset, batch_sampler=batch_sampler, collate_fn=collate_fn,
                          worker_init_fn=init_fn, **cfg)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn,
                      worker_init_fn=init_fn, **cfg)


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _fit_num_workers(num_workers: int, key_path: str) -> int:
    """At most one worker per usable core (per local rank): MMagic configs ask for 4-8 workers,
    which on a 2-core machine compete with the training step and start slower than they help."""
    local_ranks = int(os.environ.get('LOCAL_WORLD_SIZE', '1') or 1)
    cap = max(1, usable_cpus() // max(local_ranks, 1))
    if num_workers > cap:
        logger.info('%s.num_workers=%d > %d usable CPU cores%s: using %d workers', key_path,
                    num_workers, usable_cpus(),
                    f' / {local_ranks} local ranks' if local_ranks > 1 else '', cap)
        return cap
    return num_workers


def _build_collate(collate_cfg: Any, key_path: str):
    if callable(collate_cfg):
        return collate_cfg
    cfg = dict(collate_cfg)
    name = cfg.pop('type')
    fn = FUNCTIONS.get(name) if isinstance(name, str) else name
    if fn is None:
        raise KeyError(FUNCTIONS.not_found_message(name, f'{key_path}.collate_fn'))
    return functools.partial(fn, **cfg) if cfg else fn


def build_evaluator(evaluator: Any, key_path: str = 'evaluator'):
    """Evaluator from an instance, ``dict(type=..., metrics=...)``, one metric dict or a list.

    ``key_path`` ('val_evaluator', 'test_evaluator') names the config key in error messages.
    """
    from genforge.evaluation.evaluator import Evaluator
    if evaluator is None or isinstance(evaluator, Evaluator) or hasattr(evaluator, 'evaluate'):
        return evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        cfg = dict(evaluator)
        cfg.setdefault('type', 'Evaluator')
        cls = EVALUATOR.get(cfg['type']) if isinstance(cfg['type'], str) else cfg['type']
        if isinstance(cls, type) and issubclass(cls, Evaluator):
            cfg.setdefault('key_path', key_path)
        return EVALUATOR.build(cfg, key_path=key_path)
    return Evaluator(evaluator, key_path=key_path)


def merge_default_hooks(default_hooks: dict | None) -> dict:
    """MMEngine's default set updated with the user's dict; a None value removes a hook."""
    hooks = copy.deepcopy(DEFAULT_HOOKS)
    for name, cfg in (default_hooks or {}).items():
        if cfg is None:
            hooks.pop(name, None)
        elif isinstance(cfg, dict) and name in hooks and 'type' not in cfg:
            hooks[name] = {**hooks[name], **cfg}
        else:
            hooks[name] = cfg
    return hooks


def build_hook(cfg: Any, key_path: str):
    """A hook from a config dict (the error names ``key_path``) or a Hook instance."""
    if not isinstance(cfg, dict):
        return cfg, None
    cfg = dict(cfg)
    priority = cfg.pop('priority', None)
    return HOOKS.build(cfg, key_path=key_path), priority


class _Formatter(logging.Formatter):
    def __init__(self):
        super().__init__('%(asctime)s - %(name)s - %(levelname)s - %(message)s',
                         datefmt='%Y/%m/%d %H:%M:%S')


class _LogFile(logging.FileHandler):
    """The run's .log file. A failing write (full disk, file-size limit) prints one line and
    stops writing to it, instead of logging's traceback on every later message."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            return super().handleError(record)
        if not getattr(self, '_failed', False):
            self._failed = True
            print(f'genforge: warning: could not write the log file {self.baseFilename}: '
                  f'{exc.strerror or exc}; the run goes on without it', file=sys.stderr)
        self.setLevel(logging.CRITICAL + 1)


def attach_log_handlers(log_file: str | None, log_level: str | int) -> list[logging.Handler]:
    """File handler on the 'genforge' logger (rank 0) and a console one if nobody logs yet."""
    root = logging.getLogger('genforge')
    root.setLevel(log_level if isinstance(log_level, int) else log_level.upper())
    handlers: list[logging.Handler] = []
    if log_file is not None:
        os.makedirs(os.path.dirname(log_file), exist_ok=True)
        fh = _LogFile(log_file, mode='a')
        fh.setFormatter(_Formatter())
        handlers.append(fh)
    if not root.handlers and not logging.getLogger().handlers and get_rank() == 0:
        sh = logging.StreamHandler(sys.stdout)
        sh.setFormatter(_Formatter())
        sh._genforge_console = True  # type: ignore[attr-defined]
        handlers.append(sh)
    for h in handlers:
        root.addHandler(h)
    while _DEFERRED_NOTES:  # choices made while the Runner was built, before the log was open
        logger.info(*_DEFERRED_NOTES.pop(0))
    return handlers


# Log lines of the Runner's construction (its log file opens in train()/val()/test()).
_DEFERRED_NOTES: list[tuple] = []


def log_when_open(msg: str, *args: Any) -> None:
    """``logger.info(msg, *args)`` now if genforge logs anywhere, else once the log opens."""
    if logging.getLogger('genforge').handlers:
        logger.info(msg, *args)
    else:
        _DEFERRED_NOTES.append((msg, *args))


def detach_log_handlers(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger('genforge')
    for h in handlers:
        if getattr(h, '_genforge_console', False):
            continue  # keep the console handler for the session
        root.removeHandler(h)
        try:
            h.flush()
            h.close()
        except OSError:   # a full disk: the error that stopped the run matters, not this one
            pass


__all__ = ['DEFAULT_HOOKS', 'build_dataloader', 'build_evaluator', 'merge_default_hooks',
           'wrap_model', 'scale_lr',
           'build_hook', 'attach_log_handlers', 'detach_log_handlers']


# constructors that return one OptimWrapper per submodule (an OptimWrapperDict)
_PER_SUBMODULE_CONSTRUCTORS = ('MultiOptimWrapperConstructor', 'GenOptimWrapperConstructor')


def choose_model_wrapper_cfg(model_wrapper_cfg: dict | None, optim_wrapper: Any) -> dict:
    """The DDP wrapper config for distributed training.

    An explicit ``model_wrapper_cfg`` is used as given. Otherwise a model optimised by one
    wrapper per submodule (an ``OptimWrapperDict``, e.g. a GAN's generator + discriminator)
    gets ``MMSeparateDistributedDataParallel``: one DDP over the whole model cannot run the
    separate backward passes (``OptimWrapperDict.optim_context`` has no single module to sync).
    Everything else gets ``MMDistributedDataParallel``.
    """
    if model_wrapper_cfg:
        cfg = dict(model_wrapper_cfg)
        cfg.setdefault('type', 'MMDistributedDataParallel')
        return cfg
    if _is_per_submodule(optim_wrapper):
        log_when_open('model_wrapper_cfg is not set and the optimizer is one wrapper per '
                      'submodule (OptimWrapperDict): using MMSeparateDistributedDataParallel('
                      'broadcast_buffers=False, find_unused_parameters=False); set '
                      'model_wrapper_cfg to change it')
        return dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                    find_unused_parameters=False)
    return dict(type='MMDistributedDataParallel')


def _is_per_submodule(optim_wrapper: Any) -> bool:
    from genforge.optim import OptimWrapperDict
    if isinstance(optim_wrapper, OptimWrapperDict):
        return True
    if not isinstance(optim_wrapper, dict):
        return False
    constructor = str(optim_wrapper.get('constructor', '')).split('.')[-1]
    if constructor in _PER_SUBMODULE_CONSTRUCTORS:
        return True
    # no constructor named: a dict of per-submodule dicts, each with its own optimizer
    subs = [v for k, v in optim_wrapper.items() if k not in ('type', 'constructor')]
    return 'optimizer' not in optim_wrapper and bool(subs) and \
        all(isinstance(v, dict) and 'optimizer' in v for v in subs)


def wrap_model(model: nn.Module, cfg: Any, model_wrapper_cfg: dict | None,
               optim_wrapper: Any = None) -> nn.Module:
    """Move the model to the device, apply the config's speed options (channels_last, compile,
    sync_bn) and, under torch.distributed, wrap it (``model_wrapper_cfg`` or the default that
    fits ``optim_wrapper``)."""
    device = torch.device('cuda', torch.cuda.current_device()) if torch.cuda.is_available() \
        else torch.device('cpu')
    model = apply_model_options(model.to(device), cfg)
    if not is_distributed():
        return model
    wrapper_cfg = choose_model_wrapper_cfg(model_wrapper_cfg, optim_wrapper)
    sync_bn = wrapper_cfg.pop('sync_bn', None)
    if sync_bn and not (cfg is not None and cfg.get('sync_bn')):
        model = convert_sync_batchnorm(model, 'torch' if sync_bn is True else sync_bn)
    default_args = dict(module=model)
    if wrapper_cfg['type'] == 'MMDistributedDataParallel' and device.type == 'cuda':
        default_args['device_ids'] = [device.index]
    return MODEL_WRAPPERS.build(wrapper_cfg, default_args=default_args,
                                key_path='model_wrapper_cfg')


def scale_lr(optim_wrapper: Any, auto_scale_lr: dict | None, batch: int) -> None:
    """``auto_scale_lr=dict(enable=True, base_batch_size=B)``: lr *= total batch / B."""
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return
    ratio = batch / auto_scale_lr['base_batch_size']
    wrappers = optim_wrapper.values() if hasattr(optim_wrapper, 'values') else [optim_wrapper]
    for wrapper in wrappers:
        for group in wrapper.param_groups:
            group['lr'] *= ratio
    logger.info('auto_scale_lr: lr scaled by %.4f (batch %d / base %d)', ratio, batch,
                auto_scale_lr['base_batch_size'])


def build_model(model: nn.Module | dict, data_preprocessor: dict | None) -> nn.Module:
    """The model from its config (``data_preprocessor`` given beside it goes inside)."""
    if isinstance(model, dict):
        model = dict(model)
        if data_preprocessor is not None:
            model.setdefault('data_preprocessor', data_preprocessor)
        model = MODELS.build(model, key_path='model')
    if not isinstance(model, nn.Module):
        raise TypeError(f'model must be an nn.Module or a dict config, got {type(model).__name__}')
    return model


def build_visualizer(visualizer: Any, name: str, save_dir: str) -> Any:
    """The run's Visualizer (LocalVisBackend by default); rank 0 alone gets backends."""
    if visualizer is not None and not isinstance(visualizer, dict):
        return visualizer
    cfg = dict(visualizer or dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')]))
    cfg.setdefault('type', 'Visualizer')
    # Visualizers are named singletons: one name per runner so runs never share one.
    cfg.setdefault('name', name)
    cfg.setdefault('save_dir', save_dir)
    if not is_main_process():
        cfg['vis_backends'] = []  # only rank 0 writes
    if VISUALIZERS.get(cfg['type']) is None:
        logger.warning('visualizer type %r is not available; scalars go to '
                       'vis_data/scalars.json only', cfg['type'])
        return None
    return VISUALIZERS.build(cfg, key_path='visualizer')


def build_log_processor(log_processor: Any) -> Any:
    if log_processor is not None and not isinstance(log_processor, dict):
        return log_processor
    cfg = dict(log_processor or {})
    cfg.setdefault('type', 'LogProcessor')
    return LOG_PROCESSORS.build(cfg, key_path='log_processor')
