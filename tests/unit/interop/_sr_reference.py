"""Foreign SR layouts for the interop tests, written from the published key conventions, and
plain re-statements of each source's forward that read the named tensors directly.

Nothing here uses genforge: the state dicts are what BasicSR / Real-ESRGAN / ESRGAN save, and
the forwards follow their papers' and repos' formulas (RRDB residual x0.2, LeakyReLU 0.2,
nearest x2 twice; MSRResNet LeakyReLU 0.1 after each shuffle; EDSR ``(x - mean) * 255``;
SRVGG PReLU and the nearest-upsampled input added to the shuffled output).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

EDSR_MEAN = torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)


class _Weights:
    """Seeded conv weights: small values keep deep stacks in a sane range."""

    def __init__(self, seed: int):
        self.gen = torch.Generator().manual_seed(seed)
        self.sd: dict[str, torch.Tensor] = {}

    def conv(self, name: str, cin: int, cout: int, k: int = 3) -> None:
        self.sd[f'{name}.weight'] = torch.randn(cout, cin, k, k, generator=self.gen) * 0.1
        self.sd[f'{name}.bias'] = torch.randn(cout, generator=self.gen) * 0.05

    def vector(self, name: str, n: int) -> None:
        self.sd[name] = torch.rand(n, generator=self.gen) * 0.5


# -- state dicts in each project's names -------------------------------------------------------
def basicsr_rrdbnet(seed, cin=3, cout=3, nf=8, nb=2, gc=4, scale=4) -> dict:
    w = _Weights(seed)
    w.conv('conv_first', cin * {4: 1, 2: 4, 1: 16}[scale], nf)
    for i in range(nb):
        for j in (1, 2, 3):
            for k in range(1, 6):
                w.conv(f'body.{i}.rdb{j}.conv{k}', nf + (k - 1) * gc, nf if k == 5 else gc)
    for name in ('conv_body', 'conv_up1', 'conv_up2', 'conv_hr'):
        w.conv(name, nf, nf)
    w.conv('conv_last', nf, cout)
    return w.sd


def esrgan_sequential(sd: dict, nb: int) -> dict:
    """BasicSR RRDBNet x4 names -> the original ESRGAN ``model.N`` names (same tensors)."""
    out = {}
    top = {'conv_first': 'model.0', 'conv_body': f'model.1.sub.{nb}', 'conv_up1': 'model.3',
           'conv_up2': 'model.6', 'conv_hr': 'model.8', 'conv_last': 'model.10'}
    for key, value in sd.items():
        head, kind = key.rsplit('.', 1)
        if head in top:
            out[f'{top[head]}.{kind}'] = value
        else:  # body.i.rdbj.convk -> model.1.sub.i.RDBj.convk.0
            _, i, rdb, conv = head.split('.')
            out[f'model.1.sub.{i}.RDB{rdb[3:]}.{conv}.0.{kind}'] = value
    return out


def esrgan_mmsr(sd: dict) -> dict:
    """BasicSR RRDBNet names -> ESRGAN/mmsr ``RRDB_trunk`` names."""
    names = {'body.': 'RRDB_trunk.', 'conv_body.': 'trunk_conv.', 'conv_up1.': 'upconv1.',
             'conv_up2.': 'upconv2.', 'conv_hr.': 'HRconv.'}
    out = {}
    for key, value in sd.items():
        for old, new in names.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key.replace('.rdb', '.RDB')] = value
    return out


def basicsr_msrresnet(seed, cin=3, cout=3, nf=8, nb=2, upscale=4) -> dict:
    w = _Weights(seed)
    w.conv('conv_first', cin, nf)
    for i in range(nb):
        w.conv(f'body.{i}.conv1', nf, nf)
        w.conv(f'body.{i}.conv2', nf, nf)
    if upscale == 4:
        w.conv('upconv1', nf, nf * 4)
        w.conv('upconv2', nf, nf * 4)
    else:
        w.conv('upconv1', nf, nf * upscale * upscale)
    w.conv('conv_hr', nf, nf)
    w.conv('conv_last', nf, cout)
    return w.sd


def basicsr_edsr(seed, nf=8, nb=2, upscale=4) -> dict:
    w = _Weights(seed)
    w.conv('conv_first', 3, nf)
    for i in range(nb):
        w.conv(f'body.{i}.conv1', nf, nf)
        w.conv(f'body.{i}.conv2', nf, nf)
    w.conv('conv_after_body', nf, nf)
    if upscale == 3:
        w.conv('upsample.0', nf, 9 * nf)
    else:
        for i in range(upscale.bit_length() - 1):   # conv at 0, 2, 4 ...; shuffles between
            w.conv(f'upsample.{2 * i}', nf, 4 * nf)
    w.conv('conv_last', nf, 3)
    return w.sd


def srvgg(seed, cin=3, nf=8, num_conv=2, upscale=4, prelu=True) -> dict:
    w = _Weights(seed)
    w.conv('body.0', cin, nf)
    for i in range(num_conv + 1):
        if prelu:
            w.vector(f'body.{2 * i + 1}.weight', nf)
        if i < num_conv:
            w.conv(f'body.{2 * i + 2}', nf, nf)
    w.conv(f'body.{2 * num_conv + 2}', nf, cin * upscale * upscale)
    return w.sd


# -- the sources' forwards, restated on the named tensors ----------------------------------------
def conv(sd, name, x):
    weight = sd[f'{name}.weight']
    return F.conv2d(x, weight, sd[f'{name}.bias'], padding=weight.shape[-1] // 2)


def lrelu(x, slope):
    return torch.where(x >= 0, x, x * slope)


def shuffle(x, r):
    """(N, C*r*r, H, W) -> (N, C, H*r, W*r): channel c*r*r + i*r + j lands at (H*r + i, W*r + j)."""
    n, c, h, w = x.shape
    return x.view(n, c // (r * r), r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(
        n, c // (r * r), h * r, w * r)


def unshuffle(x, r):
    """(N, C, H, W) -> (N, C*r*r, H/r, W/r), the inverse of ``shuffle``."""
    n, c, h, w = x.shape
    return x.view(n, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4).reshape(
        n, c * r * r, h // r, w // r)


def nearest(x, s):
    return x.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)


def ref_rrdbnet(sd, x, scale=4):
    nb = len({k.split('.')[1] for k in sd if k.startswith('body.')})
    feat = x if scale == 4 else unshuffle(x, 4 // scale)
    feat = conv(sd, 'conv_first', feat)
    trunk = feat
    for i in range(nb):
        block_in = trunk
        for j in (1, 2, 3):
            feats = [trunk]
            for k in range(1, 5):
                feats.append(lrelu(conv(sd, f'body.{i}.rdb{j}.conv{k}', torch.cat(feats, 1)), 0.2))
            trunk = conv(sd, f'body.{i}.rdb{j}.conv5', torch.cat(feats, 1)) * 0.2 + trunk
        trunk = trunk * 0.2 + block_in
    feat = feat + conv(sd, 'conv_body', trunk)
    feat = lrelu(conv(sd, 'conv_up1', nearest(feat, 2)), 0.2)
    feat = lrelu(conv(sd, 'conv_up2', nearest(feat, 2)), 0.2)
    return conv(sd, 'conv_last', lrelu(conv(sd, 'conv_hr', feat), 0.2))


def _res_blocks(sd, feat, res_scale=1.):
    nb = len({k.split('.')[1] for k in sd if k.startswith('body.')})
    for i in range(nb):
        feat = feat + res_scale * conv(sd, f'body.{i}.conv2', conv(sd, f'body.{i}.conv1', feat).relu())
    return feat


def ref_msrresnet(sd, x, upscale=4):
    out = _res_blocks(sd, lrelu(conv(sd, 'conv_first', x), 0.1))
    if upscale == 4:
        out = lrelu(shuffle(conv(sd, 'upconv1', out), 2), 0.1)
        out = lrelu(shuffle(conv(sd, 'upconv2', out), 2), 0.1)
    else:
        out = lrelu(shuffle(conv(sd, 'upconv1', out), upscale), 0.1)
    out = conv(sd, 'conv_last', lrelu(conv(sd, 'conv_hr', out), 0.1))
    return out + F.interpolate(x, scale_factor=upscale, mode='bilinear', align_corners=False)


def ref_edsr(sd, x, upscale=4, res_scale=1., img_range=255., mean=EDSR_MEAN):
    x = (x - mean) * img_range
    x = conv(sd, 'conv_first', x)
    res = conv(sd, 'conv_after_body', _res_blocks(sd, x, res_scale)) + x
    convs = sorted(int(k.split('.')[1]) for k in sd if k.startswith('upsample.') and
                   k.endswith('weight'))
    for i in convs:
        res = shuffle(conv(sd, f'upsample.{i}', res), 3 if upscale == 3 else 2)
    return conv(sd, 'conv_last', res) / img_range + mean


def ref_srvgg(sd, x, upscale=4, act='prelu'):
    convs = sorted(int(k.split('.')[1]) for k in sd if sd[k].ndim == 4)
    out = x
    for i in convs:
        out = conv(sd, f'body.{i}', out)
        if i == convs[-1]:
            break
        if act == 'prelu':
            out = torch.where(out >= 0, out, sd[f'body.{i + 1}.weight'].view(1, -1, 1, 1) * out)
        else:
            out = out.relu() if act == 'relu' else lrelu(out, 0.1)
    return shuffle(out, upscale) + nearest(x, upscale)
