"""Small helpers the seeds use: ``set_requires_grad``, ``default_init_weights``, ``make_layer``."""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def set_requires_grad(nets: nn.Module | Iterable[nn.Module], requires_grad: bool = False) -> None:
    """Set ``requires_grad`` on every parameter of ``nets`` (a module or a list of modules)."""
    if isinstance(nets, nn.Module) or nets is None:
        nets = [nets]
    for net in nets:
        if net is not None:
            for param in net.parameters():
                param.requires_grad = requires_grad


def normal_init(module: nn.Module, mean: float = 0., std: float = 1., bias: float = 0.) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.normal_(module.weight, mean, std)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def constant_init(module: nn.Module, val: float, bias: float = 0.) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def xavier_init(module: nn.Module, gain: float = 1., bias: float = 0.,
                distribution: str = 'normal') -> None:
    if getattr(module, 'weight', None) is not None:
        if distribution == 'uniform':
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def kaiming_init(module: nn.Module, a: float = 0, mode: str = 'fan_out',
                 nonlinearity: str = 'relu', bias: float = 0., distribution: str = 'normal') -> None:
    if getattr(module, 'weight', None) is not None:
        if distribution == 'uniform':
            nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


def trunc_normal_init(module: nn.Module, mean: float = 0., std: float = 1., a: float = -2.,
                      b: float = 2., bias: float = 0.) -> None:
    if getattr(module, 'weight', None) is not None:
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    if getattr(module, 'bias', None) is not None:
        nn.init.constant_(module.bias, bias)


@torch.no_grad()
def default_init_weights(module: nn.Module | list[nn.Module], scale: float = 1.,
                         bias_fill: float = 0.) -> None:
    """Kaiming-normal init for conv/linear scaled by ``scale`` (ESRGAN's residual scaling trick)."""
    modules = module if isinstance(module, list) else [module]
    for mod in modules:
        for m in mod.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
                m.weight.mul_(scale)
                if m.bias is not None:
                    m.bias.fill_(bias_fill)
            elif isinstance(m, _BatchNorm):
                nn.init.constant_(m.weight, 1)
                if m.bias is not None:
                    m.bias.fill_(bias_fill)


def make_layer(block: type[nn.Module], num_blocks: int, **kwargs) -> nn.Sequential:
    """Stack ``num_blocks`` instances of ``block(**kwargs)`` into an ``nn.Sequential``."""
    return nn.Sequential(*[block(**kwargs) for _ in range(num_blocks)])


def get_module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter (CPU for a parameter-less module)."""
    try:
        return next(module.parameters()).device
    except StopIteration:
        return torch.device('cpu')


_GEN_INIT_TYPES = ('normal', 'xavier', 'kaiming', 'orthogonal')


@torch.no_grad()
def generation_init_weights(module: nn.Module, init_type: str = 'normal',
                            init_gain: float = 0.02) -> None:
    """Pix2Pix/CycleGAN weight init (MMagic's ``generation_init_weights``).

    Every layer whose class name contains 'Conv' or 'Linear' (Conv2d, ConvTranspose2d, Linear)
    gets ``init_type`` weights ('normal': N(0, gain); 'xavier' / 'orthogonal': that gain;
    'kaiming': fan_in, leaky_relu with a=0) and zero bias; BatchNorm2d gets weight N(1, gain) and
    zero bias. Instance norms without affine parameters are untouched.
    """
    if init_type not in _GEN_INIT_TYPES:
        raise ValueError(f'init_cfg.type={init_type!r} is not a generation init type; use one of '
                         f'{_GEN_INIT_TYPES}')

    def init_func(m: nn.Module) -> None:
        name = type(m).__name__
        if getattr(m, 'weight', None) is not None and ('Conv' in name or 'Linear' in name):
            if init_type == 'normal':
                nn.init.normal_(m.weight, 0., init_gain)
            elif init_type == 'xavier':
                nn.init.xavier_normal_(m.weight, gain=init_gain)
            elif init_type == 'kaiming':
                nn.init.kaiming_normal_(m.weight, a=0, mode='fan_in', nonlinearity='leaky_relu')
            else:
                nn.init.orthogonal_(m.weight, gain=init_gain)
            # a bias-free conv (before BN) has nothing to zero; MMagic's orthogonal branch
            # assumed a bias and failed on these layers
            if getattr(m, 'bias', None) is not None:
                nn.init.constant_(m.bias, 0.)
        elif 'BatchNorm2d' in name and getattr(m, 'weight', None) is not None:
            # BN weights are a vector, not a matrix: only the normal rule applies
            nn.init.normal_(m.weight, 1., init_gain)
            nn.init.constant_(m.bias, 0.)

    module.apply(init_func)


__all__ = ['pretrained_to_init_cfg', 'set_requires_grad', 'default_init_weights', 'make_layer', 'normal_init',
           'constant_init', 'xavier_init', 'kaiming_init', 'trunc_normal_init',
           'get_module_device', 'generation_init_weights']


def __getattr__(name: str):
    # MMagic's user docs import these blocks from models.utils; resolved lazily because the
    # layers package itself imports this module.
    if name in ('PixelShufflePack', 'ResidualBlockNoBN'):
        from genforge.models import layers
        return getattr(layers, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def pretrained_to_init_cfg(pretrained: str | dict | None, init_cfg: dict | None) -> dict | None:
    """MMagic's ``pretrained`` argument (path or dict(ckpt_path, prefix)) as a Pretrained init."""
    if pretrained is None:
        return init_cfg
    if isinstance(pretrained, str):
        return dict(type='Pretrained', checkpoint=pretrained)
    if isinstance(pretrained, dict) and 'ckpt_path' in pretrained:
        cfg = dict(type='Pretrained', checkpoint=pretrained['ckpt_path'])
        if pretrained.get('prefix'):
            cfg['prefix'] = pretrained['prefix']
        if 'map_location' in pretrained:
            cfg['map_location'] = pretrained['map_location']
        return cfg
    raise TypeError(f"pretrained must be a path or dict(ckpt_path=..., prefix=...), got "
                    f"{pretrained!r}")
