"""Build optimizer wrappers from ``optim_wrapper=dict(...)`` configs (MMEngine / MMagic /
MMPretrain constructors)."""
from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from typing import Any

from torch import nn

from genforge.models.wrappers import unwrap_model
from genforge.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from .optim_wrapper import OptimWrapper, OptimWrapperDict

__all__ = ['build_optim_wrapper', 'DefaultOptimWrapperConstructor',
           'MultiOptimWrapperConstructor', 'LearningRateDecayOptimWrapperConstructor']

logger = logging.getLogger(__name__)

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm,
          nn.LayerNorm)


def _float_betas(optimizer_cfg: dict) -> dict:
    """``betas=(0, 0.99)`` (an int, as in MMagic's StyleGAN configs) as floats: current
    torch.optim.Adam refuses mixed int/float betas."""
    betas = optimizer_cfg.get('betas')
    if isinstance(betas, (list, tuple)) and all(isinstance(b, (int, float)) and
                                                not isinstance(b, bool) for b in betas):
        optimizer_cfg['betas'] = tuple(float(b) for b in betas)
    return optimizer_cfg


def build_optim_wrapper(model: nn.Module, cfg: dict) -> OptimWrapper:
    """Build from ``dict(type=..., optimizer=..., constructor=..., paramwise_cfg=...)``.

    Example:
        >>> build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1),
        ...                                 paramwise_cfg=dict(bias_lr_mult=2.0)))
    """
    cfg = copy.deepcopy(dict(cfg))
    constructor_type = cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
    paramwise_cfg = cfg.pop('paramwise_cfg', None)
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type, optim_wrapper_cfg=cfg, paramwise_cfg=paramwise_cfg),
        key_path='optim_wrapper.constructor')
    return constructor(model)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """One optimizer over the model, with per-parameter lr / weight decay rules.

    ``paramwise_cfg`` keys: ``custom_keys`` ({substring: dict(lr_mult=, decay_mult=)}, the
    longest matching key wins), ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
    ``dwconv_decay_mult``, ``flat_decay_mult``, ``bypass_duplicate``.

    Example: optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                                paramwise_cfg=dict(norm_decay_mult=0.,
                                                   custom_keys={'head': dict(lr_mult=10.)}))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}')
        if 'optimizer' not in optim_wrapper_cfg:
            raise KeyError(f"optim_wrapper has no 'optimizer' key (keys: {list(optim_wrapper_cfg)});"
                           f" add optimizer=dict(type='Adam', lr=...)")
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg = dict(self.optim_wrapper_cfg.pop('optimizer'))
        self.paramwise_cfg = dict(paramwise_cfg or {})
        self.base_lr = self.optimizer_cfg.get('lr')
        self.base_wd = self.optimizer_cfg.get('weight_decay')
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        if not isinstance(custom_keys, dict):
            raise TypeError(f'optim_wrapper.paramwise_cfg.custom_keys must be a dict, got '
                            f'{type(custom_keys).__name__}')
        if self.base_wd is None:
            for key, value in custom_keys.items():
                if 'decay_mult' in value:
                    raise ValueError(f'optim_wrapper.paramwise_cfg.custom_keys[{key!r}] sets '
                                     f'decay_mult but optimizer.weight_decay is not set')
            for key in ('bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult'):
                if key in self.paramwise_cfg:
                    raise ValueError(f'optim_wrapper.paramwise_cfg.{key} needs '
                                     f'optimizer.weight_decay to be set')

    def _custom_group(self, group: dict, full_name: str, sorted_keys: list[str]) -> bool:
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        for key in sorted_keys:
            if key in full_name:
                settings = custom_keys[key]
                group['lr'] = self.base_lr * settings.get('lr_mult', 1.)
                if self.base_wd is not None:
                    group['weight_decay'] = self.base_wd * settings.get('decay_mult', 1.)
                group.update(settings)  # MMEngine also copies lr_mult etc. into the group
                return True
        return False

    def _rule_group(self, group: dict, name: str, param: nn.Parameter, module: nn.Module) -> None:
        cfg, wd = self.paramwise_cfg, self.base_wd
        is_norm = isinstance(module, _NORMS)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        if name == 'bias' and not is_norm and cfg.get('bias_lr_mult') is not None:
            group['lr'] = self.base_lr * cfg['bias_lr_mult']
        if wd is None:
            return
        if is_norm and cfg.get('norm_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['norm_decay_mult']
        elif name == 'bias' and cfg.get('bias_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['bias_decay_mult']
        elif is_dwconv and cfg.get('dwconv_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['dwconv_decay_mult']
        elif param.ndim == 1 and cfg.get('flat_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['flat_decay_mult']

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '',
                   **kwargs: Any) -> None:
        """Append one param group per parameter of ``module`` (recursively)."""
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bypass_duplicate = self.paramwise_cfg.get('bypass_duplicate', False)
        for name, param in module.named_parameters(recurse=False):
            full_name = f'{prefix}.{name}' if prefix else name
            group: dict = {'params': [param]}
            if bypass_duplicate and any(param is p for g in params for p in g['params']):
                logger.warning('%s is duplicate; skipped (bypass_duplicate=True)', full_name)
                continue
            if param.requires_grad and not self._custom_group(group, full_name, sorted_keys):
                self._rule_group(group, name, param, module)
            params.append(group)
            for key, value in group.items():
                if key != 'params':
                    logger.debug('paramwise_options -- %s:%s=%s', full_name, key, value)
        for child_name, child in module.named_children():
            child_prefix = f'{prefix}.{child_name}' if prefix else child_name
            self.add_params(params, child, prefix=child_prefix, **kwargs)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        model = unwrap_model(model)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = _float_betas(dict(self.optimizer_cfg))
        if self.paramwise_cfg:
            params: list[dict] = []
            self.add_params(params, model)
            optimizer_cfg['params'] = params
        else:
            optimizer_cfg['params'] = model.parameters()
        where = getattr(self, 'key_path', 'optim_wrapper')  # 'optim_wrapper.generator' in a dict
        optimizer = OPTIMIZERS.build(optimizer_cfg, key_path=f'{where}.optimizer')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer),
                                    key_path=where)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(name=['MultiOptimWrapperConstructor',
                                                 'GenOptimWrapperConstructor'])
class MultiOptimWrapperConstructor:
    """One OptimWrapper per submodule, returned as an ``OptimWrapperDict``.

    Each key names a submodule (``model.generator``; dotted paths allowed) and holds a full
    optim_wrapper config (``optimizer``, ``type``, ``accumulative_counts``, ``paramwise_cfg``).

    Example: optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                 generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                 discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)),
                                    accumulative_counts=2))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None):
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}')
        if paramwise_cfg is not None:
            raise ValueError('optim_wrapper.paramwise_cfg: with MultiOptimWrapperConstructor set '
                             'paramwise_cfg inside each submodule entry, e.g. '
                             'generator=dict(optimizer=..., paramwise_cfg=...)')
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        cfg.pop('type', None)  # a top-level type would be for the dict itself
        self.constructors: dict[str, DefaultOptimWrapperConstructor] = {}
        for key, sub_cfg in cfg.items():
            if not isinstance(sub_cfg, dict):
                raise TypeError(f'optim_wrapper.{key} must be a dict with an optimizer, got '
                                f'{sub_cfg!r}')
            sub_cfg = dict(sub_cfg)
            sub_paramwise = sub_cfg.pop('paramwise_cfg', None)
            constructor_type = sub_cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
            self.constructors[key] = OPTIM_WRAPPER_CONSTRUCTORS.build(
                dict(type=constructor_type, optim_wrapper_cfg=sub_cfg,
                     paramwise_cfg=sub_paramwise), key_path=f'optim_wrapper.{key}.constructor')
            self.constructors[key].key_path = f'optim_wrapper.{key}'

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = unwrap_model(model)
        wrappers = {}
        for key, constructor in self.constructors.items():
            try:
                sub = model.get_submodule(key)
            except AttributeError:
                names = [n for n, _ in model.named_children()]
                raise KeyError(f'optim_wrapper.{key}: the model has no submodule {key!r}; '
                               f'its submodules are {names}') from None
            wrappers[key] = constructor(sub)
        return OptimWrapperDict(**wrappers)


def vit_layer_depth(param_name: str, num_layers: int, prefix: str = 'backbone.'
                    ) -> tuple[int, int]:
    """MMPretrain's ViT rule: embeddings 0, ``layers.N`` N+1, everything else last."""
    total = num_layers + 2
    if not param_name.startswith(prefix):
        return total - 1, total
    name = param_name[len(prefix):]
    if name in ('cls_token', 'pos_embed', 'dist_token') or name.startswith('patch_embed'):
        return 0, total
    match = re.match(r'layers\.(\d+)\.', name)
    if match:
        return int(match.group(1)) + 1, total
    return total - 1, total


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay: ``lr = base_lr * layer_decay_rate ** (max_depth - depth - 1)``.

    The depth comes from ``model.get_layer_depth(name)`` when defined, else the ViT rule
    (``backbone.layers.N`` -> N + 1; ``cls_token``/``pos_embed``/``patch_embed`` -> 0).

    Example: optim_wrapper=dict(optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05),
                 constructor='LearningRateDecayOptimWrapperConstructor',
                 paramwise_cfg=dict(layer_decay_rate=0.65, custom_keys={
                     '.cls_token': dict(decay_mult=0.0), '.pos_embed': dict(decay_mult=0.0)}))
    """

    def _weight_decay(self, name: str, full_name: str, param: nn.Parameter, module: nn.Module,
                      sorted_keys: list[str], group: dict) -> None:
        cfg, wd = self.paramwise_cfg, self.base_wd
        custom = next((k for k in sorted_keys if k in full_name), None)
        if custom is not None:
            settings = dict(cfg['custom_keys'][custom])
            group['weight_decay'] = wd * settings.pop('decay_mult', 1.)
            group.update(settings)
        elif isinstance(module, _NORMS) and cfg.get('norm_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['norm_decay_mult']
        elif name == 'bias' and cfg.get('bias_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['bias_decay_mult']
        elif param.ndim == 1 and cfg.get('flat_decay_mult') is not None:
            group['weight_decay'] = wd * cfg['flat_decay_mult']
        else:
            group['weight_decay'] = wd

    def add_params(self, params: list[dict], module: nn.Module, prefix: str = '',
                   get_layer_depth: Callable | None = None, **kwargs: Any) -> None:
        if get_layer_depth is None:
            get_layer_depth = getattr(module, 'get_layer_depth', None) or \
                self._default_depth_fn(module)
        sorted_keys = sorted(sorted(self.paramwise_cfg.get('custom_keys', {})), key=len,
                             reverse=True)
        decay_rate = self.paramwise_cfg.get('layer_decay_rate', 1.0)
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            full_name = prefix + name
            group: dict = {'params': [param]}
            if self.base_wd is not None:
                self._weight_decay(name, full_name, param, module, sorted_keys, group)
            layer_id, max_id = get_layer_depth(full_name)
            scale = decay_rate ** (max_id - layer_id - 1)
            group.update(lr=self.base_lr * scale, lr_scale=scale, layer_id=layer_id,
                         param_name=full_name)
            params.append(group)
        for child_name, child in module.named_children():
            self.add_params(params, child, prefix=f'{prefix}{child_name}.',
                            get_layer_depth=get_layer_depth)

    @staticmethod
    def _default_depth_fn(model: nn.Module) -> Callable[[str], tuple[int, int]]:
        ids = [int(m.group(1)) for n, _ in model.named_parameters()
               if (m := re.match(r'backbone\.layers\.(\d+)\.', n))]
        if not ids:
            raise NotImplementedError(
                f'LearningRateDecayOptimWrapperConstructor: {type(model).__name__} has no '
                f"get_layer_depth(param_name) method and no 'backbone.layers.N' parameters")
        num_layers = max(ids) + 1
        return lambda name: vit_layer_depth(name, num_layers)
