"""NVlabs TF-era StyleGAN2 / StyleGAN2-ADA (TensorFlow) pickles, read without TensorFlow.

Such a pickle is ``(G, D, Gs)``: three ``dnnlib.tflib.network.Network`` objects pickled through
their ``__getstate__`` as ``{'version', 'name', 'static_kwargs', 'components', 'build_module_src',
'build_func_name', 'variables'}``. :class:`TFNetwork` stands in for the class: it keeps that dict
(the build module's source stays *text*, never executed) and the reader maps the named numpy
variables to genforge's StyleGAN2 networks (config-e/f: ``skip`` generator, ``resnet``
discriminator), through rosinality's layout (the same tensors, torch-shaped):

- TF conv kernels are HWIO -> OIHW (``transpose(3, 2, 0, 1)``); dense weights are ``[in, out]``
  -> ``[out, in]``; all are stored before their runtime gain (``1/sqrt(fan_in) * lrmul``), as
  genforge's ``weight_orig``; biases are stored raw and multiplied by ``lrmul`` at run time;
- the style ``mod_bias`` gets its ``+ 1`` added at run time in TF: it is added here;
- ``Conv0_up`` runs as a transposed conv of the spatially flipped kernel: the kernel is flipped;
- ``noise_strength`` is a scalar, ``noise{i}`` the constant noise maps, ``dlatent_avg`` the
  truncation centre (-> the generator's ``w_avg`` and ``Imported.info['w_avg']``);
- ``fmap_base`` -> ``channel_base = 2 * fmap_base`` (``nf(stage) = fmap_base / 2**stage`` with
  ``res = 2**(stage + 1)``), ``fmap_max`` -> ``max_channels``; ``mapping_lrmul`` -> ``lr_mlp``;
  ``mbstd_group_size``/``mbstd_num_features`` -> ``mbstd_cfg``; ADA's ``conv_clamp`` ->
  ``conv_clamp``.

Conditional StyleGAN2-ADA (TF) networks are read: G's ``LabelEmbed`` -> ``cond_size`` /
``cond_mapping_channels`` (z and the embedded label, each normalised, concatenated); D's
``LabelEmbed`` and ``Output`` -> the projection score ``<Output(x), normalize(embed(c))> /
sqrt(C)`` (``cond_mapping_layers=0``).

Refused with a message: StyleGAN2 (TF) conditioning (``LabelConcat``, an ``Output`` with one score
per label), D label mapping layers (``Mapping0``...), ``orig``/``resnet`` generators and
``orig``/``skip`` discriminators, other resampling kernels or activations, ``fmap_decay`` /
``fmap_min`` other than 1, ADA's ``mbstd_group_size=None``, StyleGAN (v1) pickles.
"""
from __future__ import annotations

import pickle
import re
from typing import Any

import numpy as np
import torch

from genforge.interop.formats import Imported, register_reader
from genforge.interop.rosinality import _checked, gan_imported, rosinality_to_genforge
from genforge.interop.safe_unpickle import ALLOWED_GLOBALS

__all__ = ['TFNetwork', 'TF_GLOBALS', 'read_nvlabs_tf', 'tf_generator', 'tf_discriminator']


class TFNetwork:
    """Stand-in for ``dnnlib.tflib.network.Network``: the pickled state, nothing executed.

    ``name``, ``static_kwargs``, ``components`` ({'mapping': TFNetwork, 'synthesis': ...}),
    ``build_func_name``, ``build_module_src`` (text) and ``variables`` ({local name: array}).
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or 'variables' not in state:
            raise pickle.UnpicklingError('dnnlib.tflib.network.Network: expected its pickled '
                                         f'state dict with "variables", got {type(state).__name__}')
        self.version = state.get('version')
        self.name = str(state.get('name'))
        self.static_kwargs = dict(state.get('static_kwargs') or {})
        self.components = dict(state.get('components') or {})
        self.build_func_name = state.get('build_func_name')
        self.build_module_src = state.get('build_module_src')   # kept as text, never run
        self.variables = {str(k): v for k, v in state['variables']}

    def all_variables(self) -> dict[str, Any]:
        """Own variables plus the components', as TF's ``Network.vars`` names them."""
        out = dict(self.variables)
        for comp in self.components.values():
            if isinstance(comp, TFNetwork):
                out.update((f'{comp.name}/{k}', v) for k, v in comp.all_variables().items())
        return out

    def kwargs(self) -> dict:
        """Static kwargs of this network and its components (the build arguments)."""
        out = dict(self.static_kwargs)
        for comp in self.components.values():
            if isinstance(comp, TFNetwork):
                out.update(comp.kwargs())
        return out


# the stand-in every restricted load uses (safe_unpickle's allow-list of stand-ins)
TF_GLOBALS = {('dnnlib.tflib.network', 'Network'): TFNetwork}
ALLOWED_GLOBALS.update(TF_GLOBALS)


def _t(value: Any, what: str) -> torch.Tensor:
    if not isinstance(value, np.ndarray) and not np.isscalar(value):
        raise ValueError(f'TF pickle: variable {what} is a {type(value).__name__}, not an array')
    return torch.from_numpy(np.array(value, dtype=np.float32))


def _conv(w: torch.Tensor) -> torch.Tensor:
    return w.permute(3, 2, 0, 1).contiguous()   # HWIO -> OIHW


def _refuse(what: str, why: str) -> None:
    raise ValueError(f'TF pickle {what}: {why}; genforge reads config-e/f StyleGAN2 TF pickles '
                     f'(skip G, resnet D; unconditional, or StyleGAN2-ADA\'s LabelEmbed '
                     f'conditioning) (docs/interop.md)')


def _check_common(kw: dict, what: str) -> None:
    if list(kw.get('resample_kernel', [1, 3, 3, 1]) or []) != [1, 3, 3, 1]:
        _refuse(what, f'resample_kernel={kw.get("resample_kernel")!r} (genforge: [1, 3, 3, 1])')
    for key in ('nonlinearity', 'mapping_nonlinearity'):
        if kw.get(key, 'lrelu') != 'lrelu':
            _refuse(what, f'{key}={kw[key]!r} (genforge: lrelu)')
    if kw.get('fmap_decay', 1) != 1 or kw.get('fmap_min', 1) != 1:
        _refuse(what, f'fmap_decay={kw.get("fmap_decay")}, fmap_min={kw.get("fmap_min")} '
                      f'(genforge: 1 and 1)')


def _channels(kw: dict, size: int, found: dict[int, int], what: str) -> dict:
    from genforge.models.archs.stylegan2 import stylegan2_channels
    base, cap = 2 * int(kw.get('fmap_base', 16 << 10)), int(kw.get('fmap_max', 512))
    table = stylegan2_channels(max_channels=cap, channel_base=base)
    if any(table[r] != c for r, c in found.items()):
        raise ValueError(f'TF pickle {what}: channels per resolution {found} do not follow '
                         f'fmap_base={base // 2}, fmap_max={cap} from its static_kwargs')
    return dict(channel_base=base, max_channels=cap)


def tf_generator(net: TFNetwork, what: str = 'G') -> tuple[dict, dict]:
    """(genforge config, genforge state dict) of a TF StyleGAN2 generator (G or Gs)."""
    kw, v = net.kwargs(), net.all_variables()
    _check_common(kw, what)
    embed = _label_embed(v, 'G_mapping/', what)
    if kw.get('architecture', 'skip') != 'skip' or (kw.get('label_size', 0) and embed is None) \
            or any(k.startswith('G_mapping/LabelConcat') for k in v):
        _refuse(what, f'architecture={kw.get("architecture", "skip")!r}, label_size='
                      f'{kw.get("label_size", 0)} (StyleGAN2-TF conditioning: LabelConcat)')
    if 'G_synthesis/4x4/Conv/mod_weight' not in v:
        _refuse(what, 'no G_synthesis/4x4/Conv/mod_weight: a StyleGAN (v1) or unknown generator')
    ros: dict[str, torch.Tensor] = {}
    n_mlp = 0
    while f'G_mapping/Dense{n_mlp}/weight' in v:
        ros[f'style.{n_mlp + 1}.weight'] = _t(v[f'G_mapping/Dense{n_mlp}/weight'], what).t()
        ros[f'style.{n_mlp + 1}.bias'] = _t(v[f'G_mapping/Dense{n_mlp}/bias'], what)
        n_mlp += 1
    ros['input.input'] = _t(v['G_synthesis/4x4/Const/const'], what)
    blocks = sorted(int(m.group(1)) for m in map(re.compile(r'G_synthesis/(\d+)x\d+/Conv1/weight$')
                                                .match, v) if m)
    size = blocks[-1] if blocks else 4

    def modconv(src: str, dst: str, flip: bool = False, rgb: bool = False) -> None:
        w = _conv(_t(v[f'G_synthesis/{src}/weight'], what))[None]
        ros[f'{dst}.conv.weight'] = torch.flip(w, [3, 4]) if flip else w
        ros[f'{dst}.conv.modulation.weight'] = _t(v[f'G_synthesis/{src}/mod_weight'], what).t()
        ros[f'{dst}.conv.modulation.bias'] = _t(v[f'G_synthesis/{src}/mod_bias'], what) + 1
        bias = _t(v[f'G_synthesis/{src}/bias'], what)
        if rgb:
            ros[f'{dst}.bias'] = bias.reshape(1, -1, 1, 1)
        else:
            ros[f'{dst}.noise.weight'] = _t(v[f'G_synthesis/{src}/noise_strength'], what).reshape(1)
            ros[f'{dst}.activate.bias'] = bias

    try:
        modconv('4x4/Conv', 'conv1')
        modconv('4x4/ToRGB', 'to_rgb1', rgb=True)
        for i, res in enumerate(blocks):
            modconv(f'{res}x{res}/Conv0_up', f'convs.{2 * i}', flip=True)
            modconv(f'{res}x{res}/Conv1', f'convs.{2 * i + 1}')
            modconv(f'{res}x{res}/ToRGB', f'to_rgbs.{i}', rgb=True)
        for i in range(2 * len(blocks) + 1):
            ros[f'noises.noise_{i}'] = _t(v[f'G_synthesis/noise{i}'], what)
    except KeyError as exc:
        raise ValueError(f'TF pickle {what}: variable {exc.args[0]!r} is missing (a StyleGAN2 '
                         f'skip generator has it)') from None
    channels = {4: ros['input.input'].shape[1]}
    channels.update({r: ros[f'convs.{2 * i}.conv.weight'].shape[1] for i, r in enumerate(blocks)})
    style = ros['conv1.conv.modulation.weight'].shape[1]
    cfg = dict(type='StyleGAN2Generator', out_size=size, style_channels=style, num_mlps=n_mlp,
               **_channels(kw, size, channels, what),
               lr_mlp=float(kw.get('mapping_lrmul', 0.01)))
    z_dim = ros['style.1.weight'].shape[1]
    if embed is not None:   # ADA: z and the label embedding, each normalised, concatenated
        cfg.update(cond_size=embed[0].shape[1], cond_mapping_channels=embed[0].shape[0])
        z_dim -= embed[0].shape[0]
    if z_dim != style:
        cfg['noise_size'] = z_dim
    if any(ros[f'style.{i}.weight'].shape[0] != style for i in range(1, n_mlp + 1)):
        _refuse(what, f'mapping_fmaps={kw.get("mapping_fmaps")} differs from dlatent_size={style}')
    if ros['to_rgb1.bias'].shape[1] != 3:
        cfg['out_channels'] = ros['to_rgb1.bias'].shape[1]
    if kw.get('conv_clamp') is not None:
        cfg['conv_clamp'] = float(kw['conv_clamp'])
    sd = rosinality_to_genforge(ros, 'G')
    if embed is not None:   # no leading pixel norm in a conditional mapping: style_mapping.0..
        sd = {re.sub(r'^style_mapping\.(\d+)\.', lambda m: f'style_mapping.{int(m.group(1)) - 1}.',
                     k): t for k, t in sd.items()}
        sd['embed.linear.weight_orig'], sd['embed.bias'] = embed
        sd['w_avg'] = torch.zeros(style)   # a conditional generator always tracks w_avg
    if 'dlatent_avg' in v:
        if embed is None:
            cfg['update_mean_latent_with_ema'] = True
        sd['w_avg'] = _t(v['dlatent_avg'], what).reshape(style)
    return cfg, _checked(cfg, sd, f'TF pickle {what}')


def _label_embed(v: dict, prefix: str, what: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """ADA's ``LabelEmbed`` dense layer as ``(weight (out, in), bias)``, or None."""
    if f'{prefix}LabelEmbed/weight' not in v:
        return None
    return (_t(v[f'{prefix}LabelEmbed/weight'], what).t(),
            _t(v[f'{prefix}LabelEmbed/bias'], what))


def tf_discriminator(net: TFNetwork, what: str = 'D') -> tuple[dict, dict]:
    """(genforge config, genforge state dict) of a TF StyleGAN2 ``resnet`` discriminator."""
    kw, v = net.kwargs(), net.all_variables()
    _check_common(kw, what)
    # StyleGAN2's D_stylegan2 groups 4 samples; ADA's D_main the whole batch unless set
    default_group = None if net.build_func_name == 'D_main' else 4
    group, feats = kw.get('mbstd_group_size', default_group), kw.get('mbstd_num_features', 1)
    froms = sorted(int(m.group(1)) for m in map(re.compile(r'(\d+)x\d+/FromRGB/weight$').match, v)
                   if m)
    embed = _label_embed(v, '', what)
    if kw.get('architecture', 'resnet') != 'resnet' or len(froms) != 1 or \
            (kw.get('label_size', 0) and embed is None) or any(k.startswith('Mapping') for k in v):
        _refuse(what, f'architecture={kw.get("architecture", "resnet")!r}, label_size='
                      f'{kw.get("label_size", 0)}, label mapping layers '
                      f'{sorted({k.split("/")[0] for k in v if k.startswith("Mapping")})}')
    if not group or group < 2 or not feats:
        _refuse(what, f'mbstd_group_size={group}, mbstd_num_features={feats} (genforge: a fixed '
                      f'group size >= 2 and at least one feature)')
    size = froms[0]
    ros: dict[str, torch.Tensor] = {}
    try:
        ros['convs.0.0.weight'] = _conv(_t(v[f'{size}x{size}/FromRGB/weight'], what))
        ros['convs.0.1.bias'] = _t(v[f'{size}x{size}/FromRGB/bias'], what)
        res, k = size, 1
        while res > 4:
            p = f'{res}x{res}'
            ros[f'convs.{k}.conv1.0.weight'] = _conv(_t(v[f'{p}/Conv0/weight'], what))
            ros[f'convs.{k}.conv1.1.bias'] = _t(v[f'{p}/Conv0/bias'], what)
            ros[f'convs.{k}.conv2.1.weight'] = _conv(_t(v[f'{p}/Conv1_down/weight'], what))
            ros[f'convs.{k}.conv2.2.bias'] = _t(v[f'{p}/Conv1_down/bias'], what)
            ros[f'convs.{k}.skip.1.weight'] = _conv(_t(v[f'{p}/Skip/weight'], what))
            res, k = res // 2, k + 1
        ros['final_conv.0.weight'] = _conv(_t(v['4x4/Conv/weight'], what))
        ros['final_conv.1.bias'] = _t(v['4x4/Conv/bias'], what)
        for src, i in (('4x4/Dense0', 0), ('Output', 1)):
            ros[f'final_linear.{i}.weight'] = _t(v[f'{src}/weight'], what).t()
            ros[f'final_linear.{i}.bias'] = _t(v[f'{src}/bias'], what)
    except KeyError as exc:
        raise ValueError(f'TF pickle {what}: variable {exc.args[0]!r} is missing (a StyleGAN2 '
                         f'resnet discriminator has it)') from None
    outputs = ros['final_linear.1.weight'].shape[0]
    if outputs != (1 if embed is None else embed[0].shape[0]):
        _refuse(what, f'Output gives {outputs} scores (StyleGAN2-TF conditioning)')
    ch4 = ros['final_conv.0.weight'].shape[0]
    if ros['final_linear.0.weight'].shape[0] != ch4:
        _refuse(what, f'4x4/Dense0 has {ros["final_linear.0.weight"].shape[0]} outputs, not '
                      f'{ch4} (nf(0) != nf(1))')
    channels = {size: ros['convs.0.0.weight'].shape[0]}
    channels.update({size // 2 ** k: ros[f'convs.{k}.conv2.1.weight'].shape[0]
                     for k in range(1, len([x for x in ros if x.endswith('conv2.1.weight')]) + 1)})
    cfg = dict(type='StyleGAN2Discriminator', in_size=size, **_channels(kw, size, channels, what),
               mbstd_cfg=dict(group_size=int(group), channel_groups=int(feats)))
    if ros['convs.0.0.weight'].shape[1] != 3:
        cfg['img_channels'] = ros['convs.0.0.weight'].shape[1]
    if kw.get('conv_clamp') is not None:
        cfg['conv_clamp'] = float(kw['conv_clamp'])
    sd = rosinality_to_genforge(ros, 'D')
    if embed is not None:   # ADA projection: <Output(x), normalize(LabelEmbed(c))> / sqrt(C)
        cfg.update(cond_size=embed[0].shape[1], cond_mapping_channels=outputs,
                   cond_mapping_layers=0)
        sd['mapping.embed.weight'], sd['mapping.embed.bias'] = embed
    # the blur kernels are not TF variables: _checked takes genforge's own
    return cfg, _checked(cfg, sd, f'TF pickle {what}')


def _parts(obj: Any) -> dict[str, TFNetwork] | None:
    """``{'G', 'D', 'G_ema'}`` of a ``(G, D, Gs)`` tuple (or one network)."""
    nets = list(obj) if isinstance(obj, (tuple, list)) else [obj]
    if not nets or not all(isinstance(n, TFNetwork) for n in nets):
        return None
    parts: dict[str, TFNetwork] = {}
    names = {'G': 'G', 'D': 'D', 'Gs': 'G_ema'}
    positional = ('G', 'D', 'G_ema') if len(nets) == 3 else ()
    for i, net in enumerate(nets):
        is_d = any(k == 'Output/weight' for k in net.variables)
        part = names.get(net.name) or (positional[i] if positional else 'D' if is_d else 'G_ema')
        parts[part] = net
    return parts


@register_reader
def read_nvlabs_tf(obj: Any, overrides: dict) -> Imported | None:
    """The reader for NVlabs TF-era StyleGAN2 / StyleGAN2-ADA pickles (module docstring)."""
    parts = _parts(obj)
    if parts is None:
        return None
    overrides = dict(overrides)
    part = overrides.pop('part', None)
    overrides.pop('arch', None)
    if overrides:
        raise ValueError(f'TF StyleGAN2 pickle: unknown override(s) {sorted(overrides)}; the '
                         f'architecture is fixed by its variables and static_kwargs')
    networks = {p: (tf_discriminator if p == 'D' else tf_generator)(n, p) for p, n in parts.items()}
    info: dict[str, Any] = dict(architecture='StyleGAN2 (NVlabs TF)', parts=list(networks))
    cfg = next((networks[p][0] for p in ('G_ema', 'G') if p in networks), None)
    if cfg is not None:
        info.update(resolution=cfg['out_size'], z_dim=cfg.get('noise_size', cfg['style_channels']),
                    w_dim=cfg['style_channels'], mapping_layers=cfg['num_mlps'],
                    channel_base=cfg['channel_base'], channel_max=cfg['max_channels'],
                    c_dim=cfg.get('cond_size', 0))
    info['build_funcs'] = {p: n.build_func_name for p, n in parts.items()}
    return gan_imported('nvlabs-tf', networks, part, info)
