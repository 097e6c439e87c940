"""Runner: builds the pieces from a config and hands control to a loop (MMEngine's interface).

``runner.train()`` = build loops/optimizer/schedulers -> ``before_run`` hooks -> init weights ->
load or resume -> ``train_loop.run()`` -> ``after_run`` hooks. Everything else is a hook.
"""
from __future__ import annotations

import bisect
import copy
import logging
import os
import time
from typing import Any

import torch
from torch import nn

import genforge
from genforge.dist import (
    broadcast_object,
    get_rank,
    get_world_size,
    init_dist,
    is_distributed,
    is_main_process,
)
from genforge.hooks.hook import Hook, get_priority
from genforge.registry import LOOPS, MODEL_WRAPPERS, MODELS, VISUALIZERS, import_custom_modules

from . import build as _build
from .checkpoint import (
    _extract_state_dict,
    _load_checkpoint,
    check_finite_weights,
    get_state_dict,
    load_state_dict,
    save_checkpoint,
    weights_to_cpu,
)
from .message_hub import MessageHub
from .resume import (
    check_coverage,
    check_fresh_start,
    find_resume_checkpoint,
    resume_mismatch_error,
    training_state_problem,
)
from .speed import apply_model_options, broadcast_model_state, convert_sync_batchnorm
from .utils import (
    atomic_write_text,
    config_text,
    get_rng_state,
    probe_writable,
    set_random_seed,
    set_rng_state,
)

logger = logging.getLogger('genforge.runner')


class Runner:
    """Coordinates model, data, optimisation, loops and hooks.

    Example (seed 002):
        >>> runner = Runner(model, work_dir='runs/gan/', train_dataloader=train_dataloader,
        ...                 train_cfg=dict(by_epoch=True, max_epochs=220),
        ...                 optim_wrapper=opt_wrapper_dict)
        >>> runner.train()
    Or from a config: ``Runner.from_cfg(Config.fromfile('configs/dcgan/x.py')).train()``.
    """

    def __init__(self, model: nn.Module | dict, work_dir: str | None = None,
                 train_dataloader=None, val_dataloader=None, test_dataloader=None,
                 train_cfg: dict | None = None, val_cfg: dict | None = None,
                 test_cfg: dict | None = None, auto_scale_lr: dict | None = None,
                 optim_wrapper=None, param_scheduler=None, val_evaluator=None,
                 test_evaluator=None, default_hooks: dict | None = None,
                 custom_hooks: list | None = None, data_preprocessor: dict | None = None,
                 load_from: str | None = None, resume: bool | str = False,
                 launcher: str = 'none', env_cfg: dict | None = None,
                 log_processor: dict | None = None, log_level: str | int = 'INFO',
                 visualizer=None, default_scope: str = 'genforge',
                 randomness: dict | None = None, experiment_name: str | None = None,
                 cfg: Any = None, model_wrapper_cfg: dict | None = None,
                 nan_policy: str | None = None):
        self.cfg = cfg
        self._launcher = launcher
        env_cfg = dict(env_cfg or dict(dist_cfg=dict(backend='nccl')))
        self._setup_env(env_cfg)
        randomness = dict(randomness or dict(seed=None))
        self._deterministic = bool(randomness.get('deterministic', False))
        self._diff_rank_seed = bool(randomness.get('diff_rank_seed', False))
        self._seed = set_random_seed(**randomness)
        cfg_name = _cfg_name(cfg)
        self._work_dir = os.path.abspath(work_dir or os.path.join('work_dirs', cfg_name or 'run'))
        # rank 0's stamp everywhere: one log folder per run, whatever second each rank started
        self._timestamp = broadcast_object(_unique_timestamp(self._work_dir))
        self._log_dir = os.path.join(self._work_dir, self._timestamp)
        self._experiment_name = experiment_name or (
            f'{cfg_name}_{self._timestamp}' if cfg_name else self._timestamp)
        if is_main_process():
            probe_writable(self._work_dir)
            os.makedirs(self._log_dir, exist_ok=True)
        self._log_level = log_level
        self._log_handlers: list = []
        self.message_hub = MessageHub.get_instance(f'{self._experiment_name}-{id(self)}')
        self.visualizer = self._build_visualizer(visualizer)
        self.log_processor = self._build_log_processor(log_processor)
        self.default_scope = default_scope
        self._load_from, self._resume = load_from, resume
        self._has_loaded = False
        self.model = self._wrap_model(self._build_model(model, data_preprocessor),
                                      model_wrapper_cfg)
        self._train_dataloader, self._val_dataloader = train_dataloader, val_dataloader
        self._test_dataloader = test_dataloader
        self._train_cfg = _train_cfg(train_cfg, nan_policy)
        self._val_cfg, self._test_cfg = val_cfg, test_cfg
        self._val_evaluator, self._test_evaluator = val_evaluator, test_evaluator
        self.optim_wrapper, self._auto_scale_lr = optim_wrapper, auto_scale_lr
        self.param_schedulers = param_scheduler
        self._train_loop = self._val_loop = self._test_loop = None
        self._hooks: list[Hook] = []
        self._stage_hooks: dict[str, list[Hook]] = {}
        self.register_hooks(default_hooks, custom_hooks)

    # -- construction from a config ---------------------------------------------------------
    @classmethod
    def from_cfg(cls, cfg: Any) -> Runner:
        """Build from a Config/dict with MMEngine's top-level keys."""
        import_custom_modules(cfg.get('custom_imports'))
        keys = ('model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
                'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
                'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks',
                'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher',
                'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
                'randomness', 'experiment_name', 'model_wrapper_cfg', 'nan_policy')
        kwargs = {k: copy.deepcopy(cfg[k]) for k in keys if cfg.get(k) is not None}
        if 'model' not in kwargs:
            raise KeyError('the config has no "model" key; add model=dict(type=...)')
        return cls(cfg=cfg, **kwargs)

    def _setup_env(self, env_cfg: dict) -> None:
        if env_cfg.get('cudnn_benchmark'):
            torch.backends.cudnn.benchmark = True
        if self._launcher != 'none':
            dist_cfg = dict(env_cfg.get('dist_cfg') or {})
            init_dist(self._launcher, **dist_cfg)
        elif is_distributed():
            self._launcher = 'pytorch'

    def _build_visualizer(self, visualizer):
        if visualizer is not None and not isinstance(visualizer, dict):
            return visualizer
        cfg = dict(visualizer or dict(type='Visualizer',
                                      vis_backends=[dict(type='LocalVisBackend')]))
        cfg.setdefault('type', 'Visualizer')
        # Visualizers are named singletons: one name per runner so runs never share one.
        cfg.setdefault('name', f'{self._experiment_name}-{id(self):x}')
        cfg.setdefault('save_dir', os.path.join(self._log_dir, 'vis_data'))
        if not is_main_process():
            cfg['vis_backends'] = []  # only rank 0 writes
        if VISUALIZERS.get(cfg['type']) is None:
            logger.warning('visualizer type %r is not available; scalars go to '
                           'vis_data/scalars.json only', cfg['type'])
            return None
        return VISUALIZERS.build(cfg, key_path='visualizer')

    def _build_log_processor(self, log_processor):
        if log_processor is not None and not isinstance(log_processor, dict):
            return log_processor
        cfg = dict(log_processor or {})
        cfg.setdefault('type', 'LogProcessor')
        # Unless set, by_epoch follows the train loop (decided in train()).
        self._log_by_epoch_given = 'by_epoch' in cfg
        from genforge.registry import LOG_PROCESSORS
        return LOG_PROCESSORS.build(cfg, key_path='log_processor')

    def _build_model(self, model, data_preprocessor: dict | None) -> nn.Module:
        if isinstance(model, dict):
            model = dict(model)
            if data_preprocessor is not None:
                model.setdefault('data_preprocessor', data_preprocessor)
            model = MODELS.build(model, key_path='model')
        if not isinstance(model, nn.Module):
            raise TypeError(f'model must be an nn.Module or a dict config, got {type(model).__name__}')
        return model

    def _wrap_model(self, model: nn.Module, model_wrapper_cfg: dict | None) -> nn.Module:
        if model_wrapper_cfg is None and self.cfg is not None:
            model_wrapper_cfg = self.cfg.get('model_wrapper_cfg')
        device = torch.device('cuda', torch.cuda.current_device()) if torch.cuda.is_available() \
            else torch.device('cpu')
        model = apply_model_options(model.to(device), self.cfg)
        if not is_distributed():
            return model
        cfg = dict(model_wrapper_cfg or dict(type='MMDistributedDataParallel'))
        cfg.setdefault('type', 'MMDistributedDataParallel')
        sync_bn = cfg.pop('sync_bn', None)
        if sync_bn and not (self.cfg is not None and self.cfg.get('sync_bn')):
            model = convert_sync_batchnorm(model, 'torch' if sync_bn is True else sync_bn)
        default_args = dict(module=model)
        if cfg['type'] == 'MMDistributedDataParallel' and device.type == 'cuda':
            default_args['device_ids'] = [device.index]
        return MODEL_WRAPPERS.build(cfg, default_args=default_args, key_path='model_wrapper_cfg')

    def _dump_config(self) -> None:
        if self.cfg is None or not is_main_process():
            return
        name = os.path.basename(getattr(self.cfg, 'filename', None) or 'config.py')
        atomic_write_text(os.path.join(self._work_dir, name), config_text(self.cfg))

    # -- hooks -----------------------------------------------------------------------------
    def register_hook(self, hook: Hook | dict, priority: int | str | None = None,
                      key_path: str = 'custom_hooks') -> None:
        """Insert ``hook`` after every hook of higher or equal priority."""
        hook, cfg_priority = _build.build_hook(hook, key_path)
        if not isinstance(hook, Hook):
            raise TypeError(f'{key_path}: {type(hook).__name__} is not a genforge.hooks.Hook')
        value = priority if priority is not None else cfg_priority
        if value is not None:
            hook.priority = value
        prio = get_priority(hook.priority)
        keys = [get_priority(h.priority) for h in self._hooks]
        self._hooks.insert(bisect.bisect_right(keys, prio), hook)
        self._stage_hooks = {}
        for h in self._hooks:
            for stage in h.get_triggered_stages():
                self._stage_hooks.setdefault(stage, []).append(h)

    def register_hooks(self, default_hooks: dict | None = None,
                       custom_hooks: list | None = None) -> None:
        for name, cfg in _build.merge_default_hooks(default_hooks).items():
            self.register_hook(cfg, key_path=f'default_hooks.{name}')
        for i, cfg in enumerate(custom_hooks or []):
            self.register_hook(cfg, key_path=f'custom_hooks[{i}]')

    def call_hook(self, fn_name: str, **kwargs) -> None:
        for hook in self._stage_hooks.get(fn_name, ()):
            getattr(hook, fn_name)(self, **kwargs)

    @property
    def hooks(self) -> list[Hook]:
        return self._hooks

    # -- loops and optimisation -------------------------------------------------------------
    def build_train_loop(self, loop):
        if not isinstance(loop, dict):
            return loop
        cfg = dict(loop)
        if 'type' not in cfg:
            by_epoch = cfg.pop('by_epoch', False)
            cfg['type'] = 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'
        else:
            cfg.pop('by_epoch', None)
        return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=self._train_dataloader),
                           key_path='train_cfg')

    def _build_eval_loop(self, loop, dataloader, evaluator, mode: str):
        if not isinstance(loop, dict):
            return loop
        cfg = dict(loop)
        cfg.setdefault('type', 'ValLoop' if mode == 'val' else 'TestLoop')
        return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=dataloader,
                                                  evaluator=evaluator), key_path=f'{mode}_cfg')

    def build_val_loop(self, loop):
        return self._build_eval_loop(loop, self._val_dataloader, self._val_evaluator, 'val')

    def build_test_loop(self, loop):
        return self._build_eval_loop(loop, self._test_dataloader, self._test_evaluator, 'test')

    build_evaluator = staticmethod(_build.build_evaluator)

    @staticmethod
    def build_dataloader(dataloader, seed: int | None = None, diff_rank_seed: bool = False,
                         key_path: str = 'dataloader'):
        """MMEngine's ``Runner.build_dataloader``: a DataLoader from a dict (or returned as is)."""
        return _build.build_dataloader(dataloader, seed, diff_rank_seed, key_path)

    def build_optim_wrapper(self, optim_wrapper):
        if isinstance(optim_wrapper, dict):
            from genforge.optim import build_optim_wrapper
            return build_optim_wrapper(self._plain_model, optim_wrapper)
        if isinstance(optim_wrapper, torch.optim.Optimizer):
            raise TypeError('optim_wrapper must be an OptimWrapper (wrap the optimizer: '
                            'OptimWrapper(optimizer)) or a dict config')
        return optim_wrapper

    def build_param_scheduler(self, scheduler):
        if scheduler is None:
            return []
        from genforge.optim import build_param_schedulers
        loop = self._train_loop
        return build_param_schedulers(scheduler, self.optim_wrapper,
                                      epoch_length=len(loop.dataloader), max_iters=loop.max_iters,
                                      max_epochs=loop.max_epochs)

    def _scale_lr(self) -> None:
        cfg = self._auto_scale_lr
        if not cfg or not cfg.get('enable', False):
            return
        batch = get_world_size() * self.train_dataloader.batch_size
        ratio = batch / cfg['base_batch_size']
        wrappers = self.optim_wrapper.values() if hasattr(self.optim_wrapper, 'values') \
            else [self.optim_wrapper]
        for wrapper in wrappers:
            for group in wrapper.param_groups:
                group['lr'] *= ratio
        logger.info('auto_scale_lr: lr scaled by %.4f (batch %d / base %d)', ratio, batch,
                    cfg['base_batch_size'])

    # -- entry points ----------------------------------------------------------------------
    def train(self) -> nn.Module:
        if self._train_dataloader is None or self._train_cfg is None or self.optim_wrapper is None:
            raise RuntimeError('train() needs train_dataloader, train_cfg and optim_wrapper; '
                               'give all three to the Runner (or the config)')
        lock = _lock_work_dir(self._work_dir)   # before anything is written into work_dir
        try:
            self._attach_logs()
            self._train_loop = self.build_train_loop(self._train_cfg)
            if not getattr(self, '_log_by_epoch_given', True):
                self.log_processor.by_epoch = self._train_loop.by_epoch
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            self._scale_lr()
            self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
            if self._val_dataloader is not None and self._val_loop is None:
                self._val_loop = self.build_val_loop(self._val_cfg or {})
            self.call_hook('before_run')
            self._init_model_weights()
            self.load_or_resume()
            if self._train_loop.iter == 0:   # a fresh start must not overwrite an earlier run
                check_fresh_start(self._work_dir, bool(self.cfg is not None and self.cfg.get(
                    'overwrite_checkpoints')))
            self._dump_config()   # only once the run really starts (not after a failed resume)
            if hasattr(self.optim_wrapper, 'initialize_count_status'):
                self.optim_wrapper.initialize_count_status(
                    self._plain_model, self._train_loop.iter, self._train_loop.max_iters)
            model = self._train_loop.run()
            self.call_hook('after_run')
            return model
        finally:
            self._detach_logs()
            if lock is not None:
                lock.release()

    def val(self) -> dict:
        return self._eval('val')

    def test(self) -> dict:
        return self._eval('test')

    def _eval(self, mode: str) -> dict:
        loader = self._val_dataloader if mode == 'val' else self._test_dataloader
        if loader is None:
            raise RuntimeError(f'{mode}() needs {mode}_dataloader, {mode}_cfg and '
                               f'{mode}_evaluator')
        self._attach_logs()
        try:
            if mode == 'val' and self._val_loop is None:
                self._val_loop = self.build_val_loop(self._val_cfg or {})
            if mode == 'test' and self._test_loop is None:
                self._test_loop = self.build_test_loop(self._test_cfg or {})
            self.call_hook('before_run')
            self.load_or_resume()
            metrics = (self._val_loop if mode == 'val' else self._test_loop).run()
            self.call_hook('after_run')
            return metrics
        finally:
            self._detach_logs()

    def _attach_logs(self) -> None:
        log_file = os.path.join(self._log_dir, f'{self._timestamp}.log') \
            if is_main_process() else None
        self._log_handlers = _build.attach_log_handlers(log_file, self._log_level)

    def _detach_logs(self) -> None:
        _build.detach_log_handlers(self._log_handlers)
        self._log_handlers = []

    def _init_model_weights(self) -> None:
        if hasattr(self._plain_model, 'init_weights') and not self._has_loaded:
            self._plain_model.init_weights()
            # DDP synchronised the weights when it wrapped the model; init_weights ran later and
            # may have drawn different numbers per rank (diff_rank_seed), as in MMEngine.
            broadcast_model_state(self._plain_model)

    # -- checkpoints -----------------------------------------------------------------------
    def load_or_resume(self) -> None:
        """``resume=True``: latest checkpoint of work_dir (or load_from); ``resume=PATH``: that
        file; otherwise ``load_from`` loads weights only."""
        if self._has_loaded:
            return
        resume_from = None
        if isinstance(self._resume, str):
            resume_from = self._resume
        elif self._resume:
            resume_from = self._load_from or find_resume_checkpoint(self._work_dir)
            if resume_from is None:
                logger.warning('resume=True but %s has no last_checkpoint; training from '
                               'scratch', self._work_dir)
        if resume_from is not None and self._train_loop is not None:
            self.resume(resume_from)
            self._has_loaded = True
        elif self._load_from is not None or resume_from is not None:
            # load_strict: None = load what matches but refuse a file that fits under half the
            # model (another model's checkpoint), True = every key, False = whatever matches
            strict = self.cfg.get('load_strict') if self.cfg is not None else None
            self.load_checkpoint(self._load_from or resume_from, strict=bool(strict),
                                 min_coverage=0.0 if strict is False else 0.5)
            self._has_loaded = True

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: list = ((r'^module\.', ''),),
                        min_coverage: float = 0.0) -> dict:
        """Load weights (hooks may adjust the checkpoint first, e.g. EMAHook); refuse a file that
        holds under ``min_coverage`` of the model's tensors."""
        import re
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        state = _extract_state_dict(checkpoint, filename)
        for pattern, repl in revise_keys:
            state = {re.sub(pattern, repl, k): v for k, v in state.items()}
        check_coverage(checkpoint, state, self._plain_model, filename, min_coverage)
        load_state_dict(self._plain_model, state, strict=strict, logger=logger)
        logger.info('loaded checkpoint %s', filename)
        return checkpoint

    def resume(self, filename: str) -> None:
        """Restore model, optimizers, schedulers, hub, loop counters, sampler and RNG."""
        if str(filename).endswith('.safetensors'):
            raise ValueError(f'resume={filename!r}: a .safetensors file holds weights only (no '
                             f'optimizer, counters or RNG state); resume from a .pth checkpoint, '
                             f'or start from these weights with load_from={filename!r}')
        self._resume = True
        try:
            checkpoint = self.load_checkpoint(filename, strict=True)
        except RuntimeError as exc:
            if 'load_state_dict:' not in str(exc):
                raise
            raise resume_mismatch_error(filename, self._plain_model, exc) from None
        problem = training_state_problem(checkpoint)
        if problem is not None:
            raise ValueError(f'resume={filename!r}: {problem}, so there is nothing to continue '
                             f'from; start from these weights with --load-from {filename} '
                             f'(load_from=...) instead')
        meta = checkpoint.get('meta', {})
        self._train_loop._epoch = int(meta.get('epoch', 0))
        self._train_loop._iter = int(meta.get('iter', 0))
        if 'optimizer' in checkpoint and self.optim_wrapper is not None:
            self.optim_wrapper.load_state_dict(checkpoint['optimizer'])
        if 'param_schedulers' in checkpoint and self.param_schedulers:
            _load_schedulers(self.param_schedulers, checkpoint['param_schedulers'])
        if 'message_hub' in checkpoint:
            self.message_hub.load_state_dict(checkpoint['message_hub'])
        if 'sampler' in checkpoint:
            self._train_loop.load_state_dict(checkpoint['sampler'])
        if 'rng_state' in checkpoint:
            set_rng_state(checkpoint['rng_state'])
        logger.info('resumed from %s at epoch %d, iter %d', filename, self.epoch, self.iter)

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: dict | None = None, by_epoch: bool = True,
                        backend_args=None) -> None:
        """Write ``out_dir/filename`` (rank 0) with everything resume needs."""
        if self._train_loop is not None:
            self._train_loop.nan_guard.check(self)  # never save weights poisoned unnoticed
        meta = dict(meta or {})
        if by_epoch:
            meta.setdefault('epoch', self.epoch + 1)
            meta.setdefault('iter', self.iter)
        else:
            meta.setdefault('epoch', self.epoch)
            meta.setdefault('iter', self.iter + 1)
        meta.update(seed=self._seed, experiment_name=self._experiment_name,
                    time=time.strftime('%Y%m%d_%H%M%S'), genforge_version=genforge.__version__,
                    cfg=config_text(self.cfg), metric_protocols=self._metric_protocols())
        checkpoint = dict(meta=meta,
                          state_dict=weights_to_cpu(get_state_dict(self.model)),
                          message_hub=self.message_hub.state_dict(),
                          rng_state=get_rng_state())
        if self._train_loop is not None:
            checkpoint['sampler'] = self._train_loop.state_dict()
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint['optimizer'] = self.optim_wrapper.state_dict()
        if save_param_scheduler and self.param_schedulers:
            checkpoint['param_schedulers'] = _scheduler_states(self.param_schedulers)
        self.call_hook('before_save_checkpoint', checkpoint=checkpoint)
        if is_main_process():
            path = os.path.join(out_dir, filename)
            check_finite_weights(checkpoint['state_dict'], path, self._work_dir)
            save_checkpoint(checkpoint, path)

    def _metric_protocols(self) -> dict:
        # what the last evaluation published, then every built evaluator's metrics (Multi*Loop
        # keeps one inner loop per dataloader)
        out = dict(self.message_hub.get_info('eval_protocols') or {})
        for outer in (self._val_loop, self._test_loop):
            for loop in getattr(outer, 'loops', None) or [outer]:
                for metric in getattr(getattr(loop, 'evaluator', None), 'metrics', None) or []:
                    protocol = getattr(metric, 'protocol', None)
                    if isinstance(protocol, str):
                        out[metric.prefix or type(metric).__name__] = protocol
        return out

    # -- state -----------------------------------------------------------------------------
    @property
    def _plain_model(self) -> nn.Module:
        return self.model.module if hasattr(self.model, 'module') and \
            isinstance(self.model.module, nn.Module) else self.model

    train_loop = property(lambda self: self._train_loop)
    val_loop = property(lambda self: self._val_loop)
    test_loop = property(lambda self: self._test_loop)
    epoch = property(lambda self: self._train_loop.epoch if self._train_loop else 0)
    iter = property(lambda self: self._train_loop.iter if self._train_loop else 0)
    max_epochs = property(lambda self: self._train_loop.max_epochs if self._train_loop else 0)
    max_iters = property(lambda self: self._train_loop.max_iters if self._train_loop else 0)
    train_dataloader = property(lambda self: self._train_loop.dataloader if self._train_loop
                                else self._train_dataloader)
    val_dataloader = property(lambda self: self._val_loop.dataloader if self._val_loop
                              else self._val_dataloader)
    test_dataloader = property(lambda self: self._test_loop.dataloader if self._test_loop
                               else self._test_dataloader)
    work_dir = property(lambda self: self._work_dir)
    log_dir = property(lambda self: self._log_dir)
    timestamp = property(lambda self: self._timestamp)
    experiment_name = property(lambda self: self._experiment_name)
    seed = property(lambda self: self._seed)
    deterministic = property(lambda self: self._deterministic)
    launcher = property(lambda self: self._launcher)
    distributed = property(lambda self: is_distributed())
    rank = property(lambda self: get_rank())
    world_size = property(lambda self: get_world_size())
    logger = property(lambda self: logger)


def _lock_work_dir(work_dir: str):
    """Rank 0 locks ``work_dir`` for this run; every rank raises when another run holds it."""
    from .work_dir_lock import WorkDirLock, WorkDirLockedError
    lock, error = None, None
    if is_main_process():
        try:
            lock = WorkDirLock(work_dir).acquire()
        except WorkDirLockedError as exc:
            error = str(exc)
    error = broadcast_object(error)
    if error is not None:
        raise WorkDirLockedError(error)
    return lock


def _unique_timestamp(work_dir: str) -> str:
    # Two runs started in the same second (tests, quick restarts) get their own log folder.
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    candidate, n = stamp, 0
    while os.path.exists(os.path.join(work_dir, candidate)):
        n += 1
        candidate = f'{stamp}_{n}'
    return candidate


def _cfg_name(cfg: Any) -> str | None:
    filename = getattr(cfg, 'filename', None)
    if filename:
        return os.path.splitext(os.path.basename(filename))[0]
    return None


def _train_cfg(train_cfg: dict | None, nan_policy: str | None) -> dict | None:
    if train_cfg is None:
        return None
    cfg = dict(train_cfg)
    if nan_policy is not None:
        cfg.setdefault('nan_policy', nan_policy)
    return cfg


def _scheduler_states(schedulers):
    if isinstance(schedulers, dict):
        return {k: _scheduler_states(v) for k, v in schedulers.items()}
    return [s.state_dict() for s in schedulers]


def _load_schedulers(schedulers, states) -> None:
    if isinstance(schedulers, dict):
        for key, group in schedulers.items():
            _load_schedulers(group, states[key])
        return
    if len(schedulers) != len(states):
        raise ValueError(f'checkpoint has {len(states)} param schedulers, the config builds '
                         f'{len(schedulers)}; resume with the same param_scheduler config')
    for scheduler, state in zip(schedulers, states):
        scheduler.load_state_dict(state)


__all__ = ['Runner']
