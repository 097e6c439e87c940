"""Inception-v3 for FID/IS/KID/PR: the TF-FID network in plain PyTorch, and its weights.

``InceptionV3FID`` reproduces the graph of TensorFlow's ``inception-2015-12-05`` as ported by
pytorch-fid (``FIDInceptionA/C/E_1/E_2``: TF average pooling ignores padded zeros, and the last
block max-pools), with parameter names and shapes of ``pt_inception-2015-12-05-6726825d.pth``
so that file loads with ``strict=True``.

Input convention (``forward``): float RGB images (N, 3, H, W) with values in [0, 255], already
quantised to integers (see ``quantize_uint8``). The network resizes to 299x299 with
``F.interpolate`` bilinear (``align_corners=False``, no antialias, as pytorch-fid; TF 1.x
``resize_bilinear`` samples without the half-pixel offset), scales with ``x / 127.5 - 1``
(pytorch-fid; the TF graph uses ``(x - 128) / 128``) and returns ``(pool3 features (N, 2048),
logits (N, 1008))``. docs/metrics.md gives the measured effect of both differences.

Weights are never downloaded behind the user's back: ``inception_path=None`` looks in the cache
directory (``$GENFORGE_CACHE`` or ``~/.cache/genforge``); an ``http(s)://`` path is downloaded
into that cache once; a missing file raises an error that names the file, its checksum, where to
put it and how to point genforge at it.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from genforge.fileio import file_sha256, genforge_cache_dir

__all__ = ['InceptionV3FID', 'quantize_uint8', 'load_inception', 'genforge_cache_dir',
           'PT_INCEPTION_URL', 'STYLEGAN_INCEPTION_URL', 'file_sha256']

logger = logging.getLogger(__name__)

PT_INCEPTION_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
                    'pt_inception-2015-12-05-6726825d.pth')
STYLEGAN_INCEPTION_URL = ('https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/'
                          'metrics/inception-2015-12-05.pt')


def quantize_uint8(img: torch.Tensor) -> torch.Tensor:
    """Round float images in [0, 255] to the integers a PNG would store (round half up, clamp).

    Same as StyleGAN's ``(x * 127.5 + 128).clamp(0, 255).to(uint8)`` for x in [-1, 1], so generated
    images are measured as if saved to disk; real images read from disk pass unchanged.
    """
    return torch.floor(img.float() + 0.5).clamp_(0, 255)


# --------------------------------------------------------------------------------------------
# Network (layer names follow torchvision's Inception3 == the keys of the pytorch-fid file)
# --------------------------------------------------------------------------------------------
class BasicConv2d(nn.Module):
    """conv (no bias) -> BN(eps=1e-3) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TF's average pool does not count the padded zeros
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | TF-avgpool-1x1 -> 224 + pool_features."""

    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """35 -> 17 reduction: 3x3/2 | 1x1-3x3-3x3/2 | maxpool/2 -> 384 + 96 + in."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class FIDInceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions -> 768 channels."""

    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for i in range(1, 6):
            bd = getattr(self, f'branch7x7dbl_{i}')(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(_tf_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """17 -> 8 reduction: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | maxpool/2 -> 320 + 192 + in."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f'branch7x7x3_{i}')(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class FIDInceptionE(nn.Module):
    """8x8 block -> 2048 channels. ``pool='avg'`` is FIDInceptionE_1 (TF avg pool without
    padding), ``pool='max'`` is FIDInceptionE_2 (the TF graph max-pools in its last block)."""

    def __init__(self, in_channels: int, pool: str = 'avg'):
        super().__init__()
        if pool not in ('avg', 'max'):
            raise ValueError(f"FIDInceptionE: pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = (_tf_avg_pool(x) if self.pool == 'avg'
                  else F.max_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class InceptionV3FID(nn.Module):
    """The TF-FID Inception-v3 (pytorch-fid's ``fid_inception_v3``) without the aux head.

    forward: (N, 3, H, W) RGB float in [0, 255] -> (features (N, 2048), logits (N, 1008)).

    Example:
        >>> net, style = load_inception('PyTorch', '/path/pt_inception-2015-12-05-6726825d.pth')
    """

    def __init__(self, resize_input: bool = True):
        super().__init__()
        self.resize_input = resize_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool='avg')
        self.Mixed_7c = FIDInceptionE(2048, pool='max')
        self.fc = nn.Linear(2048, 1008)  # 1008 TF classes; logits feed the Inception Score

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.resize_input:
            x = F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
        x = x / 127.5 - 1  # [0, 255] -> [-1, 1], as pytorch-fid's 2 * (x / 255) - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (N, 64, 147, 147) -> (N, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # -> (N, 192, 35, 35)
        for name in ('5b', '5c', '5d', '6a', '6b', '6c', '6d', '6e', '7a', '7b', '7c'):
            x = getattr(self, f'Mixed_{name}')(x)
        feats = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # pool3: (N, 2048)
        return feats, self.fc(feats)


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------
# genforge_cache_dir / file_sha256 live in genforge.fileio (shared with PerceptualLoss).


_KNOWN = {
    # style: (file name, url, checksum text for the error message)
    'PyTorch': ('pt_inception-2015-12-05-6726825d.pth', PT_INCEPTION_URL,
                'sha256 starting with 6726825d (torch.hub naming)'),
    'StyleGAN': ('inception-2015-12-05.pt', STYLEGAN_INCEPTION_URL,
                 'not published by NVlabs; genforge records the sha256 of the file it loads'),
}


def _missing_weights_error(style: str, path: Path) -> FileNotFoundError:
    name, url, checksum = _KNOWN[style]
    return FileNotFoundError(
        f"inception_style={style!r}: weight file '{path}' not found. Expected file: {name} "
        f'(checksum: {checksum}), from {url}. Download it on a machine with internet and put it '
        f"at '{genforge_cache_dir() / name}' (set GENFORGE_CACHE to change that folder), or pass "
        f"inception_path='/path/to/{name}' in the metric config. genforge never substitutes "
        'other weights.')


def _resolve_path(style: str, inception_path: str | None) -> Path:
    name, url, _ = _KNOWN[style]
    if inception_path is None:
        path = genforge_cache_dir() / name
    elif re.match(r'^https?://', str(inception_path)):
        path = genforge_cache_dir() / os.path.basename(str(inception_path))
        if not path.exists():  # explicit URL: the user asked for a download
            path.parent.mkdir(parents=True, exist_ok=True)
            logger.info('downloading %s to %s', inception_path, path)
            torch.hub.download_url_to_file(str(inception_path), str(path), progress=False)
    else:
        path = Path(inception_path).expanduser()
    if not path.is_file():
        raise _missing_weights_error(style, path)
    return path


def _check_hub_hash(path: Path) -> None:
    # torch.hub convention: 'name-<sha256 prefix>.ext'; a file named so must match its prefix
    m = re.search(r'-([a-f0-9]{8,})\.[a-z]+$', path.name)
    if m and not file_sha256(path).startswith(m.group(1)):
        raise ValueError(f"'{path}': sha256 does not start with {m.group(1)} as its name says; "
                         'the download is corrupt or the file was replaced. Download it again.')


def load_inception(inception_style: str = 'PyTorch', inception_path: str | None = None
                   ) -> tuple[nn.Module, str]:
    """Build the feature network; return ``(module in eval mode, weights tag)``.

    - ``'PyTorch'``: :class:`InceptionV3FID` with the pytorch-fid state dict loaded strictly.
      Tag ``'pt2015'`` for the official file; any other file (e.g. random weights saved by a
      test) gets ``'custom-<sha256[:8]>'`` so its numbers are never mistaken for real FIDs.
    - ``'StyleGAN'``: NVlabs' TorchScript ``inception-2015-12-05.pt`` via ``torch.jit.load``;
      tag ``'stylegan2015-<sha256[:8]>'``.
    """
    if inception_style not in _KNOWN:
        raise ValueError(f"inception_style={inception_style!r} is not supported; use 'PyTorch' "
                         "(pytorch-fid weights) or 'StyleGAN' (NVlabs TorchScript)")
    path = _resolve_path(inception_style, inception_path)
    sha = file_sha256(path)
    if inception_style == 'StyleGAN':
        return torch.jit.load(str(path), map_location='cpu').eval(), f'stylegan2015-{sha[:8]}'
    _check_hub_hash(path)
    net = InceptionV3FID()
    state = torch.load(str(path), map_location='cpu', weights_only=True)
    net.load_state_dict(state, strict=True)
    tag = 'pt2015' if path.name == _KNOWN['PyTorch'][0] else f'custom-{sha[:8]}'
    return net.eval().requires_grad_(False), tag
