"""genforge StyleGAN2 checkpoints -> rosinality stylegan2-pytorch ``.pt`` files
(``genforge export CKPT --format rosinality``).

The file holds what rosinality's ``generate.py`` and ``train.py --ckpt`` read: ``g_ema`` (the EMA
generator; the generator itself when the checkpoint has no EMA), ``g``, ``d`` (when the checkpoint
has a discriminator) and ``latent_avg`` (the truncation centre: the generator's tracked ``w_avg``,
else the mean w of 4096 z drawn with seed 0), in rosinality's names. ``genforge`` reads it back
(``load_weights``) to the same function.

Only networks whose function rosinality's ``Generator``/``Discriminator`` compute are written:
conditional networks, other blur kernels, BGR outputs and other minibatch-stddev settings are
refused. A mapping ``lr_mlp`` other than rosinality's default 0.01 is folded into the weights
(exact). Shapes that rosinality's stock code cannot build (channels capped below 512, a z size
other than ``style_dim``, other than 3 image channels) are written and reported as notes:
genforge reads them, rosinality's ``model.py`` needs its ``channels`` table edited.
"""
from __future__ import annotations

from typing import Any

import torch

from genforge.interop.rosinality import discriminator_config, generator_config, genforge_to_rosinality

__all__ = ['to_rosinality_generator', 'to_rosinality_discriminator', 'export_rosinality',
           'gan_parts_from_checkpoint']

ROSINALITY_LR_MLP = 0.01   # rosinality's Generator(lr_mlp=0.01): what its files assume
_G_TYPES = ('StyleGAN2Generator', 'StyleGANv2Generator')
_D_TYPES = ('StyleGAN2Discriminator', 'StyleGANv2Discriminator')


def _refuse(where: str, key: str, value: Any, why: str) -> None:
    raise ValueError(f'{where}.{key}={value!r}: {why}; rosinality\'s StyleGAN2 cannot compute '
                     f'this network, so it is not exported')


def _stock_notes(cfg: dict, where: str) -> list[str]:
    """What rosinality's unedited ``model.py`` cannot build (genforge reads the file anyway)."""
    notes = []
    if cfg.get('channel_base') is not None:
        notes.append(f'{where}.channel_base={cfg["channel_base"]}: NVlabs\' channel rule; '
                     f'rosinality\'s channels table may not express it')
    elif cfg.get('max_channels', 512) != 512:
        notes.append(f'{where}.max_channels={cfg["max_channels"]}: rosinality\'s channels table '
                     f'starts at 512')
    for key in ('out_channels', 'img_channels'):
        if cfg.get(key, 3) != 3:
            notes.append(f'{where}.{key}={cfg[key]}: rosinality\'s networks have 3 channels')
    if cfg.get('noise_size') not in (None, cfg.get('style_channels')):
        notes.append(f'{where}.noise_size={cfg["noise_size"]}: rosinality\'s z size is style_dim')
    if cfg.get('conv_clamp') is not None:
        notes.append(f'{where}.conv_clamp={cfg["conv_clamp"]}: rosinality does not clamp; outputs '
                     f'differ where a layer exceeds it')
    return notes


def to_rosinality_generator(cfg: dict, sd: dict[str, torch.Tensor], where: str = 'generator'
                            ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``(state dict in rosinality's Generator names, notes)`` for a genforge StyleGAN2 G."""
    if cfg.get('type') not in _G_TYPES:
        raise ValueError(f'{where}.type={cfg.get("type")!r}: --format rosinality writes '
                         f'{_G_TYPES[0]} (StyleGAN2 config-e/f)')
    if cfg.get('cond_size'):
        _refuse(where, 'cond_size', cfg['cond_size'], 'rosinality\'s Generator is unconditional')
    if list(cfg.get('blur_kernel', [1, 3, 3, 1])) != [1, 3, 3, 1]:
        _refuse(where, 'blur_kernel', cfg['blur_kernel'], 'rosinality uses [1, 3, 3, 1]')
    if cfg.get('bgr2rgb', False):
        _refuse(where, 'bgr2rgb', True, 'rosinality\'s images are RGB')
    out = {k: v.detach().float().clone() for k, v in sd.items()}
    lr_mlp = float(cfg.get('lr_mlp', 0.01))
    if lr_mlp != ROSINALITY_LR_MLP:
        # mapping layer: x @ (W * lr / sqrt(in)).T + b * lr; rosinality multiplies by 0.01
        for key in out:
            if key.startswith('style_mapping.'):
                out[key] = out[key] * (lr_mlp / ROSINALITY_LR_MLP)
    return genforge_to_rosinality(out, 'G'), _stock_notes(cfg, where)


def to_rosinality_discriminator(cfg: dict, sd: dict[str, torch.Tensor],
                                where: str = 'discriminator'
                                ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """``(state dict in rosinality's Discriminator names, notes)`` for a genforge StyleGAN2 D."""
    if cfg.get('type') not in _D_TYPES:
        raise ValueError(f'{where}.type={cfg.get("type")!r}: --format rosinality writes '
                         f'{_D_TYPES[0]}')
    if cfg.get('cond_size'):
        _refuse(where, 'cond_size', cfg['cond_size'], 'rosinality\'s Discriminator is '
                                                      'unconditional')
    mbstd = {'group_size': 4, 'channel_groups': 1, **(cfg.get('mbstd_cfg') or {})}
    if (mbstd['group_size'], mbstd['channel_groups']) != (4, 1):
        _refuse(where, 'mbstd_cfg', cfg['mbstd_cfg'], 'rosinality groups 4 samples, 1 feature')
    if list(cfg.get('blur_kernel', [1, 3, 3, 1])) != [1, 3, 3, 1]:
        _refuse(where, 'blur_kernel', cfg['blur_kernel'], 'rosinality uses [1, 3, 3, 1]')
    if cfg.get('input_bgr2rgb', False):
        _refuse(where, 'input_bgr2rgb', True, 'rosinality\'s images are RGB')
    sd = {k: v.detach().float().clone() for k, v in sd.items()}
    return genforge_to_rosinality(sd, 'D'), _stock_notes(cfg, where)


def _sub(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def gan_parts_from_checkpoint(checkpoint: dict, source: str = 'checkpoint') -> dict[str, Any]:
    """``{'model': config or None, 'generator', 'generator_ema', 'discriminator'}`` (state dicts
    or None) of a genforge / MMagic GAN checkpoint."""
    from genforge.interop.export_sr import _config_model
    state = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    model = _config_model(text) if isinstance(text, str) and text.strip() else None
    parts = dict(model=model, generator=_sub(state, 'generator.') or None,
                 generator_ema=_sub(state, 'generator_ema.module.') or None,
                 discriminator=_sub(state, 'discriminator.') or None)
    if parts['generator'] is None and parts['generator_ema'] is None:
        raise ValueError(f'{source}: no generator.* or generator_ema.module.* weights (top-level '
                         f'keys: {sorted({str(k).split(".")[0] for k in state})[:6]}); --format '
                         f'rosinality exports StyleGAN2 models')
    return parts


def _configs(parts: dict, source: str) -> tuple[dict, dict | None, list[str]]:
    """Generator and discriminator configs: from ``meta['cfg']``, else from the tensors."""
    model = parts['model'] or {}
    g_cfg, d_cfg, notes = model.get('generator'), model.get('discriminator'), []
    gen = parts['generator_ema'] or parts['generator']
    if not isinstance(g_cfg, dict):
        g_cfg = generator_config(genforge_to_rosinality(gen, 'G'), what=f'{source} generator')
        notes.append('no config in the checkpoint: the architecture was read from the tensors '
                     '(lr_mlp assumed 0.01)')
    if parts['discriminator'] is not None and not isinstance(d_cfg, dict):
        d_cfg = discriminator_config(genforge_to_rosinality(parts['discriminator'], 'D'),
                                     what=f'{source} discriminator')
    return g_cfg, d_cfg, notes


def _latent_avg(g_cfg: dict, sd: dict) -> tuple[torch.Tensor, str]:
    """The truncation centre: the tracked ``w_avg``, else the mean w of 4096 seeded z."""
    if 'w_avg' in sd:
        return sd['w_avg'].detach().float().reshape(-1).clone(), 'w_avg'
    from genforge.registry import MODELS
    net = MODELS.build({**g_cfg, 'pretrained': None}).eval()
    net.load_state_dict(sd, strict=True)
    z = torch.randn(4096, net.noise_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        w = net.style_mapping(z).mean(0)
    return w, 'the mean w of 4096 z (seed 0)'


def export_rosinality(checkpoint: dict, out: str, source: str = 'checkpoint') -> dict[str, Any]:
    """Write ``out`` as a rosinality ``.pt``; return ``{'parts', 'args', 'latent_avg', 'notes'}``
    (``args``: the ``Generator(size, style_dim, n_mlp, channel_multiplier)`` arguments)."""
    from genforge.checkpoint import save_checkpoint
    parts = gan_parts_from_checkpoint(checkpoint, source)
    g_cfg, d_cfg, notes = _configs(parts, source)
    ema = parts['generator_ema'] or parts['generator']
    payload: dict[str, Any] = {}
    payload['g_ema'], g_notes = to_rosinality_generator(g_cfg, ema, 'model.generator')
    notes += g_notes
    if parts['generator'] is not None:
        payload['g'] = to_rosinality_generator(g_cfg, parts['generator'], 'model.generator')[0]
    if parts['generator_ema'] is None:
        notes.append('no EMA generator in the checkpoint: g_ema is the generator')
    if parts['discriminator'] is not None:
        payload['d'], d_notes = to_rosinality_discriminator(d_cfg, parts['discriminator'],
                                                            'model.discriminator')
        notes += d_notes
    payload['latent_avg'], avg_from = _latent_avg(g_cfg, ema)
    save_checkpoint(payload, out)
    args = dict(size=g_cfg['out_size'], style_dim=g_cfg['style_channels'],
                n_mlp=g_cfg.get('num_mlps', 8),
                channel_multiplier=g_cfg.get('channel_multiplier', 2))
    return dict(parts=[k for k in ('g_ema', 'g', 'd') if k in payload], args=args,
                latent_avg=avg_from, notes=notes)
