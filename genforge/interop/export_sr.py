"""genforge restoration networks -> BasicSR / Real-ESRGAN weights files (``export --format basicsr``).

The file is what BasicSR's ``save_network`` writes: ``{'params': state_dict}``, plus
``'params_ema'`` when the checkpoint holds an EMA generator (``generator_ema.module.*``), in
BasicSR's names, so BasicSR, Real-ESRGAN's ``inference_realesrgan.py`` and chaiNNer-style tools
load it, and ``genforge restore --weights`` reads it back to the same function.

Only networks whose function BasicSR's architecture can compute are written: MMagic's MSRResNet
(no LeakyReLU after the pixel shuffles) is refused; an EDSRNet with another ``img_range`` or
``rgb_std`` has them folded into its first and last convs (exact); its ``rgb_mean`` must be
BasicSR's default (the file cannot carry it).
"""
from __future__ import annotations

import ast
import re
from typing import Any

import torch

from genforge.interop.basicsr import EDSR_RGB_MEAN

__all__ = ['to_basicsr', 'generator_from_checkpoint', 'export_basicsr']


def to_basicsr(net_cfg: dict, state_dict: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    """``(BasicSR network_g options, state_dict in BasicSR names)`` for a genforge SR network.

    Raises ValueError naming the option when BasicSR's architecture cannot compute the same
    function (the config key and the fix are in the message).
    """
    kind = net_cfg.get('type')
    sd = {k: v.detach().clone() for k, v in state_dict.items()}
    if kind == 'RRDBNet':
        return dict(type='RRDBNet', num_in_ch=net_cfg['in_channels'],
                    num_out_ch=net_cfg['out_channels'], num_feat=net_cfg.get('mid_channels', 64),
                    num_block=net_cfg.get('num_blocks', 23),
                    num_grow_ch=net_cfg.get('growth_channels', 32),
                    scale=net_cfg.get('upscale_factor', 4)), sd
    if kind == 'SRVGGNetCompact':
        defaults = dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4,
                        act_type='prelu')
        return dict(type='SRVGGNetCompact', **{k: net_cfg.get(k, v) for k, v in defaults.items()}), sd
    if kind == 'MSRResNet':
        return _msrresnet(net_cfg, sd)
    if kind == 'EDSRNet':
        return _edsr(net_cfg, sd)
    raise ValueError(f'model.generator.type={kind!r}: --format basicsr writes RRDBNet, MSRResNet, '
                     f'EDSRNet and SRVGGNetCompact')


def _msrresnet(cfg: dict, sd: dict) -> tuple[dict, dict]:
    if not cfg.get('lrelu_after_upsample', False):
        raise ValueError("model.generator (MSRResNet) has lrelu_after_upsample=False (MMagic's "
                         "order: no LeakyReLU after the pixel shuffles); BasicSR's MSRResNet "
                         'applies one, so it would compute another function. Only networks '
                         'trained with lrelu_after_upsample=True export to BasicSR')
    names = {'trunk_net.': 'body.', 'upsample1.upsample_conv.': 'upconv1.',
             'upsample2.upsample_conv.': 'upconv2.'}
    out = {}
    for key, value in sd.items():
        for old, new in names.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return dict(type='MSRResNet', num_in_ch=cfg['in_channels'], num_out_ch=cfg['out_channels'],
                num_feat=cfg.get('mid_channels', 64), num_block=cfg.get('num_blocks', 16),
                upscale=cfg.get('upscale_factor', 4)), out


def _edsr(cfg: dict, sd: dict) -> tuple[dict, dict]:
    mean = torch.tensor([float(v) for v in cfg.get('rgb_mean', EDSR_RGB_MEAN)])
    std = torch.tensor([float(v) for v in cfg.get('rgb_std', (1., 1., 1.))])
    if cfg['in_channels'] != 3 or cfg['out_channels'] != 3 or \
            not torch.allclose(mean, torch.tensor(EDSR_RGB_MEAN), atol=1e-6):
        raise ValueError(f'model.generator (EDSRNet): BasicSR\'s EDSR has 3 channels and '
                         f'rgb_mean={list(EDSR_RGB_MEAN)} fixed in its code, got in/out channels '
                         f'{cfg["in_channels"]}/{cfg["out_channels"]} and rgb_mean '
                         f'{mean.tolist()}; such a network cannot be exported to BasicSR')
    img_range = float(cfg.get('img_range', 1.))
    # genforge: conv_first((x - m) / std * r) ... out / r * std + m; BasicSR: r = 255, std = 1.
    # Convs are linear per channel: scale conv_first's input channels by r / (std * 255) and
    # conv_last's output channels by std * 255 / r; then both compute the same function.
    sd['conv_first.weight'] = sd['conv_first.weight'] * (img_range / (std * 255.)).view(1, 3, 1, 1)
    out_scale = std * 255. / img_range
    sd['conv_last.weight'] = sd['conv_last.weight'] * out_scale.view(3, 1, 1, 1)
    sd['conv_last.bias'] = sd['conv_last.bias'] * out_scale
    out = {}
    for key, value in sd.items():  # upsample.i.upsample_conv -> upsample.2i (conv, shuffle, ...)
        m = re.match(r'upsample\.(\d+)\.upsample_conv\.(.*)$', key)
        out[f'upsample.{2 * int(m.group(1))}.{m.group(2)}' if m else key] = value
    return dict(type='EDSR', num_in_ch=3, num_out_ch=3, num_feat=cfg.get('mid_channels', 64),
                num_block=cfg.get('num_blocks', 16), upscale=cfg.get('upscale_factor', 4),
                res_scale=cfg.get('res_scale', 1), img_range=255.,
                rgb_mean=list(EDSR_RGB_MEAN)), out


# -- reading a genforge checkpoint ----------------------------------------------------------------
def _literal(node: ast.AST, names: dict) -> Any:
    """Value of a config expression made of literals, ``dict(...)`` and earlier names only:
    the config text stored in a checkpoint is read, never executed."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' \
            and not node.args and all(k.arg for k in node.keywords):
        return {k.arg: _literal(k.value, names) for k in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k, names): _literal(v, names) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, names) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    return ast.literal_eval(node)   # constants, negative numbers; raises on anything else


def _config_model(text: str) -> dict | None:
    """``model`` of a config text (``meta['cfg']`` of genforge checkpoints), or None."""
    names: dict[str, Any] = {}
    for stmt in ast.parse(text).body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            try:
                names[stmt.targets[0].id] = _literal(stmt.value, names)
            except (ValueError, TypeError, SyntaxError):
                continue   # not a plain value (a function call ...): not needed here
    model = names.get('model')
    return model if isinstance(model, dict) else None


def _infer_generator(sd: dict) -> dict | None:
    """Networks whose weights alone fix the function (no options outside the tensors)."""
    from genforge.interop.basicsr import identify_sr
    if not all(k.startswith('body.') for k in sd) and 'body.0.rdb1.conv1.weight' not in sd:
        return None
    try:
        found = identify_sr(sd)
    except ValueError:
        return None
    return found['config'] if found and found['arch'] in ('RRDBNet', 'SRVGGNetCompact') else None


def generator_from_checkpoint(checkpoint: dict, source: str = 'checkpoint'
                              ) -> tuple[dict, dict, dict | None]:
    """``(generator config, generator state_dict, EMA generator state_dict or None)``."""
    state = checkpoint.get('state_dict', checkpoint)
    gen = {k[len('generator.'):]: v for k, v in state.items() if k.startswith('generator.')}
    ema = {k[len('generator_ema.module.'):]: v for k, v in state.items()
           if k.startswith('generator_ema.module.')}
    if not gen:
        raise ValueError(f'{source}: no generator.* weights (top-level keys: '
                         f'{sorted({str(k).split(".")[0] for k in state})[:6]}); --format basicsr '
                         f'exports restoration models (BaseEditModel, SRGAN, ESRGAN ...)')
    meta = checkpoint.get('meta')
    text = meta.get('cfg') if isinstance(meta, dict) else None
    model = _config_model(text) if isinstance(text, str) and text.strip() else None
    cfg = model.get('generator') if model else _infer_generator(gen)
    if not isinstance(cfg, dict):
        raise ValueError(f'{source}: no config in meta["cfg"] to tell the generator\'s options, '
                         f'and its weights alone do not fix them; export a checkpoint written by '
                         f'genforge train or import-weights')
    return cfg, gen, (ema or None)


def export_basicsr(checkpoint: dict, out: str, source: str = 'checkpoint') -> dict:
    """Write ``out`` in BasicSR's format; return the BasicSR ``network_g`` options it needs."""
    from genforge.checkpoint import save_checkpoint
    cfg, gen, ema = generator_from_checkpoint(checkpoint, source)
    options, params = to_basicsr(cfg, gen)
    payload = {'params': params}
    if ema is not None:
        payload['params_ema'] = to_basicsr(cfg, ema)[1]
    save_checkpoint(payload, out)
    return options
