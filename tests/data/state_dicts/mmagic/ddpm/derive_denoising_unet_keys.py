"""Write denoising_unet_tiny.json: the state_dict layout MMagic 1.2's DenoisingUnet builds for
the tiny config below, enumerated by hand from the facts of MMagic's source
(mmagic/models/editors/ddpm/denoising_unet.py, v1.2.0), without importing genforge:

- time_embedding.blocks = Sequential(Linear(base, emb), SiLU, Linear(emb, emb))
- in_blocks.0.0 = Conv2d(in_channels, ch, 3); per level: resblocks_per_downsample x
  [DenoisingResBlock(in, out) (+ MultiHeadAttention at attention scales)], then (not last level)
  DenoisingDownsample(with_conv) whose conv is `downsample`
- label_embedding = Embedding(num_classes, emb) when num_classes != 0, registered after
  in_blocks (so it follows all in_blocks keys)
- DenoisingResBlock: conv_1 = Sequential(GN, SiLU, Conv2d 3x3); norm_with_embedding.norm (GN),
  norm_with_embedding.embedding_layer = Sequential(SiLU, Linear(emb, 2*out if scale-shift else
  out)); conv_2 = Sequential(SiLU, Dropout, Conv2d 3x3); shortcut Conv2d(k) if in != out
- MultiHeadAttention: norm (GN), qkv = Conv1d(c, 3c, 1), proj = Conv1d(c, c, 1)
- mid_blocks = [ResBlock, Attention, ResBlock]
- up path: per reversed level, resblocks_per_downsample + 1 x [ResBlock(in + skip, out)
  (+ attention)], the last one of each non-final level ends with DenoisingUpsample (`conv`)
- out = mmcv ConvModule(order norm, act, conv): keys out.conv.*, out.gn.* (norm on in_channels)

Run: python tests/data/state_dicts/mmagic/ddpm/derive_denoising_unet_keys.py
"""
import json
from pathlib import Path

CONFIG = dict(type='DenoisingUnet', image_size=16, in_channels=3, base_channels=32,
              channels_cfg=[1, 2], resblocks_per_downsample=1, attention_res=[8],
              num_classes=2, use_scale_shift_norm=True,
              output_cfg=dict(mean='eps', var='learned_range'))
IN, BASE, EMB, NCLS = 3, 32, 128, 2
keys = {}


def add(name, *shape):
    keys[name] = list(shape)


def conv(p, cin, cout, k):
    add(f'{p}.weight', cout, cin, k, k)
    add(f'{p}.bias', cout)


def gn(p, c):
    add(f'{p}.weight', c)
    add(f'{p}.bias', c)


def res(p, cin, cout):
    gn(f'{p}.conv_1.0', cin)
    conv(f'{p}.conv_1.2', cin, cout, 3)
    gn(f'{p}.norm_with_embedding.norm', cout)
    add(f'{p}.norm_with_embedding.embedding_layer.1.weight', 2 * cout, EMB)
    add(f'{p}.norm_with_embedding.embedding_layer.1.bias', 2 * cout)
    conv(f'{p}.conv_2.2', cout, cout, 3)
    if cin != cout:
        conv(f'{p}.shortcut', cin, cout, 1)


def attn(p, c):
    gn(f'{p}.norm', c)
    add(f'{p}.qkv.weight', 3 * c, c, 1)
    add(f'{p}.qkv.bias', 3 * c)
    add(f'{p}.proj.weight', c, c, 1)
    add(f'{p}.proj.bias', c)


add('time_embedding.blocks.0.weight', EMB, BASE)
add('time_embedding.blocks.0.bias', EMB)
add('time_embedding.blocks.2.weight', EMB, EMB)
add('time_embedding.blocks.2.bias', EMB)
# down: 16x16 (scale 1) then 8x8 (scale 2 = 16 // 8: attention)
conv('in_blocks.0.0', IN, 32, 3)
res('in_blocks.1.0', 32, 32)
conv('in_blocks.2.0.downsample', 32, 32, 3)
res('in_blocks.3.0', 32, 64)
attn('in_blocks.3.1', 64)
# label_embedding is created after in_blocks (which is extended later, in place)
add('label_embedding.weight', NCLS, EMB)
# skips: [32, 32, 32, 64]
res('mid_blocks.0', 64, 64)
attn('mid_blocks.1', 64)
res('mid_blocks.2', 64, 64)
res('out_blocks.0.0', 64 + 64, 64)
attn('out_blocks.0.1', 64)
res('out_blocks.1.0', 64 + 32, 64)
attn('out_blocks.1.1', 64)
conv('out_blocks.1.2.conv', 64, 64, 3)
res('out_blocks.2.0', 64 + 32, 32)
res('out_blocks.3.0', 32 + 32, 32)
conv('out.conv', 32, 2 * IN, 3)
gn('out.gn', 32)

out = Path(__file__).with_name('denoising_unet_tiny.json')
out.write_text(json.dumps(dict(config=CONFIG, model_type='DenoisingUnet', keys=keys), indent=1))
print(f'wrote {out} ({len(keys)} keys)')
