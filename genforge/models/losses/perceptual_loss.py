"""Perceptual and style losses on VGG features (MMagic's ``PerceptualLoss``).

The VGG feature extractor is plain PyTorch with torchvision's layer layout, so torchvision's
``vgg19-dcbb9e9d.pth`` (keys ``features.<i>.weight``) loads into it unchanged. Weights are read
from disk only (no download at run time): a local path, a ``file://`` URL, or
``torchvision://vgg19`` / an http(s) URL resolved to a file in the cache directory
(``$GENFORGE_CACHE`` or ``~/.cache/genforge``; torch's hub cache is also searched).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from genforge.fileio import file_sha256, genforge_cache_dir
from genforge.registry import MODELS

__all__ = ['PerceptualVGG', 'PerceptualLoss', 'build_vgg_features', 'vgg_num_layers',
           'resolve_vgg_weights']

logger = logging.getLogger(__name__)

# torchvision's VGG configurations: ints are conv widths, 'M' is a 2x2 max-pool.
_VGG_CFGS = {
    'vgg11': [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'vgg13': [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
    'vgg16': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512,
              'M'],
    'vgg19': [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512,
              512, 512, 512, 'M'],
}
# torchvision's released files; the 8 hex digits are the start of the file's sha256.
TORCHVISION_VGG_FILES = {
    'vgg11': 'vgg11-8a719046.pth', 'vgg13': 'vgg13-19584684.pth',
    'vgg16': 'vgg16-397923af.pth', 'vgg19': 'vgg19-dcbb9e9d.pth',
    'vgg11_bn': 'vgg11_bn-6002323d.pth', 'vgg13_bn': 'vgg13_bn-abd245e5.pth',
    'vgg16_bn': 'vgg16_bn-6c64b313.pth', 'vgg19_bn': 'vgg19_bn-c79401a0.pth',
}
TORCHVISION_URL = 'https://download.pytorch.org/models/'


def _vgg_cfg(vgg_type: str) -> list:
    base = vgg_type[:-3] if vgg_type.endswith('_bn') else vgg_type
    if base not in _VGG_CFGS:
        raise ValueError(f"vgg_type={vgg_type!r} is not supported; use one of "
                         f"{sorted(TORCHVISION_VGG_FILES)}")
    return _VGG_CFGS[base]


def vgg_num_layers(vgg_type: str) -> int:
    """Length of torchvision's ``vgg.features`` (pool: 1 layer; conv [+ BN] + ReLU: 2-3)."""
    per_conv = 3 if vgg_type.endswith('_bn') else 2
    return sum(1 if v == 'M' else per_conv for v in _vgg_cfg(vgg_type))


def build_vgg_features(vgg_type: str = 'vgg19', num_layers: int | None = None) -> nn.Sequential:
    """torchvision's ``vgg.features`` layout (same indices, same parameter names), optionally
    only its first ``num_layers`` layers."""
    layers: list[nn.Module] = []
    in_ch = 3
    for v in _vgg_cfg(vgg_type):
        if num_layers is not None and len(layers) >= num_layers:
            break
        if v == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_ch, v, kernel_size=3, padding=1))
        if vgg_type.endswith('_bn'):
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_ch = v
    return nn.Sequential(*layers[:num_layers])


cache_dir = genforge_cache_dir


def _offline_error(name: str, source: str, searched: list[Path]) -> FileNotFoundError:
    url = source if source.startswith(('http://', 'https://')) else TORCHVISION_URL + name
    sha = name.rsplit('-', 1)[-1].split('.')[0] if '-' in name else None
    return FileNotFoundError(
        f"PerceptualLoss: VGG weights {source!r} are not on this machine (genforge never "
        f"downloads at run time). Expected file {name!r}"
        + (f" (sha256 starting with {sha})" if sha else '')
        + f"; searched: {', '.join(str(p) for p in searched)}. Fix: download "
        f"{url} on a connected machine and "
        f"put it in {cache_dir()} (or set GENFORGE_CACHE), or set "
        f"perceptual_loss.pretrained='/path/to/{name}'; use pretrained=None for random weights.")


def resolve_vgg_weights(pretrained: str, vgg_type: str = 'vgg19') -> Path:
    """Map ``pretrained`` (path, file:// URL, torchvision://, http URL) to an existing file."""
    parsed = urlparse(pretrained)
    if pretrained.startswith('torchvision://'):
        name = TORCHVISION_VGG_FILES.get(pretrained[len('torchvision://'):])
        if name is None:
            raise ValueError(f'pretrained={pretrained!r}: unknown torchvision model; use one of '
                             + ', '.join(f'torchvision://{k}' for k in TORCHVISION_VGG_FILES))
    elif parsed.scheme in ('http', 'https'):
        name = Path(parsed.path).name
    else:
        path = Path(parsed.path if parsed.scheme == 'file' else pretrained).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f'PerceptualLoss: pretrained={pretrained!r}: no file at {path}. '
                                    f'Fix the path, or use pretrained=None for random weights.')
        return path
    torch_home = Path(os.environ.get('TORCH_HOME', Path.home() / '.cache' / 'torch'))
    searched = [cache_dir() / name, torch_home / 'hub' / 'checkpoints' / name]
    for cand in searched:
        if cand.is_file():
            return cand
    raise _offline_error(name, pretrained, searched)


def _check_sha_prefix(path: Path) -> None:
    """torchvision names files ``<arch>-<first 8 hex of sha256>.pth``: verify when present."""
    stem = path.stem
    if '-' not in stem:
        return
    prefix = stem.rsplit('-', 1)[-1]
    if len(prefix) < 8 or any(c not in '0123456789abcdef' for c in prefix):
        return
    digest = file_sha256(path)
    if not digest.startswith(prefix):
        raise RuntimeError(f'{path}: sha256 {digest[:16]}... does not start with {prefix} '
                           f'(file corrupt or truncated); download it again')


def _load_state(path: Path) -> dict:
    if path.suffix == '.safetensors':
        from safetensors.torch import load_file
        return load_file(str(path))
    state = torch.load(str(path), map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


class PerceptualVGG(nn.Module):
    """Frozen VGG ``features[:max(layer)+1]`` returning the features of the named layers.

    Args:
        layer_name_list (list[str]): indices into ``vgg.features`` as strings, e.g. ['4', '34'].
        vgg_type (str): 'vgg11' ... 'vgg19', optionally with '_bn'. Default: 'vgg19'.
        use_input_norm (bool): normalise a [0, 1] input with ImageNet mean/std. Default: True.
        pretrained (str | None): weights source (see module docstring); None = random weights.
    """

    def __init__(self, layer_name_list: list[str], vgg_type: str = 'vgg19',
                 use_input_norm: bool = True, pretrained: str | None = 'torchvision://vgg19'):
        super().__init__()
        if isinstance(pretrained, str) and pretrained.startswith('torchvision://') \
                and pretrained[len('torchvision://'):] != vgg_type:
            raise ValueError(f'pretrained={pretrained!r} does not match vgg_type={vgg_type!r}')
        self.layer_name_list = [str(n) for n in layer_name_list]
        self.use_input_norm = use_input_norm
        num_layers = max(map(int, self.layer_name_list)) + 1
        total = vgg_num_layers(vgg_type)
        if num_layers > total:
            raise ValueError(f'layer {num_layers - 1} is out of range: {vgg_type} has '
                             f'{total} feature layers (0..{total - 1})')
        # Only build the layers in use: faster, and DDP sees no unused parameters.
        self.vgg_layers = build_vgg_features(vgg_type, num_layers)
        if pretrained is not None:
            self._load_pretrained(self.vgg_layers, pretrained, vgg_type)
        if self.use_input_norm:
            self.register_buffer('mean', torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer('std', torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        for p in self.vgg_layers.parameters():
            p.requires_grad = False

    @staticmethod
    def _load_pretrained(features: nn.Sequential, pretrained: str, vgg_type: str) -> None:
        path = resolve_vgg_weights(pretrained, vgg_type)
        _check_sha_prefix(path)
        state = _load_state(path)
        sub = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
        if not sub:  # a file holding only the feature extractor
            sub = {k: v for k, v in state.items() if k.split('.')[0].isdigit()}
        missing, unexpected = features.load_state_dict(sub, strict=False)
        if missing:
            raise KeyError(f'{path}: missing VGG keys {missing[:4]}... ; is it a {vgg_type} '
                           f'checkpoint in torchvision layout (keys "features.<i>.weight")?')
        logger.info('PerceptualVGG: loaded %s weights from %s', vgg_type, path)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (N, 3, H, W) in [0, 1] -> {layer name: feature map}."""
        if self.use_input_norm:
            x = (x - self.mean) / self.std
        output = {}
        for name, module in self.vgg_layers.named_children():
            x = module(x)
            if name in self.layer_name_list:
                output[name] = x.clone()  # clone: a later inplace ReLU must not modify it
        return output


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """Perceptual (feature) loss plus Gram-matrix style loss on VGG features.

    Returns ``(percep_loss, style_loss)``; an entry is None when its weight is 0.

    Args:
        layer_weights (dict): {vgg feature index (str): weight}, e.g. {'34': 1.0}.
        layer_weights_style (dict, optional): weights for the style loss; defaults to
            ``layer_weights``.
        vgg_type (str): Default: 'vgg19'.
        use_input_norm (bool): ImageNet-normalise inside the VGG. Default: True.
        perceptual_weight (float): Default: 1.0.
        style_weight (float): Default: 1.0.
        norm_img (bool): map inputs from [-1, 1] to [0, 1] first. Default: True.
        pretrained (str | None): weights; None = random (tests). Default: 'torchvision://vgg19'.
        criterion (str): 'l1' or 'mse'. Default: 'l1'.

    Example: dict(type='PerceptualLoss', layer_weights={'34': 1.0}, vgg_type='vgg19',
                  perceptual_weight=1.0, style_weight=0, norm_img=False)
    """

    def __init__(self, layer_weights: dict, layer_weights_style: dict | None = None,
                 vgg_type: str = 'vgg19', use_input_norm: bool = True,
                 perceptual_weight: float = 1.0, style_weight: float = 1.0, norm_img: bool = True,
                 pretrained: str | None = 'torchvision://vgg19', criterion: str = 'l1'):
        super().__init__()
        self.norm_img = norm_img
        self.perceptual_weight = perceptual_weight
        self.style_weight = style_weight
        self.layer_weights = {str(k): v for k, v in layer_weights.items()}
        self.layer_weights_style = (None if layer_weights_style is None else
                                    {str(k): v for k, v in layer_weights_style.items()})
        self.vgg = PerceptualVGG(list(self.layer_weights), vgg_type, use_input_norm, pretrained)
        if self.layer_weights_style is not None and self.layer_weights_style != self.layer_weights:
            self.vgg_style = PerceptualVGG(list(self.layer_weights_style), vgg_type,
                                           use_input_norm, pretrained)
        else:
            self.layer_weights_style = self.layer_weights
            self.vgg_style = None
        criterion = criterion.lower()
        if criterion == 'l1':
            self.criterion = nn.L1Loss()
        elif criterion == 'mse':
            self.criterion = nn.MSELoss()
        else:
            raise ValueError(f"PerceptualLoss: criterion={criterion!r}; use 'l1' or 'mse'")

    def forward(self, x: torch.Tensor, gt: torch.Tensor
                ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """x, gt: (N, 3, H, W); in [-1, 1] if ``norm_img`` else in [0, 1]."""
        if self.norm_img:
            x = (x + 1.) * 0.5
            gt = (gt + 1.) * 0.5
        x_feats = self.vgg(x)
        gt_feats = self.vgg(gt.detach())  # detach: the target gets no gradient
        percep_loss = None
        if self.perceptual_weight > 0:
            percep_loss = sum(self.criterion(x_feats[k], gt_feats[k]) * self.layer_weights[k]
                              for k in x_feats) * self.perceptual_weight
        style_loss = None
        if self.style_weight > 0:
            if self.vgg_style is not None:
                x_feats = self.vgg_style(x)
                gt_feats = self.vgg_style(gt.detach())
            style_loss = sum(self.criterion(self._gram_mat(x_feats[k]),
                                            self._gram_mat(gt_feats[k]))
                             * self.layer_weights_style[k] for k in x_feats) * self.style_weight
        return percep_loss, style_loss

    @staticmethod
    def _gram_mat(x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.size()
        features = x.view(n, c, h * w)
        # (N, C, HW) @ (N, HW, C) -> (N, C, C), normalised by the feature size
        return features.bmm(features.transpose(1, 2)) / (c * h * w)
