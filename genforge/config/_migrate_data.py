"""Data, optimizer and lr-schedule sections of :mod:`genforge.config.migrate` (0.x -> 1.x).

Same conventions: each function takes the old dict, the new dict and a ``notes`` list.
"""
from __future__ import annotations

from typing import Any

__all__ = ['convert_pipeline', 'migrate_data', 'migrate_optimizer', 'migrate_lr_config',
           'rename_pipeline_var']

_KEY_RENAME = {'real_img': 'img', 'real_img_path': 'img_path'}


# -- 8. data: `data` -> *_dataloader; pipelines lose Normalize/ImageToTensor/Collect ------------
def _rename_key(key: Any) -> Any:
    return _KEY_RENAME.get(key, key) if isinstance(key, str) else key


def _convert_transform(t: dict, is_gan: bool, norm: dict, notes: list) -> dict | None:
    t = dict(t)
    ttype = str(t.get('type', '')).split('.')[-1]  # 'mmcls.Normalize' -> 'Normalize'
    t['type'] = ttype
    if ttype == 'Normalize':
        this = dict(mean=t.get('mean'), std=t.get('std'), bgr_to_rgb=bool(t.get('to_rgb')))
        if norm and norm != this:
            notes.append(f'Normalize {this} differs from the first pipeline\'s {norm}: 1.x has '
                         'one data_preprocessor; the first one is used')
        norm.update(norm or this)
        return None
    if ttype in ('ImageToTensor', 'ToTensor', 'RescaleToZeroOne'):
        return None
    if ttype == 'Collect':
        if not is_gan:
            return dict(type='PackInputs')
        # PackGenInputs puts gt_label on the data sample by itself (conditional GANs)
        keys = [_rename_key(k) for k in t.get('keys', ['img']) if k != 'gt_label']
        return dict(type='PackGenInputs', keys=keys,
                    meta_keys=[_rename_key(k) for k in t.get('meta_keys', [])])
    if ttype == 'Resize' and 'size' in t:  # MMClassification 0.x (ImageNet pipelines)
        return _mmcls_resize(t, notes)
    if ttype == 'RandomFlip' and 'flip_prob' in t:  # MMClassification 0.x (CIFAR pipelines)
        return dict(type='Flip', keys=['img'], flip_ratio=t['flip_prob'],
                    direction=t.get('direction', 'horizontal'))
    if ttype == 'LoadImageFromFile':
        t.pop('io_backend', None)
        if 'flag' in t:
            t['color_type'] = t.pop('flag')
    for arg in ('key', 'keys'):
        if isinstance(t.get(arg), str):
            t[arg] = _rename_key(t[arg])
        elif isinstance(t.get(arg), (list, tuple)):
            t[arg] = [_rename_key(k) for k in t[arg]]
    return t


def _mmcls_resize(t: dict, notes: list) -> dict:
    """MMClassification 0.x ``Resize(size=...)``: ``size`` is (h, w), an int s means (s, s), and
    (s, -1) resizes the ``adaptive_side`` edge (default 'short') to s keeping the aspect ratio.
    MMagic's Resize takes ``scale=(w, h)``; one edge is ResizeEdge's job."""
    size, side = t['size'], t.get('adaptive_side', 'short')
    extra = {k: t[k] for k in ('interpolation', 'backend') if k in t}
    if isinstance(size, int):
        size = (size, size)
    h, w = size
    if w == -1 and side != 'short':
        out = dict(type='ResizeEdge', scale=h, edge=side, **extra)
    elif w == -1:
        out = dict(type='Resize', keys=['img'], scale=(h, -1), keep_ratio=True, **extra)
    else:
        out = dict(type='Resize', keys=['img'], scale=(w, h), keep_ratio=False, **extra)
    notes.append(f'Resize(size={t["size"]!r}) (MMClassification 0.x, (h, w)) -> '
                 f'{out["type"]}(' + ', '.join(f'{k}={v!r}' for k, v in out.items()
                                               if k != 'type') + ')')
    return out


def convert_pipeline(pipeline: list, is_gan: bool = True, norm: dict | None = None,
                     notes: list | None = None) -> list:
    """0.x transforms -> 1.x: 'real_img' -> 'img', Normalize/ImageToTensor dropped (their
    mean/std/to_rgb are collected into ``norm`` for the data preprocessor), Collect ->
    PackGenInputs (GANs) / PackInputs (restorers)."""
    norm = {} if norm is None else norm
    notes = [] if notes is None else notes
    out = [_convert_transform(t, is_gan, norm, notes) for t in pipeline]
    return [t for t in out if t is not None]


def _convert_dataset(ds: dict, is_gan: bool, norm: dict, notes: list) -> dict:
    ds = dict(ds)
    while ds.get('type') == 'RepeatDataset':  # infinite samplers make repeating unnecessary
        notes.append(f"RepeatDataset(times={ds.get('times')}) unwrapped: the 1.x iteration-based "
                     'loop uses InfiniteSampler')
        ds = dict(ds['dataset'])
    ds['type'] = str(ds.get('type', '')).split('.')[-1]
    if 'imgs_root' in ds:
        ds['data_root'] = ds.pop('imgs_root')
    if ds['type'] in ('CIFAR10', 'CIFAR100') and 'data_prefix' in ds:
        ds['data_root'] = ds.pop('data_prefix')
    if 'pipeline' in ds:
        ds['pipeline'] = convert_pipeline(ds['pipeline'], is_gan, norm, notes)
    return ds


def migrate_data(old: dict, new: dict, notes: list, is_gan: bool) -> None:
    data = old.pop('data', None)
    if not data:
        return
    norm: dict = {}
    # `val=None` (0.x MNIST configs) switches a split of the base config off
    splits = [s for s in ('train', 'val', 'test') if data.get(s) is not None]
    if 'val' in splits and 'evaluation' not in old:
        splits.remove('val')  # 0.x evaluated only through the evaluation hook
        notes.append('no 0.x evaluation hook: no val_dataloader (no validation during training)')
        if 'test' not in data:
            data['test'] = data['val']
            splits.append('test')
    for split in splits:
        loader_over = dict(data.get(f'{split}_dataloader') or {})
        loader = dict(batch_size=loader_over.pop('samples_per_gpu', data.get('samples_per_gpu')),
                      num_workers=loader_over.pop('workers_per_gpu',
                                                  data.get('workers_per_gpu', 4)),
                      persistent_workers=True)
        loader.update(loader_over)
        if split == 'train':
            loader['sampler'] = dict(type='InfiniteSampler', shuffle=True)
        else:
            loader['sampler'] = dict(type='DefaultSampler', shuffle=False)
        loader['dataset'] = _convert_dataset(data[split], is_gan, norm, notes)
        if loader['batch_size'] is None:
            notes.append(f'{split}_dataloader.batch_size is None (samples_per_gpu was not set): '
                         'set it')
        new[f'{split}_dataloader'] = loader
    notes.append('data -> train/val/test_dataloader (samples_per_gpu -> batch_size, '
                 'workers_per_gpu -> num_workers)')
    if norm and is_gan and isinstance(new.get('model'), dict):
        # the model's preprocessor is what 1.x uses (a top-level data_preprocessor is ignored
        # when the model sets one)
        new['model'].setdefault('data_preprocessor', {}).update(norm)
        notes.append('pipeline Normalize (mean/std/to_rgb) -> model.data_preprocessor '
                     '(mean/std/bgr_to_rgb); ImageToTensor/Collect -> PackGenInputs')


def rename_pipeline_var(key: str, value: Any, notes: list) -> Any:
    if key.endswith('pipeline') and isinstance(value, list) and \
            all(isinstance(t, dict) and 'type' in t for t in value):
        gan = not any(t.get('type') == 'RescaleToZeroOne' for t in value)
        return convert_pipeline(value, gan, {}, notes)
    return value


# -- 4 + 7. optimizer (+ accumulation, AMP) -> optim_wrapper -------------------------------------
def _wrapper(opt: dict, acc: int, amp: Any, clip: Any) -> dict:
    out: dict = {}
    if amp is not None:
        out.update(type='AmpOptimWrapper', loss_scale=amp)
    if acc > 1:
        out['accumulative_counts'] = acc
    if clip:
        out['clip_grad'] = clip
    out['optimizer'] = dict(opt)
    return out


def _amp_setting(old: dict, runner: dict, notes: list) -> Any:
    scaler = runner.get('fp16_loss_scaler')
    fp16 = old.pop('fp16', None)
    if old.pop('apex_amp', None) is not None or runner.get('use_apex_amp'):
        notes.append('apex AMP -> AmpOptimWrapper (torch.autocast, dynamic loss scale)')
        return 'dynamic'
    if scaler is not None:
        notes.append(f'runner.fp16_loss_scaler={scaler} -> AmpOptimWrapper with '
                     'loss_scale=<those GradScaler arguments>; remove auto_fp16 decorators')
        return dict(scaler) if scaler else 'dynamic'
    if fp16 is not None:
        scale = fp16.get('loss_scale', 'dynamic')
        notes.append(f'fp16=dict(loss_scale={scale!r}) -> AmpOptimWrapper')
        return scale
    return None


def migrate_optimizer(old: dict, new: dict, notes: list, is_gan: bool, train_cfg: dict,
                       runner: dict) -> None:
    opt = old.pop('optimizers', None) or old.pop('optimizer', None)
    clip = (old.pop('optimizer_config', None) or {}).get('grad_clip')
    amp = _amp_setting(old, runner, notes)
    acc = train_cfg.get('batch_accumulation_steps', 1)
    if not opt:
        return
    if 'type' in opt:  # one optimizer for the whole model
        paramwise = opt.pop('paramwise_cfg', None)
        new['optim_wrapper'] = dict(constructor='DefaultOptimWrapperConstructor',
                                    **_wrapper(opt, acc, amp, clip))
        if paramwise:
            new['optim_wrapper']['paramwise_cfg'] = paramwise
    elif not is_gan and list(opt) == ['generator']:
        new['optim_wrapper'] = dict(constructor='DefaultOptimWrapperConstructor',
                                    **_wrapper(opt['generator'], acc, amp, clip))
    else:
        constructor = 'GenOptimWrapperConstructor' if is_gan else 'MultiOptimWrapperConstructor'
        new['optim_wrapper'] = dict(constructor=constructor, **{
            name: _wrapper(o, acc, amp, clip) for name, o in opt.items()})
    notes.append('optimizer -> optim_wrapper (one OptimWrapper per submodule)'
                 + (' with AmpOptimWrapper' if amp is not None else ''))


# -- 5. lr_config -> param_scheduler ------------------------------------------------------------
def _base_lrs(optim_wrapper: dict) -> dict:
    if 'optimizer' in optim_wrapper:
        return {None: optim_wrapper['optimizer'].get('lr')}
    return {k: v['optimizer'].get('lr') for k, v in optim_wrapper.items()
            if isinstance(v, dict) and 'optimizer' in v}


def _scheduler(lr_cfg: dict, base_lr: float | None, max_iters: Any, notes: list) -> list:
    policy = str(lr_cfg.get('policy', '')).lower()
    by_epoch = lr_cfg.get('by_epoch', True)
    out = []
    if lr_cfg.get('warmup'):
        out.append(dict(type='LinearLR', by_epoch=by_epoch, begin=0,
                        start_factor=lr_cfg.get('warmup_ratio', 0.1),
                        end=lr_cfg.get('warmup_iters', 0)))
    if policy == 'linear':  # MMGeneration's LinearLrUpdaterHook: lr itself, every `interval`
        out.append(dict(type='LinearLrInterval', interval=lr_cfg.get('interval', 1),
                        by_epoch=by_epoch, start_factor=base_lr,
                        end_factor=lr_cfg.get('target_lr', 0), begin=lr_cfg.get('start', 0),
                        end=max_iters))
    elif policy == 'step':
        step = lr_cfg.get('step')
        out.append(dict(type='MultiStepLR', by_epoch=by_epoch, gamma=lr_cfg.get('gamma', 0.1),
                        milestones=step if isinstance(step, list) else [step]))
    elif policy == 'cosineannealing':
        out.append(dict(type='CosineAnnealingLR', by_epoch=by_epoch, T_max=max_iters,
                        eta_min=lr_cfg.get('min_lr', 0)))
    elif policy == 'cosinerestart':
        out.append(dict(type='CosineRestartLR', by_epoch=by_epoch, periods=lr_cfg['periods'],
                        restart_weights=lr_cfg.get('restart_weights', [1]),
                        eta_min=lr_cfg.get('min_lr', 0)))
    elif policy != 'fixed':
        notes.append(f'lr_config policy={lr_cfg.get("policy")!r} not converted: write '
                     'param_scheduler by hand')
    return out


def migrate_lr_config(old: dict, new: dict, notes: list) -> None:
    if 'lr_config' not in old:
        return
    lr_cfg = old.pop('lr_config')
    old.pop('momentum_config', None)
    if not lr_cfg:
        notes.append('lr_config=None dropped (constant learning rate)')
        return
    max_iters = new.get('train_cfg', {}).get('max_iters')
    lrs = _base_lrs(new.get('optim_wrapper') or {})
    scheds = {k: _scheduler(lr_cfg, lr, max_iters, notes) for k, lr in lrs.items()} or \
        {None: _scheduler(lr_cfg, None, max_iters, notes)}
    first = next(iter(scheds.values()))
    if all(s == first for s in scheds.values()):
        result: Any = first[0] if len(first) == 1 else first
    else:  # different base lrs (LinearLrInterval sets the lr itself): one schedule per optimizer
        result = {k: (s[0] if len(s) == 1 else s) for k, s in scheds.items()}
    if first:
        new['param_scheduler'] = result
        notes.append(f'lr_config policy={lr_cfg.get("policy")!r} -> param_scheduler')
