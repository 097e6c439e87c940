"""NVlabs TF-era StyleGAN2 pickles -> genforge networks, without TensorFlow.

The pickles are written as NVlabs' ``dnnlib.tflib.network.Network.__getstate__`` writes them: a
``(G, D, Gs)`` tuple of Network objects whose state holds ``static_kwargs``, ``components``,
``build_module_src`` (text) and ``variables`` (named numpy arrays in TF layouts: HWIO kernels,
``[in, out]`` dense weights, ``mod_bias`` without its runtime +1, scalar ``noise_strength``). A
stub ``Network`` class in fake ``dnnlib.tflib.network`` modules pickles them. The reference is
rosinality's published TF->PyTorch conversion (``convert_weight.py``: transposes, the flipped
``Conv0_up`` kernel, ``mod_bias + 1``), run through ``_stylegan2_reference``'s forward pass.
"""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

import genforge.models  # noqa: F401
from genforge.interop import detect, discriminate, generate, load_weights, safe_load
from genforge.registry import MODELS

sys.path.insert(0, str(Path(__file__).parent))
import _stylegan2_reference as ref  # noqa: E402

SIZE, STYLE, NF = 16, 16, 16
SRC = 'def G_main(*args, **kwargs):\n    raise SystemExit("never run")\n'


class Network:
    """What NVlabs pickles: ``__getstate__`` of ``dnnlib.tflib.network.Network``."""

    def __init__(self, name, func, variables, components=None, **static_kwargs):
        self.state = dict(version=4, name=name, static_kwargs=static_kwargs,
                          components=components or {}, build_module_src=SRC,
                          build_func_name=func, variables=list(variables.items()))

    def __getstate__(self):
        return self.state


@pytest.fixture
def dnnlib(monkeypatch):
    """Fake ``dnnlib.tflib.network`` modules so pickle names the class as NVlabs' does."""
    mod = types.ModuleType('dnnlib.tflib.network')
    Network.__module__ = mod.__name__
    mod.Network = Network
    for name in ('dnnlib', 'dnnlib.tflib'):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, 'dnnlib.tflib.network', mod)
    return mod


def _rnd(rng, *shape, scale=1.):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tf_generator(seed, name='Gs', mapping_lrmul=0.01, label_size=0, **kw):
    rng = np.random.default_rng(seed)
    mapping = {}
    if label_size:   # stylegan2-ada (TF): LabelEmbed to latent_size features
        mapping['LabelEmbed/weight'] = _rnd(rng, label_size, STYLE)
        mapping['LabelEmbed/bias'] = _rnd(rng, STYLE, scale=0.1)
    for i in range(2):
        fan_in = STYLE * 2 if label_size and i == 0 else STYLE
        mapping[f'Dense{i}/weight'] = _rnd(rng, fan_in, STYLE) / mapping_lrmul
        mapping[f'Dense{i}/bias'] = _rnd(rng, STYLE, scale=0.1) / mapping_lrmul
    syn = {}

    def modconv(p, cin, cout, k, rgb=False):
        syn[f'{p}/weight'] = _rnd(rng, k, k, cin, cout)
        syn[f'{p}/mod_weight'] = _rnd(rng, STYLE, cin)
        syn[f'{p}/mod_bias'] = _rnd(rng, cin, scale=0.1)
        syn[f'{p}/bias'] = _rnd(rng, cout, scale=0.1)
        if not rgb:
            syn[f'{p}/noise_strength'] = np.float32(rng.standard_normal() * 0.2)

    syn['4x4/Const/const'] = _rnd(rng, 1, NF, 4, 4)
    modconv('4x4/Conv', NF, NF, 3)
    modconv('4x4/ToRGB', NF, 3, 1, rgb=True)
    for res in (8, 16):
        modconv(f'{res}x{res}/Conv0_up', NF, NF, 3)
        modconv(f'{res}x{res}/Conv1', NF, NF, 3)
        modconv(f'{res}x{res}/ToRGB', NF, 3, 1, rgb=True)
    for i in range(5):
        r = 2 ** ((i + 5) // 2)
        syn[f'noise{i}'] = _rnd(rng, 1, 1, r, r)
    args = dict(resolution=SIZE, fmap_base=1024, fmap_max=NF, latent_size=STYLE,
                dlatent_size=STYLE, mapping_layers=2, mapping_lrmul=mapping_lrmul,
                label_size=label_size, **kw)
    comps = {'mapping': Network('G_mapping', 'G_mapping', mapping, **args),
             'synthesis': Network('G_synthesis', 'G_synthesis_stylegan2', syn, **args)}
    own = {'lod': np.float32(0), 'dlatent_avg': _rnd(rng, STYLE)}
    return Network(name, 'G_main', own, comps, **args)


def tf_discriminator(seed, label_size=0, **kw):
    rng = np.random.default_rng(seed)
    v = {'16x16/FromRGB/weight': _rnd(rng, 1, 1, 3, NF), '16x16/FromRGB/bias': _rnd(rng, NF)}
    if label_size:   # stylegan2-ada (TF): LabelEmbed to mapping_fmaps = nf(0) features
        v['LabelEmbed/weight'] = _rnd(rng, label_size, NF)
        v['LabelEmbed/bias'] = _rnd(rng, NF, scale=0.1)
    for res in (16, 8):
        v[f'{res}x{res}/Conv0/weight'] = _rnd(rng, 3, 3, NF, NF)
        v[f'{res}x{res}/Conv0/bias'] = _rnd(rng, NF, scale=0.1)
        v[f'{res}x{res}/Conv1_down/weight'] = _rnd(rng, 3, 3, NF, NF)
        v[f'{res}x{res}/Conv1_down/bias'] = _rnd(rng, NF, scale=0.1)
        v[f'{res}x{res}/Skip/weight'] = _rnd(rng, 1, 1, NF, NF)
    v['4x4/Conv/weight'] = _rnd(rng, 3, 3, NF + 1, NF)
    v['4x4/Conv/bias'] = _rnd(rng, NF, scale=0.1)
    v['4x4/Dense0/weight'] = _rnd(rng, NF * 16, NF)
    v['4x4/Dense0/bias'] = _rnd(rng, NF, scale=0.1)
    out = NF if label_size else 1
    v['Output/weight'] = _rnd(rng, NF, out)
    v['Output/bias'] = _rnd(rng, out, scale=0.1)
    return Network('D', 'D_main' if label_size else 'D_stylegan2', v, resolution=SIZE,
                   fmap_base=1024, fmap_max=NF, label_size=label_size, **kw)


# -- rosinality's published conversion (convert_weight.py), for the reference forward ---------
def _vars(net):
    out = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in net.state['variables']}
    for comp in net.state['components'].values():
        out.update({f'{comp.state["name"]}/{k}': v for k, v in _vars(comp).items()})
    return out


def to_rosinality_g(net):
    v, sd = _vars(net), {}
    for i in range(2):
        sd[f'style.{i + 1}.weight'] = v[f'G_mapping/Dense{i}/weight'].t()
        sd[f'style.{i + 1}.bias'] = v[f'G_mapping/Dense{i}/bias']
    sd['input.input'] = v['G_synthesis/4x4/Const/const']

    def conv(src, dst, flip=False, rgb=False):
        w = v[f'G_synthesis/{src}/weight'].permute(3, 2, 0, 1)[None]
        sd[f'{dst}.conv.weight'] = torch.flip(w, [3, 4]) if flip else w
        sd[f'{dst}.conv.modulation.weight'] = v[f'G_synthesis/{src}/mod_weight'].t()
        sd[f'{dst}.conv.modulation.bias'] = v[f'G_synthesis/{src}/mod_bias'] + 1
        if rgb:
            sd[f'{dst}.bias'] = v[f'G_synthesis/{src}/bias'].reshape(1, 3, 1, 1)
        else:
            sd[f'{dst}.noise.weight'] = v[f'G_synthesis/{src}/noise_strength'].reshape(1)
            sd[f'{dst}.activate.bias'] = v[f'G_synthesis/{src}/bias']

    conv('4x4/Conv', 'conv1')
    conv('4x4/ToRGB', 'to_rgb1', rgb=True)
    for i, res in enumerate((8, 16)):
        conv(f'{res}x{res}/Conv0_up', f'convs.{2 * i}', flip=True)
        conv(f'{res}x{res}/Conv1', f'convs.{2 * i + 1}')
        conv(f'{res}x{res}/ToRGB', f'to_rgbs.{i}', rgb=True)
    for i in range(5):
        sd[f'noises.noise_{i}'] = v[f'G_synthesis/noise{i}']
    return sd, v['dlatent_avg']


def to_rosinality_d(net):
    v = _vars(net)
    sd = {'convs.0.0.weight': v['16x16/FromRGB/weight'].permute(3, 2, 0, 1),
          'convs.0.1.bias': v['16x16/FromRGB/bias']}
    for k, res in enumerate((16, 8), start=1):
        sd[f'convs.{k}.conv1.0.weight'] = v[f'{res}x{res}/Conv0/weight'].permute(3, 2, 0, 1)
        sd[f'convs.{k}.conv1.1.bias'] = v[f'{res}x{res}/Conv0/bias']
        sd[f'convs.{k}.conv2.1.weight'] = v[f'{res}x{res}/Conv1_down/weight'].permute(3, 2, 0, 1)
        sd[f'convs.{k}.conv2.2.bias'] = v[f'{res}x{res}/Conv1_down/bias']
        sd[f'convs.{k}.skip.1.weight'] = v[f'{res}x{res}/Skip/weight'].permute(3, 2, 0, 1)
    sd['final_conv.0.weight'] = v['4x4/Conv/weight'].permute(3, 2, 0, 1)
    sd['final_conv.1.bias'] = v['4x4/Conv/bias']
    sd['final_linear.0.weight'], sd['final_linear.0.bias'] = v['4x4/Dense0/weight'].t(), \
        v['4x4/Dense0/bias']
    sd['final_linear.1.weight'], sd['final_linear.1.bias'] = v['Output/weight'].t(), \
        v['Output/bias']
    return sd


def _pickled(tmp_path, obj):
    path = tmp_path / 'stylegan2-tiny-config-f.pkl'
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=4)
    return path


def test_tf_pickle_computes_the_tf_function(tmp_path, dnnlib):
    G, D, Gs = tf_generator(1, 'G'), tf_discriminator(2), tf_generator(3, 'Gs')
    path = _pickled(tmp_path, (G, D, Gs))
    imported = detect(safe_load(path))
    assert imported.format == 'nvlabs-tf' and imported.default_part == 'G_ema'
    assert set(imported.networks) == {'G', 'D', 'G_ema'}
    assert imported.info['resolution'] == SIZE and imported.info['channel_base'] == 2048
    z = torch.randn(3, STYLE, generator=torch.Generator().manual_seed(4))
    for part, net in (('G_ema', Gs), ('G', G)):
        g = load_weights(path, part=part)
        ros, avg = to_rosinality_g(net)
        assert torch.equal(g.w_avg, avg)
        for psi in (1.0, 0.7):
            with torch.no_grad():
                got = g(z, truncation=psi, randomize_noise=False)
            want = ref.generator(ros, z, psi, avg)
            assert got.shape == (3, 3, SIZE, SIZE)
            assert (got - want).abs().max().item() < 1e-4, (part, psi)
        # NVlabs' G(z, c, truncation_psi, noise_mode='const') semantics
        got = generate(g, z, truncation_psi=0.7, noise_mode='const')
        assert (got - ref.generator(ros, z, 0.7, avg)).abs().max().item() < 1e-4
    img = torch.randn(4, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(5))
    got = discriminate(load_weights(path, part='D'), img)
    assert (got - ref.discriminator(to_rosinality_d(D), img)).abs().max().item() < 1e-4
    model = MODELS.build(imported.model_config)
    model.load_state_dict(imported.model_state_dict, strict=True)


def test_mapping_lrmul_and_mbstd_come_from_static_kwargs(tmp_path, dnnlib):
    Gs = tf_generator(6, mapping_lrmul=0.1)
    D = tf_discriminator(7, mbstd_group_size=2)
    imported = detect(safe_load(_pickled(tmp_path, (tf_generator(8, 'G'), D, Gs))))
    assert imported.networks['G_ema'][0]['lr_mlp'] == 0.1
    assert imported.networks['D'][0]['mbstd_cfg'] == dict(group_size=2, channel_groups=1)
    z = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(9))
    g = MODELS.build(imported.networks['G_ema'][0]).eval()
    g.load_state_dict(imported.networks['G_ema'][1])
    ros, avg = to_rosinality_g(Gs)
    with torch.no_grad():
        got = g(z, randomize_noise=False)
    assert (got - ref.generator(ros, z, lr_mlp=0.1)).abs().max().item() < 1e-4


def test_refusals_name_the_reason(tmp_path, dnnlib):
    cond = tf_generator(10)
    cond.state['components']['mapping'].state['variables'].append(
        ('LabelConcat/weight', np.zeros((4, STYLE), np.float32)))
    with pytest.raises(ValueError, match='TF pickle G_ema.*LabelConcat'):
        detect(safe_load(_pickled(tmp_path, cond)))
    with pytest.raises(ValueError, match="architecture='skip'"):
        detect(safe_load(_pickled(tmp_path, (tf_generator(11, 'G'),
                                             tf_discriminator(12, architecture='skip'),
                                             tf_generator(13)))))
    broken = tf_generator(14)
    syn = broken.state['components']['synthesis'].state
    syn['variables'] = [(k, a) for k, a in syn['variables'] if k != '8x8/Conv1/mod_bias']
    with pytest.raises(ValueError, match=r"'G_synthesis/8x8/Conv1/mod_bias' is missing"):
        detect(safe_load(_pickled(tmp_path, broken)))


def test_ada_tf_settings(tmp_path, dnnlib):
    # stylegan2-ada (TF): D_main groups the whole batch unless mbstd_group_size is set
    ada_d = tf_discriminator(16)
    ada_d.state['build_func_name'] = 'D_main'
    with pytest.raises(ValueError, match='mbstd_group_size=None'):
        detect(safe_load(_pickled(tmp_path, (tf_generator(17, 'G'), ada_d, tf_generator(18)))))
    ada_d = tf_discriminator(16, mbstd_group_size=4, conv_clamp=256)
    ada_d.state['build_func_name'] = 'D_main'
    found = detect(safe_load(_pickled(tmp_path, (tf_generator(17, 'G', conv_clamp=256), ada_d,
                                                 tf_generator(18, conv_clamp=256)))))
    assert found.networks['D'][0]['conv_clamp'] == 256.
    assert found.networks['G_ema'][0]['conv_clamp'] == 256.
    assert found.networks['D'][0]['mbstd_cfg'] == dict(group_size=4, channel_groups=1)


def test_conditional_ada_tf(tmp_path, dnnlib):
    labels = 5
    G, Gs = tf_generator(19, 'G', label_size=labels), tf_generator(20, label_size=labels)
    D = tf_discriminator(21, label_size=labels, mbstd_group_size=4)
    path = _pickled(tmp_path, (G, D, Gs))
    imported = detect(safe_load(path))
    assert imported.info['c_dim'] == labels
    assert imported.networks['D'][0]['cond_mapping_layers'] == 0
    z = torch.randn(3, STYLE, generator=torch.Generator().manual_seed(22))
    c = torch.tensor([0, 3, 4])
    onehot = torch.nn.functional.one_hot(c, labels).float()
    v = _vars(Gs)
    embed = (v['G_mapping/LabelEmbed/weight'].t(), v['G_mapping/LabelEmbed/bias'])
    ros, avg = to_rosinality_g(Gs)
    g = load_weights(path)
    for psi in (1.0, 0.7):
        got = generate(g, z, c, truncation_psi=psi, noise_mode='const')
        want = ref.generator(ros, z, psi, avg, embed=embed, c=onehot)
        assert (got - want).abs().max().item() < 1e-4, psi
    dv = _vars(D)
    img = torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(23))
    cmap = ref.normalize(ref.linear(onehot, dv['LabelEmbed/weight'].t(), dv['LabelEmbed/bias']))
    want = (ref.discriminator(to_rosinality_d(D), img) * cmap).sum(1, keepdim=True) / NF ** 0.5
    got = discriminate(load_weights(path, part='D'), img, c)
    assert (got - want).abs().max().item() < 1e-4
    model = MODELS.build(imported.model_config)
    model.load_state_dict(imported.model_state_dict, strict=True)


def test_embedded_source_is_never_run(tmp_path, dnnlib):
    Gs = tf_generator(15)
    Gs.state['build_module_src'] = 'raise SystemExit("ran")\n'
    net = detect(safe_load(_pickled(tmp_path, Gs)))
    assert net.default_part == 'G_ema' and set(net.networks) == {'G_ema'}
