"""What a foreign-weights reader returns, and the list of readers ``load_weights`` tries.

A reader looks at an already-unpickled object (a dict of tensors, a BasicSR ``{'params': ...}`` dict,
an NVlabs snapshot dict ...) and either returns ``None`` (not my format) or an :class:`Imported`.
Readers never execute code from the file: the object they get was produced by a restricted unpickler.

Readers live one per source project (``nvlabs.py``, ``rosinality.py``, ``basicsr.py``, ``swinir.py``)
and add themselves with :func:`register_reader`; ``genforge/interop/__init__.py`` imports them, in
order (the first reader that claims an object wins, so the most specific come first).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ['Imported', 'Reader', 'READERS', 'register_reader', 'detect']


@dataclass
class Imported:
    """A foreign file understood as genforge networks.

    ``networks`` maps a part name (``'G_ema'``, ``'G'``, ``'D'`` for GAN snapshots; ``'params_ema'``,
    ``'params'`` or ``'net'`` for restoration files) to ``(network_config, state_dict)``: the config
    builds a genforge network through ``MODELS.build`` and the state_dict loads into it with
    ``strict=True``. ``model_config``/``model_state_dict`` are the whole genforge model (an algorithm
    such as ``StyleGAN2`` or ``BaseEditModel``) that ``genforge import-weights`` writes as
    ``DIR/model.py`` + ``DIR/weights.pth`` so ``genforge sample``/``restore`` run on them.
    ``info`` holds what ``import-weights`` prints (architecture, resolution, channels, scale ...) and
    source-specific values the helpers need (e.g. ``'w_avg'``: the NVlabs truncation centre).
    """

    format: str
    networks: dict[str, tuple[dict, dict[str, torch.Tensor]]]
    default_part: str
    model_config: dict
    model_state_dict: dict[str, torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)


# (obj, overrides) -> Imported | None; ``overrides`` holds the user's explicit ``arch=`` and kwargs.
Reader = Callable[[Any, dict], 'Imported | None']
READERS: list[Reader] = []


def register_reader(reader: Reader) -> Reader:
    """Decorator: add ``reader`` to the formats ``load_weights`` and ``import-weights`` recognise."""
    READERS.append(reader)
    return reader


def detect(obj: Any, overrides: dict | None = None, source: str = 'weights file') -> Imported:
    """The first registered reader's understanding of ``obj``; a clear error when none claims it."""
    overrides = dict(overrides or {})
    for reader in READERS:
        found = reader(obj, overrides)
        if found is not None:
            return found
    keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
    raise ValueError(f'{source}: no known weights format recognised it (top-level: {keys}); '
                     'see docs/interop.md for the formats genforge reads')
