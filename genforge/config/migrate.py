"""Convert an MMGeneration 0.x / MMEditing 0.x config dict to the 1.x layout genforge runs.

One function per section of MMGeneration's 0.x -> 1.x migration guide (runner, evaluation,
distributed wrapper, optimizer, lr schedule, visualization, AMP, data, runtime). Each takes the
old (merged, ``_base_``-resolved) dict and a ``notes`` list it appends human-readable lines to.

    >>> new, notes = migrate_config(Config.fromfile('old_0x_config.py').to_dict())
"""
from __future__ import annotations

import copy
from typing import Any

from ._migrate_data import (
    convert_pipeline,
    migrate_data,
    migrate_lr_config,
    migrate_optimizer,
    rename_pipeline_var,
)
from ._migrate_multiscale import MULTISCALE_TYPES, finish_multiscale, migrate_multiscale_model
from ._migrate_stylegan import is_stylegan, migrate_stylegan_model
from ._migrate_translation import finish_translation, is_translation, migrate_translation_model

__all__ = ['migrate_config', 'MigrationError', 'find_0x_markers', 'convert_pipeline']


class MigrationError(ValueError):
    """The config cannot be migrated automatically (the message says why and what to do)."""


# Top-level keys that exist only in 0.x configs (MMCV 1.x runners / MMGeneration 0.x).
_0X_KEYS = ('total_iters', 'runner', 'data', 'optimizer', 'optimizers', 'optimizer_config',
            'lr_config', 'checkpoint_config', 'log_config', 'evaluation', 'dist_params',
            'workflow', 'resume_from', 'use_ddp_wrapper', 'find_unused_parameters',
            'cudnn_benchmark', 'mp_start_method', 'opencv_num_threads', 'visual_config', 'fp16',
            'apex_amp', 'momentum_config')
_0X_MODEL_TYPES = ('StaticUnconditionalGAN', 'BasiccGAN', 'BasicRestorer')
_RUNNER_TYPES = ('DynamicIterBasedRunner', 'IterBasedRunner', 'EpochBasedRunner')
# 0.x generator -> 1.x algorithm (as MMGeneration 1.x / MMagic configs pair them).
_GEN_TO_ALGO = {'BigGANGenerator': 'BigGAN', 'BigGANDeepGenerator': 'BigGAN',
                'SAGANGenerator': 'SAGAN', 'SNGANGenerator': 'SNGAN',
                'WGANGPGenerator': 'WGANGP', 'StyleGANv2Generator': 'StyleGAN2',
                'StyleGANv3Generator': 'StyleGAN3'}
# DCGAN/LSGAN-architecture generators: the loss decides (LSGAN on DCGAN arch is 'LSGAN', ...).
_LOSS_TO_ALGO = {'vanilla': 'DCGAN', 'lsgan': 'LSGAN', 'hinge': 'GGAN', 'wgan': 'WGANGP'}
_ALGO_LOSS = {'DCGAN': 'vanilla', 'LSGAN': 'lsgan', 'GGAN': 'hinge', 'WGANGP': 'wgan',
              'SNGAN': 'hinge', 'SAGAN': 'hinge', 'BigGAN': 'hinge'}
_CONDITIONAL_GANS = ('SNGAN', 'SAGAN', 'BigGAN')
_GENFORGE_GANS = ('DCGAN', 'LSGAN', 'GGAN', 'WGANGP', 'SNGAN', 'SAGAN', 'BigGAN')
_EDIT_MODELS = {'BasicRestorer': 'BaseEditModel', 'SRGAN': 'SRGAN', 'ESRGAN': 'ESRGAN'}
# 0.x metric type -> (1.x type, prefix stem, result key, rule)
_METRICS = {'FID': ('FrechetInceptionDistance', 'FID-Full', 'fid', 'less'),
            'IS': ('InceptionScore', 'IS', 'is', 'greater'),
            'MS_SSIM': ('MS_SSIM', 'ms-ssim', 'avg', 'greater'),
            'SWD': ('SWD', 'swd', 'avg', 'less'),
            'PR': ('PrecisionAndRecall', 'PR', 'precision', 'greater'),
            'PPL': ('PerceptualPathLength', 'ppl', 'ppl_score', 'less')}
_DIFFUSION_MODELS = ('BasicGaussianDiffusion',)
_DROPPED_HOOKS = ('PGGANFetchDataHook', 'PetrelUploadHook')


def find_0x_markers(cfg: dict) -> list[str]:
    """The 0.x-only keys/types present in ``cfg`` (empty for a 1.x config)."""
    found = [k for k in _0X_KEYS if cfg.get(k) is not None]
    if 'apex_amp' in found and 'optim_wrapper' in cfg:
        found.remove('apex_amp')  # MMagic 1.x's apex-fp16 StyleGAN2 configs keep this leftover
    train_cfg = cfg.get('train_cfg')
    if 'total_iters' in found and isinstance(train_cfg, dict) and 'max_iters' in train_cfg:
        found.remove('total_iters')  # MMagic's SinGAN configs compute max_iters from it
    model = cfg.get('model') or {}
    # 1.x GANs define their loss themselves; 1.x SRGAN/ESRGAN keep gan_loss next to pixel_loss
    if isinstance(model, dict) and (model.get('type') in _0X_MODEL_TYPES or 'gan_loss' in model
                                    and _is_gan(model) and 'generator_steps' not in model):
        found.append(f"model.type={model.get('type')!r}")
    if isinstance(cfg.get('train_cfg'), dict) and 'disc_steps' in cfg['train_cfg']:
        found.append('train_cfg.disc_steps')
    return found


def migrate_config(cfg_dict: dict) -> tuple[dict, list[str]]:
    """Return ``(new_cfg, notes)``: the 1.x config dict and what was changed / left to do.

    Raises :class:`MigrationError` for a config with nothing 0.x in it or an unknown runner.
    """
    old = copy.deepcopy(dict(cfg_dict))
    if not find_0x_markers(old):
        raise MigrationError('nothing to migrate: the config has none of the 0.x keys '
                             f'({", ".join(_0X_KEYS[:6])}, ...) and no 0.x model type; it already '
                             'looks like a 1.x config that genforge runs as it is')
    notes: list[str] = []
    old_train_cfg = old.pop('train_cfg', None) or {}
    old_test_cfg = old.pop('test_cfg', None)
    is_gan = _is_gan(old.get('model') or {})
    new: dict[str, Any] = {'default_scope': 'mmgen' if is_gan else 'mmedit'}
    runner = _migrate_runner(old, new, notes, is_gan)
    translation = is_translation(old.get('model'))
    family = (old.get('model') or {}).get('type')
    if translation:
        new['model'] = migrate_translation_model(old.pop('model'), old_train_cfg, notes)
    elif family in MULTISCALE_TYPES:  # PGGAN / SinGAN: schedules move from train_cfg to the model
        new['model'] = migrate_multiscale_model(old.pop('model'), old_train_cfg, old_test_cfg,
                                                old, notes)
    elif is_stylegan(old.get('model')):  # StyleGAN2/3: auxiliary losses -> loss_config
        new['model'] = migrate_stylegan_model(old.pop('model'), old_train_cfg, old, notes)
    elif old.get('model'):
        new['model'] = _migrate_model(old.pop('model'), old_train_cfg, old_test_cfg, old, notes)
    migrate_data(old, new, notes, is_gan)
    migrate_optimizer(old, new, notes, is_gan, old_train_cfg, runner)
    migrate_lr_config(old, new, notes)
    _migrate_evaluation(old, new, notes, is_gan, old_test_cfg)
    _migrate_hooks(old, new, notes, is_gan)
    _migrate_ddp(old, new, notes, is_gan, runner)
    _migrate_runtime(old, new, notes)
    if family in MULTISCALE_TYPES:
        finish_multiscale(family, old_train_cfg, new, notes)
    if (new.get('model') or {}).get('type') in _DIFFUSION_MODELS:
        _finish_diffusion(new, notes)
    if translation:
        finish_translation(new, notes)
    # what is left are the config's own variables (dataset_type, pipelines, ...): keep them first
    left = {k: rename_pipeline_var(k, v, notes) for k, v in old.items()}
    return {**left, **new}, notes


def _is_gan(model: dict) -> bool:
    if is_translation(model):  # generative loops and metrics, even with MMEditing's pixel_loss
        return True
    if model.get('type') in _EDIT_MODELS or 'pixel_loss' in model:
        return False
    return True


# -- 1. runner and schedule ----------------------------------------------------------------------
def _migrate_runner(old: dict, new: dict, notes: list, is_gan: bool) -> dict:
    runner = dict(old.pop('runner', None) or {})
    rtype = runner.get('type', 'DynamicIterBasedRunner' if is_gan else 'IterBasedRunner')
    if rtype not in _RUNNER_TYPES:
        raise MigrationError(f'runner.type={rtype!r} is not a 0.x runner genforge can migrate '
                             f'(known: {", ".join(_RUNNER_TYPES)}); replace runner/total_iters '
                             'by train_cfg=dict(by_epoch=False, max_iters=N) by hand')
    by_epoch = rtype == 'EpochBasedRunner'
    interval = (old.get('evaluation') or {}).get('interval', 10000 if not by_epoch else 1)
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=runner.get('max_epochs'),
                         val_interval=interval)
    else:
        max_iters = old.pop('total_iters', runner.get('max_iters'))
        if max_iters is None:
            notes.append('no total_iters / runner.max_iters: set train_cfg.max_iters')
        train_cfg = dict(by_epoch=False, max_iters=max_iters, val_begin=1,
                         val_interval=interval)
    new['train_cfg'] = train_cfg
    loop = 'Gen' if is_gan else 'Edit'
    new['val_cfg'] = dict(type=f'{loop}ValLoop')
    new['test_cfg'] = dict(type=f'{loop}TestLoop')
    notes.append(f'runner {rtype} + total_iters -> train_cfg (max_iters/max_epochs), '
                 f'val_cfg {loop}ValLoop, test_cfg {loop}TestLoop')
    for key in ('pass_training_status', 'ckpt_trainable_only', 'gc_interval'):
        if key in runner:
            notes.append(f'runner.{key} dropped (no 1.x equivalent)')
    return runner


# -- model: 0.x type + train_cfg (disc_steps, ...) + EMA hook -> 1.x algorithm -------------------
def _choose_algorithm(model: dict) -> str:
    gen_type = (model.get('generator') or {}).get('type')
    if gen_type in _GEN_TO_ALGO:
        return _GEN_TO_ALGO[gen_type]
    gan_type = (model.get('gan_loss') or {}).get('gan_type', 'vanilla')
    if gan_type not in _LOSS_TO_ALGO:
        raise MigrationError(f'model.gan_loss.gan_type={gan_type!r} with generator {gen_type!r}: '
                             f'no 1.x algorithm to map it to (known losses: '
                             f'{sorted(_LOSS_TO_ALGO)}); set model.type by hand')
    return _LOSS_TO_ALGO[gan_type]


def _migrate_model(model: dict, train_cfg: dict, test_cfg: Any, old: dict, notes: list) -> dict:
    if model.get('type') in _DIFFUSION_MODELS:
        return _migrate_diffusion_model(model, train_cfg, old, notes)
    if not _is_gan(model):
        return _migrate_edit_model(model, train_cfg, test_cfg, notes)
    old_type = model.pop('type', None)
    algo = old_type if old_type not in _0X_MODEL_TYPES else _choose_algorithm(model)
    if old_type != algo:
        notes.append(f'model.type {old_type!r} -> {algo!r} (chosen from the generator type and '
                     f'gan_loss, as the 1.x configs pair them)')
    if algo not in _GENFORGE_GANS:
        notes.append(f'genforge has no {algo!r} algorithm: the model will not build')
    gan_loss = model.pop('gan_loss', None) or {}
    if gan_loss.get('gan_type', _ALGO_LOSS.get(algo)) != _ALGO_LOSS.get(algo):
        notes.append(f"model.gan_loss gan_type={gan_loss['gan_type']!r} dropped: 1.x {algo} "
                     f'always uses its own {_ALGO_LOSS.get(algo)!r} loss')
    new = dict(type=algo)
    num_classes = model.pop('num_classes', (model.get('generator') or {}).get('num_classes'))
    if num_classes is None and algo in _CONDITIONAL_GANS:
        # the unconditional *_cvt_studioGAN configs: the generator's default num_classes=0
        num_classes = 0
        notes.append(f'no num_classes: model.num_classes=0, an unconditional {algo} (its '
                     'conditional norms become plain ones)')
    if num_classes is not None:  # 1.x conditional GANs state it at the model level
        new['num_classes'] = num_classes
    new['data_preprocessor'] = dict(type='GANDataPreprocessor')
    new['generator'] = model.pop('generator', None)
    if 'discriminator' in model:
        new['discriminator'] = model.pop('discriminator')
    new.update(_steps_from_train_cfg(train_cfg, notes))
    loss_config = _aux_losses(model, notes)
    if loss_config:
        new['loss_config'] = loss_config
    ema = _ema_from_hooks(old, notes)
    if ema:
        new['ema_config'] = ema
    elif train_cfg.get('use_ema'):
        notes.append('train_cfg.use_ema=True but no ExponentialMovingAverageHook in custom_hooks: '
                     "set model.ema_config=dict(type='ExponentialMovingAverage', momentum=...)")
    for key in model:
        notes.append(f'model.{key} dropped (no 1.x {algo} argument)')
    return new


def _migrate_diffusion_model(model: dict, train_cfg: dict, old: dict, notes: list) -> dict:
    """BasicGaussianDiffusion keeps its arguments; 0.x's EMA hook becomes ema_config."""
    new = dict(model)
    new.setdefault('data_preprocessor', dict(type='DataPreprocessor'))
    ema = _ema_from_hooks(old, notes)
    if ema:
        new['ema_config'] = ema
    elif train_cfg.get('use_ema'):
        new['train_cfg'] = dict(use_ema=True)
        notes.append('train_cfg.use_ema=True without an EMA hook -> model.train_cfg.use_ema '
                     '(EMA momentum 1e-4)')
    if 'real_img_key' in train_cfg:
        notes.append(f"train_cfg.real_img_key={train_cfg['real_img_key']!r} dropped: images "
                     "come from the packed inputs (PackInputs)")
    notes.append(f"model {model.get('type')} kept; the denoising network trains in train_step "
                 '(no hook)')
    return new


def _finish_diffusion(new: dict, notes: list) -> None:
    """Metrics sample the EMA denoiser when there is one; the 0.x training-sample hook goes."""
    model = new['model']
    if model.get('ema_config') or (model.get('train_cfg') or {}).get('use_ema'):
        for key in ('val_evaluator', 'test_evaluator'):
            for metric in (new.get(key) or {}).get('metrics') or []:
                metric.setdefault('sample_model', 'ema')
        notes.append("diffusion metrics: sample_model='ema' (the EMA denoiser)")
    hooks = new.get('custom_hooks') or []
    kept = [h for h in hooks if h.get('type') != 'GenVisualizationHook']
    if len(kept) != len(hooks):
        new['custom_hooks'] = kept
        notes.append('GenVisualizationHook dropped for the diffusion model (it would run the '
                     'full denoising chain); draw samples with genforge sample --steps 50')


def _steps_from_train_cfg(train_cfg: dict, notes: list) -> dict:
    disc = train_cfg.get('disc_steps', 1)
    gen = train_cfg.get('gen_steps', 1)
    acc = train_cfg.get('batch_accumulation_steps', 1)
    if disc % acc:
        notes.append(f'train_cfg.disc_steps={disc} is not a multiple of '
                     f'batch_accumulation_steps={acc}: discriminator_steps rounded down')
    notes.append(f'train_cfg disc_steps={disc}, gen_steps={gen}, batch_accumulation_steps={acc} '
                 f'-> model.discriminator_steps={max(1, disc // acc)}, generator_steps={gen}'
                 + (f', optim_wrapper.*.accumulative_counts={acc}' if acc > 1 else ''))
    return dict(generator_steps=gen, discriminator_steps=max(1, disc // acc))


def _aux_losses(model: dict, notes: list) -> dict:
    out = {}
    aux = model.pop('disc_auxiliary_loss', None) or []
    for loss in aux if isinstance(aux, (list, tuple)) else [aux]:
        if loss.get('type') == 'GradientPenaltyLoss':
            out.update(gp_norm_mode=loss.get('norm_mode', 'HWC'),
                       gp_loss_weight=loss.get('loss_weight', 10))
            notes.append('GradientPenaltyLoss -> model.loss_config gp_norm_mode/gp_loss_weight')
        else:
            notes.append(f"disc_auxiliary_loss {loss.get('type')!r} not converted: add it to "
                         'model.loss_config.disc_auxiliary_loss by hand')
    if model.pop('gen_auxiliary_loss', None):
        notes.append('gen_auxiliary_loss not converted: add it to '
                     'model.loss_config.gen_auxiliary_loss by hand')
    return out


def _ema_from_hooks(old: dict, notes: list) -> dict | None:
    hooks = old.get('custom_hooks') or []
    for i, hook in enumerate(hooks):
        if hook.get('type') != 'ExponentialMovingAverageHook':
            continue
        del hooks[i]
        # 0.x interpolates ema = m * ema + (1 - m) * param; MMEngine weights the new param by m.
        momentum = (hook.get('interp_cfg') or {}).get('momentum', 0.999)
        ema = dict(type='ExponentialMovingAverage', interval=hook.get('interval', 1),
                   momentum=float(f'{1 - momentum:.12g}'))
        if hook.get('start_iter'):
            ema['start_iter'] = hook['start_iter']
        if hook.get('momentum_policy', 'fixed') != 'fixed':
            notes.append(f"EMA momentum_policy={hook['momentum_policy']!r} not converted "
                         '(fixed momentum used)')
        notes.append(f'ExponentialMovingAverageHook (momentum {momentum}) -> model.ema_config '
                     f"(momentum {ema['momentum']} = 1 - {momentum}, MMEngine's convention)")
        return ema
    return None


def _migrate_edit_model(model: dict, train_cfg: Any, test_cfg: Any, notes: list) -> dict:
    old_type = model.get('type')
    model['type'] = _EDIT_MODELS.get(old_type, old_type)
    if model['type'] != old_type:
        notes.append(f'model.type {old_type!r} -> {model["type"]!r}')
    model.pop('pretrained', None)
    # MMEditing 0.x scaled to [0, 1] in the pipeline (RescaleToZeroOne); 1.x does it here
    model['data_preprocessor'] = dict(type='DataPreprocessor', mean=[0., 0., 0.],
                                      std=[255., 255., 255.])
    model['train_cfg'] = dict(train_cfg or {})
    model['test_cfg'] = {k: v for k, v in (test_cfg or {}).items() if k != 'metrics'}
    return model


# -- 2. evaluation -> val/test_evaluator + CheckpointHook save_best ------------------------------
def _convert_metric(m: dict, sample_model: str | None, notes: list) -> dict:
    mtype = m.get('type')
    if mtype not in _METRICS:
        notes.append(f'metric {mtype!r} kept as it is: check its 1.x arguments')
        return dict(m)
    new_type, stem = _METRICS[mtype][:2]
    n = m.get('num_images', 50000)
    count = f'{n // 1000}k' if n % 1000 == 0 else str(n)
    out = dict(type=new_type, prefix=f'{stem}-{count}' if mtype in ('FID', 'IS', 'PR') else stem,
               fake_nums=n)
    style = (m.get('inception_args') or {}).get('type')
    if style:
        out['inception_style'] = 'PyTorch' if style.lower() == 'pytorch' else style
    # the rest keep their 0.x names in 1.x (PR's k, PPL's space/sampling/crop/epsilon)
    for key in ('inception_pkl', 'image_shape', 'splits', 'resize', 'k', 'space', 'sampling',
                'crop', 'epsilon'):
        if m.get(key) is not None:
            out[key] = m[key]
    if 'use_pil_resize' in m:
        out['use_pillow_resize'] = m['use_pil_resize']
    if sample_model:
        out['sample_model'] = sample_model
    if 'bgr2rgb' in m:
        notes.append(f'{mtype}: bgr2rgb dropped (1.x metrics read the preprocessed images)')
    return out


def _gen_metrics(metrics: Any, sample_model: str | None, notes: list) -> list:
    if isinstance(metrics, dict):  # 0.x: a single metric, or dict(fid50k=dict(...), ...)
        metrics = [metrics] if 'type' in metrics else list(metrics.values())
    return [_convert_metric(m, sample_model, notes) for m in metrics or []]


def _edit_metrics(test_cfg: dict | None) -> list:
    test_cfg = test_cfg or {}
    extra = {k: test_cfg[k] for k in ('crop_border', 'convert_to') if k in test_cfg}
    return [dict(type=name, **extra) for name in test_cfg.get('metrics') or []]


def _checkpoint_hook(old: dict, metrics: list, best: Any) -> dict:
    ckpt = dict(old.pop('checkpoint_config', None) or {})
    hook = dict(type='CheckpointHook', interval=ckpt.pop('interval', 10000),
                by_epoch=ckpt.pop('by_epoch', False), save_optimizer=ckpt.pop('save_optimizer',
                                                                              True))
    hook.update(ckpt)
    by_rule: dict = {'less': [], 'greater': []}
    result_keys = {}
    for m in metrics:
        info = next((v for v in _METRICS.values() if v[0] == m['type']), None)
        if info and 'prefix' in m:
            key = f"{m['prefix']}/{info[2]}"
            by_rule[info[3]].append(key)
            result_keys[info[2]] = (key, info[3])
    if metrics and any(by_rule.values()):
        hook.update(less_keys=by_rule['less'], greater_keys=by_rule['greater'])
    best = [best] if isinstance(best, str) else list(best or [])
    found = [result_keys[b] for b in best if b in result_keys]
    if found:
        hook['save_best'] = [k for k, _ in found] if len(found) > 1 else found[0][0]
        hook['rule'] = [r for _, r in found] if len(found) > 1 else found[0][1]
    return hook


def _migrate_evaluation(old: dict, new: dict, notes: list, is_gan: bool, old_test_cfg: Any
                        ) -> None:
    ev = dict(old.pop('evaluation', None) or {})
    top_metrics = old.pop('metrics', None)
    sample_model = (ev.get('sample_kwargs') or {}).get('sample_model')
    if not is_gan:  # MMEditing: the metric names are in the model's test_cfg
        val = _edit_metrics(old_test_cfg if isinstance(old_test_cfg, dict) else None)
        test = val
        evaluator = 'EditEvaluator'
    else:
        val = _gen_metrics(ev.get('metrics'), sample_model, notes)
        test = _gen_metrics(top_metrics, sample_model, notes) if top_metrics else val
        evaluator = 'GenEvaluator'
    if val:
        new['val_evaluator'] = dict(type=evaluator, metrics=val)
    if test or val:
        new['test_evaluator'] = dict(type=evaluator, metrics=test or val)
    if ev:
        notes.append('evaluation -> val_evaluator/test_evaluator (interval -> '
                     'train_cfg.val_interval, best_metric -> default_hooks.checkpoint.save_best)')
    for key in ('save_image', 'gpu_collect'):
        if key in ev:
            notes.append(f'evaluation.{key} dropped')
    new.setdefault('default_hooks', {})['checkpoint'] = _checkpoint_hook(
        old, test if not val else val + [m for m in test if m not in val], ev.get('best_metric'))


# -- 6 + 9. hooks, visualization, logging --------------------------------------------------------
def _convert_hook(hook: dict, notes: list) -> dict | None:
    htype = hook.get('type')
    if htype in ('VisualizeUnconditionalSamples', 'MMGenVisualizationHook'):
        notes.append(f"custom_hooks {htype} -> GenVisualizationHook (interval "
                     f"{hook.get('interval', 1000)}; samples go to the visualizer's backends, "
                     'output_dir dropped)')
        return dict(type='GenVisualizationHook', interval=hook.get('interval', 1000),
                    fixed_input=True, vis_kwargs_list=dict(type='GAN', name='fake_img'))
    if htype in _DROPPED_HOOKS:
        notes.append(f'custom_hooks {htype} dropped (not needed in 1.x)')
        return None
    notes.append(f'custom_hooks {htype!r} kept as it is: check it exists in genforge')
    return hook


def _migrate_hooks(old: dict, new: dict, notes: list, is_gan: bool) -> None:
    hooks = [h for h in (_convert_hook(h, notes) for h in old.pop('custom_hooks', None) or [])
             if h is not None]
    if hooks:
        new['custom_hooks'] = hooks
    log = dict(old.pop('log_config', None) or {})
    default_hooks = new.setdefault('default_hooks', {})
    default_hooks['timer'] = dict(type='GenIterTimerHook' if is_gan else 'IterTimerHook')
    default_hooks['logger'] = dict(type='LoggerHook', interval=log.get('interval', 100),
                                   log_metric_by_epoch=False)
    backends = [dict(type='GenVisBackend' if is_gan else 'LocalVisBackend')]
    for h in log.get('hooks') or []:
        if h.get('type') == 'TensorboardLoggerHook':
            backends.append(dict(type='TensorboardGenVisBackend' if is_gan
                                 else 'TensorboardVisBackend'))
        elif h.get('type') != 'TextLoggerHook':
            notes.append(f"log_config hook {h.get('type')!r} not converted (genforge writes text "
                         'logs, JSON scalars and optionally TensorBoard)')
    if log:
        notes.append('log_config -> default_hooks.logger (+ vis_backends for TensorBoard)')
    new['vis_backends'] = backends
    new['visualizer'] = dict(type='GenVisualizer' if is_gan else 'Visualizer',
                             vis_backends=copy.deepcopy(backends))
    if old.pop('visual_config', None) is not None:
        notes.append('visual_config dropped: use custom_hooks VisualizationHook')


# -- 3. distributed wrapper ----------------------------------------------------------------------
def _migrate_ddp(old: dict, new: dict, notes: list, is_gan: bool, runner: dict) -> None:
    use_wrapper = old.pop('use_ddp_wrapper', None)
    find_unused = bool(old.pop('find_unused_parameters', False))
    dynamic = bool(runner.get('is_dynamic_ddp', False))
    if is_gan:
        # a dynamic model (0.x is_dynamic_ddp) needs find_unused_parameters in plain DDP
        new['model_wrapper_cfg'] = dict(type='MMSeparateDistributedDataParallel',
                                        broadcast_buffers=False,
                                        find_unused_parameters=find_unused or dynamic)
        notes.append(f'use_ddp_wrapper={use_wrapper}, is_dynamic_ddp={dynamic} -> '
                     'model_wrapper_cfg MMSeparateDistributedDataParallel')
    elif find_unused:
        new['model_wrapper_cfg'] = dict(type='MMDistributedDataParallel',
                                        find_unused_parameters=True)


# -- 9. runtime ----------------------------------------------------------------------------------
def _migrate_runtime(old: dict, new: dict, notes: list) -> None:
    mp_cfg = dict(mp_start_method=old.pop('mp_start_method', 'fork'),
                  opencv_num_threads=old.pop('opencv_num_threads', 0))
    new['env_cfg'] = dict(cudnn_benchmark=old.pop('cudnn_benchmark', False), mp_cfg=mp_cfg,
                          dist_cfg=old.pop('dist_params', None) or dict(backend='nccl'))
    notes.append('dist_params/cudnn_benchmark/mp_start_method -> env_cfg')
    by_epoch = new.get('train_cfg', {}).get('by_epoch', False)
    new['log_processor'] = dict(type='LogProcessor', by_epoch=by_epoch)
    new['log_level'] = old.pop('log_level', 'INFO')
    if old.pop('workflow', None) is not None:
        notes.append('workflow removed (1.x has no workflow)')
    resume_from = old.pop('resume_from', None)
    new['load_from'] = resume_from or old.pop('load_from', None)
    new['resume'] = bool(resume_from)
    old.pop('load_from', None)
    if resume_from:
        notes.append('resume_from -> load_from + resume=True')
    if 'work_dir' in old:
        new['work_dir'] = old.pop('work_dir')
