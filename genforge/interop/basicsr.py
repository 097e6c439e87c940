"""BasicSR / Real-ESRGAN / ESRGAN restoration weights as genforge networks.

Reads, from content only:

- BasicSR checkpoints ``{'params': sd}``, ``{'params_ema': sd}`` or both (Real-ESRGAN releases
  are saved this way); a bare state dict in the same names; the older ESRGAN layouts
  (``esrgan_legacy.py``).
- Architectures (BasicSR's names): ``RRDBNet`` (x4; x2/x1 with pixel-unshuffle, first conv
  taking 4x/16x the image channels), ``MSRResNet`` (LeakyReLU after each pixel shuffle),
  ``EDSR`` (``(x - mean) * img_range``), ``SRVGGNetCompact`` (``body.N``, PReLU slopes).

Hyper-parameters come from tensor shapes; those the weights cannot show have BasicSR's
defaults (EDSR: ``img_range=255``, DIV2K ``rgb_mean``, ``res_scale`` 0.1 for 256 features as in
BasicSR's EDSR-L configs, else 1) and can be overridden with BasicSR's argument names
(``scale=2``, ``res_scale=1``, ``act_type='relu'`` ...). Each network is configured so that it
computes the source's function.
"""
from __future__ import annotations

import re
from typing import Any

import torch

from genforge.interop.esrgan_legacy import legacy_to_basicsr
from genforge.interop.formats import READERS, Imported, register_reader

__all__ = ['read_basicsr', 'identify_sr', 'sr_model_config', 'EDSR_RGB_MEAN', 'SR_ARCHS']

PARTS = ('params_ema', 'params')   # BasicSR's keys; params_ema (the EMA weights) is preferred
SR_ARCHS = ('RRDBNet', 'MSRResNet', 'EDSR', 'SRVGGNetCompact')
EDSR_RGB_MEAN = (0.4488, 0.4371, 0.4040)   # BasicSR's EDSR default (DIV2K mean, RGB)
_ARCH_ALIASES = {'EDSRNet': 'EDSR'}       # genforge / MMagic names accepted for ``arch=``
# BasicSR argument names each architecture accepts as overrides.
_ARGS = {
    'RRDBNet': ('num_in_ch', 'num_out_ch', 'num_feat', 'num_block', 'num_grow_ch', 'scale'),
    'MSRResNet': ('num_in_ch', 'num_out_ch', 'num_feat', 'num_block', 'upscale'),
    'EDSR': ('num_in_ch', 'num_out_ch', 'num_feat', 'num_block', 'upscale', 'res_scale',
             'img_range', 'rgb_mean'),
    'SRVGGNetCompact': ('num_in_ch', 'num_out_ch', 'num_feat', 'num_conv', 'upscale',
                        'act_type'),
}


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and \
        all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _strip_module(sd: dict) -> dict:
    # DataParallel/DDP-wrapped nets saved without unwrapping carry a 'module.' prefix
    if all(k.startswith('module.') for k in sd):
        return {k[len('module.'):]: v for k, v in sd.items()}
    return dict(sd)


def _split_parts(obj: Any) -> tuple[dict[str, dict], bool] | None:
    """``({part: state_dict}, is_basicsr_wrapper)``, or None for other objects."""
    if isinstance(obj, dict) and any(p in obj for p in PARTS):
        parts = {p: _strip_module(obj[p]) for p in PARTS if _is_state_dict(obj.get(p))}
        return (parts, True) if parts else None
    if _is_state_dict(obj):
        return {'net': _strip_module(obj)}, False
    return None


def _indices(sd: dict, pattern: str) -> list[int]:
    """Sorted distinct integers N of the keys matching ``pattern`` (one ``(\\d+)`` group)."""
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for m in map(rx.match, sd) if m})


def _basicsr_arch(sd: dict) -> str | None:
    """The BasicSR architecture whose names ``sd`` uses, or None."""
    if 'body.0.rdb1.conv1.weight' in sd and 'conv_body.weight' in sd:
        return 'RRDBNet'
    if 'upconv1.weight' in sd and 'body.0.conv1.weight' in sd and 'conv_hr.weight' in sd:
        return 'MSRResNet'
    if 'conv_after_body.weight' in sd and 'body.0.conv1.weight' in sd and \
            'upsample.0.weight' in sd:
        return 'EDSR'
    if all(k.startswith('body.') for k in sd) and sd.get('body.0.weight') is not None and \
            sd['body.0.weight'].ndim == 4:
        return 'SRVGGNetCompact'
    return None


# -- hyper-parameters from the tensors ---------------------------------------------------------
def _rrdbnet_args(sd: dict, given: dict) -> dict:
    num_feat, first_in = sd['conv_first.weight'].shape[:2]
    num_out = sd['conv_last.weight'].shape[0]
    # Real-ESRGAN x2/x1 pixel-unshuffle the image first: the first conv sees 4x / 16x channels.
    guess = 2 if first_in == 4 * num_out else 1 if first_in == 16 * num_out else 4
    scale = int(given.get('scale', guess))
    if scale not in (1, 2, 4):
        raise ValueError(f'RRDBNet: scale={scale} is not supported; use 1, 2 or 4')
    unshuffle = (4 // scale) ** 2
    if first_in % unshuffle:
        raise ValueError(f'RRDBNet: conv_first takes {first_in} channels, which scale={scale} '
                         f'(pixel-unshuffle x{4 // scale}) cannot divide')
    return dict(num_in_ch=first_in // unshuffle, num_out_ch=num_out, num_feat=num_feat,
                num_block=len(_indices(sd, r'body\.(\d+)\.rdb1\.conv1\.weight$')),
                num_grow_ch=sd['body.0.rdb1.conv1.weight'].shape[0], scale=scale)


def _msrresnet_args(sd: dict, given: dict) -> dict:
    num_feat, num_in = sd['conv_first.weight'].shape[:2]
    upscale = 4 if 'upconv2.weight' in sd else \
        int(round((sd['upconv1.weight'].shape[0] / num_feat) ** 0.5))
    return dict(num_in_ch=num_in, num_out_ch=sd['conv_last.weight'].shape[0], num_feat=num_feat,
                num_block=len(_indices(sd, r'body\.(\d+)\.conv1\.weight$')), upscale=upscale)


def _edsr_args(sd: dict, given: dict) -> dict:
    num_feat, num_in = sd['conv_first.weight'].shape[:2]
    ups = _indices(sd, r'upsample\.(\d+)\.weight$')   # conv, shuffle, conv, shuffle ...
    upscale = 3 if len(ups) == 1 and sd['upsample.0.weight'].shape[0] == 9 * num_feat \
        else 2 ** len(ups)
    return dict(num_in_ch=num_in, num_out_ch=sd['conv_last.weight'].shape[0], num_feat=num_feat,
                num_block=len(_indices(sd, r'body\.(\d+)\.conv1\.weight$')), upscale=upscale,
                # BasicSR's EDSR-L (256 features) trains with res_scale 0.1, EDSR-M with 1
                res_scale=0.1 if num_feat == 256 else 1., img_range=255.,
                # BasicSR keeps the mean out of the state dict; a file that stores it says it
                rgb_mean=sd['mean'].flatten().tolist() if 'mean' in sd else list(EDSR_RGB_MEAN))


def _srvgg_args(sd: dict, given: dict) -> dict:
    convs = [i for i in _indices(sd, r'body\.(\d+)\.weight$') if sd[f'body.{i}.weight'].ndim == 4]
    if convs != list(range(0, 2 * len(convs), 2)):
        raise ValueError(f'SRVGGNetCompact: convs expected at body.0, body.2, body.4 ..., found '
                         f'body.{convs[:6]}')
    prelu = 'body.1.weight' in sd
    if not prelu and 'act_type' not in given:
        raise ValueError("SRVGGNetCompact without PReLU weights: its activation is 'relu' or "
                         "'leakyrelu', which the file cannot show; pass act_type='relu' or "
                         "act_type='leakyrelu'")
    num_feat, num_in = sd['body.0.weight'].shape[:2]
    last = sd[f'body.{convs[-1]}.weight'].shape[0]
    num_out = int(given.get('num_out_ch', num_in))  # the input is added back: same channels
    upscale = int(round((last / num_out) ** 0.5))
    if num_out * upscale ** 2 != last:
        raise ValueError(f'SRVGGNetCompact: the last conv has {last} output channels, not '
                         f'{num_out} x upscale^2; pass num_out_ch=')
    return dict(num_in_ch=num_in, num_out_ch=num_out, num_feat=num_feat,
                num_conv=len(convs) - 2, upscale=upscale, act_type='prelu' if prelu else None)


_INFER = {'RRDBNet': _rrdbnet_args, 'MSRResNet': _msrresnet_args, 'EDSR': _edsr_args,
          'SRVGGNetCompact': _srvgg_args}


# -- genforge configs and state dicts -------------------------------------------------------------
def _genforge(arch: str, a: dict, sd: dict) -> tuple[dict, dict]:
    """(genforge network config, state_dict in its names) for BasicSR arch ``arch``/args ``a``."""
    if arch == 'RRDBNet':  # genforge's RRDBNet already has BasicSR's names and unshuffle
        return dict(type='RRDBNet', in_channels=a['num_in_ch'], out_channels=a['num_out_ch'],
                    mid_channels=a['num_feat'], num_blocks=a['num_block'],
                    growth_channels=a['num_grow_ch'], upscale_factor=a['scale']), dict(sd)
    if arch == 'SRVGGNetCompact':
        return dict(type='SRVGGNetCompact', **a), dict(sd)
    if arch == 'MSRResNet':
        names = {'body.': 'trunk_net.', 'upconv1.': 'upsample1.upsample_conv.',
                 'upconv2.': 'upsample2.upsample_conv.'}
        cfg = dict(type='MSRResNet', in_channels=a['num_in_ch'], out_channels=a['num_out_ch'],
                   mid_channels=a['num_feat'], num_blocks=a['num_block'],
                   upscale_factor=a['upscale'], lrelu_after_upsample=True)
        return cfg, {_rename(k, names): v for k, v in sd.items()}
    # EDSR: BasicSR's Upsample is conv, shuffle, conv, shuffle ...: upsample.2i -> upsample.i
    out = {}
    for key, value in sd.items():
        if key == 'mean':   # a constant of the network, set through rgb_mean
            continue
        m = re.match(r'upsample\.(\d+)\.(.*)$', key)
        out[f'upsample.{int(m.group(1)) // 2}.upsample_conv.{m.group(2)}' if m else key] = value
    cfg = dict(type='EDSRNet', in_channels=a['num_in_ch'], out_channels=a['num_out_ch'],
               mid_channels=a['num_feat'], num_blocks=a['num_block'],
               upscale_factor=a['upscale'], res_scale=a['res_scale'],
               rgb_mean=list(a['rgb_mean']), rgb_std=[1., 1., 1.], img_range=a['img_range'])
    return cfg, out


def _rename(key: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        if key.startswith(old):
            return new + key[len(old):]
    return key


def identify_sr(sd: dict, overrides: dict | None = None) -> dict | None:
    """What a restoration state dict is: ``{'arch', 'args', 'layout', 'config', 'state_dict'}``
    (BasicSR arch name and arguments; genforge config and state dict), or None if unknown."""
    overrides = dict(overrides or {})
    legacy = legacy_to_basicsr(sd)
    arch, layout = (legacy[0], legacy[2]) if legacy else (_basicsr_arch(sd), 'BasicSR')
    sd = legacy[1] if legacy else sd
    if arch is None:
        return None
    wanted = overrides.pop('arch', None)
    wanted = _ARCH_ALIASES.get(wanted, wanted)
    if wanted is not None and wanted != arch:
        raise ValueError(f"arch={wanted!r}: the file holds a {arch} ({layout} layout, keys "
                         f'{list(sd)[:3]}), not a {wanted}')
    unknown = sorted(set(overrides) - set(_ARGS[arch]))
    if unknown:
        raise ValueError(f'{arch}: unknown override(s) {unknown}; {arch} takes BasicSR\'s '
                         f'arguments {list(_ARGS[arch])}')
    args = {**_INFER[arch](sd, overrides), **overrides}
    config, state_dict = _genforge(arch, args, sd)
    return dict(arch=arch, args=args, layout=layout, config=config, state_dict=state_dict)


def sr_model_config(generator: dict) -> dict:
    """A genforge restoration model around ``generator``: RGB in [0, 1], as BasicSR feeds it."""
    return dict(type='BaseEditModel', generator=generator,
                pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
                data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.],
                                       std=[255., 255., 255.]))


@register_reader
def read_basicsr(obj: Any, overrides: dict) -> Imported | None:
    """The reader for BasicSR / Real-ESRGAN / ESRGAN files (see the module docstring)."""
    split = _split_parts(obj)
    overrides = dict(overrides)
    part = overrides.pop('part', None)
    if split is None or (overrides.get('arch') not in (None, *SR_ARCHS, *_ARCH_ALIASES)):
        return None
    parts, wrapped = split
    found = {name: identify_sr(sd, overrides) for name, sd in parts.items()}
    if any(v is None for v in found.values()):
        return None   # another reader's (SwinIR inside params, a GAN state dict ...)
    if part is not None and part not in found:
        raise ValueError(f'part={part!r} is not in this file; it holds {list(found)}'
                         + ('' if wrapped else " (a bare state dict: part='net')"))
    default = part or next(p for p in (*PARTS, 'net') if p in found)
    chosen = found[default]
    # BasicSR's own argument names, as its option files spell them
    info = dict(architecture=chosen['arch'], layout=chosen['layout'], parts=list(found),
                **chosen['args'])
    info['scale'] = info.pop('upscale', info.get('scale'))
    return Imported(
        format='basicsr' if chosen['layout'] == 'BasicSR' else 'esrgan',
        networks={p: (f['config'], f['state_dict']) for p, f in found.items()},
        default_part=default, model_config=sr_model_config(chosen['config']),
        model_state_dict={f'generator.{k}': v for k, v in chosen['state_dict'].items()},
        info=info)


@register_reader
def unknown_basicsr_layout(obj: Any, overrides: dict) -> Imported | None:
    """A ``{'params': ...}`` file no reader understands: say which keys it holds."""
    split = _split_parts(obj)
    if split is None or not split[1]:
        return None
    # readers registered after this one (e.g. SwinIR's) get their chance first
    for reader in READERS[READERS.index(unknown_basicsr_layout) + 1:]:
        found = reader(obj, overrides)
        if found is not None:
            return found
    name, sd = next(iter(split[0].items()))
    raise ValueError(f"a BasicSR-style file ({name!r}) with an architecture genforge does not "
                     f'read (first keys: {list(sd)[:6]}); genforge reads {", ".join(SR_ARCHS)} '
                     f'and SwinIR (docs/interop.md)')
