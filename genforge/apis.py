"""``init_model``: a trained model ready for inference (MMagic's name), for the CLI and notebooks.

    >>> from genforge.apis import init_model
    >>> model = init_model('configs/dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py',
    ...                    'work_dirs/dcgan/iter_1000.pth', device='cpu')
    >>> samples = model(dict(num_batches=4, sample_model='orig'))

``genforge sample``, ``restore`` and ``translate`` all build their model here.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

# Parts a trained model does not need for inference: their weights may be absent from a
# checkpoint (discriminators of exported generators, the fixed VGG of a perceptual loss).
TRAINING_ONLY_PREFIXES = ('discriminator', 'discriminators', 'perceptual_loss')


class CheckpointMismatchError(ValueError):
    """The checkpoint does not hold the weights that the config's model needs."""


def inference_model_cfg(model_cfg: dict) -> dict:
    """The model config without what needs files at build time (VGG weights of a perceptual
    loss, a generator's pretrained init): the checkpoint provides the weights."""
    cfg = copy.deepcopy(dict(model_cfg))
    if isinstance(cfg.get('perceptual_loss'), dict):
        cfg['perceptual_loss'] = dict(cfg['perceptual_loss'], pretrained=None)
    if isinstance(cfg.get('generator'), dict):
        cfg['generator'] = {k: v for k, v in cfg['generator'].items() if k != 'init_cfg'}
    cfg.pop('init_cfg', None)
    return cfg


def init_model(config: Any, checkpoint: str | None = None, device: str | torch.device = 'cpu',
               cfg_options: dict | None = None) -> nn.Module:
    """Build ``config``'s model, load ``checkpoint`` and return it in eval mode on ``device``.

    Args:
        config: a config path or a Config.
        checkpoint: weights to load; every tensor the model needs for inference must be there
            with its shape (discriminators and perceptual-loss networks may be absent).
        device: 'cpu', 'cuda', 'cuda:1' ...
        cfg_options: ``--cfg-options`` style overrides (``{'model.generator.x': 1}``).

    Raises:
        CheckpointMismatchError: one line naming the file, the model it holds, how many of the
            needed tensors fit and a few that do not.
    """
    import genforge.models  # noqa: F401  (registers every model)
    from genforge.config import Config
    from genforge.config.config_dict import to_plain
    from genforge.registry import MODELS, import_custom_modules

    cfg = Config.fromfile(config, cfg_options=cfg_options or None) if isinstance(config, str) \
        else config
    if 'model' not in cfg:
        raise KeyError(f'{getattr(cfg, "filename", None) or "the config"} has no "model" key; '
                       f'add model=dict(type=...)')
    import_custom_modules(cfg.get('custom_imports'))
    model_cfg = inference_model_cfg(to_plain(cfg.model))
    if cfg.get('data_preprocessor') and 'data_preprocessor' not in model_cfg:
        model_cfg['data_preprocessor'] = to_plain(cfg.data_preprocessor)
    model = MODELS.build(model_cfg, key_path='model')
    if checkpoint is not None:
        _load_inference_weights(model, checkpoint, getattr(cfg, 'filename', None) or 'the config')
    return model.to(torch.device(device)).eval()


def _load_inference_weights(model: nn.Module, checkpoint: str, config_name: str) -> None:
    from genforge.checkpoint import _extract_state_dict, _load_checkpoint, load_state_dict
    from genforge.runner.resume import held_model

    ckpt = _load_checkpoint(checkpoint)
    state = {k.removeprefix('module.'): v for k, v in _extract_state_dict(ckpt, checkpoint).items()}
    own = model.state_dict()
    needed = [k for k in own if not k.startswith(TRAINING_ONLY_PREFIXES)]
    fits = [k for k in needed if k in state and _shape(state[k]) == _shape(own[k])]
    if len(fits) < len(needed):
        bad = [k for k in needed if k not in fits]
        examples = [f'{k}: checkpoint {_shape(state[k])} vs config {_shape(own[k])}'
                    if k in state else f'{k}: not in the checkpoint' for k in bad[:2]]
        raise CheckpointMismatchError(
            f'{checkpoint} holds {held_model(ckpt)}: {len(fits)} of the {len(needed)} tensors '
            f'that the {type(model).__name__} of {config_name} needs fit (e.g. '
            f'{"; ".join(examples)}); use the config the checkpoint was trained with (its '
            f'work_dir keeps a copy, --cfg-options included)')
    load_state_dict(model, {k: v for k, v in state.items() if k in own})


def _shape(value: Any) -> tuple | None:
    """A tensor's shape; None for extra state (counters, schedules) kept in a state_dict."""
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


__all__ = ['init_model', 'inference_model_cfg', 'CheckpointMismatchError']
