"""Adaptive discriminator augmentation (Karras et al., NeurIPS 2020): differentiable per-sample
geometric, color and filtering augmentations, each applied with probability ``p * multiplier``.

Geometric transforms compose one inverse affine matrix per sample and resample once with
``grid_sample`` (reflection padding); color transforms compose one 4x4 matrix on RGB; image
filtering scales four frequency bands. Everything is differentiable w.r.t. the images (also
twice: R1 through the augmented discriminator), so G's gradient passes through D's augment.
"""
# ruff: noqa: B006  (MMagic's signatures default to list literals; they are never mutated)
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ['AugmentPipe']

# low-pass filters of Daubechies' symlet wavelets (published constants)
SYM2 = [-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025]
SYM6 = [0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036,
        -0.007800708325034148]
# expected power of the 4 bands of natural images (low band dominates)
BAND_POWER = [10., 1., 1., 1.]


def _band_filters() -> np.ndarray:
    """(4, 43) separable filters splitting an image into 4 octave bands (summing to identity):
    band 0 is the lowest frequencies; band i>0 is a dilated high-pass of the sym2 wavelet."""
    lo = np.asarray(SYM2)
    hi = lo * (-1.) ** np.arange(lo.size)
    lo2, hi2 = np.convolve(lo, lo[::-1]) / 2, np.convolve(hi, hi[::-1]) / 2
    bank = np.eye(4, 1)
    for i in range(1, 4):
        # upsample the existing bank by 2 (zero insertion), low-pass, add the new high band
        up = np.zeros((4, bank.shape[1] * 2 - 1))
        up[:, ::2] = bank
        bank = np.stack([np.convolve(row, lo2) for row in up])
        start = (bank.shape[1] - hi2.size) // 2
        bank[i, start:start + hi2.size] += hi2
    return bank


def _affine(a: Tensor, b: Tensor, c: Tensor, d: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """(N, 3, 3) homogeneous 2-D matrices [[a, b, tx], [c, d, ty], [0, 0, 1]]."""
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([a, b, tx, c, d, ty, zero, zero, one], dim=1).reshape(-1, 3, 3)


def _rotate_inv(theta: Tensor) -> Tensor:
    """Inverse of a counter-clockwise rotation by ``theta`` (N,)."""
    c, s, zero = torch.cos(theta), torch.sin(theta), torch.zeros_like(theta)
    return _affine(c, s, -s, c, zero, zero)


def _scale_inv(sx: Tensor, sy: Tensor) -> Tensor:
    zero = torch.zeros_like(sx)
    return _affine(1 / sx, zero, zero, 1 / sy, zero, zero)


def _translate_inv(tx: Tensor, ty: Tensor) -> Tensor:
    one, zero = torch.ones_like(tx), torch.zeros_like(tx)
    return _affine(one, zero, zero, one, -tx, -ty)


class AugmentPipe(nn.Module):
    """The ADA pipeline; buffers ``p`` (overall strength), ``Hz_geom`` (12,), ``Hz_fbank``
    (4, 43) as MMagic's. Probability multipliers default to 0 (off); set e.g. xflip=1.

    Shapes: (N, C, H, W) -> (N, C, H, W); color transforms need C == 3.
    """

    def __init__(self, xflip: float = 0, rotate90: float = 0, xint: float = 0,
                 xint_max: float = 0.125, scale: float = 0, rotate: float = 0, aniso: float = 0,
                 xfrac: float = 0, scale_std: float = 0.2, rotate_max: float = 1,
                 aniso_std: float = 0.2, xfrac_std: float = 0.125, brightness: float = 0,
                 contrast: float = 0, lumaflip: float = 0, hue: float = 0, saturation: float = 0,
                 brightness_std: float = 0.2, contrast_std: float = 0.5, hue_max: float = 1,
                 saturation_std: float = 1, imgfilter: float = 0,
                 imgfilter_bands: list = [1, 1, 1, 1], imgfilter_std: float = 1,
                 noise: float = 0, cutout: float = 0, noise_std: float = 0.1,
                 cutout_size: float = 0.5):
        super().__init__()
        args = dict(locals())
        for key in ('self', '__class__', 'imgfilter_bands'):
            args.pop(key, None)
        for key, value in args.items():
            setattr(self, key, float(value))
        self.imgfilter_bands = [float(b) for b in imgfilter_bands]
        self.register_buffer('p', torch.ones([]))
        geom = torch.tensor(SYM6, dtype=torch.float32)
        self.register_buffer('Hz_geom', geom / geom.sum())
        self.register_buffer('Hz_fbank', torch.as_tensor(_band_filters(), dtype=torch.float32))

    def _chosen(self, n: int, multiplier: float, device) -> Tensor:
        """(N,) bool: the samples that get an augmentation with this probability multiplier."""
        return torch.rand(n, device=device) < multiplier * self.p

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim != 4:
            raise ValueError(f'AugmentPipe expects (N, C, H, W) images, got {tuple(images.shape)}')
        if float(self.p) == 0:  # ADA starts at p=0: skip the resampling entirely
            return images
        n, _, h, w = images.shape
        g_inv = self._geometric(n, h, w, images.device)
        if g_inv is not None:
            # one resampling for all geometric transforms; reflection avoids black borders
            grid = F.affine_grid(g_inv[:, :2, :].to(images.dtype), list(images.shape),
                                 align_corners=False)
            images = F.grid_sample(images, grid, mode='bilinear', padding_mode='reflection',
                                   align_corners=False)
        images = self._color(images)
        if self.imgfilter > 0:
            images = self._filter(images)
        return self._corrupt(images)

    # -- geometric ------------------------------------------------------------------------
    def _pick(self, n: int, multiplier: float, values: Tensor, default: float) -> Tensor:
        mask = self._chosen(n, multiplier, values.device)
        mask = mask.reshape(-1, *([1] * (values.ndim - 1)))
        return torch.where(mask, values, torch.full_like(values, default))

    def _geometric(self, n: int, h: int, w: int, device) -> Tensor | None:
        """(N, 3, 3): output -> input coordinates in [-1, 1]; None when nothing is enabled."""
        mats = []
        if self.xflip > 0:
            flip = self._pick(n, self.xflip, torch.randint(0, 2, (n,), device=device).float(), 0)
            mats.append(_scale_inv(1 - 2 * flip, torch.ones_like(flip)))
        if self.rotate90 > 0:
            quarter = self._pick(n, self.rotate90,
                                 torch.randint(0, 4, (n,), device=device).float(), 0)
            mats.append(_rotate_inv(quarter * math.pi / 2))
        if self.xint > 0:
            shift = self._pick(n, self.xint, (torch.rand(n, 2, device=device) * 2 - 1)
                               * self.xint_max, 0)
            # whole pixels; one pixel is 2 / size in normalised coordinates
            mats.append(_translate_inv(torch.round(shift[:, 0] * w) * 2 / w,
                                       torch.round(shift[:, 1] * h) * 2 / h))
        if self.scale > 0:
            s = self._pick(n, self.scale, 2 ** (torch.randn(n, device=device) * self.scale_std), 1)
            mats.append(_scale_inv(s, s))
        # the rotation probability is split over two rotations (before and after anisotropic
        # scaling) so that P(any rotation) = rotate * p
        p_rot = 1 - math.sqrt(max(0., 1 - min(1., self.rotate * float(self.p))))
        for stage in ('pre', 'post'):
            if self.rotate > 0:
                theta = (torch.rand(n, device=device) * 2 - 1) * math.pi * self.rotate_max
                theta = torch.where(torch.rand(n, device=device) < p_rot, theta,
                                    torch.zeros_like(theta))
                mats.append(_rotate_inv(theta))
            if stage == 'pre' and self.aniso > 0:
                s = self._pick(n, self.aniso,
                               2 ** (torch.randn(n, device=device) * self.aniso_std), 1)
                mats.append(_scale_inv(s, 1 / s))
        if self.xfrac > 0:
            t = self._pick(n, self.xfrac, torch.randn(n, 2, device=device) * self.xfrac_std, 0)
            mats.append(_translate_inv(t[:, 0] * 2, t[:, 1] * 2))
        if not mats:
            return None
        g_inv = mats[0]
        for mat in mats[1:]:
            g_inv = g_inv @ mat
        return g_inv

    # -- color ----------------------------------------------------------------------------
    def _color(self, images: Tensor) -> Tensor:
        """One 4x4 homogeneous RGB matrix per sample: brightness, contrast, luma flip, hue,
        saturation (rotations/scalings around the luma axis (1, 1, 1) / sqrt(3))."""
        enabled = [self.brightness, self.contrast, self.lumaflip, self.hue, self.saturation]
        if not any(m > 0 for m in enabled):
            return images
        n, c = images.shape[:2]
        if c != 3:
            raise ValueError(f'AugmentPipe: color augmentations need RGB images, got {c} '
                             f'channels; set brightness/contrast/lumaflip/hue/saturation to 0')
        dev = images.device
        eye4 = torch.eye(4, device=dev).repeat(n, 1, 1)
        v = torch.tensor([1., 1., 1., 0.], device=dev) / math.sqrt(3)
        vv = torch.outer(v, v)  # projection onto the luma axis
        m = eye4
        if self.brightness > 0:
            b = self._pick(n, self.brightness, torch.randn(n, device=dev) * self.brightness_std, 0)
            t = eye4.clone()
            t[:, :3, 3] = b[:, None]
            m = t @ m
        if self.contrast > 0:
            k = self._pick(n, self.contrast, 2 ** (torch.randn(n, device=dev) * self.contrast_std),
                           1)
            m = torch.diag_embed(torch.stack([k, k, k, torch.ones_like(k)], 1)) @ m
        if self.lumaflip > 0:
            flip = self._pick(n, self.lumaflip, torch.randint(0, 2, (n,), device=dev).float(), 0)
            m = (eye4 - 2 * vv * flip[:, None, None]) @ m  # reflect across the luma plane
        if self.hue > 0 and c == 3:
            theta = self._pick(n, self.hue, (torch.rand(n, device=dev) * 2 - 1) * math.pi
                               * self.hue_max, 0)
            m = _rotate_about_luma(theta, v) @ m
        if self.saturation > 0:
            s = self._pick(n, self.saturation,
                           2 ** (torch.randn(n, device=dev) * self.saturation_std), 1)
            m = (vv + (eye4 - vv) * s[:, None, None]) @ m
        m = m.to(images.dtype)
        flat = images.reshape(n, c, -1)
        return (m[:, :3, :3] @ flat + m[:, :3, 3:]).reshape(images.shape)

    # -- image-space filtering ------------------------------------------------------------
    def _filter(self, images: Tensor) -> Tensor:
        """Amplify/attenuate 4 frequency bands per sample, keeping the expected power."""
        n, c, h, w = images.shape
        dev = images.device
        power = torch.tensor(BAND_POWER, device=dev)
        power = power / power.sum()
        gains = torch.ones(n, 4, device=dev)
        for band, multiplier in enumerate(self.imgfilter_bands):
            t = torch.ones(n, 4, device=dev)
            t[:, band] = 2 ** (torch.randn(n, device=dev) * self.imgfilter_std)
            t = self._pick(n, self.imgfilter * multiplier, t, 1)
            # renormalise so that the expected image power is unchanged
            t = t / (power * t.square()).sum(1, keepdim=True).sqrt()
            gains = gains * t
        taps = (gains @ self.Hz_fbank).to(images.dtype)  # (N, 43)
        k = taps.shape[1]
        weight = taps[:, None, None, :].repeat_interleave(c, 0)  # (N*C, 1, 1, k)
        x = images.reshape(1, n * c, h, w)
        # reflect (as for natural images) unless the image is smaller than the filter
        mode = 'reflect' if k // 2 < min(h, w) else 'replicate'
        x = F.pad(x, [k // 2, k // 2, 0, 0], mode=mode)
        x = F.conv2d(x, weight, groups=n * c)
        x = F.pad(x, [0, 0, k // 2, k // 2], mode=mode)
        x = F.conv2d(x, weight.transpose(2, 3), groups=n * c)
        return x.reshape(n, c, h, w)

    # -- corruptions ----------------------------------------------------------------------
    def _corrupt(self, images: Tensor) -> Tensor:
        n, _, h, w = images.shape
        dev = images.device
        if self.noise > 0:
            sigma = self._pick(n, self.noise, torch.randn(n, device=dev).abs() * self.noise_std,
                               0)
            images = images + torch.randn_like(images) * sigma.reshape(n, 1, 1, 1)
        if self.cutout > 0:
            size = self._pick(n, self.cutout, torch.full((n,), self.cutout_size, device=dev), 0)
            center = torch.rand(n, 2, device=dev)
            ys = ((torch.arange(h, device=dev) + 0.5) / h)[None, :, None]
            xs = ((torch.arange(w, device=dev) + 0.5) / w)[None, None, :]
            keep = ((xs - center[:, 0, None, None]).abs() >= size[:, None, None] / 2) | \
                ((ys - center[:, 1, None, None]).abs() >= size[:, None, None] / 2)
            images = images * keep[:, None].to(images.dtype)
        return images


def _rotate_about_luma(theta: Tensor, v: Tensor) -> Tensor:
    """(N, 4, 4) rotations by ``theta`` about the unit axis ``v`` (Rodrigues' formula)."""
    n = theta.shape[0]
    axis = v[:3]
    k = torch.zeros(3, 3, device=theta.device)
    k[0, 1], k[0, 2], k[1, 0] = -axis[2], axis[1], axis[2]
    k[1, 2], k[2, 0], k[2, 1] = -axis[0], -axis[1], axis[0]
    s, c = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    rot = torch.eye(3, device=theta.device) + s * k + (1 - c) * (k @ k)
    out = torch.eye(4, device=theta.device).repeat(n, 1, 1)
    out[:, :3, :3] = rot
    return out
