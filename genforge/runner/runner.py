"""Runner: builds the pieces from a config and hands control to a loop (MMEngine's interface).

``runner.train()`` = build loops/optimizer/schedulers -> ``before_run`` hooks -> init weights ->
load or resume -> ``train_loop.run()`` -> ``after_run`` hooks. Everything else is a hook.
"""
from __future__ import annotations

import bisect
import copy
import logging
import os
from typing import Any

import torch
from torch import nn

from genforge.dist import (
    broadcast_object,
    get_rank,
    get_world_size,
    init_dist,
    is_distributed,
    is_main_process,
)
from genforge.hooks.hook import Hook, get_priority
from genforge.message_hub import MessageHub
from genforge.models.wrappers import unwrap_model
from genforge.registry import LOOPS, import_custom_modules

from . import build as _build
from . import preflight
from .checkpoint_manager import CheckpointManager
from .resume import check_fresh_start
from .speed import broadcast_model_state
from .utils import (
    atomic_write_text,
    config_name,
    config_text,
    probe_writable,
    set_random_seed,
    unique_timestamp,
)
from .work_dir_lock import lock_work_dir

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
        cfg_name = config_name(cfg)
        self._work_dir = os.path.abspath(work_dir or os.path.join('work_dirs', cfg_name or 'run'))
        # rank 0's stamp everywhere: one log folder per run, whatever second each rank started
        self._timestamp = broadcast_object(unique_timestamp(self._work_dir))
        self._log_dir = os.path.join(self._work_dir, self._timestamp)
        self._experiment_name = experiment_name or (
            f'{cfg_name}_{self._timestamp}' if cfg_name else self._timestamp)
        if is_main_process():
            probe_writable(self._work_dir)
            os.makedirs(self._log_dir, exist_ok=True)
        self._log_level = log_level
        self._log_handlers: list = []
        self.message_hub = MessageHub.get_instance(f'{self._experiment_name}-{id(self)}')
        self.visualizer = _build.build_visualizer(
            visualizer, name=f'{self._experiment_name}-{id(self):x}',
            save_dir=os.path.join(self._log_dir, 'vis_data'))
        # Unless set, the log processor's by_epoch follows the train loop (decided in train()).
        self._log_by_epoch_given = ('by_epoch' in log_processor if isinstance(log_processor, dict)
                                    else log_processor is not None)
        self.log_processor = _build.build_log_processor(log_processor)
        self.default_scope = default_scope
        self.checkpoints = CheckpointManager(self, load_from=load_from, resume=resume)
        self.model = _build.wrap_model(_build.build_model(model, data_preprocessor), self.cfg,
                                       model_wrapper_cfg, optim_wrapper)
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

    # -- entry points ----------------------------------------------------------------------
    def train(self) -> nn.Module:
        if self._train_dataloader is None or self._train_cfg is None or self.optim_wrapper is None:
            raise RuntimeError('train() needs train_dataloader, train_cfg and optim_wrapper; '
                               'give all three to the Runner (or the config)')
        lock = lock_work_dir(self._work_dir)   # before anything is written into work_dir
        try:
            self._attach_logs()
            self._train_loop = self.build_train_loop(self._train_cfg)
            if not getattr(self, '_log_by_epoch_given', True):
                self.log_processor.by_epoch = self._train_loop.by_epoch
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
            _build.scale_lr(self.optim_wrapper, self._auto_scale_lr,
                            get_world_size() * self.train_dataloader.batch_size)
            self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
            if self._val_dataloader is not None and self._val_loop is None:
                self._val_loop = self.build_val_loop(self._val_cfg or {})
            if self._val_loop is not None:
                self._preflight(self._val_loop, 'val')
            if self._preflight_enabled():
                preflight.check_train_image_size(self.model, self.train_dataloader)
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
            self._preflight(self._val_loop if mode == 'val' else self._test_loop, mode)
            self.call_hook('before_run')
            self.load_or_resume()
            metrics = (self._val_loop if mode == 'val' else self._test_loop).run()
            self.call_hook('after_run')
            return metrics
        finally:
            self._detach_logs()

    def _preflight_enabled(self) -> bool:
        """``preflight = False`` in the config skips every start-up check."""
        return not (self.cfg is not None and self.cfg.get('preflight') is False)

    def _preflight(self, loop: Any, mode: str) -> None:
        """Stop now on what would fail at the loop's first run (``preflight=False`` skips)."""
        if not self._preflight_enabled():
            return
        evaluator_cfg = self._val_evaluator if mode == 'val' else self._test_evaluator
        preflight.check_eval_loop(loop, mode, evaluator_cfg)

    def _attach_logs(self) -> None:
        log_file = os.path.join(self._log_dir, f'{self._timestamp}.log') \
            if is_main_process() else None
        self._log_handlers = _build.attach_log_handlers(log_file, self._log_level)

    def _detach_logs(self) -> None:
        _build.detach_log_handlers(self._log_handlers)
        self._log_handlers = []

    def _init_model_weights(self) -> None:
        if hasattr(self._plain_model, 'init_weights') and not self.checkpoints.has_loaded:
            self._plain_model.init_weights()
            # DDP synchronised the weights when it wrapped the model; init_weights ran later and
            # may have drawn different numbers per rank (diff_rank_seed), as in MMEngine.
            broadcast_model_state(self._plain_model)

    # -- checkpoints: MMEngine's Runner API, done by the CheckpointManager ------------------
    def load_or_resume(self) -> None:
        """``resume=True``: latest checkpoint of work_dir (or load_from); ``resume=PATH``: that
        file; otherwise ``load_from`` loads weights only."""
        self.checkpoints.load_or_resume()

    def load_checkpoint(self, filename: str, map_location: Any = 'cpu', strict: bool = False,
                        revise_keys: list = ((r'^module\.', ''),),
                        min_coverage: float = 0.0) -> dict:
        """Load weights only (see ``CheckpointManager.load``)."""
        return self.checkpoints.load(filename, map_location, strict, revise_keys, min_coverage)

    def resume(self, filename: str) -> None:
        """Restore model, optimizers, schedulers, hub, loop counters, sampler and RNG."""
        self.checkpoints.resume(filename)

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None,
                        save_optimizer: bool = True, save_param_scheduler: bool = True,
                        meta: dict | None = None, by_epoch: bool = True,
                        backend_args=None) -> None:
        """Write ``out_dir/filename`` (rank 0) with everything resume needs."""
        self.checkpoints.save(out_dir, filename, save_optimizer, save_param_scheduler, meta,
                              by_epoch)

    # -- state -----------------------------------------------------------------------------
    @property
    def _plain_model(self) -> nn.Module:
        return unwrap_model(self.model)

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


def _train_cfg(train_cfg: dict | None, nan_policy: str | None) -> dict | None:
    if train_cfg is None:
        return None
    cfg = dict(train_cfg)
    if nan_policy is not None:
        cfg.setdefault('nan_policy', nan_policy)
    return cfg


__all__ = ['Runner']
