"""NVlabs' StyleGAN2 / StyleGAN3 parameter names <-> genforge's (MMagic-layout) networks.

Shared by the snapshot reader (``nvlabs.py``) and ``export --format nvlabs-state-dict``
(``export_gan.py``). Three network kinds, as NVlabs' stylegan2-ada-pytorch and stylegan3 build
them (``training/networks.py``, ``networks_stylegan2.py``, ``networks_stylegan3.py``):

- ``'sg2_G'``: StyleGAN2 generator (``mapping.fc{i}``, ``mapping.embed``, ``mapping.w_avg``,
  ``synthesis.b{res}.{const,conv0,conv1,torgb}``) -> ``StyleGANv2Generator``;
- ``'sg3_G'``: StyleGAN3 generator (``mapping.*``, ``synthesis.input.*``,
  ``synthesis.L{i}_{size}_{channels}.*``) -> ``StyleGANv3Generator`` (MMagic ported NVlabs'
  names: only ``mapping.`` becomes ``style_mapping.``);
- ``'sg2_D'``: StyleGAN2 residual discriminator (``b{res}.{fromrgb,conv0,conv1,skip}``,
  ``b4.{conv,fc,out}``, ``mapping.*``) -> ``StyleGAN2Discriminator``; StyleGAN3 snapshots use the
  same discriminator.

Each ``*_config`` turns NVlabs' init kwargs (completed from the tensors' shapes where a file
lacks them) into a genforge config that computes NVlabs' function; each ``*_names`` lists
``(nvlabs_key, genforge_key, kind)`` where ``kind`` says how the tensor is reshaped.
"""
from __future__ import annotations

import math
import re
from typing import Any

import torch

__all__ = ['NVLABS_FILTER', 'kind_of', 'sg2_generator_config', 'sg2_generator_names',
           'sg2_discriminator_config', 'sg2_discriminator_names', 'sg3_generator_config',
           'sg3_generator_names', 'to_genforge', 'to_nvlabs', 'resample_filter']

# [1, 3, 3, 1]: NVlabs' (and MMagic's) resampling filter
NVLABS_FILTER = (1, 3, 3, 1)


def resample_filter(taps=NVLABS_FILTER) -> torch.Tensor:
    """NVlabs' ``upfirdn2d.setup_filter(taps)`` buffer: the normalised outer product (4, 4)."""
    f = torch.as_tensor(taps, dtype=torch.float32)
    f = f[:, None] * f[None, :]
    return f / f.sum()


def kind_of(sd: dict[str, torch.Tensor]) -> str | None:
    """Which NVlabs network a state dict (NVlabs names) is: 'sg2_G', 'sg3_G', 'sg2_D' or None."""
    if 'synthesis.input.weight' in sd and 'mapping.fc0.weight' in sd:
        return 'sg3_G'
    if 'synthesis.b4.const' in sd and 'mapping.fc0.weight' in sd:
        return 'sg2_G'
    if 'b4.fc.weight' in sd and 'b4.out.weight' in sd:
        return 'sg2_D'
    return None


# -- reshaping between the layouts ---------------------------------------------------------
_FWD = {  # NVlabs tensor -> genforge tensor
    'same': lambda v: v,
    'lead1': lambda v: v.unsqueeze(0),            # const, modulated conv weights
    'scalar1': lambda v: v.reshape(1),            # noise_strength [] -> noise_injector.weight [1]
    'noise': lambda v: v.reshape(1, 1, *v.shape),  # noise_const [r, r] -> (1, 1, r, r)
    'bias4d': lambda v: v.reshape(1, -1, 1, 1),   # toRGB bias (C,) -> (1, C, 1, 1)
}
_INV = {
    'same': lambda v: v,
    'lead1': lambda v: v[0],
    'scalar1': lambda v: v.reshape(()),
    'noise': lambda v: v[0, 0],
    'bias4d': lambda v: v.reshape(-1),
}


def to_genforge(sd: dict, names: list[tuple[str, str, str]], where: str) -> dict:
    """NVlabs-named ``sd`` -> genforge names; a ValueError names missing keys."""
    missing = [nv for nv, _, _ in names if nv not in sd]
    if missing:
        raise ValueError(f'{where}: NVlabs tensors missing: {missing[:8]}'
                         f'{" ..." if len(missing) > 8 else ""}')
    return {gf: _FWD[kind](sd[nv].detach().float().clone()) for nv, gf, kind in names}


def to_nvlabs(sd: dict, names: list[tuple[str, str, str]]) -> dict:
    """genforge-named ``sd`` -> NVlabs names (the inverse of :func:`to_genforge`)."""
    return {nv: _INV[kind](sd[gf].detach().float().clone()) for nv, gf, kind in names}


# -- helpers -------------------------------------------------------------------------------
def _indices(sd: dict, pattern: str) -> list[int]:
    rx = re.compile(pattern)
    return sorted({int(m.group(1)) for m in map(rx.match, sd) if m})


def _plain(value: Any) -> Any:
    """EasyDicts / numpy scalars from a pickle -> plain Python values for a config."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
        return value.item()
    return value


def _refuse(where: str, key: str, value: Any, supported: str) -> None:
    raise ValueError(f'{where}: {key}={value!r} is not supported ({supported}); genforge reads '
                     f'NVlabs StyleGAN2 with a skip generator and a resnet discriminator, and '
                     f'StyleGAN3-T/-R generators')


def _channel_rule(channels: dict[int, int], kwargs: dict, where: str) -> tuple[int, int]:
    """NVlabs' ``(channel_base, channel_max)`` for per-resolution channels read from tensors;
    the init kwargs' values when they agree with the tensors."""
    base, cmax = kwargs.get('channel_base'), kwargs.get('channel_max')
    if base is not None and cmax is not None and \
            all(min(int(base) // r, int(cmax)) == c for r, c in channels.items()):
        return int(base), int(cmax)
    cmax = max(channels.values())
    top = max(channels)
    base = channels[top] * top
    if all(min(base // r, cmax) == c for r, c in channels.items()):
        return base, cmax
    raise ValueError(f'{where}: the channels per resolution {channels} follow no '
                     f'min(channel_base // res, channel_max) rule')


def _mapping_kwargs(kwargs: dict, where: str) -> dict:
    mk = _plain(kwargs.get('mapping_kwargs') or {})
    if mk.get('activation', 'lrelu') != 'lrelu':
        _refuse(where, 'mapping_kwargs.activation', mk['activation'], "only 'lrelu'")
    return mk


# -- StyleGAN2 generator ---------------------------------------------------------------------
_SYNTH_KEYS = ('channel_base', 'channel_max', 'num_fp16_res', 'conv_clamp', 'architecture',
               'resample_filter', 'use_noise', 'kernel_size', 'activation', 'fp16_channels_last',
               'channels_last', 'fused_modconv_default')


def _sg2_synthesis_kwargs(kwargs: dict) -> dict:
    """stylegan2-ada-pytorch nests them in ``synthesis_kwargs``; stylegan3's copy of the
    StyleGAN2 generator takes them flat."""
    out = {k: v for k, v in kwargs.items() if k in _SYNTH_KEYS}
    out.update(_plain(kwargs.get('synthesis_kwargs') or {}))
    return _plain(out)


def sg2_generator_config(sd: dict, kwargs: dict, where: str = 'G') -> tuple[dict, dict]:
    """``(genforge config, info)`` of an NVlabs StyleGAN2 generator."""
    kwargs = _plain(dict(kwargs or {}))
    syn = _sg2_synthesis_kwargs(kwargs)
    mk = _mapping_kwargs(kwargs, where)
    if syn.get('architecture', 'skip') != 'skip':
        _refuse(where, 'synthesis_kwargs.architecture', syn['architecture'],
                "only 'skip', NVlabs' default")
    if syn.get('activation', 'lrelu') != 'lrelu':
        _refuse(where, 'synthesis_kwargs.activation', syn['activation'], "only 'lrelu'")
    if syn.get('kernel_size', 3) != 3:
        _refuse(where, 'synthesis_kwargs.kernel_size', syn['kernel_size'], 'only 3')
    if mk.get('layer_features') not in (None, sd['mapping.fc0.weight'].shape[0]):
        _refuse(where, 'mapping_kwargs.layer_features', mk['layer_features'], 'only w_dim')
    resolutions = _indices(sd, r'^synthesis\.b(\d+)\.conv1\.weight$')
    res = max(resolutions)
    if resolutions != [2 ** i for i in range(2, int(math.log2(res)) + 1)]:
        raise ValueError(f'{where}: synthesis blocks {resolutions} are not 4, 8, ..., {res}')
    if any(f'synthesis.b{r}.torgb.weight' not in sd for r in resolutions):
        _refuse(where, 'synthesis_kwargs.architecture', 'orig',
                "only 'skip' (a toRGB layer in every block)")
    if any(f'synthesis.b{r}.skip.weight' in sd for r in resolutions):
        _refuse(where, 'synthesis_kwargs.architecture', 'resnet', "only 'skip'")
    num_layers = len(_indices(sd, r'^mapping\.fc(\d+)\.weight$'))
    w_dim = sd[f'mapping.fc{num_layers - 1}.weight'].shape[0]
    c_dim = sd['mapping.embed.weight'].shape[1] if 'mapping.embed.weight' in sd else 0
    embed = sd['mapping.embed.weight'].shape[0] if c_dim else 0
    z_dim = sd['mapping.fc0.weight'].shape[1] - embed
    img_channels = sd[f'synthesis.b{res}.torgb.weight'].shape[0]
    channels = {r: sd[f'synthesis.b{r}.conv1.weight'].shape[0] for r in resolutions}
    base, cmax = _channel_rule(channels, syn, where)
    use_noise = 'synthesis.b4.conv1.noise_const' in sd
    if syn.get('use_noise', use_noise) != use_noise:
        raise ValueError(f'{where}: use_noise={syn["use_noise"]} but the noise tensors are '
                         f'{"present" if use_noise else "absent"}')
    cfg = dict(type='StyleGANv2Generator', out_size=res, style_channels=w_dim, noise_size=z_dim,
               out_channels=img_channels, num_mlps=num_layers,
               lr_mlp=float(mk.get('lr_multiplier', 0.01)), norm_eps=1e-8,
               update_mean_latent_with_ema=True,
               w_avg_beta=float(mk.get('w_avg_beta') or 0.995),
               channel_base=base, max_channels=cmax,
               blur_kernel=list(syn.get('resample_filter', NVLABS_FILTER)))
    if syn.get('conv_clamp') is not None:
        cfg['conv_clamp'] = float(syn['conv_clamp'])
    if c_dim:
        cfg.update(cond_size=c_dim, cond_mapping_channels=embed)
    info = dict(architecture='StyleGAN2', z_dim=z_dim, c_dim=c_dim, w_dim=w_dim,
                img_resolution=res, img_channels=img_channels, channel_base=base,
                channel_max=cmax, mapping_layers=num_layers, conv_clamp=syn.get('conv_clamp'),
                use_noise=use_noise)
    return cfg, info


def sg2_generator_names(cfg: dict, use_noise: bool = True) -> list[tuple[str, str, str]]:
    """``(nvlabs_key, genforge_key, kind)`` for every tensor of a StyleGANv2Generator config."""
    names = []
    cond = bool(cfg.get('cond_size'))
    offset = 0 if cond else 1  # the unconditional style_mapping starts with a pixel norm
    for i in range(cfg.get('num_mlps', 8)):
        names += [(f'mapping.fc{i}.weight', f'style_mapping.{i + offset}.linear.weight_orig',
                   'same'),
                  (f'mapping.fc{i}.bias', f'style_mapping.{i + offset}.bias', 'same')]
    if cond:
        names += [('mapping.embed.weight', 'embed.linear.weight_orig', 'same'),
                  ('mapping.embed.bias', 'embed.bias', 'same')]
    names.append(('mapping.w_avg', 'w_avg', 'same'))
    names.append(('synthesis.b4.const', 'constant_input.input', 'lead1'))

    def layer(nv: str, gf: str, noise_idx: int) -> None:
        names.extend([(f'{nv}.weight', f'{gf}.conv.weight_orig', 'lead1'),
                      (f'{nv}.affine.weight', f'{gf}.conv.style_modulation.linear.weight_orig',
                       'same'),
                      (f'{nv}.affine.bias', f'{gf}.conv.style_modulation.bias', 'same'),
                      (f'{nv}.bias', f'{gf}.activate.bias', 'same')])
        if use_noise:
            names.extend([(f'{nv}.noise_strength', f'{gf}.noise_injector.weight', 'scalar1'),
                          (f'{nv}.noise_const', f'injected_noise_{noise_idx}', 'noise')])

    def torgb(nv: str, gf: str) -> None:
        names.extend([(f'{nv}.weight', f'{gf}.conv.weight_orig', 'lead1'),
                      (f'{nv}.affine.weight', f'{gf}.conv.style_modulation.linear.weight_orig',
                       'same'),
                      (f'{nv}.affine.bias', f'{gf}.conv.style_modulation.bias', 'same'),
                      (f'{nv}.bias', f'{gf}.bias', 'bias4d')])

    layer('synthesis.b4.conv1', 'conv1', 0)
    torgb('synthesis.b4.torgb', 'to_rgb1')
    for k in range(int(math.log2(cfg['out_size'])) - 2):
        res = 2 ** (k + 3)
        layer(f'synthesis.b{res}.conv0', f'convs.{2 * k}', 2 * k + 1)
        layer(f'synthesis.b{res}.conv1', f'convs.{2 * k + 1}', 2 * k + 2)
        torgb(f'synthesis.b{res}.torgb', f'to_rgbs.{k}')
    return names


def sg2_generator_filters(cfg: dict) -> dict[str, torch.Tensor]:
    """NVlabs' ``resample_filter`` buffers of a StyleGAN2 generator (not in genforge's layout)."""
    f = resample_filter(cfg.get('blur_kernel', NVLABS_FILTER))
    out = {}
    for i in range(2, int(math.log2(cfg['out_size'])) + 1):
        res = 2 ** i
        out[f'synthesis.b{res}.resample_filter'] = f.clone()
        for conv in (('conv1',) if res == 4 else ('conv0', 'conv1')):
            out[f'synthesis.b{res}.{conv}.resample_filter'] = f.clone()
    return out


# -- StyleGAN2 discriminator -----------------------------------------------------------------
def sg2_discriminator_config(sd: dict, kwargs: dict, where: str = 'D') -> tuple[dict, dict]:
    """``(genforge config, info)`` of an NVlabs StyleGAN2 (resnet) discriminator."""
    kwargs = _plain(dict(kwargs or {}))
    if kwargs.get('architecture', 'resnet') != 'resnet':
        _refuse(where, 'architecture', kwargs['architecture'], "only 'resnet', NVlabs' default")
    resolutions = _indices(sd, r'^b(\d+)\.conv0\.weight$')
    if not resolutions:
        raise ValueError(f'{where}: no discriminator blocks (b<res>.conv0)')
    res = max(resolutions)
    if resolutions != [2 ** i for i in range(3, int(math.log2(res)) + 1)]:
        raise ValueError(f'{where}: discriminator blocks {resolutions} are not 8, ..., {res}')
    if any(f'b{r}.skip.weight' not in sd for r in resolutions):
        _refuse(where, 'architecture', 'orig' if f'b{res}.fromrgb.weight' in sd else 'skip',
                "only 'resnet' (a skip conv in every block)")
    if any(f'b{r}.fromrgb.weight' in sd for r in resolutions if r != res) or \
            'b4.fromrgb.weight' in sd:
        _refuse(where, 'architecture', 'skip', "only 'resnet'")
    ek = _plain(kwargs.get('epilogue_kwargs') or {})
    mk = _mapping_kwargs(kwargs, where)
    channels = {r: sd[f'b{r}.conv0.weight'].shape[0] for r in resolutions}
    channels[4] = sd['b4.conv.weight'].shape[0]
    base, cmax = _channel_rule(channels, kwargs, where)
    mbstd = sd['b4.conv.weight'].shape[1] - channels[4]
    if mbstd < 1:
        _refuse(where, 'epilogue_kwargs.mbstd_num_channels', mbstd, 'at least 1')
    group = ek.get('mbstd_group_size', 4)
    img_channels = sd[f'b{res}.fromrgb.weight'].shape[1]
    cfg = dict(type='StyleGAN2Discriminator', in_size=res, img_channels=img_channels,
               channel_base=base, max_channels=cmax,
               mbstd_cfg=dict(group_size=int(group) if group is not None else 1 << 30,
                              channel_groups=int(mbstd)))
    resample = (kwargs.get('block_kwargs') or {}).get('resample_filter')
    if resample is not None and tuple(_plain(resample)) != NVLABS_FILTER:
        cfg['blur_kernel'] = list(_plain(resample))
    if kwargs.get('conv_clamp') is not None:
        cfg['conv_clamp'] = float(kwargs['conv_clamp'])
    c_dim = sd['mapping.embed.weight'].shape[1] if 'mapping.embed.weight' in sd else 0
    info = dict(architecture='StyleGAN2 discriminator (resnet)', c_dim=c_dim,
                img_resolution=res, img_channels=img_channels, channel_base=base,
                channel_max=cmax, mbstd_group_size=group, mbstd_num_channels=mbstd,
                conv_clamp=kwargs.get('conv_clamp'))
    if c_dim:
        cmap = sd['b4.out.weight'].shape[0]
        if mk.get('embed_features') not in (None, cmap) or \
                mk.get('layer_features') not in (None, cmap):
            _refuse(where, 'mapping_kwargs', mk, 'embed/layer features equal to cmap_dim')
        if float(mk.get('lr_multiplier', 0.01)) != 0.01:
            _refuse(where, 'mapping_kwargs.lr_multiplier', mk['lr_multiplier'], 'only 0.01')
        cfg.update(cond_size=c_dim, cond_mapping_channels=cmap,
                   cond_mapping_layers=len(_indices(sd, r'^mapping\.fc(\d+)\.weight$')))
        info['cmap_dim'] = cmap
    return cfg, info


def sg2_discriminator_names(cfg: dict) -> list[tuple[str, str, str]]:
    """``(nvlabs_key, genforge_key, kind)`` for every tensor of a StyleGAN2Discriminator."""
    res = cfg['in_size']
    names = [(f'b{res}.fromrgb.weight', 'convs.0.0.conv.weight_orig', 'same'),
             (f'b{res}.fromrgb.bias', 'convs.0.1.bias', 'same')]
    log = int(math.log2(res))
    for j, i in enumerate(range(log, 2, -1), start=1):
        r = 2 ** i
        names += [(f'b{r}.conv0.weight', f'convs.{j}.conv1.0.conv.weight_orig', 'same'),
                  (f'b{r}.conv0.bias', f'convs.{j}.conv1.1.bias', 'same'),
                  (f'b{r}.conv1.weight', f'convs.{j}.conv2.1.conv.weight_orig', 'same'),
                  (f'b{r}.conv1.bias', f'convs.{j}.conv2.2.bias', 'same'),
                  (f'b{r}.skip.weight', f'convs.{j}.skip.1.conv.weight_orig', 'same')]
    names += [('b4.conv.weight', 'final_conv.0.conv.weight_orig', 'same'),
              ('b4.conv.bias', 'final_conv.1.bias', 'same'),
              ('b4.fc.weight', 'final_linear.0.linear.weight_orig', 'same'),
              ('b4.fc.bias', 'final_linear.0.bias', 'same'),
              ('b4.out.weight', 'final_linear.1.linear.weight_orig', 'same'),
              ('b4.out.bias', 'final_linear.1.bias', 'same')]
    if cfg.get('cond_size'):
        names += [('mapping.embed.weight', 'mapping.embed.weight', 'same'),
                  ('mapping.embed.bias', 'mapping.embed.bias', 'same')]
        for i in range(cfg.get('cond_mapping_layers') or 8):
            names += [(f'mapping.fc{i}.weight', f'mapping.fc{i}.weight', 'same'),
                      (f'mapping.fc{i}.bias', f'mapping.fc{i}.bias', 'same')]
    return names


def sg2_discriminator_filters(cfg: dict) -> dict[str, torch.Tensor]:
    """NVlabs' ``resample_filter`` buffers of a StyleGAN2 discriminator."""
    f = resample_filter(cfg.get('blur_kernel', NVLABS_FILTER))
    res, out = cfg['in_size'], {}
    for i in range(int(math.log2(res)), 2, -1):
        r = 2 ** i
        convs = ('fromrgb', 'conv0', 'conv1', 'skip') if r == res else ('conv0', 'conv1', 'skip')
        out[f'b{r}.resample_filter'] = f.clone()
        for conv in convs:
            out[f'b{r}.{conv}.resample_filter'] = f.clone()
    out['b4.conv.resample_filter'] = f.clone()
    return out


# -- StyleGAN3 generator ---------------------------------------------------------------------
_SG3_SYNTH = ('channel_base', 'channel_max', 'num_layers', 'num_critical', 'first_cutoff',
              'first_stopband', 'last_stopband_rel', 'margin_size', 'output_scale',
              'num_fp16_res', 'conv_kernel', 'filter_size', 'lrelu_upsampling',
              'use_radial_filters', 'conv_clamp', 'magnitude_ema_beta')


def sg3_generator_config(sd: dict, kwargs: dict, where: str = 'G') -> tuple[dict, dict]:
    """``(genforge config, info)`` of an NVlabs StyleGAN3 (T or R) generator."""
    kwargs = _plain(dict(kwargs or {}))
    mk = _mapping_kwargs(kwargs, where)
    syn = {k: v for k, v in kwargs.items() if k in _SG3_SYNTH}
    syn.update(_plain(kwargs.get('synthesis_kwargs') or {}))
    unknown = sorted(set(kwargs) - set(_SG3_SYNTH) - {
        'z_dim', 'c_dim', 'w_dim', 'img_resolution', 'img_channels', 'mapping_kwargs',
        'synthesis_kwargs'})
    if unknown:
        _refuse(where, 'init kwargs', unknown, 'the StyleGAN3 generator arguments of NVlabs')
    layers = _indices(sd, r'^synthesis\.L(\d+)_\d+_\d+\.weight$')
    last = max(layers)
    torgb = next(k for k in sd if re.match(rf'^synthesis\.L{last}_\d+_\d+\.weight$', k))
    img_channels, _, _, _ = sd[torgb].shape
    size = int(torgb.split('_')[1])
    res = int(kwargs.get('img_resolution', size))
    num_mapping = len(_indices(sd, r'^mapping\.fc(\d+)\.weight$'))
    w_dim = sd[f'mapping.fc{num_mapping - 1}.weight'].shape[0]
    c_dim = sd['mapping.embed.weight'].shape[1] if 'mapping.embed.weight' in sd else 0
    z_dim = sd['mapping.fc0.weight'].shape[1] - (w_dim if c_dim else 0)
    first = next(k for k in sd if re.match(r'^synthesis\.L0_\d+_\d+\.weight$', k))
    syn.setdefault('conv_kernel', sd[first].shape[-1])
    syn.setdefault('use_radial_filters', any(
        k.endswith('.down_filter') and sd[k].ndim == 2 for k in sd))
    syn['num_layers'] = last
    synthesis_cfg = dict(type='SynthesisNetwork', **{k: syn[k] for k in _SG3_SYNTH if k in syn})
    synthesis_cfg['num_fp16_res'] = 0  # genforge computes in float32 (as NVlabs on the CPU)
    mapping_cfg = dict(type='MappingNetwork', num_layers=num_mapping,
                       lr_multiplier=float(mk.get('lr_multiplier', 0.01)),
                       w_avg_beta=float(mk.get('w_avg_beta') or 0.998))
    if c_dim:
        mapping_cfg['cond_size'] = c_dim
    cfg = dict(type='StyleGANv3Generator', out_size=res, style_channels=w_dim,
               img_channels=img_channels, noise_size=z_dim, synthesis_cfg=synthesis_cfg,
               mapping_cfg=mapping_cfg)
    variant = 'R' if syn['use_radial_filters'] else 'T'
    info = dict(architecture=f'StyleGAN3-{variant}', z_dim=z_dim, c_dim=c_dim, w_dim=w_dim,
                img_resolution=res, img_channels=img_channels,
                channel_base=syn.get('channel_base', 32768),
                channel_max=syn.get('channel_max', 512), conv_kernel=syn['conv_kernel'],
                use_radial_filters=bool(syn['use_radial_filters']), num_layers=last,
                mapping_layers=num_mapping,
                magnitude_ema_beta=syn.get('magnitude_ema_beta', 0.999))
    return cfg, info


def sg3_generator_names(genforge_keys) -> list[tuple[str, str, str]]:
    """StyleGAN3: the same names but ``mapping.`` -> ``style_mapping.``."""
    out = []
    for key in genforge_keys:
        nv = 'mapping.' + key[len('style_mapping.'):] if key.startswith('style_mapping.') \
            else key
        out.append((nv, key, 'same'))
    return out
