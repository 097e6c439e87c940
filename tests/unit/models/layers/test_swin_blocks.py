"""Swin blocks against a dense computation: full attention over all H*W tokens, where the allowed
(query, key) pairs and their relative-position bias come from coordinates, not from windows."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genforge.models.layers.swin_blocks import (
    SwinTransformerBlock,
    relative_position_index,
    shifted_window_mask,
)


def _dense_block(block: SwinTransformerBlock, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    ws, s, heads = block.window_size, block.shift_size, block.num_heads
    b, n, c = x.shape
    i, j = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    i, j = i.flatten(), j.flatten()
    # coordinates after the cyclic shift by -s: where each token sits when windows are cut
    ri, rj = (i - s) % h, (j - s) % w
    di, dj = ri[:, None] - ri[None, :], rj[:, None] - rj[None, :]  # (query, key) offsets
    same_window = (ri[:, None] // ws == ri[None, :] // ws) & (rj[:, None] // ws == rj[None, :] // ws)
    # a pair is joined by the shift (not by the image) when its offset changed under the roll
    no_wrap = (di == i[:, None] - i[None, :]) & (dj == j[:, None] - j[None, :])
    allowed = same_window & no_wrap
    table = block.attn.relative_position_bias_table.view(2 * ws - 1, 2 * ws - 1, heads)
    bias = table[(di + ws - 1).clamp(0, 2 * ws - 2), (dj + ws - 1).clamp(0, 2 * ws - 2)]
    bias = bias.permute(2, 0, 1)  # (heads, N, N)

    xn = block.norm1(x)
    q, k, v = block.attn.qkv(xn).view(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    logits = (q * block.attn.scale) @ k.transpose(-1, -2) + bias
    logits = logits.masked_fill(~allowed, float('-inf'))
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
    x = x + block.attn.proj(out)
    return x + block.mlp(block.norm2(x))


@pytest.mark.parametrize('shift', [0, 2])
@pytest.mark.parametrize('size', [(8, 8), (12, 8)], ids=['train-size', 'other-size'])
def test_window_attention_matches_dense_masked_attention(shift, size):
    torch.manual_seed(0)
    block = SwinTransformerBlock(dim=8, input_resolution=(8, 8), num_heads=2, window_size=4,
                                 shift_size=shift, mlp_ratio=2).eval()
    with torch.no_grad():
        block.attn.relative_position_bias_table.normal_()  # make the bias matter
        x = torch.randn(2, size[0] * size[1], 8)
        out = block(x, size)
        ref = _dense_block(block, x, *size)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)


def test_shift_mask_actually_masks():
    """Negative control: without the mask, the shifted block differs from the dense reference."""
    torch.manual_seed(0)
    block = SwinTransformerBlock(dim=8, input_resolution=(8, 8), num_heads=2, window_size=4,
                                 shift_size=2).eval()
    block.attn_mask.zero_()
    with torch.no_grad():
        x = torch.randn(1, 64, 8)
        assert not torch.allclose(block(x, (8, 8)), _dense_block(block, x, 8, 8), atol=1e-3)


def test_relative_position_index_against_loop():
    wh, ww = 3, 4
    idx = relative_position_index((wh, ww))
    coords = [(a, b) for a in range(wh) for b in range(ww)]
    for p, (a1, b1) in enumerate(coords):
        for q, (a2, b2) in enumerate(coords):
            assert idx[p, q] == (a1 - a2 + wh - 1) * (2 * ww - 1) + (b1 - b2 + ww - 1)


def test_small_resolution_shrinks_the_window_and_drops_the_shift():
    block = SwinTransformerBlock(dim=4, input_resolution=(4, 4), num_heads=1, window_size=8,
                                 shift_size=4)
    assert (block.window_size, block.shift_size, block.attn_mask) == (4, 0, None)
    assert block.attn.relative_position_bias_table.shape == (7 * 7, 1)


def test_mask_shape_and_values():
    mask = shifted_window_mask(8, 12, 4, 2)
    assert mask.shape == (2 * 3, 16, 16)
    assert set(mask.unique().tolist()) == {0.0, -100.0}
    assert (mask[0] == 0).all()  # the top-left window never straddles the wrap-around
    assert F.relu(-mask[-1]).sum() > 0  # the bottom-right one always does
