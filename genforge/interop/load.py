"""Foreign weights files -> genforge networks: :func:`load_object` and :func:`load_weights`.

``load_object`` unpickles a file with the restricted unpickler (no code from the file runs) and
asks the registered readers what it is; ``load_weights`` builds the chosen part as a genforge
network with the weights loaded strictly, in eval mode and float32::

    from genforge.interop import load_weights, generate
    G = load_weights('network-snapshot-000200.pkl')            # NVlabs: G_ema by default
    img = generate(G, torch.randn(4, G.noise_size), truncation_psi=0.7)
    sr = load_weights('RealESRGAN_x4plus.pth')                 # params_ema when present
"""
from __future__ import annotations

import os
from typing import Any

from torch import nn

from genforge.interop.formats import Imported, detect
from genforge.interop.safe_unpickle import safe_load

__all__ = ['load_object', 'load_weights', 'build_part']


def load_object(path: str | os.PathLike, arch: str | None = None, part: str | None = None,
                extra_globals: dict | None = None, **overrides: Any) -> Imported:
    """What ``path`` holds, as an :class:`~genforge.interop.formats.Imported`.

    The file is read by :func:`~genforge.interop.safe_unpickle.safe_load` (zip/legacy torch
    saves, raw pickles, safetensors) and recognised from its content by the registered readers.
    ``arch``, ``part`` and ``overrides`` (the source project's argument names, e.g. ``scale=2``)
    go to the readers and override what they would infer. Raises ValueError when no reader
    recognises the file or an override does not fit it, ``pickle.UnpicklingError`` when the
    file names a global outside the allow-list.
    """
    source = os.fspath(path)
    obj = safe_load(source, extra_globals=extra_globals)
    if arch is not None:
        overrides['arch'] = arch
    if part is not None:
        overrides['part'] = part
    imported = detect(obj, overrides, source=source)
    if part is not None and part not in imported.networks:
        why = (imported.info.get('skipped') or {}).get(part)
        raise ValueError(why or f'{source}: part={part!r} is not in this {imported.format} '
                         f'file; it holds {list(imported.networks)}')
    return imported


def build_part(imported: Imported, part: str | None = None) -> nn.Module:
    """The genforge network of one part of ``imported`` (strict load, eval mode, float32)."""
    import genforge.models  # noqa: F401  (registers the networks)
    from genforge.registry import MODELS

    part = part or imported.default_part
    if part not in imported.networks:
        raise ValueError(f'part={part!r} is not in this {imported.format} file; it holds '
                         f'{list(imported.networks)}')
    cfg, state_dict = imported.networks[part]
    net = MODELS.build(dict(cfg))
    net.load_state_dict(state_dict, strict=True)
    net = net.float().eval()
    # what the sampling helpers need to follow the source's semantics
    net.interop_info = dict(imported.info, format=imported.format, part=part)
    return net


def load_weights(path: str | os.PathLike, part: str | None = None, arch: str | None = None,
                 **kwargs: Any) -> nn.Module:
    """The genforge network stored in a foreign weights file, ready for inference.

    ``part``: ``'G_ema'`` (default for GAN snapshots), ``'G'`` or ``'D'``; for restoration files
    ``'params_ema'`` (default when present), ``'params'`` or ``'net'`` (a bare state dict).
    ``arch`` and ``kwargs`` override what the reader infers (the source's argument names).
    The network is in eval mode and float32; ``net.interop_info`` holds what
    the reader found (architecture, hyper-parameters, NVlabs' ``w_avg`` ...).
    """
    imported = load_object(path, arch=arch, part=part, **kwargs)
    return build_part(imported, part)
