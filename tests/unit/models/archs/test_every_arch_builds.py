"""Every registered network builds from a small config and runs one forward (timm's
registry-wide test): an arch that stops building, or a new one nobody tried, fails here at once.

Each entry is (config, call): ``call(net)`` runs a forward on tiny inputs. A network registered
under ``genforge.models.archs`` without an entry fails ``test_every_registered_arch_has_a_case``.
"""
from __future__ import annotations

import pytest
import torch

import genforge.models  # noqa: F401  (registers everything)
from genforge.registry import MODELS


def img(c: int = 3, s: int = 16, n: int = 2) -> torch.Tensor:
    return torch.randn(n, c, s, s)


def z(n: int = 2, d: int = 8) -> torch.Tensor:
    return torch.randn(n, d)


SN_G = dict(noise_size=8, base_channels=8, out_channels=3, channels_cfg=[1, 1])
CASES = {
    # unconditional GANs
    'DCGANGenerator': (dict(output_scale=16, noise_size=8, base_channels=8), lambda n: n(z())),
    'DCGANDiscriminator': (dict(input_scale=16, output_scale=4, out_channels=1, base_channels=8),
                           lambda n: n(img())),
    'LSGANGenerator': (dict(output_scale=32, noise_size=8, base_channels=8), lambda n: n(z())),
    'LSGANDiscriminator': (dict(input_scale=16, output_scale=4, base_channels=8),
                           lambda n: n(img())),
    'WGANGPGenerator': (dict(noise_size=8, out_scale=16),
                        lambda n: n(z())),
    'WGANGPDiscriminator': (dict(in_channel=3, in_scale=16),
                            lambda n: n(img())),
    'WGANNoiseTo2DFeat': (dict(noise_size=8, out_channels=4), lambda n: n(z())),
    'ConvLNModule': (dict(in_channels=3, out_channels=4, kernel_size=3, padding=1,
                          feature_shape=(4, 16, 16), norm_cfg=dict(type='LN2d')),
                     lambda n: n(img())),
    'PGGANGenerator': (dict(noise_size=8, out_scale=16, base_channels=64, max_channels=8),
                       lambda n: n(z())),
    'PGGANDiscriminator': (dict(in_scale=16, base_channels=64, max_channels=8),
                           lambda n: n(img())),
    'PGGANNoiseTo2DFeat': (dict(noise_size=8, out_channels=4), lambda n: n(z())),
    'PGGANDecisionHead': (dict(in_channels=64, mid_channels=4, out_channels=1),
                          lambda n: n(torch.randn(2, 4, 4, 4))),
    # conditional / self-attention GANs
    'SNGANGenerator': (dict(output_scale=8, num_classes=3, **SN_G),
                       lambda n: n(z(), label=torch.tensor([0, 2]))),
    'SAGANGenerator': (dict(output_scale=8, num_classes=3, **SN_G),
                       lambda n: n(z(), label=torch.tensor([0, 2]))),
    'ProjDiscriminator': (dict(input_scale=8, num_classes=3, base_channels=8,
                               channels_cfg=[1, 1], downsample_cfg=[True, False]),
                          lambda n: n(img(s=8), label=torch.tensor([0, 2]))),
    'SAGANDiscriminator': (dict(input_scale=8, num_classes=3, base_channels=8,
                                channels_cfg=[1, 1], downsample_cfg=[True, False]),
                           lambda n: n(img(s=8), label=torch.tensor([0, 2]))),
    'SNGANGenResBlock': (dict(in_channels=4, out_channels=4, use_cbn=False), lambda n: n(img(4, 8))),
    'SNGANDiscResBlock': (dict(in_channels=3, out_channels=4), lambda n: n(img(3, 8))),
    'SNGANDiscHeadResBlock': (dict(in_channels=3, out_channels=4), lambda n: n(img(3, 8))),
    'BigGANGenerator': (dict(output_scale=32, noise_size=16, num_classes=3, base_channels=4,
                             shared_dim=4), lambda n: n(z(d=16), label=torch.tensor([0, 1]))),
    'BigGANDiscriminator': (dict(input_scale=32, num_classes=3, base_channels=4),
                            lambda n: n(img(s=32), label=torch.tensor([0, 1]))),
    'BigGANGenResBlock': (dict(in_channels=4, out_channels=4, dim_after_concat=6),
                          lambda n: n(img(4, 8), torch.randn(2, 6))),
    'BigGANDiscResBlock': (dict(in_channels=3, out_channels=4), lambda n: n(img(3, 8))),
    'BigGANDeepGenerator': (dict(output_scale=32, noise_size=16, num_classes=3,
                                 base_channels=4, shared_dim=4),
                            lambda n: n(z(d=16), label=torch.tensor([0, 1]))),
    'BigGANDeepDiscriminator': (dict(input_scale=32, num_classes=3, base_channels=4),
                                lambda n: n(img(s=32), label=torch.tensor([0, 1]))),
    'BigGANDeepGenResBlock': (dict(in_channels=8, out_channels=4, dim_after_concat=6),
                              lambda n: n(img(8, 8), torch.randn(2, 6))),
    'BigGANDeepDiscResBlock': (dict(in_channels=4, out_channels=8), lambda n: n(img(4, 8))),
    # style-based GANs
    'StyleGAN1Generator': (dict(out_size=16, style_channels=16), lambda n: n(None, num_batches=2)),
    'StyleGAN1Discriminator': (dict(in_size=16), lambda n: n(img())),
    'StyleGAN2Generator': (dict(out_size=16, style_channels=16, num_mlps=2,
                                channel_multiplier=1), lambda n: n(None, num_batches=2)),
    'StyleGAN2Discriminator': (dict(in_size=16, channel_multiplier=1), lambda n: n(img())),
    'ADAStyleGAN2Discriminator': (dict(in_size=16, channel_multiplier=1,
                                       data_aug=dict(type='ADAAug')), lambda n: n(img())),
    'ADAAug': (dict(), None),
    'MSStyleGANv2Generator': (dict(out_size=16, style_channels=8, num_mlps=2, max_channels=8,
                                   head_pos_encoding=dict(type='CSG'), deconv2conv=True),
                              lambda n: n(None, num_batches=2, chosen_scale=2)),
    'MSStyleGAN2Discriminator': (dict(in_size=16, max_channels=8, with_adaptive_pool=True),
                                 lambda n: n(img(s=24))),
    'StyleGAN3Generator': (dict(out_size=16, style_channels=16, img_channels=3,
                                synthesis_cfg=dict(type='SynthesisNetwork', channel_base=256,
                                                   channel_max=16, num_layers=4),
                                mapping_cfg=dict(type='MappingNetwork', num_layers=2)),
                           lambda n: n(None, num_batches=2)),
    'SynthesisNetwork': (dict(style_channels=16, out_size=16, img_channels=3, channel_base=256,
                              channel_max=16, num_layers=4),
                         lambda n: n(torch.randn(2, n.num_ws, 16))),
    'MappingNetwork': (dict(noise_size=8, style_channels=16, num_ws=4, num_layers=2),
                       lambda n: n(z())),
    # multi-scale / single image
    'SinGANMultiScaleGenerator': (dict(in_channels=3, out_channels=3, num_scales=1,
                                       base_channels=4, min_feat_channels=4),
                                  lambda n: n(None, [torch.randn(1, 3, 16, 16)] * 2, [1.0, 1.0],
                                              'rand', curr_scale=1, num_batches=1)),
    'SinGANMultiScaleDiscriminator': (dict(in_channels=3, num_scales=1, base_channels=4,
                                           min_feat_channels=4),
                                      lambda n: n(img(), curr_scale=1)),
    'SinGANMSGeneratorPE': (dict(in_channels=3, out_channels=3, num_scales=1, base_channels=4,
                                 min_feat_channels=4, padding=1, pad_at_head=False),
                            lambda n: n(None, [torch.randn(1, 3, 16, 16)] * 2, [1.0, 1.0],
                                        'rand', curr_scale=1, num_batches=1)),
    # translation
    'UnetGenerator': (dict(in_channels=3, out_channels=3, num_down=5, base_channels=4),
                      lambda n: n(img(s=32))),
    'ResnetGenerator': (dict(in_channels=3, out_channels=3, base_channels=4, num_blocks=1),
                        lambda n: n(img())),
    'PatchDiscriminator': (dict(in_channels=3, base_channels=4, num_conv=2), lambda n: n(img())),
    # diffusion
    'DenoisingUnet': (dict(image_size=8, in_channels=3, base_channels=32, channels_cfg=[1, 2],
                           resblocks_per_downsample=1, attention_res=[4], num_timesteps=10),
                      lambda n: n(img(s=8), torch.tensor([1, 5]))),
    # restoration
    'SRCNNNet': (dict(channels=(3, 8, 4, 3), upscale_factor=2), lambda n: n(img(s=8))),
    'MSRResNet': (dict(in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                       upscale_factor=4), lambda n: n(img(s=8))),
    'EDSRNet': (dict(in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                     upscale_factor=2), lambda n: n(img(s=8))),
    'RRDBNet': (dict(in_channels=3, out_channels=3, mid_channels=8, num_blocks=1,
                     growth_channels=4), lambda n: n(img(s=8))),
    'RDNNet': (dict(in_channels=3, out_channels=3, mid_channels=8, num_blocks=1, num_layers=2,
                    channel_growth=4, upscale_factor=2), lambda n: n(img(s=8))),
    'SRVGGNetCompact': (dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2),
                        lambda n: n(img(s=8))),
    'SwinIRNet': (dict(img_size=8, embed_dim=8, depths=[2], num_heads=[2], window_size=4,
                       upscale=2, upsampler='pixelshuffle'), lambda n: n(img(s=7))),
    'ModifiedVGG': (dict(in_channels=3, mid_channels=4), lambda n: n(img(s=128, n=1))),
    # classification
    'ResNet': (dict(depth=18, base_channels=4), lambda n: n(img(s=32))),
    'ResNetV1c': (dict(depth=18, base_channels=4, stem_channels=4), lambda n: n(img(s=32))),
    'ResNetV1d': (dict(depth=18, base_channels=4, stem_channels=4), lambda n: n(img(s=32))),
    'ResNet_CIFAR': (dict(depth=18, base_channels=4), lambda n: n(img(s=16))),
    'VisionTransformer': (dict(arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                                         feedforward_channels=32), img_size=16, patch_size=8),
                          lambda n: n(img())),
    'MAEViT': (dict(arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                              feedforward_channels=32), img_size=16, patch_size=8),
               lambda n: n(img())),
    'GlobalAveragePooling': (dict(), lambda n: n((img(4, 4),))),
    'ClsBatchNormNeck': (dict(input_features=16), lambda n: n((torch.randn(2, 16),))),
}


def _registered_archs() -> dict[str, type]:
    """One name per class registered from genforge.models.archs (aliases share the class)."""
    by_class: dict[type, str] = {}
    for name, cls in sorted(MODELS.module_dict.items()):
        if getattr(cls, '__module__', '').startswith('genforge.models.archs') and '.' not in name:
            by_class.setdefault(cls, name)
    return {name: cls for cls, name in by_class.items()}


def _finite(out) -> bool:
    if isinstance(out, torch.Tensor):
        return bool(torch.isfinite(out.float()).all())
    if isinstance(out, dict):
        return all(_finite(v) for v in out.values())
    if isinstance(out, (tuple, list)):
        return all(_finite(v) for v in out)
    return True


def test_every_registered_arch_has_a_case():
    missing = set(_registered_archs()) - set(CASES)
    assert not missing, f'add a small build+forward case for: {sorted(missing)}'


@pytest.mark.parametrize('name', sorted(CASES))
def test_arch_builds_and_runs_one_forward(name):
    torch.manual_seed(0)
    kwargs, call = CASES[name]
    net = MODELS.build(dict(type=name, **kwargs), key_path=f'model[{name}]')
    assert isinstance(net, torch.nn.Module)
    if call is None:  # not a network of its own (an augmentation pipe inside a discriminator)
        return
    net.eval()
    with torch.no_grad():
        out = call(net)
    assert out is not None and _finite(out), f'{name}: non-finite output'
