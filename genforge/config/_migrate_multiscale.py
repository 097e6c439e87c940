"""PGGAN, StyleGANv1 and SinGAN sections of :mod:`genforge.config.migrate` (MMGeneration 0.x
-> 1.x).

In 0.x their schedules lived in ``train_cfg`` (``nkimgs_per_scale``, ``optimizer_cfg`` and
per-scale learning rates; ``noise_weight_init``, ``iters_per_scale``, ``lr_g``/``lr_d``) and
their losses were configured; 1.x makes them model arguments and fixes the losses. StyleGANv1
grows progressively like PGGAN (0.x type ``StyleGANV1``).
"""
from __future__ import annotations

import copy
from typing import Any

__all__ = ['MULTISCALE_TYPES', 'migrate_multiscale_model', 'finish_multiscale']

_STYLEGANV1_TYPES = ('StyleGANV1', 'StyleGANv1', 'StyleGAN1')
MULTISCALE_TYPES = ('ProgressiveGrowingGAN', 'PGGAN', 'SinGAN', 'PESinGAN', *_STYLEGANV1_TYPES)
_BUILT_IN_LOSS = {
    'ProgressiveGrowingGAN': 'WGAN + gradient penalty 10 + drift 0.001',
    'StyleGANv1': 'non-saturating D loss + R1 10 on real images, G loss -D(G(z))',
    'SinGAN': 'WGAN + gradient penalty 0.1 + 10 * MSE reconstruction'}
_PGGAN_MODEL_KEYS = ('nkimgs_per_scale', 'transition_kimgs', 'prev_stage', 'interp_real')
_SINGAN_MODEL_KEYS = ('noise_weight_init', 'iters_per_scale', 'lr_scheduler_args',
                      'fixed_noise_with_pad', 'first_fixed_noises_ch')


def _is_pggan(model_type: str) -> bool:
    """PGGAN's progressive schedule (PGGAN itself and StyleGANv1)."""
    return model_type in ('ProgressiveGrowingGAN', 'PGGAN', *_STYLEGANV1_TYPES)


def _new_type(model_type: str) -> str:
    if model_type in _STYLEGANV1_TYPES:
        return 'StyleGANv1'
    return 'ProgressiveGrowingGAN' if model_type == 'PGGAN' else model_type


def migrate_multiscale_model(model: dict, train_cfg: dict, test_cfg: Any, old: dict,
                             notes: list) -> dict:
    """The 1.x model dict of a 0.x ProgressiveGrowingGAN / SinGAN / PESinGAN config."""
    from .migrate import _ema_from_hooks
    model = dict(model)
    mtype = model.pop('type')
    new: dict[str, Any] = dict(type=_new_type(mtype))
    new['generator'] = model.pop('generator')
    new['discriminator'] = model.pop('discriminator')
    dropped = [k for k in ('gan_loss', 'disc_auxiliary_loss', 'gen_auxiliary_loss')
               if model.pop(k, None) is not None]
    if dropped:
        built_in = _BUILT_IN_LOSS.get(new['type'], _BUILT_IN_LOSS['SinGAN'])
        notes.append(f'model {", ".join(dropped)} dropped: 1.x {new["type"]} has its loss '
                     f'built in ({built_in})')
    if _is_pggan(mtype):
        new['data_preprocessor'] = dict(type='DataPreprocessor')
        if new['type'] == 'StyleGANv1':
            new['style_channels'] = new['generator'].get('style_channels', 512)
        else:
            new['noise_size'] = new['generator'].get('noise_size', 512)
        new.update({k: train_cfg[k] for k in _PGGAN_MODEL_KEYS if k in train_cfg})
        ema = _ema_from_hooks(old, notes)
        if ema or train_cfg.get('use_ema'):
            new['ema_config'] = ema or dict(interval=1)
    else:
        new['data_preprocessor'] = dict(type='DataPreprocessor', non_image_keys=['input_sample'])
        new['num_scales'] = new['generator'].get('num_scales')
        new['generator_steps'] = train_cfg.get('generator_steps', 1)
        new['discriminator_steps'] = train_cfg.get('disc_steps', 1)
        new.update({k: train_cfg[k] for k in _SINGAN_MODEL_KEYS if k in train_cfg})
        new['test_pkl_data'] = (test_cfg or {}).get('pkl_data')
    new.update(model)  # anything else the 0.x model had (e.g. PESinGAN arguments)
    notes.append(f'model {mtype} + train_cfg schedule -> 1.x {new["type"]} arguments')
    return new


def finish_multiscale(model_type: str, train_cfg: dict, new: dict, notes: list) -> None:
    """Optimizers, dataset and hooks of the migrated config (after the generic sections)."""
    if _is_pggan(model_type):
        _finish_pggan(train_cfg, new, notes)
    else:
        _finish_singan(train_cfg, new, notes)


def _finish_pggan(train_cfg: dict, new: dict, notes: list) -> None:
    opts = copy.deepcopy(train_cfg.get('optimizer_cfg') or {})
    wrapper: dict[str, Any] = dict(constructor='PGGANOptimWrapperConstructor')
    for name, short in (('generator', 'g'), ('discriminator', 'd')):
        opt = opts.get(name, dict(type='Adam', lr=0.001, betas=(0., 0.99)))
        if f'{short}_lr_base' in train_cfg:
            opt['lr'] = train_cfg[f'{short}_lr_base']
        wrapper[name] = dict(optimizer=opt)
    wrapper['lr_schedule'] = dict(generator=dict(train_cfg.get('g_lr_schedule') or {}),
                                  discriminator=dict(train_cfg.get('d_lr_schedule') or {}))
    new['optim_wrapper'] = wrapper
    notes.append('train_cfg optimizer_cfg / g_lr_base / g_lr_schedule (d_*) -> optim_wrapper '
                 'with PGGANOptimWrapperConstructor (a fresh optimizer per scale)')
    dataset = (new.get('train_dataloader') or {}).get('dataset') or {}
    if 'imgs_roots' in dataset:
        dataset['data_roots'] = dataset.pop('imgs_roots')
    hooks = [h for h in new.get('custom_hooks', []) if h.get('type') != 'PGGANFetchDataHook']
    new['custom_hooks'] = hooks + [dict(type='PGGANFetchDataHook')]
    # the generic hook section drops it (other 0.x GANs do not need it); PGGAN does
    notes[:] = [n for n in notes if not n.startswith('custom_hooks PGGANFetchDataHook dropped')]
    notes.append('GrowScaleImgDataset imgs_roots -> data_roots; PGGANFetchDataHook kept (it '
                 'switches the dataloader per scale)')


def _finish_singan(train_cfg: dict, new: dict, notes: list) -> None:
    model = new.get('model') or {}
    betas = (0.5, 0.999)  # MMGeneration 0.x SinGAN's Adam
    new['optim_wrapper'] = dict(
        constructor='SinGANOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='Adam', lr=train_cfg.get('lr_g', 0.0005),
                                      betas=betas)),
        discriminator=dict(optimizer=dict(type='Adam', lr=train_cfg.get('lr_d', 0.0005),
                                          betas=betas)))
    notes.append('train_cfg lr_g / lr_d -> optim_wrapper with SinGANOptimWrapperConstructor '
                 '(one Adam per pyramid level)')
    loader = new.get('train_dataloader')
    if loader:
        dataset = loader['dataset']
        if 'img_path' in dataset:
            dataset['data_root'] = dataset.pop('img_path')
        levels = (model.get('num_scales') or 0) + 1
        dataset.setdefault('pipeline', [dict(
            type='PackInputs', keys=[f'real_scale{i}' for i in range(levels)] + ['input_sample'])])
        loader.update(batch_size=1, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False))
    steps = model.get('discriminator_steps', 1)
    max_iters = (new.get('train_cfg') or {}).get('max_iters')
    if max_iters is not None and steps > 1:
        # a 0.x iteration ran all disc_steps discriminator updates; a 1.x iteration runs one
        new['train_cfg']['max_iters'] = max_iters * steps
        notes.append(f'total_iters={max_iters} -> max_iters={max_iters * steps} (1.x counts '
                     f'each of the disc_steps={steps} discriminator updates as an iteration)')
    for split in ('val', 'test'):
        new.pop(f'{split}_dataloader', None)
        new[f'{split}_cfg'] = new[f'{split}_evaluator'] = None
    notes.append('SinGAN has no validation/test loop (sample with genforge sample)')
