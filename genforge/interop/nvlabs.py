"""NVlabs stylegan2-ada-pytorch / stylegan3 snapshots as genforge StyleGAN2 / StyleGAN3 models.

Reads, from content only:

- ``network-snapshot-*.pkl`` (and the released ``*.pkl``): a pickled dict with ``G``, ``D``,
  ``G_ema``, ``augment_pipe``, ``training_set_kwargs``; each network is an NVlabs persistent
  object (``torch_utils.persistence``) holding its init kwargs and tensors. The restricted
  unpickler turns them into :class:`~genforge.interop.safe_unpickle.PersistentObject` (the
  embedded source is never run);
- ``genforge export --format nvlabs-state-dict`` files: ``{'G_ema': sd, 'G': sd, 'D': sd,
  'init_kwargs': {...}}`` with NVlabs' names, and a bare NVlabs state dict (``G.state_dict()``).

Networks: the StyleGAN2 generator (``skip`` architecture, any ``channel_base``/``channel_max``,
conditional ``mapping.embed``), StyleGAN3-T and -R generators, and the StyleGAN2 ``resnet``
discriminator (conditioned by projection on its label ``mapping`` when ``c_dim > 0``), which
StyleGAN3 snapshots use too. Other variants are refused with a message naming the value.

Each network becomes a genforge one configured to compute NVlabs' function (NVlabs' channel
rule, pixel-norm epsilon, ``conv_clamp`` in every precision); the mapping's ``w_avg`` (the
truncation centre) is kept as the generator's ``w_avg`` buffer and in ``Imported.info['w_avg']``.
"""
from __future__ import annotations

from typing import Any

import torch

from genforge.interop import nvlabs_layout as L
from genforge.interop.formats import Imported, register_reader
from genforge.interop.safe_unpickle import PersistentObject

__all__ = ['read_nvlabs', 'nvlabs_parts', 'convert_network', 'imported_from_parts',
           'gan_model_config', 'gan_model_state_dict', 'GAN_PARTS']

GAN_PARTS = ('G_ema', 'G', 'D')
FORMAT_TAG = 'nvlabs-state-dict'
_KIND_NAMES = {'sg2_G': 'StyleGAN2 generator', 'sg3_G': 'StyleGAN3 generator',
               'sg2_D': 'StyleGAN2 discriminator'}


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and \
        all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def nvlabs_parts(obj: Any) -> dict[str, tuple[dict, dict, str]] | None:
    """``{part: (NVlabs state dict, init kwargs, class name)}``, or None for other files."""
    if isinstance(obj, dict) and any(isinstance(obj.get(p), PersistentObject)
                                     for p in GAN_PARTS):
        out = {}
        for p in GAN_PARTS:
            net = obj.get(p)
            if isinstance(net, PersistentObject):
                out[p] = (net.state_dict(), dict(net.init_kwargs), net.class_name)
        return out
    if isinstance(obj, dict) and (obj.get('format') == FORMAT_TAG or any(
            _is_state_dict(obj.get(p)) and L.kind_of(obj[p]) for p in GAN_PARTS)):
        kwargs = obj.get('init_kwargs') or {}
        return {p: (dict(obj[p]), dict(kwargs.get(p) or {}), '')
                for p in GAN_PARTS if _is_state_dict(obj.get(p))}
    if isinstance(obj, PersistentObject):  # one network saved alone (pickle / torch.save)
        sd = obj.state_dict()
        kind = L.kind_of(sd)
        return {'D' if kind == 'sg2_D' else 'G': (sd, dict(obj.init_kwargs), obj.class_name)}
    if _is_state_dict(obj) and L.kind_of(obj):
        kind = L.kind_of(obj)
        return {'D' if kind == 'sg2_D' else 'G': (dict(obj), {}, '')}
    return None


def _template(cfg: dict) -> dict[str, torch.Tensor]:
    """The state dict of a freshly built genforge network of ``cfg``."""
    import genforge.models  # noqa: F401  (registers the networks)
    from genforge.registry import MODELS
    return MODELS.build(dict(cfg)).state_dict()


def convert_network(sd: dict, kwargs: dict, where: str,
                    templates: dict | None = None) -> tuple[dict, dict, dict]:
    """One NVlabs network -> ``(genforge config, genforge state dict, info)``.

    Every NVlabs tensor must find its place (only NVlabs' fixed ``resample_filter`` buffers are
    left out) and every genforge tensor must come from the file (only genforge's fixed blur
    kernels are derived), with equal shapes; otherwise a ValueError lists the differences.
    """
    kind = L.kind_of(sd)
    if kind is None:
        raise ValueError(f'{where}: not an NVlabs StyleGAN2/StyleGAN3 network (first tensors: '
                         f'{list(sd)[:5]})')
    sd = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if kind == 'sg2_G':
        cfg, info = L.sg2_generator_config(sd, kwargs, where)
        if 'mapping.w_avg' not in sd:  # mapping_kwargs.w_avg_beta=None: no truncation centre
            sd['mapping.w_avg'] = torch.zeros(cfg['style_channels'])
        names = L.sg2_generator_names(cfg, use_noise=info['use_noise'])
    elif kind == 'sg2_D':
        cfg, info = L.sg2_discriminator_config(sd, kwargs, where)
        names = L.sg2_discriminator_names(cfg)
    else:
        cfg, info = L.sg3_generator_config(sd, kwargs, where)
        names = None
    key = repr(cfg)
    templates = {} if templates is None else templates
    if key not in templates:
        try:
            templates[key] = _template(cfg)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f'{where}: genforge cannot build this {_KIND_NAMES[kind]} '
                             f'({exc})') from None
    template = templates[key]
    if names is None:
        names = L.sg3_generator_names(k for k in template)
        names = [n for n in names if n[0] in sd or not _derived(n[1])]
    out = L.to_genforge(sd, names, where)
    used = {nv for nv, _, _ in names}
    unused = sorted(k for k in sd if k not in used and not k.endswith('resample_filter'))
    if unused:
        raise ValueError(f'{where}: NVlabs tensors with no place in genforge\'s '
                         f'{_KIND_NAMES[kind]}: {unused[:8]}')
    problems = []
    for k, t in template.items():
        if k not in out:
            if _derived(k) or (not info.get('use_noise', True) and _noise_key(k)):
                out[k] = torch.zeros_like(t) if _noise_key(k) else t.clone()
            else:
                problems.append(f'{k} missing')
        elif tuple(out[k].shape) != tuple(t.shape):
            problems.append(f'{k}: file {tuple(out[k].shape)} vs genforge {tuple(t.shape)}')
    problems += [f'{k}: unexpected' for k in out if k not in template]
    if problems:
        raise ValueError(f'{where}: the tensors do not form the {_KIND_NAMES[kind]} its '
                         f'hyper-parameters describe: {problems[:6]}')
    out = {k: out[k] for k in template}  # genforge's order
    info = dict(info, kind=kind)
    return cfg, out, info


def _derived(genforge_key: str) -> bool:
    # blur kernels: fixed buffers genforge computes from blur_kernel
    return genforge_key.endswith('.kernel')


def _noise_key(genforge_key: str) -> bool:
    return genforge_key.startswith('injected_noise_') or genforge_key.endswith(
        'noise_injector.weight')


def gan_model_config(algorithm: str, generator: dict, discriminator: dict | None,
                     ema: bool) -> dict:
    """A whole genforge GAN model around the imported networks, with MMagic's StyleGAN2/3
    training defaults; RGB data in [-1, 1] as NVlabs'."""
    cfg = dict(type=algorithm,
               data_preprocessor=dict(type='DataPreprocessor', output_channel_order='RGB'),
               generator=generator, discriminator=discriminator,
               loss_config=dict(r1_loss_weight=80., r1_interval=16, norm_mode='HWC',
                                g_reg_interval=4, g_reg_weight=8., pl_batch_shrink=2))
    if ema:
        cfg['ema_config'] = dict(type='ExponentialMovingAverage')
    return cfg


def gan_model_state_dict(parts: dict[str, dict], ema: bool) -> dict[str, torch.Tensor]:
    """genforge model keys: ``generator.*``, ``generator_ema.module.*``, ``discriminator.*``."""
    out: dict[str, torch.Tensor] = {'mean_path_length': torch.tensor(0.)}
    gen = parts.get('G', parts.get('G_ema'))
    out.update({f'generator.{k}': v for k, v in gen.items()})
    if ema:
        out['generator_ema.steps'] = torch.tensor(1)  # >0: fine-tuning keeps averaging
        out.update({f'generator_ema.module.{k}': v for k, v in parts['G_ema'].items()})
    if 'D' in parts:
        out.update({f'discriminator.{k}': v for k, v in parts['D'].items()})
    return out


_OVERRIDABLE = {'z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs',
                'synthesis_kwargs', *L._SYNTH_KEYS, *L._SG3_SYNTH}


def _with_overrides(kwargs: dict, overrides: dict) -> dict:
    """The generator's init kwargs with the user's (NVlabs' names; nested dicts merge)."""
    unknown = sorted(set(overrides) - _OVERRIDABLE)
    if unknown:
        raise ValueError(f'unknown override(s) {unknown} for an NVlabs generator; it takes '
                         f'NVlabs\' init kwargs {sorted(_OVERRIDABLE)}')
    out = dict(kwargs)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
        if key in L._SYNTH_KEYS and isinstance(out.get('synthesis_kwargs'), dict):
            out['synthesis_kwargs'] = {**out['synthesis_kwargs'], key: value}
    return out


def imported_from_parts(parts: dict[str, tuple[dict, dict, str]], overrides: dict | None = None,
                        fmt: str = 'nvlabs', extra_info: dict | None = None) -> Imported:
    """An :class:`Imported` from NVlabs-named networks ``{part: (state dict, init kwargs,
    class name)}`` (parts among ``G_ema``, ``G``, ``D``). Other readers whose files hold the
    same networks under other names (TF-era pickles) rename them to NVlabs' and call this."""
    overrides = dict(overrides or {})
    part = overrides.pop('part', None)
    arch = overrides.pop('arch', None)
    if arch not in (None, 'StyleGAN2', 'StyleGAN3', 'StyleGANv2Generator',
                    'StyleGANv3Generator'):
        raise ValueError(f'arch={arch!r}: this file holds NVlabs StyleGAN2/StyleGAN3 networks')
    if part is not None and part not in parts:
        raise ValueError(f'part={part!r} is not in this file; it holds {list(parts)}')
    templates: dict = {}
    converted, skipped = {}, {}
    for name, (sd, kwargs, class_name) in parts.items():
        if name != 'D' and overrides:
            kwargs = _with_overrides(kwargs, overrides)
        where = f'{fmt} {name}' + (f' ({class_name})' if class_name else '')
        try:
            converted[name] = convert_network(sd, kwargs, where, templates)
        except ValueError as exc:
            # e.g. CIFAR-10's 'orig' discriminator: its generator still loads
            if part == name or (part is None and name != 'D') or len(parts) == 1:
                raise
            skipped[name] = str(exc)
    if not converted:
        raise ValueError(next(iter(skipped.values())))
    gens = [p for p in ('G_ema', 'G') if p in converted]
    default = part or (gens[0] if gens else 'D')
    info: dict[str, Any] = {}
    if gens:
        g_cfg, g_sd, g_info = converted[gens[0]]
        info.update({k: v for k, v in g_info.items() if k != 'kind'})
        info['w_avg'] = g_sd.get('w_avg', g_sd.get('style_mapping.w_avg')).clone()
    if 'D' in converted:
        info['discriminator'] = {k: v for k, v in converted['D'][2].items() if k != 'kind'}
        info.setdefault('architecture', 'StyleGAN2 discriminator')
    info['parts'] = list(converted)
    if skipped:  # parts genforge cannot compute, left out with the reason
        info['skipped'] = skipped
    info.update(extra_info or {})
    if gens:
        algorithm = 'StyleGAN3' if converted[gens[0]][2]['kind'] == 'sg3_G' else 'StyleGAN2'
        ema = 'G' in converted and 'G_ema' in converted
        gen_cfg = converted['G' if 'G' in converted else 'G_ema'][0]
        model_config = gan_model_config(algorithm, gen_cfg, converted['D'][0]
                                        if 'D' in converted else None, ema)
        if info.get('c_dim'):
            model_config['num_classes'] = info['c_dim']
        model_sd = gan_model_state_dict({p: c[1] for p, c in converted.items()}, ema)
    else:  # a discriminator alone: nothing to sample from
        model_config, model_sd = dict(type='StyleGAN2', discriminator=converted['D'][0]), {
            f'discriminator.{k}': v for k, v in converted['D'][1].items()}
    return Imported(format=fmt, networks={p: (c[0], c[1]) for p, c in converted.items()},
                    default_part=default, model_config=model_config,
                    model_state_dict=model_sd, info=info)


@register_reader
def read_nvlabs(obj: Any, overrides: dict) -> Imported | None:
    """The reader for NVlabs StyleGAN2-ADA / StyleGAN3 files (see the module docstring)."""
    parts = nvlabs_parts(obj)
    if parts is None:
        return None
    extra: dict[str, Any] = {'source': 'NVlabs pickle' if any(
        c for _, _, c in parts.values()) else 'NVlabs state dict'}
    if isinstance(obj, dict) and isinstance(obj.get('training_set_kwargs'), dict):
        tsk = obj['training_set_kwargs']
        extra['training_set'] = {k: tsk[k] for k in ('path', 'resolution', 'use_labels', 'xflip')
                                 if k in tsk}
    return imported_from_parts(parts, overrides, 'nvlabs', extra)
