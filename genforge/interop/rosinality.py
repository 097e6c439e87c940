"""rosinality stylegan2-pytorch checkpoints as genforge StyleGAN2 networks.

rosinality's ``train.py`` saves ``{'g', 'd', 'g_ema', 'g_optim', 'd_optim', 'args', 'ada_aug_p'}``
(``args``: the ``argparse.Namespace`` of the run); its ``convert_weight.py`` writes ``{'g_ema',
'latent_avg'}`` (+ ``'g'``, ``'d'``). Any subset of ``g``/``g_ema``/``d`` is read; a bare generator
or discriminator state dict too. Everything is recognised from key names and the architecture
(``size``, ``style_dim``, ``n_mlp``, ``channel_multiplier``) from tensor shapes.

MMagic's ``StyleGAN2Generator``/``StyleGAN2Discriminator`` (genforge's) were ported from rosinality,
so the two compute the same function with the same tensors under other names:

- equalized LR: rosinality keeps ``weight`` and multiplies by ``1/sqrt(fan_in) * lr_mul`` in the
  forward, as genforge's ``weight_orig``; biases are stored raw and multiplied by ``lr_mul``;
- the modulated conv's ``modulation`` (bias initialised to 1, no activation) is genforge's
  ``style_modulation``; demodulation ``rsqrt(sum w^2 + 1e-8)`` in both;
- blur kernels ``outer(k, k) / sum`` (x4 after an upsampling), the same paddings; the kernels are
  buffers in both files and are checked, not copied;
- noise: ``x + weight * noise`` with one scalar ``weight``; fused bias + leaky ReLU(0.2) * sqrt(2)
  with a (C,) bias (``activate.bias``); toRGB's bias (1, 3, 1, 1);
- D: minibatch stddev over groups of 4, one feature; residual blocks ``/ sqrt(2)``.

The one difference is the mapping's pixel norm: rosinality ``x * rsqrt(mean(x^2) + 1e-8)``,
genforge ``x / (rms(x) + 1e-6)``: a relative difference of about 1e-6 in w.

``latent_avg`` (the truncation centre that ``convert_weight.py`` copies from TF's
``dlatent_avg``) becomes the generators' ``w_avg`` buffer and ``Imported.info['w_avg']``.
"""
from __future__ import annotations

import re
from typing import Any

import torch

from genforge.interop.formats import Imported, register_reader

__all__ = ['read_rosinality', 'rosinality_to_genforge', 'genforge_to_rosinality',
           'generator_config', 'discriminator_config', 'gan_model_config', 'gan_imported',
           'is_rosinality_generator', 'is_rosinality_discriminator']

_PARTS = {'g_ema': 'G_ema', 'g': 'G', 'd': 'D'}   # rosinality key -> genforge part name
_GEN_ARGS = ('size', 'style_dim', 'n_mlp', 'channel_multiplier', 'lr_mlp')

# (rosinality name, genforge name); '{p}' is any prefix, '{n}' an index; the first match wins.
_G_RULES = (
    ('style.{n}.weight', 'style_mapping.{n}.linear.weight_orig'),
    ('style.{n}.bias', 'style_mapping.{n}.bias'),
    ('input.input', 'constant_input.input'),
    ('noises.noise_{n}', 'injected_noise_{n}'),
    ('{p}.conv.modulation.weight', '{p}.conv.style_modulation.linear.weight_orig'),
    ('{p}.conv.modulation.bias', '{p}.conv.style_modulation.bias'),
    ('{p}.conv.weight', '{p}.conv.weight_orig'),
    ('{p}.noise.weight', '{p}.noise_injector.weight'),
    ('{p}.conv.blur.kernel', '{p}.conv.blur.kernel'),
    ('{p}.upsample.kernel', '{p}.upsample.kernel'),
    ('{p}.activate.bias', '{p}.activate.bias'),
    ('{p}.bias', '{p}.bias'),
)
_D_RULES = (
    ('final_linear.{n}.weight', 'final_linear.{n}.linear.weight_orig'),
    ('final_linear.{n}.bias', 'final_linear.{n}.bias'),
    ('{p}.{n}.weight', '{p}.{n}.conv.weight_orig'),   # ConvLayer: [Blur,] EqualConv2d, FusedLReLU
    ('{p}.{n}.bias', '{p}.{n}.bias'),
    ('{p}.{n}.kernel', '{p}.{n}.kernel'),
)


def _pattern(template: str) -> re.Pattern:
    rx = re.escape(template).replace(r'\{p\}', r'(?P<p>.+)').replace(r'\{n\}', r'(?P<n>\d+)')
    return re.compile(rx + '$')


def _rename(sd: dict, rules: tuple, forward: bool, what: str) -> dict:
    """Apply ``rules`` (rosinality -> genforge when ``forward``) to every key of ``sd``."""
    compiled = [(_pattern(a if forward else b), b if forward else a) for a, b in rules]
    out = {}
    for key, value in sd.items():
        for rx, target in compiled:
            m = rx.match(key)
            if m:
                out[target.format(**m.groupdict())] = value
                break
        else:
            raise ValueError(f'{what}: unexpected key {key!r} (not a rosinality StyleGAN2 name; '
                             f'SWAGAN and other variants are not read)')
    return out


def rosinality_to_genforge(sd: dict, kind: str) -> dict:
    """A rosinality state dict (``kind`` 'G' or 'D') in genforge's StyleGAN2 names."""
    return _rename(sd, _G_RULES if kind == 'G' else _D_RULES, True, f'rosinality {kind}')


def genforge_to_rosinality(sd: dict, kind: str) -> dict:
    """A genforge StyleGAN2 generator/discriminator state dict in rosinality's names
    (``w_avg``, which rosinality keeps outside the network, is dropped)."""
    sd = {k: v for k, v in sd.items() if k != 'w_avg'}
    return _rename(sd, _G_RULES if kind == 'G' else _D_RULES, False, f'genforge {kind}')


def is_rosinality_generator(sd: Any) -> bool:
    """True for a state dict in rosinality's ``Generator`` names."""
    return isinstance(sd, dict) and all(k in sd for k in (
        'input.input', 'style.1.weight', 'conv1.conv.weight', 'to_rgb1.conv.weight'))


def is_rosinality_discriminator(sd: Any) -> bool:
    """True for a state dict in rosinality's ``Discriminator`` names."""
    return isinstance(sd, dict) and all(k in sd for k in (
        'convs.0.0.weight', 'final_conv.0.weight', 'final_linear.0.weight',
        'final_linear.1.weight'))


def _count(sd: dict, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for m in map(rx.match, sd) if m})


def _channel_options(channels: dict[int, int], what: str) -> dict:
    """``channel_multiplier``/``max_channels`` that give genforge's table ``channels``."""
    from genforge.models.archs.stylegan2 import stylegan2_channels
    peak = max(channels.values())
    cap = channels[4] if channels[4] < 512 else max(peak, 512)
    for mult in (2, 1, *range(3, 65)):   # rosinality's default first
        table = stylegan2_channels(mult, cap)
        if all(table[r] == c for r, c in channels.items()):
            return dict(channel_multiplier=mult, **({} if cap == 512 else dict(max_channels=cap)))
    # NVlabs' rule min(channel_base // res, channel_max): files exported from such networks
    for base in sorted({c * r for r, c in channels.items()}):
        table = stylegan2_channels(max_channels=peak, channel_base=base)
        if all(table[r] == c for r, c in channels.items()):
            return dict(channel_base=base, max_channels=peak)
    raise ValueError(f'{what}: channels per resolution {channels} follow no StyleGAN2 '
                     f'channel_multiplier (4..32 px: 512, then 256*m, 128*m, ...) and no '
                     f'min(channel_base // res, channel_max) rule')


def generator_config(sd: dict, overrides: dict | None = None, what: str = 'rosinality g') -> dict:
    """genforge config of the rosinality ``Generator`` whose state dict is ``sd``."""
    overrides = dict(overrides or {})
    n_up = _count(sd, r'to_rgbs\.(\d+)\.conv\.weight$')
    size = 4 * 2 ** n_up
    z_dim = sd['style.1.weight'].shape[1]
    style_dim = sd['conv1.conv.modulation.weight'].shape[1]
    n_mlp = _count(sd, r'style\.(\d+)\.weight$')
    channels = {4: sd['input.input'].shape[1]}
    for i in range(n_up):
        channels[8 * 2 ** i] = sd[f'convs.{2 * i}.conv.weight'].shape[1]
    cfg = dict(type='StyleGAN2Generator', out_size=size, style_channels=style_dim,
               num_mlps=n_mlp, **_channel_options(channels, what),
               lr_mlp=float(overrides.get('lr_mlp', 0.01)))
    if z_dim != style_dim:
        cfg['noise_size'] = z_dim
    out_ch = sd['to_rgb1.conv.weight'].shape[1]
    if out_ch != 3:
        cfg['out_channels'] = out_ch
    for key, value in (('size', size), ('style_dim', style_dim), ('n_mlp', n_mlp)):
        if key in overrides and int(overrides[key]) != value:
            raise ValueError(f'{what}: {key}={overrides[key]} was given, but the tensors hold '
                             f'{key}={value}')
    return cfg


def discriminator_config(sd: dict, what: str = 'rosinality d') -> dict:
    """genforge config of the rosinality ``Discriminator`` whose state dict is ``sd``."""
    n_down = _count(sd, r'convs\.(\d+)\.conv1\.0\.weight$')
    size = 4 * 2 ** n_down
    channels = {size: sd['convs.0.0.weight'].shape[0]}
    for i in range(1, n_down + 1):
        channels[size // 2 ** i] = sd[f'convs.{i}.conv2.1.weight'].shape[0]
    extra = sd['final_conv.0.weight'].shape[1] - channels[4]
    outputs = sd['final_linear.1.weight'].shape[0]
    if extra != 1 or outputs != 1:
        raise ValueError(f'{what}: final_conv takes {extra} minibatch-stddev features and '
                         f'final_linear.1 gives {outputs} outputs; rosinality\'s Discriminator '
                         f'has 1 and 1')
    cfg = dict(type='StyleGAN2Discriminator', in_size=size, **_channel_options(channels, what))
    img_ch = sd['convs.0.0.weight'].shape[1]
    if img_ch != 3:
        cfg['img_channels'] = img_ch
    return cfg


def gan_model_config(generator: dict | None, discriminator: dict | None) -> dict:
    """A genforge ``StyleGAN2`` model around the networks (EMA generator when one is given)."""
    model = dict(type='StyleGAN2', data_preprocessor=dict(type='EditDataPreprocessor'))
    if generator is not None:
        model.update(generator=generator, ema_config=dict(type='ExponentialMovingAverage'))
    if discriminator is not None:
        model['discriminator'] = discriminator
    return model


def gan_imported(fmt: str, networks: dict[str, tuple[dict, dict]], part: str | None,
                 info: dict) -> Imported:
    """An :class:`Imported` for StyleGAN2 parts ``{'G_ema'|'G'|'D': (config, state_dict)}``:
    the default part, and the ``StyleGAN2`` model (G = the trained G, or G_ema when alone;
    EMA = G_ema, or G) that ``import-weights`` writes. A discriminator alone is its own model."""
    if part is not None and part not in networks:
        raise ValueError(f'part={part!r} is not in this {fmt} file; it holds {list(networks)}')
    default = part or next(p for p in ('G_ema', 'G', 'D') if p in networks)
    gen = next((p for p in ('G_ema', 'G') if p in networks), None)
    if gen is None:
        info.setdefault('notes', []).append('no generator in the file: the model is the '
                                            'discriminator alone')
        return Imported(format=fmt, networks=networks, default_part=default,
                        model_config=networks['D'][0], model_state_dict=dict(networks['D'][1]),
                        info=info)
    model_sd = {f'generator.{k}': v for k, v in networks.get('G', networks[gen])[1].items()}
    model_sd.update({f'generator_ema.module.{k}': v for k, v in networks[gen][1].items()})
    model_sd['generator_ema.steps'] = torch.tensor(0)
    model_sd['mean_path_length'] = torch.tensor(0.)   # StyleGAN2's path-length buffer
    if 'D' in networks:
        model_sd.update({f'discriminator.{k}': v for k, v in networks['D'][1].items()})
    if 'w_avg' in networks[gen][1]:
        info['w_avg'] = networks[gen][1]['w_avg']
    d_cfg = networks['D'][0] if 'D' in networks else None
    return Imported(format=fmt, networks=networks, default_part=default,
                    model_config=gan_model_config(networks[gen][0], d_cfg),
                    model_state_dict=model_sd, info=info)


def _checked(cfg: dict, sd: dict, what: str) -> dict:
    """``sd`` checked against the network ``cfg`` builds (names, shapes, blur kernels) and
    completed with genforge's blur kernels where the file has none (TF pickles)."""
    from genforge.registry import MODELS
    reference = MODELS.build(cfg).state_dict()
    kernels = {k: v for k, v in reference.items() if k.endswith('kernel') and k not in sd}
    missing = sorted(set(reference) - set(sd) - set(kernels) - {'w_avg'})
    unexpected = sorted(set(sd) - set(reference))
    if missing or unexpected:
        raise ValueError(f'{what}: the file does not match a {cfg["type"]} with {cfg}: missing '
                         f'{missing[:6]}, unexpected {unexpected[:6]}')
    for key, ref in reference.items():
        if key not in sd:
            continue
        if tuple(sd[key].shape) != tuple(ref.shape):
            raise ValueError(f'{what}: {key} has shape {tuple(sd[key].shape)}, expected '
                             f'{tuple(ref.shape)} for {cfg}')
        if key.endswith('kernel') and not torch.allclose(sd[key].float(), ref, atol=1e-6):
            raise ValueError(f'{what}: {key} is not the [1, 3, 3, 1] blur kernel that genforge '
                             f'builds; other blur kernels are not supported')
    return {**{k: v.detach().float().clone() for k, v in sd.items()}, **kernels}


def _latent_avg(obj: dict, style_dim: int) -> torch.Tensor | None:
    avg = obj.get('latent_avg')
    if avg is None:
        return None
    if not isinstance(avg, torch.Tensor) or avg.numel() != style_dim:
        shape = tuple(avg.shape) if isinstance(avg, torch.Tensor) else type(avg).__name__
        raise ValueError(f"rosinality checkpoint: 'latent_avg' is {shape}, expected "
                         f'{style_dim} values (one w)')
    return avg.detach().float().reshape(style_dim).clone()


def _unwrap(sd: Any) -> Any:
    # a DataParallel/DDP module saved without unwrapping carries a 'module.' prefix
    if isinstance(sd, dict) and sd and all(isinstance(k, str) and k.startswith('module.')
                                           for k in sd):
        return {k[len('module.'):]: v for k, v in sd.items()}
    return sd


def _split(obj: Any) -> dict[str, dict] | None:
    """``{'g_ema'|'g'|'d': state_dict}`` of a rosinality checkpoint or bare state dict."""
    if not isinstance(obj, dict):
        return None
    if any(k in obj for k in _PARTS):
        found = {k: _unwrap(obj[k]) for k in _PARTS if k in obj}
        ok = all((is_rosinality_discriminator if k == 'd' else is_rosinality_generator)(v)
                 for k, v in found.items())
        return found if ok else None
    obj = _unwrap(obj)
    if is_rosinality_generator(obj):
        return {'g_ema': obj}
    if is_rosinality_discriminator(obj):
        return {'d': obj}
    return None


def _run_args(obj: dict) -> dict:
    """The hyper-parameters of ``obj['args']`` (safe_load's stand-in for ``argparse.Namespace``)."""
    args = obj.get('args')
    values = vars(args) if hasattr(args, '__dict__') else args if isinstance(args, dict) else {}
    names = {'latent': 'style_dim', 'size': 'size', 'n_mlp': 'n_mlp',
             'channel_multiplier': 'channel_multiplier'}
    return {names[k]: v for k, v in values.items() if k in names and isinstance(v, (int, float))}


@register_reader
def read_rosinality(obj: Any, overrides: dict) -> Imported | None:
    """The reader for rosinality stylegan2-pytorch ``.pt`` files (see the module docstring)."""
    overrides = dict(overrides)
    part = overrides.pop('part', None)
    arch = overrides.pop('arch', None)
    parts = _split(obj)
    if parts is None or arch not in (None, 'StyleGAN2', 'rosinality'):
        return None
    unknown = sorted(set(overrides) - set(_GEN_ARGS))
    if unknown:
        raise ValueError(f'rosinality checkpoint: unknown override(s) {unknown}; it takes '
                         f'{list(_GEN_ARGS)}')
    networks: dict[str, tuple[dict, dict]] = {}
    notes: list[str] = []
    for key, sd in parts.items():
        what = f'rosinality checkpoint {key!r}'
        if key == 'd':
            cfg, gf = discriminator_config(sd, what), rosinality_to_genforge(sd, 'D')
        else:
            cfg, gf = generator_config(sd, overrides, what), rosinality_to_genforge(sd, 'G')
            if 'noises.noise_0' not in sd:   # early rosinality versions kept no noise buffers
                gf.update(_seeded_noise(cfg['out_size']))
                notes.append(f'{key}: no noises.noise_* in the file; constant noise maps drawn '
                             f'with seed 0')
            w_avg = _latent_avg(obj, cfg['style_channels'])
            if w_avg is not None:   # the file's truncation centre, kept in the network
                cfg['update_mean_latent_with_ema'] = True
                gf['w_avg'] = w_avg
        networks[_PARTS[key]] = (cfg, _checked(cfg, gf, what))
    info = _info(networks, _run_args(obj))
    if notes:
        info['notes'] = notes + info.get('notes', [])
    return gan_imported('rosinality', networks, part, info)


def _seeded_noise(size: int) -> dict[str, torch.Tensor]:
    """Constant noise maps (genforge names) for a generator whose file has none."""
    gen = torch.Generator().manual_seed(0)
    count = 2 * (size.bit_length() - 1) - 3   # log2(size) * 2 - 3 noisy layers
    return {f'injected_noise_{i}': torch.randn(1, 1, 2 ** ((i + 5) // 2), 2 ** ((i + 5) // 2),
                                               generator=gen) for i in range(count)}


def _info(networks: dict, run: dict) -> dict[str, Any]:
    """What ``import-weights`` prints: rosinality's argument names, notes on ``args``."""
    info: dict[str, Any] = dict(architecture='StyleGAN2 (rosinality)', parts=list(networks))
    cfg = next(networks[p][0] for p in ('G_ema', 'G', 'D') if p in networks)
    if 'out_size' in cfg:
        info.update(size=cfg['out_size'], style_dim=cfg['style_channels'], n_mlp=cfg['num_mlps'])
    else:
        info.update(size=cfg['in_size'])
    info.update({k: cfg[k] for k in ('channel_multiplier', 'channel_base', 'max_channels')
                 if k in cfg})
    for key in ('size', 'style_dim', 'n_mlp'):
        if key in run and key in info and int(run[key]) != info[key]:
            # the Namespace describes the run; the tensors are what gets loaded
            info.setdefault('notes', []).append(f'args.{key}={run[key]} but the tensors hold '
                                                f'{key}={info[key]}')
    return info
