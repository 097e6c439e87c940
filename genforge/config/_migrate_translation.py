"""Translation models (Pix2Pix, CycleGAN) in :mod:`genforge.config.migrate` (0.x -> 1.x).

0.x spellings handled: MMGeneration 0.x (``gan_loss`` + ``gen_auxiliary_loss`` L1 terms named
``pixel_loss`` / ``cycle_loss`` / ``id_loss``, ``train_cfg.buffer_size``, ``PairedImageDataset``
/ ``UnpairedImageDataset`` with ``dataroot``/``testdir``, ``TranslationEvalHook``) and MMEditing
0.x (``pixel_loss`` / ``cycle_loss`` / ``id_loss`` dicts on the model, ``train_cfg.direction``,
``GenerationPairedDataset`` / ``GenerationUnpairedDataset``, domains ``a`` / ``b``).
"""
from __future__ import annotations

from typing import Any

__all__ = ['TRANSLATION_TYPES', 'is_translation', 'migrate_translation_model',
           'finish_translation']

TRANSLATION_TYPES = ('Pix2Pix', 'CycleGAN')
_DATASETS = {'PairedImageDataset': 'PairedImageDataset',
             'GenerationPairedDataset': 'PairedImageDataset',
             'UnpairedImageDataset': 'UnpairedImageDataset',
             'GenerationUnpairedDataset': 'UnpairedImageDataset'}
_TRANS_METRICS = {'FrechetInceptionDistance': 'TransFID', 'InceptionScore': 'TransIS'}


def is_translation(model: Any) -> bool:
    return isinstance(model, dict) and model.get('type') in TRANSLATION_TYPES


def _loss_weights(model: dict) -> dict[str, float]:
    """name -> weight of the L1 terms, from MMEditing dicts or MMGeneration auxiliary losses."""
    out = {name: model.pop(name).get('loss_weight', 1.0)
           for name in ('pixel_loss', 'cycle_loss', 'id_loss') if isinstance(model.get(name), dict)}
    aux = model.pop('gen_auxiliary_loss', None) or []
    for loss in aux if isinstance(aux, (list, tuple)) else [aux]:
        name = loss.get('loss_name', 'pixel_loss')
        out[name] = loss.get('loss_weight', 1.0)
    return out


def _domains(model: dict, train_cfg: dict, algo: str, notes: list) -> dict:
    if model.get('default_domain'):
        return {k: model.pop(k) for k in ('default_domain', 'reachable_domains',
                                          'related_domains') if k in model}
    # MMEditing 0.x: domains 'a'/'b', train_cfg.direction says which way Pix2Pix translates
    direction = train_cfg.get('direction', 'a2b')
    source, target = ('b', 'a') if direction == 'b2a' else ('a', 'b')
    notes.append(f"train_cfg.direction={direction!r} -> default_domain={target!r} (domains 'a' "
                 "and 'b', the keys img_a / img_b of MMEditing's pipelines)")
    for k in ('default_domain', 'reachable_domains', 'related_domains'):
        model.pop(k, None)
    reachable = [target] if algo == 'Pix2Pix' else ['a', 'b']
    return dict(default_domain=target, reachable_domains=reachable,
                related_domains=[target, source] if algo == 'Pix2Pix' else ['a', 'b'])


def migrate_translation_model(model: dict, train_cfg: dict, notes: list) -> dict:
    """0.x Pix2Pix / CycleGAN model dict -> the 1.x (MMagic) one."""
    algo = model.pop('type')
    gan_loss = model.pop('gan_loss', None) or {}
    own = 'vanilla' if algo == 'Pix2Pix' else 'lsgan'
    if gan_loss.get('gan_type', own) != own:
        notes.append(f"model.gan_loss gan_type={gan_loss['gan_type']!r} dropped: 1.x {algo} "
                     f'always uses {own!r}')
    new = dict(type=algo, data_preprocessor=dict(type='DataPreprocessor'),
               generator=model.pop('generator'), discriminator=model.pop('discriminator', None))
    new.update(_domains(model, train_cfg, algo, notes))
    weights = _loss_weights(model)
    if algo == 'Pix2Pix':
        new['loss_config'] = dict(pixel_loss_weight=weights.get('pixel_loss', 100.0))
    else:
        new['loss_config'] = dict(cycle_loss_weight=weights.get('cycle_loss', 10.0),
                                  id_loss_weight=weights.get('id_loss', 0.))
        new['buffer_size'] = train_cfg.get('buffer_size', 50)
    notes.append(f"{algo} losses -> model.loss_config={new['loss_config']}")
    for src, dst in (('disc_steps', 'discriminator_steps'), ('disc_init_steps',
                                                            'disc_init_steps')):
        if src in train_cfg:
            new[dst] = train_cfg[src]
    for key in model:
        if key not in ('pretrained', 'train_cfg', 'test_cfg'):
            notes.append(f'model.{key} dropped (no 1.x {algo} argument)')
    return new


def _fix_dataset(ds: dict, keys: list[str], notes: list) -> None:
    old = ds.get('type')
    ds['type'] = _DATASETS.get(old, old)
    if 'dataroot' in ds:
        ds['data_root'] = ds.pop('dataroot')
    if 'testdir' in ds:
        ds['test_dir'] = ds.pop('testdir')
    if ds['type'] == 'UnpairedImageDataset':
        ds.pop('test_dir', None)
        # MMEditing 0.x named the trainA / trainB images img_a / img_b
        ds.setdefault('domain_a', 'a')
        ds.setdefault('domain_b', 'b')
    for t in ds.get('pipeline') or []:
        t.pop('io_backend', None)
        if 'flag' in t:
            t['color_type'] = t.pop('flag')
        if t.get('type') == 'LoadPairedImageFromFile':
            t.setdefault('domain_a', 'a')
            t.setdefault('domain_b', 'b')
        if t.get('type') == 'PackGenInputs':
            # 1.x translation models read inputs['img_<domain>'] and data_samples.img_<domain>
            t.clear()
            t.update(type='PackInputs', keys=list(keys), data_keys=list(keys))
    note = f'{old} (dataroot, testdir) -> {ds["type"]} (data_root, test_dir)'
    if note not in notes:
        notes.append(note)


def finish_translation(new: dict, notes: list) -> None:
    """Translation-specific fixes after the generic migration of data, optimizer, metrics."""
    model = new['model']
    keys = [f'img_{d}' for d in model['related_domains']]
    model['data_preprocessor']['data_keys'] = keys
    for split in ('train', 'val', 'test'):
        loader = new.get(f'{split}_dataloader')
        if loader:
            _fix_dataset(loader['dataset'], keys, notes)
            if split != 'train':
                loader['dataset']['test_mode'] = True
    if 'optim_wrapper' in new:
        new['optim_wrapper']['constructor'] = 'MultiOptimWrapperConstructor'
    target = model['default_domain']
    for ev in ('val_evaluator', 'test_evaluator'):
        for m in (new.get(ev) or {}).get('metrics', []):
            if m.get('type') in _TRANS_METRICS:
                m['type'] = _TRANS_METRICS[m['type']]
                m['fake_key'] = f'fake_{target}'
                if m['type'] == 'TransFID':
                    m['real_key'] = f'img_{target}'
                m.pop('image_shape', None)
                m['sample_model'] = 'orig'
    for hook in new.get('custom_hooks') or []:
        if hook.get('type') == 'GenVisualizationHook':
            hook['vis_kwargs_list'] = [dict(type='Translation', name='trans'),
                                       dict(type='TranslationVal', name='trans_val')]
    notes.append(f'translation: img_<domain> keys {keys} packed by PackInputs and normalised by '
                 f'the data preprocessor; FID/IS -> TransFID/TransIS on fake_{target}')
