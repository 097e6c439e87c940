"""genforge StyleGAN2 / StyleGAN3 checkpoints -> NVlabs-named state dicts
(``genforge export CKPT --format nvlabs-state-dict``).

The file is ``torch.save`` of plain containers (it loads with ``torch.load(weights_only=True)``)::

    {'format': 'nvlabs-state-dict',
     'G_ema': state_dict, 'G': state_dict, 'D': state_dict,      # NVlabs' parameter names
     'init_kwargs': {'G_ema': {...}, 'G': {...}, 'D': {...}},      # NVlabs' constructor kwargs
     'class_names': {'G': 'training.networks.Generator', ...}}

so NVlabs' code builds each network with ``dnnlib.util.construct_class_by_name(
class_name=..., **init_kwargs[part])`` and loads ``load_state_dict(sd)``; ``genforge
import-weights`` / ``load_weights`` read it back to the same function.

Only networks NVlabs' classes can compute are written: StyleGANv2Generator (skip architecture;
channels that follow NVlabs' ``min(channel_base // res, channel_max)`` rule, which MMagic's
``channel_multiplier`` rule does for ``max_channels`` <= 512), StyleGANv3Generator and
StyleGAN2Discriminator (resnet). genforge's output/input channel flips (``bgr2rgb``,
``rgb2bgr``, ``input_bgr2rgb``) are folded into the toRGB / fromRGB weights. A generator without
a ``w_avg`` buffer (MMagic's layout) gets the mean of 10,000 mapped latents (seed 0) as NVlabs'
truncation centre.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from genforge.interop import nvlabs_layout as L

__all__ = ['generator_to_nvlabs', 'discriminator_to_nvlabs', 'export_nvlabs_state_dict',
           'gan_from_checkpoint']

_SG2_G = ('StyleGANv2Generator', 'StyleGAN2Generator')
_SG3_G = ('StyleGANv3Generator', 'StyleGAN3Generator')
_SG2_D = ('StyleGAN2Discriminator', 'StyleGANv2Discriminator', 'ADAStyleGAN2Discriminator')


def _build(cfg: dict, sd: dict) -> torch.nn.Module:
    import genforge.models  # noqa: F401
    from genforge.registry import MODELS
    net = MODELS.build(dict(cfg))
    net.load_state_dict(sd, strict=True)
    return net.float().eval()


def _nvlabs_channels(cfg: dict, size: int, where: str, low: int) -> tuple[int, int]:
    """``(channel_base, channel_max)`` reproducing the genforge network's channels."""
    from genforge.models.archs.stylegan2 import stylegan2_channels
    mult, cmax = cfg.get('channel_multiplier', 2), cfg.get('max_channels', 512)
    have = stylegan2_channels(mult, cmax, cfg.get('channel_base'))
    base = int(cfg['channel_base']) if cfg.get('channel_base') is not None else 16384 * mult
    cmax = min(cmax, 512) if cfg.get('channel_base') is None else cmax
    res = [2 ** i for i in range(low, int(math.log2(size)) + 1)]
    if any(min(base // r, cmax) != have[r] for r in res):
        raise ValueError(f'{where}: its channels per resolution {[have[r] for r in res]} follow '
                         f'no NVlabs min(channel_base // res, channel_max) rule; it cannot be '
                         f'written for NVlabs\' networks')
    return base, cmax


def _mean_w(cfg: dict, sd: dict, num: int = 10000) -> torch.Tensor:
    net = _build(cfg, sd)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(num, net.noise_size, generator=g)
    with torch.no_grad():
        return net._map_styles([z], None)[0].mean(0)


def generator_to_nvlabs(cfg: dict, sd: dict, where: str = 'model.generator'
                        ) -> tuple[str, dict, dict]:
    """``(NVlabs class name, init kwargs, NVlabs state dict)`` of a genforge generator."""
    kind = cfg.get('type')
    sd = {k: v.detach().float().cpu() for k, v in sd.items()}
    if kind in _SG3_G:
        return _sg3_to_nvlabs(cfg, sd, where)
    if kind not in _SG2_G:
        raise ValueError(f'{where}.type={kind!r}: --format nvlabs-state-dict writes '
                         f'StyleGANv2Generator and StyleGANv3Generator generators')
    size = cfg['out_size']
    base, cmax = _nvlabs_channels(cfg, size, where, 2)
    cond = cfg.get('cond_size') or 0
    style = cfg['style_channels']
    full = dict(cfg)
    full.setdefault('num_mlps', 8)
    names = L.sg2_generator_names(full, use_noise=True)
    if 'w_avg' not in sd:
        sd['w_avg'] = _mean_w(cfg, sd)
    out = L.to_nvlabs(sd, names)
    if cfg.get('bgr2rgb'):  # genforge flips the output channels: flip every toRGB instead
        for key in [k for k in out if '.torgb.' in k and not k.endswith(('affine.weight',
                                                                         'affine.bias'))]:
            out[key] = out[key].flip(0)
    out.update(L.sg2_generator_filters(full))
    mapping = dict(num_layers=full['num_mlps'], lr_multiplier=float(cfg.get('lr_mlp', 0.01)),
                   w_avg_beta=float(cfg.get('w_avg_beta', 0.998)))
    if cond:
        mapping['embed_features'] = cfg.get('cond_mapping_channels') or style
    synthesis = dict(channel_base=base, channel_max=cmax, num_fp16_res=0,
                     conv_clamp=cfg.get('conv_clamp'), architecture='skip',
                     resample_filter=list(cfg.get('blur_kernel', L.NVLABS_FILTER)))
    kwargs = dict(z_dim=cfg.get('noise_size') or style, c_dim=cond, w_dim=style,
                  img_resolution=size, img_channels=cfg.get('out_channels', 3),
                  mapping_kwargs=mapping, synthesis_kwargs=synthesis)
    return 'training.networks.Generator', kwargs, out


def _sg3_to_nvlabs(cfg: dict, sd: dict, where: str) -> tuple[str, dict, dict]:
    syn = {k: v for k, v in (cfg.get('synthesis_cfg') or {}).items() if k != 'type'}
    mapping_cfg = cfg.get('mapping_cfg') or {}
    if mapping_cfg.get('w_avg_beta', 0.998) is None:
        raise ValueError(f'{where}.mapping_cfg.w_avg_beta=None: NVlabs\' StyleGAN3 mapping '
                         f'always tracks w_avg')
    out = {('mapping.' + k[len('style_mapping.'):] if k.startswith('style_mapping.') else k): v
           for k, v in sd.items()}
    if cfg.get('rgb2bgr'):
        last = max((k for k in out if k.startswith('synthesis.L') and k.endswith('.weight')),
                   key=lambda k: int(k.split('.')[1].split('_')[0][1:]))
        prefix = last[:-len('.weight')]
        out[f'{prefix}.weight'] = out[f'{prefix}.weight'].flip(0)
        out[f'{prefix}.bias'] = out[f'{prefix}.bias'].flip(0)
    mapping = dict(num_layers=mapping_cfg.get('num_layers', 2),
                   lr_multiplier=float(mapping_cfg.get('lr_multiplier', 0.01)),
                   w_avg_beta=float(mapping_cfg.get('w_avg_beta', 0.998)))
    kwargs = dict(z_dim=cfg.get('noise_size', 512), c_dim=mapping_cfg.get('cond_size') or 0,
                  w_dim=cfg['style_channels'], img_resolution=cfg['out_size'],
                  img_channels=cfg['img_channels'], mapping_kwargs=mapping, **syn)
    return 'training.networks_stylegan3.Generator', kwargs, out


def discriminator_to_nvlabs(cfg: dict, sd: dict, where: str = 'model.discriminator'
                            ) -> tuple[str, dict, dict]:
    """``(NVlabs class name, init kwargs, NVlabs state dict)`` of a genforge discriminator."""
    kind = cfg.get('type')
    if kind not in _SG2_D:
        raise ValueError(f'{where}.type={kind!r}: --format nvlabs-state-dict writes '
                         f'StyleGAN2Discriminator discriminators')
    sd = {k: v.detach().float().cpu() for k, v in sd.items() if not k.startswith('ada_aug.')}
    size = cfg['in_size']
    base, cmax = _nvlabs_channels(cfg, size, where, 2)
    mbstd = dict(dict(group_size=4, channel_groups=1), **(cfg.get('mbstd_cfg') or {}))
    cond = cfg.get('cond_size') or 0
    full = dict(cfg)
    if cond:
        full['cond_mapping_layers'] = cfg.get('cond_mapping_layers') or 8
    out = L.to_nvlabs(sd, L.sg2_discriminator_names(full))
    if cfg.get('input_bgr2rgb'):  # genforge flips the input channels: flip fromRGB instead
        key = f'b{size}.fromrgb.weight'
        out[key] = out[key].flip(1)
    out.update(L.sg2_discriminator_filters(full))
    kwargs = dict(c_dim=cond, img_resolution=size, img_channels=cfg.get('img_channels', 3),
                  architecture='resnet', channel_base=base, channel_max=cmax, num_fp16_res=0,
                  conv_clamp=cfg.get('conv_clamp'), cmap_dim=(
                      cfg.get('cond_mapping_channels') or 512) if cond else None,
                  block_kwargs=dict(resample_filter=list(cfg.get('blur_kernel',
                                                                 L.NVLABS_FILTER))),
                  mapping_kwargs=dict(num_layers=full['cond_mapping_layers']) if cond else {},
                  epilogue_kwargs=dict(mbstd_group_size=mbstd['group_size'],
                                       mbstd_num_channels=mbstd['channel_groups']))
    return 'training.networks.Discriminator', kwargs, out


def gan_from_checkpoint(checkpoint: dict, source: str = 'checkpoint') -> dict[str, Any]:
    """``{'generator': cfg, 'discriminator': cfg | None, 'G': sd, 'G_ema': sd | None,
    'D': sd | None}`` of a genforge GAN checkpoint (configs from ``meta['cfg']``)."""
    from genforge.interop.export_sr import _config_model
    state = checkpoint.get('state_dict', checkpoint)
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    model = _config_model(text) if isinstance(text, str) and text.strip() else None
    if not model or not isinstance(model.get('generator'), dict):
        raise ValueError(f'{source}: no model config in meta["cfg"] to tell the networks\' '
                         f'options; export a checkpoint written by genforge train or '
                         f'import-weights')

    def part(prefix: str) -> dict | None:
        found = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        return found or None

    out = dict(generator=model['generator'], discriminator=model.get('discriminator'),
               G=part('generator.'), G_ema=part('generator_ema.module.'),
               D=part('discriminator.'))
    if out['G'] is None and out['G_ema'] is None:
        raise ValueError(f'{source}: no generator.* weights (a {model.get("type")} model); '
                         f'--format nvlabs-state-dict exports StyleGAN2/StyleGAN3 models')
    return out


def export_nvlabs_state_dict(checkpoint: dict, out: str, source: str = 'checkpoint') -> str:
    """Write ``out`` (see the module docstring); return a one-line summary."""
    from genforge.checkpoint import save_checkpoint
    gan = gan_from_checkpoint(checkpoint, source)
    payload: dict[str, Any] = {'format': 'nvlabs-state-dict', 'init_kwargs': {},
                               'class_names': {}}
    for part, sd in (('G_ema', gan['G_ema']), ('G', gan['G'])):
        if sd is not None:
            cls, kwargs, nv = generator_to_nvlabs(gan['generator'], sd)
            payload[part], payload['init_kwargs'][part] = nv, kwargs
            payload['class_names'][part] = cls
    if gan['D'] is not None and gan['discriminator'] is not None:
        cls, kwargs, nv = discriminator_to_nvlabs(gan['discriminator'], gan['D'])
        payload['D'], payload['init_kwargs']['D'] = nv, kwargs
        payload['class_names']['D'] = cls
    save_checkpoint(payload, out)
    parts = [p for p in ('G_ema', 'G', 'D') if p in payload]
    return f'{", ".join(parts)} as {payload["class_names"][parts[0]]} (NVlabs names)'
