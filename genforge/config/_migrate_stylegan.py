"""StyleGAN2 / StyleGAN3 (with ADA) section of :mod:`genforge.config.migrate` (MMGeneration 0.x
-> 1.x). StyleGANv1 is progressive and goes through :mod:`._migrate_multiscale`.

0.x spelled the StyleGAN losses as modules of a ``StaticUnconditionalGAN``: ``gan_loss``
(``wgan-logistic-ns``), ``disc_auxiliary_loss=R1GradientPenalty(loss_weight, interval,
norm_mode)`` and ``gen_auxiliary_loss=GeneratorPathRegularizer(loss_weight, interval,
pl_batch_shrink)``. 1.x ``StyleGAN2`` / ``StyleGAN3`` build them in and take the numbers as
``loss_config`` (``r1_loss_weight``, ``r1_interval``, ``norm_mode``, ``g_reg_weight``,
``g_reg_interval``, ``pl_batch_shrink``). ``ADAStyleGAN2Discriminator(data_aug=...)`` keeps its
spelling. MS-PIE's 0.x ``MSPIEStyleGAN2`` (same losses) read its multi-scale schedule from
``train_cfg`` (``num_upblocks``, ``multi_input_scales``, ``multi_scale_probability``); 1.x takes it
as ``model.train_settings``.
"""
from __future__ import annotations

from typing import Any

__all__ = ['STYLEGAN_GENERATORS', 'is_stylegan', 'migrate_stylegan_model']

# 0.x generator -> 1.x algorithm
STYLEGAN_GENERATORS = {'StyleGANv2Generator': 'StyleGAN2', 'StyleGANv3Generator': 'StyleGAN3'}
_MSPIE_KEYS = ('num_upblocks', 'multi_input_scales', 'multi_scale_probability')
_ADA_ARGS = ('type', 'aug_pipeline', 'update_interval', 'augment_initial_p', 'ada_target',
             'ada_kimg')
_PL_DECAY = 0.01  # 1.x's fixed running-mean decay of the path length


def is_stylegan(model: Any) -> bool:
    """A 0.x GAN whose generator is StyleGAN2's or StyleGAN3's, or MS-PIE's StyleGAN2."""
    if not isinstance(model, dict):
        return False
    if model.get('type') == 'MSPIEStyleGAN2':
        return True
    return (model.get('type') == 'StaticUnconditionalGAN'
            and (model.get('generator') or {}).get('type') in STYLEGAN_GENERATORS)


def _as_list(value: Any) -> list:
    if not value:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _r1(aux: Any, notes: list) -> dict:
    """``disc_auxiliary_loss`` R1GradientPenalty -> r1_* keys (0.x defaults: weight 1,
    interval 1, norm_mode 'pixel')."""
    found = [loss for loss in _as_list(aux) if loss.get('type') == 'R1GradientPenalty']
    for loss in _as_list(aux):
        if loss.get('type') != 'R1GradientPenalty':
            notes.append(f"disc_auxiliary_loss {loss.get('type')!r} dropped: 1.x StyleGAN2 "
                         'has R1 only')
    if not found:
        notes.append('no R1GradientPenalty: model.loss_config.r1_loss_weight=0 (1.x would '
                     'otherwise add R1)')
        return dict(r1_loss_weight=0.)
    r1 = found[0]
    out = dict(r1_loss_weight=r1.get('loss_weight', 1.), r1_interval=r1.get('interval', 1),
               norm_mode=r1.get('norm_mode', 'pixel'))
    if r1.get('use_apex_amp'):
        out['r1_use_apex_amp'] = True
    notes.append(f"disc_auxiliary_loss R1GradientPenalty -> model.loss_config r1_loss_weight="
                 f"{out['r1_loss_weight']}, r1_interval={out['r1_interval']}, "
                 f"norm_mode={out['norm_mode']!r}")
    return out


def _path_length(aux: Any, notes: list) -> dict:
    """``gen_auxiliary_loss`` GeneratorPathRegularizer -> g_reg_* keys (0.x defaults: weight
    1, interval 1, pl_batch_shrink 1)."""
    found = [loss for loss in _as_list(aux) if loss.get('type') == 'GeneratorPathRegularizer']
    for loss in _as_list(aux):
        if loss.get('type') != 'GeneratorPathRegularizer':
            notes.append(f"gen_auxiliary_loss {loss.get('type')!r} dropped: 1.x StyleGAN2 has "
                         'the path-length regulariser only')
    if not found:
        notes.append('no GeneratorPathRegularizer: model.loss_config.g_reg_weight=0 (1.x would '
                     'otherwise add path-length regularisation)')
        return dict(g_reg_weight=0.)
    pl = found[0]
    out = dict(g_reg_weight=pl.get('loss_weight', 1.), g_reg_interval=pl.get('interval', 1),
               pl_batch_shrink=pl.get('pl_batch_shrink', 1))
    if pl.get('use_apex_amp'):
        out['g_reg_use_apex_amp'] = True
    if pl.get('decay', _PL_DECAY) != _PL_DECAY:
        notes.append(f"GeneratorPathRegularizer decay={pl['decay']} dropped: 1.x uses "
                     f'{_PL_DECAY}')
    for key in ('pl_batch_size', 'sync_mean_buffer'):
        if pl.get(key):
            notes.append(f'GeneratorPathRegularizer {key}={pl[key]!r} dropped (no 1.x '
                         'equivalent)')
    notes.append(f"gen_auxiliary_loss GeneratorPathRegularizer -> model.loss_config "
                 f"g_reg_weight={out['g_reg_weight']}, g_reg_interval={out['g_reg_interval']}, "
                 f"pl_batch_shrink={out['pl_batch_shrink']}")
    return out


def _discriminator(disc: dict, notes: list) -> dict:
    disc = dict(disc)
    aug = disc.get('data_aug')
    if disc.get('type') == 'ADAStyleGAN2Discriminator' and isinstance(aug, dict):
        aug = dict(aug)
        aug.setdefault('type', 'ADAAug')
        for key in [k for k in aug if k not in _ADA_ARGS]:
            notes.append(f'discriminator.data_aug.{key}={aug.pop(key)!r} dropped (not an ADAAug '
                         'argument in 1.x)')
        disc['data_aug'] = aug
        notes.append('ADAStyleGAN2Discriminator data_aug kept (ADAAug); its p is saved in '
                     'checkpoints')
    return disc


def migrate_stylegan_model(model: dict, train_cfg: dict, old: dict, notes: list) -> dict:
    """The 1.x ``StyleGAN2`` / ``StyleGAN3`` model dict of a 0.x StaticUnconditionalGAN."""
    from .migrate import _ema_from_hooks, _steps_from_train_cfg
    model = dict(model)
    old_type = model.pop('type')
    generator = model.pop('generator')
    algo = old_type if old_type == 'MSPIEStyleGAN2' else STYLEGAN_GENERATORS[generator['type']]
    new: dict[str, Any] = dict(type=algo, data_preprocessor=dict(type='DataPreprocessor'),
                               generator=generator)
    if old_type == 'MSPIEStyleGAN2':
        new['train_settings'] = {k: train_cfg[k] for k in _MSPIE_KEYS if k in train_cfg}
        notes.append(f"train_cfg {', '.join(new['train_settings'])} -> model.train_settings")
    else:
        notes.append(f"model.type 'StaticUnconditionalGAN' -> {algo!r} (from the generator type)")
    new['discriminator'] = _discriminator(model.pop('discriminator'), notes)
    gan_type = (model.pop('gan_loss', None) or {}).get('gan_type', 'wgan-logistic-ns')
    if gan_type != 'wgan-logistic-ns':
        notes.append(f'model.gan_loss gan_type={gan_type!r} dropped: 1.x {algo} always uses '
                     'the non-saturating logistic loss')
    steps = _steps_from_train_cfg(train_cfg, notes)
    if steps != dict(generator_steps=1, discriminator_steps=1):
        new.update(steps)
    new['loss_config'] = {**_r1(model.pop('disc_auxiliary_loss', None), notes),
                          **_path_length(model.pop('gen_auxiliary_loss', None), notes)}
    ema = _ema_from_hooks(old, notes)
    if ema:
        new['ema_config'] = ema
    elif train_cfg.get('use_ema'):
        new['ema_config'] = dict(type='ExponentialMovingAverage')
        notes.append('train_cfg.use_ema=True without an EMA hook -> model.ema_config '
                     "ExponentialMovingAverage (MMEngine's default momentum)")
    for key in model:
        notes.append(f'model.{key} dropped (no 1.x {algo} argument)')
    return new
