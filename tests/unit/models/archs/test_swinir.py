"""SwinIRNet: the official SwinIR / MMagic state_dict layout (keys and shapes written out here from
the published layout), any input size, and argument errors that name the key."""
from __future__ import annotations

import math

import pytest
import torch

from genforge.models.archs import SwinIRNet
from genforge.registry import MODELS


def official_layout(in_chans, embed_dim, depths, num_heads, window_size, img_size, mlp_ratio,
                    upscale, upsampler, resi_connection='1conv'):
    """{key: shape} of a SwinIR state_dict, enumerated from the layout of the release files."""
    e, ws, nf = embed_dim, window_size, 64
    res = img_size
    if res <= ws:  # the block window shrinks to the resolution and does not shift
        ws, shifts = res, False
    else:
        shifts = True
    keys = {'conv_first.weight': (e, in_chans, 3, 3), 'conv_first.bias': (e, ),
            'patch_embed.norm.weight': (e, ), 'patch_embed.norm.bias': (e, )}

    def resi(prefix):
        if resi_connection == '1conv':
            return {f'{prefix}.weight': (e, e, 3, 3), f'{prefix}.bias': (e, )}
        q = e // 4
        return {f'{prefix}.0.weight': (q, e, 3, 3), f'{prefix}.0.bias': (q, ),
                f'{prefix}.2.weight': (q, q, 1, 1), f'{prefix}.2.bias': (q, ),
                f'{prefix}.4.weight': (e, q, 3, 3), f'{prefix}.4.bias': (e, )}

    hidden = int(e * mlp_ratio)
    for i, (depth, heads) in enumerate(zip(depths, num_heads)):
        for j in range(depth):
            p = f'layers.{i}.residual_group.blocks.{j}'
            if shifts and j % 2 == 1:
                keys[f'{p}.attn_mask'] = ((res // ws)**2, ws * ws, ws * ws)
            keys.update({
                f'{p}.norm1.weight': (e, ), f'{p}.norm1.bias': (e, ),
                f'{p}.attn.relative_position_bias_table': ((2 * ws - 1)**2, heads),
                f'{p}.attn.relative_position_index': (ws * ws, ws * ws),
                f'{p}.attn.qkv.weight': (3 * e, e), f'{p}.attn.qkv.bias': (3 * e, ),
                f'{p}.attn.proj.weight': (e, e), f'{p}.attn.proj.bias': (e, ),
                f'{p}.norm2.weight': (e, ), f'{p}.norm2.bias': (e, ),
                f'{p}.mlp.fc1.weight': (hidden, e), f'{p}.mlp.fc1.bias': (hidden, ),
                f'{p}.mlp.fc2.weight': (e, hidden), f'{p}.mlp.fc2.bias': (e, )})
        keys.update(resi(f'layers.{i}.conv'))
    keys.update({'norm.weight': (e, ), 'norm.bias': (e, )})
    keys.update(resi('conv_after_body'))
    conv = lambda name, cin, cout: {f'{name}.weight': (cout, cin, 3, 3), f'{name}.bias': (cout, )}  # noqa: E731
    if upsampler == 'pixelshuffle':
        keys.update(conv('conv_before_upsample.0', e, nf))
        if upscale == 3:
            keys.update(conv('upsample.0', nf, 9 * nf))
        for k in range(int(math.log2(upscale)) if upscale != 3 else 0):
            keys.update(conv(f'upsample.{2 * k}', nf, 4 * nf))
        keys.update(conv('conv_last', nf, in_chans))
    elif upsampler == 'pixelshuffledirect':
        keys.update(conv('upsample.0', e, upscale**2 * in_chans))
    elif upsampler == 'nearest+conv':
        keys.update(conv('conv_before_upsample.0', e, nf))
        keys.update(conv('conv_up1', nf, nf))
        if upscale == 4:
            keys.update(conv('conv_up2', nf, nf))
        keys.update(conv('conv_hr', nf, nf))
        keys.update(conv('conv_last', nf, in_chans))
    else:
        keys.update(conv('conv_last', e, in_chans))
    return keys


CASES = [  # (upsampler, upscale, in_chans, resi_connection, img_size, window_size)
    ('pixelshuffle', 2, 3, '1conv', 16, 4),
    ('pixelshuffle', 3, 3, '1conv', 16, 4),
    ('pixelshuffle', 8, 3, '3conv', 8, 4),
    ('pixelshuffledirect', 4, 3, '1conv', 16, 4),
    ('nearest+conv', 4, 3, '3conv', 16, 4),
    ('nearest+conv', 2, 3, '1conv', 12, 4),
    ('', 1, 1, '1conv', 14, 7),
    ('', 1, 3, '1conv', 4, 8),  # window larger than the patch: shrinks, no shift
]


def _net(upsampler, upscale, in_chans, resi, img_size, ws, **kw):
    torch.manual_seed(0)
    return SwinIRNet(img_size=img_size, in_chans=in_chans, embed_dim=8, depths=[2, 1],
                     num_heads=[2, 4], window_size=ws, mlp_ratio=2, upscale=upscale,
                     upsampler=upsampler, resi_connection=resi, **kw)


@pytest.mark.parametrize('case', CASES, ids=[f'{c[0] or "none"}-x{c[1]}-c{c[2]}-{c[3]}-s{c[4]}w{c[5]}'
                                             for c in CASES])
def test_state_dict_layout_and_odd_sizes(case):
    upsampler, upscale, in_chans, resi, img_size, ws = case
    net = _net(*case).eval()
    got = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    want = official_layout(in_chans, 8, [2, 1], [2, 4], ws, img_size, 2, upscale, upsampler, resi)
    assert got == want
    with torch.no_grad():
        for h, w in [(img_size, img_size), (7, 5), (2 * ws + 1, ws - 1)]:
            y = net(torch.rand(1, in_chans, h, w))
            assert y.shape == (1, in_chans, h * upscale, w * upscale)


def test_odd_sizes_are_reflect_padded_then_cropped():
    """A 7x7 input is reflect-padded to 8x8 (row/col 6 mirrored into row/col 7): the same as
    running the explicitly padded image and cropping its output."""
    net = _net('pixelshuffle', 2, 3, '1conv', 8, 4).eval()
    x = torch.rand(1, 3, 7, 7)
    x_ref = torch.nn.functional.pad(x, (0, 1, 0, 1), 'reflect')
    with torch.no_grad():
        y_odd = net(x)
        torch.testing.assert_close(net(x_ref)[..., :14, :14], y_odd)
    assert y_odd.shape == (1, 3, 14, 14)


def test_identity_residual_for_denoising():
    """With a zero last conv, the denoising network returns its input (global residual)."""
    net = _net('', 1, 3, '1conv', 8, 4, img_range=255.).eval()
    torch.nn.init.zeros_(net.conv_last.weight)
    torch.nn.init.zeros_(net.conv_last.bias)
    x = torch.rand(2, 3, 9, 6)
    with torch.no_grad():
        torch.testing.assert_close(net(x), x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(upsampler='bicubic'), "upsampler='bicubic'"),
    (dict(depths=[2, 2], num_heads=[2]), 'same length'),
    (dict(upsampler='', upscale=2), 'must be 1'),
    (dict(upsampler='nearest+conv', upscale=3), 'nearest\\+conv'),
    (dict(patch_size=2), 'patch_size=2'),
    (dict(resi_connection='2conv'), "resi_connection='2conv'"),
])
def test_argument_errors(kwargs, match):
    cfg = dict(type='SwinIRNet', img_size=8, embed_dim=8, depths=[1], num_heads=[2],
               window_size=4, upscale=2, upsampler='pixelshuffle')
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_trains_one_step_with_checkpointing():
    net = _net('pixelshuffledirect', 2, 3, '1conv', 8, 4, use_checkpoint=True)
    net.train()
    x, gt = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 16, 16)
    loss = (net(x) - gt).abs().mean()
    loss.backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert net.layers[0].residual_group.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
