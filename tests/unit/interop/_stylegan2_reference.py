"""rosinality stylegan2-pytorch's StyleGAN2, re-stated in plain torch ops for the interop tests.

Written from the published math of rosinality's ``model.py`` (equalized LR, modulated conv with
demodulation, FIR blur/upsample with ``outer(k, k) / sum``, noise, fused bias + leaky ReLU * sqrt
2, minibatch stddev), independently of genforge's modules: each sample is convolved on its own
(no grouped conv), upfirdn is zero-insertion + pad + conv. ``rosinality_g``/``rosinality_d``
build seeded state dicts in rosinality's key layout and shapes.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2)


def make_kernel(k=(1, 3, 3, 1)) -> torch.Tensor:
    k = torch.tensor(k, dtype=torch.float32)
    k = k[None, :] * k[:, None]
    return k / k.sum()


def rosinality_g(seed: int, size: int = 16, style_dim: int = 32, n_mlp: int = 2,
                 channels: dict | None = None, lr_mlp: float = 0.01) -> dict:
    """A seeded generator state dict with rosinality's names and shapes."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.):
        return torch.randn(*shape, generator=g) * scale

    log = int(math.log2(size))
    ch = channels or {2 ** r: 32 for r in range(2, log + 1)}
    sd = {}
    for i in range(1, n_mlp + 1):
        sd[f'style.{i}.weight'] = rnd(style_dim, style_dim) / lr_mlp
        sd[f'style.{i}.bias'] = rnd(style_dim, scale=0.1) / lr_mlp

    def modconv(prefix, cin, cout, k, up=False, rgb=False):
        sd[f'{prefix}.conv.weight'] = rnd(1, cout, cin, k, k)
        sd[f'{prefix}.conv.modulation.weight'] = rnd(cin, style_dim)
        sd[f'{prefix}.conv.modulation.bias'] = 1 + rnd(cin, scale=0.1)
        if up:
            sd[f'{prefix}.conv.blur.kernel'] = make_kernel() * 4
        if rgb:
            sd[f'{prefix}.bias'] = rnd(1, cout, 1, 1, scale=0.1)
        else:
            sd[f'{prefix}.noise.weight'] = rnd(1, scale=0.2)
            sd[f'{prefix}.activate.bias'] = rnd(cout, scale=0.1)

    sd['input.input'] = rnd(1, ch[4], 4, 4)
    modconv('conv1', ch[4], ch[4], 3)
    modconv('to_rgb1', ch[4], 3, 1, rgb=True)
    cin = ch[4]
    for i in range(log - 2):
        cout = ch[8 * 2 ** i]
        modconv(f'convs.{2 * i}', cin, cout, 3, up=True)
        modconv(f'convs.{2 * i + 1}', cout, cout, 3)
        modconv(f'to_rgbs.{i}', cout, 3, 1, rgb=True)
        sd[f'to_rgbs.{i}.upsample.kernel'] = make_kernel() * 4
        cin = cout
    for j in range(2 * (log - 2) + 1):
        res = 2 ** ((j + 5) // 2)
        sd[f'noises.noise_{j}'] = rnd(1, 1, res, res)
    return sd


def rosinality_d(seed: int, size: int = 16, channels: dict | None = None) -> dict:
    """A seeded discriminator state dict with rosinality's names and shapes."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.):
        return torch.randn(*shape, generator=g) * scale

    log = int(math.log2(size))
    ch = channels or {2 ** r: 32 for r in range(2, log + 1)}
    sd = {'convs.0.0.weight': rnd(ch[size], 3, 1, 1), 'convs.0.1.bias': rnd(ch[size], scale=0.1)}
    cin = ch[size]
    for n, i in enumerate(range(log, 2, -1), start=1):
        cout = ch[2 ** (i - 1)]
        p = f'convs.{n}'
        sd[f'{p}.conv1.0.weight'] = rnd(cin, cin, 3, 3)
        sd[f'{p}.conv1.1.bias'] = rnd(cin, scale=0.1)
        sd[f'{p}.conv2.0.kernel'] = make_kernel()
        sd[f'{p}.conv2.1.weight'] = rnd(cout, cin, 3, 3)
        sd[f'{p}.conv2.2.bias'] = rnd(cout, scale=0.1)
        sd[f'{p}.skip.0.kernel'] = make_kernel()
        sd[f'{p}.skip.1.weight'] = rnd(cout, cin, 1, 1)
        cin = cout
    sd['final_conv.0.weight'] = rnd(ch[4], cin + 1, 3, 3)
    sd['final_conv.1.bias'] = rnd(ch[4], scale=0.1)
    sd['final_linear.0.weight'] = rnd(ch[4], ch[4] * 16)
    sd['final_linear.0.bias'] = rnd(ch[4], scale=0.1)
    sd['final_linear.1.weight'] = rnd(1, ch[4])
    sd['final_linear.1.bias'] = rnd(1, scale=0.1)
    return sd


# -- the forward passes ----------------------------------------------------------------------------
def upfirdn(x, kernel, up=1, down=1, pad=(0, 0)):
    """Zero-insertion upsampling, zero padding, FIR filter (true convolution), decimation."""
    n, c, h, w = x.shape
    if up > 1:
        z = x.new_zeros(n, c, h * up, w * up)
        z[:, :, ::up, ::up] = x
        x = z
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    k = torch.flip(kernel, [0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, k, groups=c)
    return x[:, :, ::down, ::down]


def lrelu(x, bias):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.reshape(shape), 0.2) * SQRT2


def linear(x, w, b, lr_mul=1.):
    return x @ (w * lr_mul / math.sqrt(w.shape[1])).t() + b * lr_mul


def modconv(sd, prefix, x, w, demod=True, up=False):
    """rosinality's ModulatedConv2d, sample by sample."""
    weight = sd[f'{prefix}.conv.weight'][0]
    cout, cin, k, _ = weight.shape
    style = linear(w, sd[f'{prefix}.conv.modulation.weight'], sd[f'{prefix}.conv.modulation.bias'])
    outs = []
    for i in range(x.shape[0]):
        wi = weight / math.sqrt(cin * k * k) * style[i].reshape(1, cin, 1, 1)
        if demod:
            wi = wi * torch.rsqrt(wi.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        xi = x[i:i + 1]
        if up:
            o = F.conv_transpose2d(xi, wi.transpose(0, 1), stride=2)
            o = upfirdn(o, make_kernel() * 4, pad=(1, 1))
        else:
            o = F.conv2d(xi, wi, padding=k // 2)
        outs.append(o)
    return torch.cat(outs)


def normalize(x):
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def generator(sd, z, truncation=1., truncation_latent=None, lr_mlp=0.01, embed=None, c=None):
    """rosinality ``Generator([z], truncation=..., randomize_noise=False)[0]``; with ``embed``
    (weight (out, in), bias) and labels ``c``, StyleGAN2-ADA's conditional mapping input
    ``[normalize(z), normalize(embed(c))]``."""
    n_mlp = len([k for k in sd if k.startswith('style.') and k.endswith('.weight')])
    w = normalize(z)
    if embed is not None:
        w = torch.cat([w, normalize(linear(c, *embed))], dim=1)
    for i in range(1, n_mlp + 1):
        w = lrelu(w @ (sd[f'style.{i}.weight'] * lr_mlp / math.sqrt(w.shape[1])).t(),
                  sd[f'style.{i}.bias'] * lr_mlp)
    if truncation < 1:
        w = truncation_latent + truncation * (w - truncation_latent)

    def styled(prefix, x, noise, up=False):
        x = modconv(sd, prefix, x, w, up=up)
        x = x + sd[f'{prefix}.noise.weight'] * noise
        return lrelu(x, sd[f'{prefix}.activate.bias'])

    def to_rgb(prefix, x, skip):
        out = modconv(sd, prefix, x, w, demod=False) + sd[f'{prefix}.bias']
        if skip is not None:
            out = out + upfirdn(skip, make_kernel() * 4, up=2, pad=(2, 1))
        return out

    x = sd['input.input'].repeat(z.shape[0], 1, 1, 1)
    x = styled('conv1', x, sd['noises.noise_0'])
    skip = to_rgb('to_rgb1', x, None)
    i = 0
    while f'convs.{2 * i}.conv.weight' in sd:
        x = styled(f'convs.{2 * i}', x, sd[f'noises.noise_{2 * i + 1}'], up=True)
        x = styled(f'convs.{2 * i + 1}', x, sd[f'noises.noise_{2 * i + 2}'])
        skip = to_rgb(f'to_rgbs.{i}', x, skip)
        i += 1
    return skip


def conv_layer(sd, prefix, x, k, down=False, act=True):
    """rosinality's ConvLayer: [blur], equalized conv (stride 2 when down), [fused lrelu]."""
    idx = 0
    if down:
        p = 2 + (k - 1)
        x = upfirdn(x, make_kernel(), pad=((p + 1) // 2, p // 2))
        idx = 1
    weight = sd[f'{prefix}.{idx}.weight']
    x = F.conv2d(x, weight / math.sqrt(weight[0].numel()), stride=2 if down else 1,
                 padding=0 if down else k // 2)
    return lrelu(x, sd[f'{prefix}.{idx + 1}.bias']) if act else x


def discriminator(sd, img):
    """rosinality ``Discriminator(img)``: (N, 1) logits."""
    x = conv_layer(sd, 'convs.0', img, 1)
    i = 1
    while f'convs.{i}.conv1.0.weight' in sd:
        out = conv_layer(sd, f'convs.{i}.conv2', conv_layer(sd, f'convs.{i}.conv1', x, 3), 3,
                         down=True)
        x = (out + conv_layer(sd, f'convs.{i}.skip', x, 1, down=True, act=False)) / SQRT2
        i += 1
    n, c, h, w = x.shape
    group = min(n, 4)
    y = x.reshape(group, -1, 1, c, h, w)
    y = torch.sqrt(y.var(0, unbiased=False) + 1e-8).mean(dim=(2, 3, 4), keepdim=True).squeeze(2)
    x = torch.cat([x, y.repeat(group, 1, h, w)], 1)
    x = conv_layer(sd, 'final_conv', x, 3).reshape(n, -1)
    w0 = sd['final_linear.0.weight']
    x = lrelu(linear(x, w0, torch.zeros(w0.shape[0])), sd['final_linear.0.bias'])
    return linear(x, sd['final_linear.1.weight'], sd['final_linear.1.bias'])
