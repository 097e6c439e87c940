"""NVlabs' StyleGAN2 / StyleGAN3 networks re-stated from their papers and published layouts.

Tiny seeded networks in NVlabs' key layout (``mapping.fc0.weight``, ``synthesis.b8.conv0.affine
.weight``, ``b4.out.bias``, ``synthesis.L3_36_32.down_filter`` ...), and plain forward passes
over those state dicts with NVlabs' semantics (equalized-LR gains applied at run time, weight
demodulation, ``const`` noise, skip toRGB outputs, resnet discriminator with minibatch-stddev
and projection conditioning; StyleGAN3's Fourier input, magnitude EMA input gain, filtered
leaky ReLU). Written for these tests with naive ops (zero-insertion upsampling, explicit
padding, dense convolutions): nothing here calls genforge or NVlabs code.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


# -- ops ----------------------------------------------------------------------------------
def fir_filter(taps=(1, 3, 3, 1)) -> torch.Tensor:
    f = torch.tensor(taps, dtype=torch.float64)
    f = torch.outer(f, f)
    return (f / f.sum()).float()


def upfirdn(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """Insert up-1 zeros after each pixel, pad [x0, x1, y0, y1] (negative crops), convolve
    with f (1-D: separable; 2-D; None: identity) times gain, keep every down-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros(n, c, h, up, w, up)
        z[:, :, :, 0, :, 0] = x
        x = z.reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    if f is None:
        f = torch.ones(1, 1)
    f = f.to(x) if f.ndim == 2 else torch.outer(f.to(x), f.to(x))
    kernel = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)  # convolution
    x = F.conv2d(x, kernel, groups=c)
    return x[:, :, ::down, ::down]


def act(x, b=None, kind='lrelu', gain=None, clamp=None, slope=0.2):
    if b is not None:
        x = x + b.reshape(1, -1, *([1] * (x.ndim - 2)))
    if kind == 'lrelu':
        x = F.leaky_relu(x, slope)
        gain = SQRT2 if gain is None else gain
    elif gain is None:
        gain = 1.0
    x = x * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


def fc(sd, name, x, lr=1.0, kind='linear'):
    w, b = sd[f'{name}.weight'], sd.get(f'{name}.bias')
    x = x @ (w * (lr / math.sqrt(w.shape[1]))).t()
    return act(x, None if b is None else b * lr, kind)


def norm2(x, eps=1e-8):
    return x * (x.square().mean(1, keepdim=True) + eps).rsqrt()


# -- StyleGAN2 ---------------------------------------------------------------------------------
def sg2_channels(res, base, cmax):
    return min(base // res, cmax)


def randn(g, *shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


def sg2_generator(seed=0, res=16, z_dim=8, w_dim=16, c_dim=0, img_channels=3, base=256,
                  cmax=32, map_layers=2, conv_clamp=None, use_noise=True):
    """``(state dict, init kwargs)`` of an NVlabs StyleGAN2 generator with random weights."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    embed = w_dim if c_dim else 0
    feats = [z_dim + embed] + [w_dim] * map_layers
    if c_dim:
        sd['mapping.embed.weight'] = randn(g, embed, c_dim)
        sd['mapping.embed.bias'] = randn(g, embed, scale=0.1)
    for i in range(map_layers):
        sd[f'mapping.fc{i}.weight'] = randn(g, feats[i + 1], feats[i], scale=100.)  # 1/lr
        sd[f'mapping.fc{i}.bias'] = randn(g, feats[i + 1], scale=10.)
    sd['mapping.w_avg'] = randn(g, w_dim, scale=0.5)
    filt = fir_filter()
    prev = 0
    for i in range(2, int(math.log2(res)) + 1):
        r = 2 ** i
        ch = sg2_channels(r, base, cmax)
        blk = f'synthesis.b{r}'
        if r == 4:
            sd[f'{blk}.const'] = randn(g, ch, 4, 4)
        sd[f'{blk}.resample_filter'] = filt.clone()
        for conv, cin in ((('conv1', ch),) if r == 4 else (('conv0', prev), ('conv1', ch))):
            p = f'{blk}.{conv}'
            sd[f'{p}.resample_filter'] = filt.clone()
            if use_noise:
                sd[f'{p}.noise_const'] = randn(g, r, r)
                sd[f'{p}.noise_strength'] = randn(g, 1, scale=0.3).reshape(())
            sd[f'{p}.affine.weight'] = randn(g, cin, w_dim)
            sd[f'{p}.affine.bias'] = 1 + randn(g, cin, scale=0.1)
            sd[f'{p}.weight'] = randn(g, ch, cin, 3, 3)
            sd[f'{p}.bias'] = randn(g, ch, scale=0.1)
        sd[f'{blk}.torgb.affine.weight'] = randn(g, ch, w_dim)
        sd[f'{blk}.torgb.affine.bias'] = 1 + randn(g, ch, scale=0.1)
        sd[f'{blk}.torgb.weight'] = randn(g, img_channels, ch, 1, 1)
        sd[f'{blk}.torgb.bias'] = randn(g, img_channels, scale=0.1)
        prev = ch
    kwargs = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=res,
                  img_channels=img_channels,
                  mapping_kwargs=dict(num_layers=map_layers),
                  synthesis_kwargs=dict(channel_base=base, channel_max=cmax, num_fp16_res=0,
                                        conv_clamp=conv_clamp))
    if not use_noise:
        kwargs['synthesis_kwargs']['use_noise'] = False
    return sd, kwargs


def sg2_mapping(sd, z, c, num_ws, lr=0.01, prefix='mapping'):
    parts = []
    if z is not None:
        parts.append(norm2(z))
    if c is not None and f'{prefix}.embed.weight' in sd:
        parts.append(norm2(fc(sd, f'{prefix}.embed', c)))
    x = torch.cat(parts, 1)
    i = 0
    while f'{prefix}.fc{i}.weight' in sd:
        x = fc(sd, f'{prefix}.fc{i}', x, lr=lr, kind='lrelu')
        i += 1
    return x if num_ws is None else x[:, None].repeat(1, num_ws, 1)


def _modconv(x, weight, styles, demod, up=False, noise=None):
    n = x.shape[0]
    w = weight[None] * styles[:, None, :, None, None]
    if demod:
        w = w * (w.square().sum([2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    out = []
    for i in range(n):
        xi = x[i:i + 1]
        if up:  # upsample (x2, [1,3,3,1] filter), then a true convolution with the weight
            xi = upfirdn(xi, fir_filter(), up=2, pad=(3, 2, 3, 2), gain=4)
            out.append(F.conv2d(xi, w[i].flip([2, 3])))
        else:
            k = w.shape[-1]
            out.append(F.conv2d(xi, w[i], padding=k // 2))
    x = torch.cat(out)
    return x if noise is None else x + noise


def sg2_synthesis(sd, ws, res, noise_mode='const', conv_clamp=None):
    def layer(p, x, w, up=False):
        styles = fc(sd, f'{p}.affine', w)
        noise = None
        if noise_mode == 'const' and f'{p}.noise_const' in sd:
            noise = sd[f'{p}.noise_const'] * sd[f'{p}.noise_strength']
        x = _modconv(x, sd[f'{p}.weight'], styles, True, up, noise)
        return act(x, sd[f'{p}.bias'], 'lrelu', clamp=conv_clamp)

    def torgb(p, x, w):
        ch = sd[f'{p}.weight'].shape[1]
        styles = fc(sd, f'{p}.affine', w) / math.sqrt(ch)
        x = _modconv(x, sd[f'{p}.weight'], styles, False)
        return act(x, sd[f'{p}.bias'], 'linear', clamp=conv_clamp)

    x = sd['synthesis.b4.const'][None].repeat(ws.shape[0], 1, 1, 1)
    x = layer('synthesis.b4.conv1', x, ws[:, 0])
    img = torgb('synthesis.b4.torgb', x, ws[:, 1])
    idx = 1
    for i in range(3, int(math.log2(res)) + 1):
        r = 2 ** i
        x = layer(f'synthesis.b{r}.conv0', x, ws[:, idx], up=True)
        x = layer(f'synthesis.b{r}.conv1', x, ws[:, idx + 1])
        img = upfirdn(img, fir_filter(), up=2, pad=(2, 1, 2, 1), gain=4) + \
            torgb(f'synthesis.b{r}.torgb', x, ws[:, idx + 2])
        idx += 2
    return img


def sg2_generate(sd, kwargs, z, c=None, psi=1.0, noise_mode='const'):
    res = kwargs['img_resolution']
    num_ws = 2 * int(math.log2(res)) - 2
    lr = kwargs.get('mapping_kwargs', {}).get('lr_multiplier', 0.01)
    ws = sg2_mapping(sd, z, c, num_ws, lr=lr)
    if psi != 1:
        ws = sd['mapping.w_avg'].lerp(ws, psi)
    clamp = kwargs.get('synthesis_kwargs', {}).get('conv_clamp')
    return sg2_synthesis(sd, ws, res, noise_mode, clamp)


def sg2_discriminator(seed=1, res=16, img_channels=3, c_dim=0, base=256, cmax=32,
                      mbstd_group=4, mbstd_channels=1, map_layers=2, conv_clamp=None):
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    filt = fir_filter()
    for i in range(int(math.log2(res)), 2, -1):
        r = 2 ** i
        tmp, out = sg2_channels(r, base, cmax), sg2_channels(r // 2, base, cmax)
        p = f'b{r}'
        sd[f'{p}.resample_filter'] = filt.clone()
        if r == res:
            sd[f'{p}.fromrgb.weight'] = randn(g, tmp, img_channels, 1, 1)
            sd[f'{p}.fromrgb.bias'] = randn(g, tmp, scale=0.1)
            sd[f'{p}.fromrgb.resample_filter'] = filt.clone()
        sd[f'{p}.conv0.weight'] = randn(g, tmp, tmp, 3, 3)
        sd[f'{p}.conv0.bias'] = randn(g, tmp, scale=0.1)
        sd[f'{p}.conv0.resample_filter'] = filt.clone()
        sd[f'{p}.conv1.weight'] = randn(g, out, tmp, 3, 3)
        sd[f'{p}.conv1.bias'] = randn(g, out, scale=0.1)
        sd[f'{p}.conv1.resample_filter'] = filt.clone()
        sd[f'{p}.skip.weight'] = randn(g, out, tmp, 1, 1)
        sd[f'{p}.skip.resample_filter'] = filt.clone()
    c4 = sg2_channels(4, base, cmax)
    cmap = c4 if c_dim else 0
    if c_dim:
        feats = [cmap] * (map_layers + 1)
        sd['mapping.embed.weight'] = randn(g, cmap, c_dim)
        sd['mapping.embed.bias'] = randn(g, cmap, scale=0.1)
        for i in range(map_layers):
            sd[f'mapping.fc{i}.weight'] = randn(g, feats[i + 1], feats[i], scale=100.)
            sd[f'mapping.fc{i}.bias'] = randn(g, feats[i + 1], scale=10.)
    sd['b4.conv.weight'] = randn(g, c4, c4 + mbstd_channels, 3, 3)
    sd['b4.conv.bias'] = randn(g, c4, scale=0.1)
    sd['b4.conv.resample_filter'] = filt.clone()
    sd['b4.fc.weight'] = randn(g, c4, c4 * 16)
    sd['b4.fc.bias'] = randn(g, c4, scale=0.1)
    sd['b4.out.weight'] = randn(g, cmap or 1, c4)
    sd['b4.out.bias'] = randn(g, cmap or 1, scale=0.1)
    kwargs = dict(c_dim=c_dim, img_resolution=res, img_channels=img_channels,
                  architecture='resnet', channel_base=base, channel_max=cmax, num_fp16_res=0,
                  conv_clamp=conv_clamp, block_kwargs={},
                  mapping_kwargs=dict(num_layers=map_layers) if c_dim else {},
                  epilogue_kwargs=dict(mbstd_group_size=mbstd_group,
                                       mbstd_num_channels=mbstd_channels))
    return sd, kwargs


def _conv_layer(sd, p, x, down=False, kind='lrelu', gain=1.0, clamp=None, bias=True):
    w = sd[f'{p}.weight']
    k = w.shape[-1]
    w = w / math.sqrt(w.shape[1] * k * k)
    if down and k == 1:
        x = upfirdn(x, fir_filter(), down=2, pad=(1, 1, 1, 1))
        x = F.conv2d(x, w)
    elif down:
        x = upfirdn(x, fir_filter(), pad=(2, 2, 2, 2))
        x = F.conv2d(x, w, stride=2)
    else:
        x = F.conv2d(x, w, padding=k // 2)
    b = sd[f'{p}.bias'] if bias else None
    if kind == 'linear':
        return act(x, b, 'linear', gain=gain)
    return act(x, b, 'lrelu', gain=SQRT2 * gain,
               clamp=None if clamp is None else clamp * gain)


def sg2_discriminate(sd, kwargs, img, c=None):
    res = kwargs['img_resolution']
    clamp = kwargs.get('conv_clamp')
    x = _conv_layer(sd, f'b{res}.fromrgb', img, clamp=clamp)
    for i in range(int(math.log2(res)), 2, -1):
        p = f'b{2 ** i}'
        y = _conv_layer(sd, f'{p}.skip', x, down=True, kind='linear', gain=math.sqrt(0.5),
                        bias=False)
        x = _conv_layer(sd, f'{p}.conv0', x, clamp=clamp)
        x = _conv_layer(sd, f'{p}.conv1', x, down=True, gain=math.sqrt(0.5), clamp=clamp)
        x = y + x
    ek = kwargs.get('epilogue_kwargs', {})
    group, channels = ek.get('mbstd_group_size', 4), ek.get('mbstd_num_channels', 1)
    n, ch, h, w = x.shape
    gsz = min(group, n)
    y = x.reshape(gsz, -1, channels, ch // channels, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean([2, 3, 4])
    y = y.reshape(-1, channels, 1, 1).repeat(gsz, 1, h, w)
    x = torch.cat([x, y], 1)
    x = _conv_layer(sd, 'b4.conv', x, clamp=clamp)
    x = fc(sd, 'b4.fc', x.flatten(1), kind='lrelu')
    x = fc(sd, 'b4.out', x)
    if kwargs.get('c_dim', 0):
        cmap = sg2_mapping(sd, None, c, None, lr=0.01)
        x = (x * cmap).sum(1, keepdim=True) / math.sqrt(cmap.shape[1])
    return x


# -- StyleGAN3 ---------------------------------------------------------------------------------
def sg3_layout(res, img_channels, channel_base, channel_max, num_layers=14, num_critical=2,
               first_cutoff=2, first_stopband=2 ** 2.1, last_stopband_rel=2 ** 0.3,
               margin_size=10, conv_kernel=3, filter_size=6, lrelu_upsampling=2,
               use_radial_filters=False, **_):
    """Per-layer hyper-parameters of the alias-free synthesis network (the paper's schedule:
    cutoffs growing geometrically to res/2 over the non-critical layers, sampling rates the
    next power of two above twice the stopband, a margin of ``margin_size`` pixels)."""
    last_cutoff = res / 2
    t = np.minimum(np.arange(num_layers + 1) / (num_layers - num_critical), 1)
    cutoff = first_cutoff * (last_cutoff / first_cutoff) ** t
    stopband = first_stopband * (last_cutoff * last_stopband_rel / first_stopband) ** t
    rate = np.exp2(np.ceil(np.log2(np.minimum(stopband * 2, res))))
    half_width = np.maximum(stopband, rate / 2) - cutoff
    size = rate + margin_size * 2
    size[-2:] = res
    chans = np.rint(np.minimum((channel_base / 2) / cutoff, channel_max))
    chans[-1] = img_channels
    layers = []
    for i in range(num_layers + 1):
        p = max(i - 1, 0)
        torgb = i == num_layers
        tmp = max(rate[p], rate[i]) * (1 if torgb else lrelu_upsampling)
        up, down = int(round(tmp / rate[p])), int(round(tmp / rate[i]))
        up_taps = filter_size * up if up > 1 and not torgb else 1
        down_taps = filter_size * down if down > 1 and not torgb else 1
        k = 1 if torgb else conv_kernel
        total = (int(size[i]) - 1) * down + 1 - (int(size[p]) + k - 1) * up + up_taps + \
            down_taps - 2
        lo = (total + up) // 2
        layers.append(dict(
            name=f'L{i}_{int(size[i])}_{int(chans[i])}', torgb=torgb, cin=int(chans[p]),
            cout=int(chans[i]), k=k, up=up, down=down, pad=(lo, total - lo, lo, total - lo),
            up_taps=up_taps, down_taps=down_taps, tmp=tmp, in_cutoff=cutoff[p],
            out_cutoff=cutoff[i], in_hw=half_width[p], out_hw=half_width[i],
            radial=use_radial_filters and i < num_layers - num_critical))
    inp = dict(channels=int(chans[0]), size=int(size[0]), rate=float(rate[0]),
               bandwidth=float(cutoff[0]))
    return inp, layers


def _lowpass(taps, cutoff, width, fs, radial):
    """Kaiser-windowed sinc (or jinc for radial) low-pass filter summing to 1."""
    if taps == 1:
        return None
    atten = 2.285 * (taps - 1) * np.pi * (width / (fs / 2)) + 7.95
    beta = 0.1102 * (atten - 8.7) if atten > 50 else \
        0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21) if atten > 21 else 0.0
    win = np.kaiser(taps, beta)
    t = (np.arange(taps) - (taps - 1) / 2) / fs
    if not radial:
        f = np.sinc(2 * cutoff * t) * win
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    from scipy.special import j1
    r = np.hypot(*np.meshgrid(t, t))
    with np.errstate(invalid='ignore', divide='ignore'):
        f = j1(2 * cutoff * np.pi * r) / (np.pi * r)
    f[r == 0] = cutoff
    f = f * np.outer(win, win)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def sg3_generator(seed=0, res=16, z_dim=8, w_dim=16, c_dim=0, img_channels=3,
                  channel_base=512, channel_max=32, map_layers=2, radial=False,
                  num_layers=4, num_critical=2, conv_clamp=256, magnitude_ema_beta=0.999):
    """``(state dict, init kwargs)`` of an NVlabs StyleGAN3 generator with random weights
    (StyleGAN3-R when ``radial``: 1x1 convs and radial down-filters)."""
    g = torch.Generator().manual_seed(seed)
    kwargs = dict(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, img_resolution=res,
                  img_channels=img_channels, mapping_kwargs=dict(num_layers=map_layers),
                  channel_base=channel_base, channel_max=channel_max, num_layers=num_layers,
                  num_critical=num_critical, num_fp16_res=0, conv_clamp=conv_clamp,
                  magnitude_ema_beta=magnitude_ema_beta,
                  conv_kernel=1 if radial else 3, use_radial_filters=radial)
    sd = OrderedDict()
    if c_dim:
        sd['mapping.embed.weight'] = randn(g, w_dim, c_dim)
        sd['mapping.embed.bias'] = randn(g, w_dim, scale=0.1)
    feats = [z_dim + (w_dim if c_dim else 0)] + [w_dim] * map_layers
    for i in range(map_layers):
        sd[f'mapping.fc{i}.weight'] = randn(g, feats[i + 1], feats[i], scale=100.)
        sd[f'mapping.fc{i}.bias'] = randn(g, feats[i + 1], scale=10.)
    sd['mapping.w_avg'] = randn(g, w_dim, scale=0.5)
    inp, layers = sg3_layout(**kwargs, res=res)
    ch = inp['channels']
    freqs = randn(g, ch, 2)
    radii = freqs.square().sum(1, keepdim=True).sqrt()
    freqs = freqs / (radii * radii.square().exp().pow(0.25)) * inp['bandwidth']
    sd['synthesis.input.weight'] = randn(g, ch, ch)
    sd['synthesis.input.affine.weight'] = randn(g, 4, w_dim, scale=0.3)
    sd['synthesis.input.affine.bias'] = torch.tensor([1., 0., 0., 0.]) + randn(g, 4, scale=0.1)
    sd['synthesis.input.transform'] = torch.eye(3)
    sd['synthesis.input.freqs'] = freqs
    sd['synthesis.input.phases'] = torch.rand(ch, generator=g) - 0.5
    for lay in layers:
        p = f'synthesis.{lay["name"]}'
        sd[f'{p}.weight'] = randn(g, lay['cout'], lay['cin'], lay['k'], lay['k'])
        sd[f'{p}.bias'] = randn(g, lay['cout'], scale=0.1)
        sd[f'{p}.magnitude_ema'] = (0.5 + torch.rand((), generator=g))
        fu = _lowpass(lay['up_taps'], lay['in_cutoff'], lay['in_hw'] * 2, lay['tmp'], False)
        fd = _lowpass(lay['down_taps'], lay['out_cutoff'], lay['out_hw'] * 2, lay['tmp'],
                      lay['radial'])
        if fu is not None:
            sd[f'{p}.up_filter'] = fu
        if fd is not None:
            sd[f'{p}.down_filter'] = fd
        sd[f'{p}.affine.weight'] = randn(g, lay['cin'], w_dim)
        sd[f'{p}.affine.bias'] = 1 + randn(g, lay['cin'], scale=0.1)
    return sd, kwargs


def sg3_generate(sd, kwargs, z, c=None, psi=1.0):
    inp, layers = sg3_layout(res=kwargs['img_resolution'], **kwargs)
    num_ws = len(layers) + 1
    lr = kwargs.get('mapping_kwargs', {}).get('lr_multiplier', 0.01)
    ws = sg2_mapping(sd, z, c, num_ws, lr=lr)
    if psi != 1:
        ws = sd['mapping.w_avg'].lerp(ws, psi)
    # Fourier features, rotated/translated by an affine of w
    w0 = ws[:, 0]
    t = fc(sd, 'synthesis.input.affine', w0)
    t = t / t[:, :2].norm(dim=1, keepdim=True)
    n = w0.shape[0]
    rot = torch.eye(3).repeat(n, 1, 1)
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
    tra = torch.eye(3).repeat(n, 1, 1)
    tra[:, 0, 2], tra[:, 1, 2] = -t[:, 2], -t[:, 3]
    m = rot @ tra @ sd['synthesis.input.transform'][None]
    freqs = sd['synthesis.input.freqs'][None] @ m[:, :2, :2]
    phases = sd['synthesis.input.phases'][None] + \
        (sd['synthesis.input.freqs'][None] @ m[:, :2, 2:]).squeeze(2)
    amp = (1 - (freqs.norm(dim=2) - inp['bandwidth'])
           / (inp['rate'] / 2 - inp['bandwidth'])).clamp(0, 1)
    s = inp['size']
    # pixel centres of an s x s grid spanning [-s/2, s/2] / rate
    coords = (torch.arange(s, dtype=torch.float32) + 0.5 - s / 2) / inp['rate']
    gy, gx = torch.meshgrid(coords, coords, indexing='ij')
    grid = torch.stack([gx, gy], -1)  # (s, s, 2) as (x, y)
    x = torch.einsum('hwk,nck->nhwc', grid, freqs) + phases[:, None, None]
    x = torch.sin(x * 2 * math.pi) * amp[:, None, None]
    weight = sd['synthesis.input.weight'] / math.sqrt(inp['channels'])
    x = (x @ weight.t()).permute(0, 3, 1, 2)
    clamp = kwargs.get('conv_clamp', 256)
    for lay, w in zip(layers, ws[:, 1:].unbind(1)):
        p = f'synthesis.{lay["name"]}'
        styles = fc(sd, f'{p}.affine', w)
        weight = sd[f'{p}.weight']
        if lay['torgb']:
            styles = styles / math.sqrt(lay['cin'] * lay['k'] ** 2)
        else:
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()
        wm = weight[None] * styles[:, None, :, None, None]
        if not lay['torgb']:
            wm = wm * (wm.square().sum([2, 3, 4], keepdim=True) + 1e-8).rsqrt()
        wm = wm * sd[f'{p}.magnitude_ema'].rsqrt()
        x = torch.cat([F.conv2d(x[i:i + 1], wm[i], padding=lay['k'] - 1) for i in range(n)])
        # filtered leaky ReLU: bias, upsample + filter, lrelu (gain, clamp), filter + downsample
        x = x + sd[f'{p}.bias'].reshape(1, -1, 1, 1)
        x = upfirdn(x, sd.get(f'{p}.up_filter'), up=lay['up'], pad=lay['pad'],
                    gain=lay['up'] ** 2)
        if lay['torgb']:
            x = x.clamp(-clamp, clamp) if clamp is not None else x
        else:
            x = act(x, None, 'lrelu', clamp=clamp)
        x = upfirdn(x, sd.get(f'{p}.down_filter'), down=lay['down'])
    return x * kwargs.get('output_scale', 0.25)
