"""SwinIR release files (JingyunLiang/SwinIR ``*.pth``) as genforge ``SwinIRNet`` networks.

A release file is ``{'params': state_dict}``, ``{'params_ema': ...}`` (some real-world models), both,
or a bare state_dict. The official layout is MMagic's ``SwinIRNet`` layout, so the tensors load
unchanged; every hyper-parameter except ``img_range`` is read from the tensors:

- ``in_chans``/``embed_dim``: ``conv_first.weight`` (embed_dim, in_chans, 3, 3)
- ``depths``: how many ``layers.N.residual_group.blocks.M`` each group has
- ``num_heads``: ``relative_position_bias_table`` (2ws-1)^2 x heads, per group
- ``window_size``: from that table; ``img_size``: from ``attn_mask`` (nW, ws^2, ws^2), nW = (s/ws)^2
- ``mlp_ratio``: ``mlp.fc1.weight``; ``resi_connection``: ``conv_after_body.0`` means '3conv'
- ``upsampler`` + ``upscale``: ``conv_up1``/``conv_up2`` (nearest+conv), ``conv_before_upsample``
  + ``upsample.{0,2,..}`` (pixelshuffle), ``upsample.0`` alone (pixelshuffledirect), none (x1)
- ``img_range`` is not stored: 255 for the x1 models with 7x7 windows (the JPEG-CAR releases), else
  1, as in the official test script; pass ``img_range=`` to override.
"""
from __future__ import annotations

import math
import re
from typing import Any

import torch

from genforge.interop.formats import Imported, register_reader

__all__ = ['read_swinir', 'swinir_config_from_state_dict']

_FIRST_TABLE = 'layers.0.residual_group.blocks.0.attn.relative_position_bias_table'
_BLOCK = re.compile(r'^layers\.(\d+)\.residual_group\.blocks\.(\d+)\.')
_ARGS = ('img_size', 'in_chans', 'embed_dim', 'depths', 'num_heads', 'window_size', 'mlp_ratio',
         'qkv_bias', 'qk_scale', 'drop_rate', 'attn_drop_rate', 'drop_path_rate', 'ape',
         'patch_norm', 'use_checkpoint', 'upscale', 'img_range', 'upsampler', 'resi_connection')


def _is_swinir(sd: Any) -> bool:
    return isinstance(sd, dict) and 'conv_first.weight' in sd and _FIRST_TABLE in sd \
        and all(isinstance(v, torch.Tensor) for v in sd.values())


def _strip_module(sd: Any) -> Any:
    """Drop the 'module.' prefix of nets saved inside DataParallel/DDP."""
    if isinstance(sd, dict) and sd and all(isinstance(k, str) and k.startswith('module.')
                                           for k in sd):
        return {k[len('module.'):]: v for k, v in sd.items()}
    return sd


def _shape(sd: dict, key: str, where: str) -> tuple[int, ...]:
    if key not in sd:
        raise ValueError(f'SwinIR weights ({where}): {key!r} is missing; the file does not have '
                         'the official SwinIR layout')
    return tuple(sd[key].shape)


def _window(sd: dict, layer: int, block: int) -> tuple[int, int]:
    """(window size, heads) from one block's bias table."""
    key = f'layers.{layer}.residual_group.blocks.{block}.attn.relative_position_bias_table'
    rows, heads = _shape(sd, key, 'window size')
    side = math.isqrt(rows)
    if side * side != rows or side % 2 == 0:
        raise ValueError(f'SwinIR weights: {key} has {rows} rows, not (2 * window_size - 1)^2')
    return (side + 1) // 2, heads


def _layers(sd: dict) -> tuple[list[int], list[int], int]:
    """depths, num_heads and the common window size of the RSTB groups."""
    blocks: dict[int, set[int]] = {}
    for key in sd:
        m = _BLOCK.match(key)
        if m:
            blocks.setdefault(int(m[1]), set()).add(int(m[2]))
    if sorted(blocks) != list(range(len(blocks))):
        raise ValueError(f'SwinIR weights: residual groups {sorted(blocks)} are not numbered '
                         '0..N-1 (keys layers.N.residual_group.blocks.M...)')
    depths, heads, windows = [], [], set()
    for i in range(len(blocks)):
        if sorted(blocks[i]) != list(range(len(blocks[i]))):
            raise ValueError(f'SwinIR weights: layers.{i}.residual_group has blocks '
                             f'{sorted(blocks[i])}, not 0..M-1')
        depths.append(len(blocks[i]))
        per_block = {_window(sd, i, j) for j in range(depths[-1])}
        if len(per_block) != 1:
            raise ValueError(f'SwinIR weights: the relative_position_bias_table shapes of '
                             f'layers.{i}.residual_group.blocks.* disagree: {sorted(per_block)}')
        ws, h = per_block.pop()
        windows.add(ws)
        heads.append(h)
    if len(windows) != 1:
        raise ValueError(f'SwinIR weights: the residual groups use different window sizes '
                         f'{sorted(windows)} (from layers.N...relative_position_bias_table); '
                         'SwinIRNet has one window_size')
    return depths, heads, windows.pop()


def _img_size(sd: dict, window_size: int) -> int:
    """Training patch size from the shifted-window masks; without any mask the patch was not
    larger than the window (no shift), so window_size reproduces the layout."""
    masks = {k: tuple(v.shape) for k, v in sd.items() if k.endswith('.attn_mask')}
    if not masks:
        # shifted blocks (odd M) without masks: the patch fitted in one window. No shifted block
        # at all (every group of depth 1): the patch size does not change the network.
        has_shifted = any((m := _BLOCK.match(k)) and int(m[2]) % 2 == 1 for k in sd)
        return window_size if has_shifted else max(64, 2 * window_size)
    shapes = set(masks.values())
    if len(shapes) != 1:
        raise ValueError(f'SwinIR weights: attn_mask shapes disagree across blocks: {sorted(shapes)}')
    n_windows, n, _ = shapes.pop()
    per_side = math.isqrt(n_windows)
    if per_side * per_side != n_windows or n != window_size**2:
        raise ValueError(f'SwinIR weights: attn_mask shape {(n_windows, n, n)} does not fit '
                         f'window_size={window_size} on a square patch (e.g. {next(iter(masks))})')
    return per_side * window_size


def _head(sd: dict, in_chans: int) -> tuple[str, int]:
    """(upsampler, upscale) from the reconstruction keys."""
    if 'conv_up1.weight' in sd:
        return 'nearest+conv', 4 if 'conv_up2.weight' in sd else 2
    if 'conv_before_upsample.0.weight' in sd:
        convs = sorted(int(m[1]) for k in sd if (m := re.match(r'^upsample\.(\d+)\.weight$', k)))
        if not convs:
            raise ValueError('SwinIR weights: conv_before_upsample.0.weight without upsample.0.weight '
                             'or conv_up1.weight: an incomplete pixelshuffle / nearest+conv head')
        if convs != list(range(0, 2 * len(convs), 2)):
            raise ValueError(f'SwinIR weights: upsample convs at {convs}, expected 0, 2, 4, ...')
        feat = _shape(sd, 'upsample.0.weight', 'pixelshuffle head')[1]
        if _shape(sd, 'upsample.0.weight', 'pixelshuffle head')[0] == 9 * feat:
            return 'pixelshuffle', 3
        return 'pixelshuffle', 2**len(convs)
    if 'upsample.0.weight' in sd:
        out = _shape(sd, 'upsample.0.weight', 'pixelshuffledirect head')[0]
        scale = math.isqrt(out // in_chans)
        if scale * scale * in_chans != out:
            raise ValueError(f'SwinIR weights: upsample.0.weight has {out} output channels, not '
                             f'scale^2 * in_chans ({in_chans})')
        return 'pixelshuffledirect', scale
    return '', 1


def swinir_config_from_state_dict(sd: dict[str, torch.Tensor]) -> dict:
    """The ``SwinIRNet`` config that builds a network with exactly this state_dict's layout."""
    embed_dim, in_chans = _shape(sd, 'conv_first.weight', 'conv_first')[:2]
    depths, num_heads, window_size = _layers(sd)
    fc1 = _shape(sd, 'layers.0.residual_group.blocks.0.mlp.fc1.weight', 'mlp')[0]
    upsampler, upscale = _head(sd, in_chans)
    return dict(
        type='SwinIRNet', upscale=upscale, in_chans=in_chans,
        img_size=_img_size(sd, window_size), window_size=window_size,
        img_range=255. if upsampler == '' and window_size == 7 else 1.,
        depths=depths, embed_dim=embed_dim, num_heads=num_heads, mlp_ratio=fc1 / embed_dim,
        qkv_bias='layers.0.residual_group.blocks.0.attn.qkv.bias' in sd,
        ape='absolute_pos_embed' in sd, patch_norm='patch_embed.norm.weight' in sd,
        upsampler=upsampler,
        resi_connection='3conv' if 'conv_after_body.0.weight' in sd else '1conv')


def _check_layout(cfg: dict, sd: dict[str, torch.Tensor], part: str) -> None:
    """Build the detected network without memory and compare keys and shapes, naming the
    differences (a partly SwinIR-shaped file must not load half-way)."""
    from genforge.registry import MODELS
    with torch.device('meta'):
        net = MODELS.build(cfg)
    want = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in sd.items()}
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    if missing or extra or wrong:
        msg = [f'SwinIR weights ({part}): the tensors do not form one consistent SwinIR network '
               f'(detected {cfg})']
        if missing:
            msg.append(f'missing: {missing[:8]}')
        if extra:
            msg.append(f'unexpected: {extra[:8]}')
        if wrong:
            msg.append('shape mismatch: ' + ', '.join(f'{k} {got[k]} vs {want[k]}' for k in wrong[:8]))
        raise ValueError('; '.join(msg))


@register_reader
def read_swinir(obj: Any, overrides: dict) -> Imported | None:
    """Claim official SwinIR files (``params``/``params_ema``/bare state_dict); see module doc."""
    arch = overrides.get('arch')
    if arch not in (None, 'SwinIRNet', 'swinir', 'SwinIR'):
        return None
    if not isinstance(obj, dict):
        return None
    parts = {p: _strip_module(obj[p]) for p in ('params_ema', 'params')
             if _is_swinir(_strip_module(obj.get(p)))}
    if not parts and _is_swinir(_strip_module(obj)):
        parts = {'net': _strip_module(obj)}
    if not parts:
        return None
    part = overrides.get('part')
    if part is not None and part not in parts:
        raise ValueError(f'part={part!r} is not in this SwinIR file; it holds {list(parts)}')
    user = {k: v for k, v in overrides.items() if k in _ARGS}
    networks = {}
    for name, sd in parts.items():
        cfg = dict(swinir_config_from_state_dict(sd), **user)
        _check_layout(cfg, sd, name)
        networks[name] = (cfg, dict(sd))
    default = part or next(iter(parts))  # params_ema first, as BasicSR's and SwinIR's scripts
    cfg, sd = networks[default]
    c = cfg['in_chans']
    task = {'pixelshuffle': 'classical SR', 'pixelshuffledirect': 'lightweight SR',
            'nearest+conv': 'real-world SR', '': 'denoising / JPEG CAR'}[cfg['upsampler']]
    model_config = dict(
        type='BaseEditModel', generator=cfg,
        pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
        data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * c, std=[255.] * c))
    info = dict(architecture='SwinIRNet', task=task, parts=list(parts),
                **{k: cfg[k] for k in ('upscale', 'in_chans', 'embed_dim', 'depths', 'num_heads',
                                       'window_size', 'img_size', 'img_range', 'upsampler',
                                       'resi_connection')})
    return Imported(format='swinir', networks=networks, default_part=default,
                    model_config=model_config,
                    model_state_dict={f'generator.{k}': v for k, v in sd.items()}, info=info)
