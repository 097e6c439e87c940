"""Opt-in speed and distributed options the Runner applies to the model before wrapping it.

Config keys (top level, MMEngine spellings where MMEngine has them):

- ``sync_bn='torch'``: convert every BatchNorm to ``nn.SyncBatchNorm`` (distributed GPU runs;
  statistics are then computed over the global batch). PyTorch's SyncBatchNorm has no CPU
  kernel, so CPU (gloo) runs keep plain BatchNorm and log a warning.
- ``channels_last=True``: parameters and buffers of 4-D tensors in NHWC memory format; convs then
  run in channels-last kernels (often faster on recent CPUs/GPUs with AMP).
  ``channels_last='auto'``: only where that pays off, by the check AMP uses
  (``genforge.optim.amp.channels_last_helps``): a CPU with native bf16, a CUDA GPU with tensor
  cores. One log line says what was chosen.
- ``compile=True`` or ``compile=dict(mode=..., backend=..., dynamic=..., fullgraph=...)``:
  ``torch.compile`` each direct submodule that has parameters (a GAN's generator and
  discriminator, an SR model's generator) in place with ``nn.Module.compile``, so state_dict keys
  and checkpoints do not change. Compilation happens lazily at the first call; when it fails
  (no C++ compiler, an unsupported op, a backend that raises) the submodule runs eagerly from
  then on, with one warning, and ``module.compile_fallback`` is set to the error text
  (``None`` while the compiled code runs); ``compile=dict(..., fallback=False)`` raises instead.
  dynamo's process-wide ``suppress_errors`` is left alone.
"""
from __future__ import annotations

import logging
from typing import Any

import torch
from torch import nn

from genforge.dist import is_distributed
from genforge.optim.amp import channels_last_helps

logger = logging.getLogger(__name__)

_COMPILE_KEYS = ('fullgraph', 'dynamic', 'backend', 'mode', 'options', 'disable')


def convert_sync_batchnorm(model: nn.Module, implementation: str = 'torch') -> nn.Module:
    """BatchNorm -> ``nn.SyncBatchNorm`` (MMEngine's ``convert_sync_batchnorm``)."""
    if implementation != 'torch':
        raise ValueError(f"sync_bn={implementation!r} is not supported; use sync_bn='torch' "
                         f"(PyTorch's nn.SyncBatchNorm; mmcv's implementation is not available)")
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def to_channels_last(model: nn.Module) -> nn.Module:
    """4-D parameters/buffers (conv weights) in channels-last memory format."""
    return model.to(memory_format=torch.channels_last)


def compile_submodules(model: nn.Module, compile_cfg: bool | dict) -> list[str]:
    """``torch.compile`` each direct child with parameters in place; returns their names.

    A model without such children (a plain network) is compiled as a whole.
    """
    cfg = dict(compile_cfg) if isinstance(compile_cfg, dict) else {}
    fallback = bool(cfg.pop('fallback', True))
    unknown = set(cfg) - set(_COMPILE_KEYS)
    if unknown:
        raise KeyError(f'compile: unknown keys {sorted(unknown)}; torch.compile accepts '
                       f'{list(_COMPILE_KEYS)} (plus fallback=True|False)')
    names = [name for name, child in model.named_children()
             if any(True for _ in child.parameters())
             and name not in ('data_preprocessor', 'generator_ema')]
    targets = [(name, getattr(model, name)) for name in names] or [('<model>', model)]
    for name, module in targets:
        module.compile(**cfg)
        if fallback:
            _fall_back_to_eager_on_error(module, name)
        logger.info('compile: %s will be compiled at its first call (%s)', name, cfg or 'default')
    return [name for name, _ in targets]


def _fall_back_to_eager_on_error(module: nn.Module, name: str) -> None:
    """Wrap ``module``'s compiled call: a dynamo/backend error switches it to eager for good."""
    from torch._dynamo.exc import TorchDynamoException
    compiled = module._compiled_call_impl
    module.compile_fallback = None

    def call(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except TorchDynamoException as exc:  # compilation failed, not the model's own code
            # BackendCompilerFailed wraps the backend's own error
            root = getattr(exc, 'inner_exception', None) or exc.__cause__ or exc
            reason = f'{type(root).__name__}: {(str(root).splitlines() or [""])[0]}'
            logger.warning('compile: %s could not be compiled (%s); running it eagerly '
                           '(compile=dict(fallback=False) raises instead)', name, reason)
            module._compiled_call_impl = None
            module.compile_fallback = reason
            return module._call_impl(*args, **kwargs)

    module._compiled_call_impl = call


def _want_channels_last(model: nn.Module, option: Any) -> bool:
    if option != 'auto':
        if option not in (None, False, True):
            raise ValueError(f"channels_last={option!r}: use True, False or 'auto'")
        return bool(option)
    device = next((p.device for p in model.parameters()), torch.device('cpu'))
    chosen = channels_last_helps(device)
    logger.info("channels_last='auto': %s on %s (%s)", 'on' if chosen else 'off', device.type,
                'native bf16 CPU' if device.type == 'cpu' and chosen else
                'no native bf16 on this CPU' if device.type == 'cpu' else 'device capability')
    return chosen


def apply_model_options(model: nn.Module, cfg: Any) -> nn.Module:
    """Apply ``sync_bn``, ``channels_last`` and ``compile`` from the config, in that order."""
    if cfg is None:
        return model
    sync_bn = cfg.get('sync_bn')
    if sync_bn:
        device = next((p.device for p in model.parameters()), torch.device('cpu'))
        if not is_distributed():
            logger.warning('sync_bn=%r ignored: not a distributed run', sync_bn)
        elif device.type == 'cpu':
            # PyTorch's SyncBatchNorm raises on CPU tensors at the first forward
            logger.warning('sync_bn=%r ignored: nn.SyncBatchNorm needs GPUs; on CPU each rank '
                           'keeps its own BatchNorm statistics', sync_bn)
        else:
            model = convert_sync_batchnorm(model, 'torch' if sync_bn is True else sync_bn)
            logger.info('sync_bn: BatchNorm layers converted to SyncBatchNorm')
    if _want_channels_last(model, cfg.get('channels_last')):
        model = to_channels_last(model)
    compile_cfg = cfg.get('compile')
    if compile_cfg:
        compile_submodules(model, compile_cfg)
    return model


def broadcast_model_state(model: nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s parameters and buffers to every rank (after weight initialisation:
    ranks seeded differently, ``diff_rank_seed=True``, would otherwise start apart)."""
    if not is_distributed():
        return
    import torch.distributed as dist
    with torch.no_grad():
        for tensor in model.state_dict(keep_vars=True).values():
            if not isinstance(tensor, torch.Tensor) or tensor.numel() == 0:
                continue
            if tensor.is_contiguous():
                dist.broadcast(tensor.data, src=src)
            else:  # e.g. channels_last weights: collectives want a dense row-major buffer
                buf = tensor.data.contiguous()
                dist.broadcast(buf, src=src)
                tensor.data.copy_(buf)


__all__ = ['convert_sync_batchnorm', 'to_channels_last', 'compile_submodules',
           'apply_model_options', 'broadcast_model_state']
