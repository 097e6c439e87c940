"""build_optim_wrapper, paramwise rules, GenOptimWrapperConstructor, layer decay, LARS."""
import pytest
import torch
from torch import nn

from genforge.optim import LARS, AmpOptimWrapper, OptimWrapper, OptimWrapperDict, build_optim_wrapper


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.dw = nn.Conv2d(4, 4, 3, groups=4, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter(torch.ones(4))


def _groups_by_param(wrapper, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(g['params'][0])]: g for g in wrapper.param_groups}


def test_paramwise_rules_and_custom_keys():
    model = Net()
    cfg = dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-2, momentum=0.9),
               paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.5, norm_decay_mult=0.,
                                  dwconv_decay_mult=0.3, flat_decay_mult=0.7,
                                  custom_keys={'head': dict(lr_mult=10., decay_mult=0.),
                                               'head.bias': dict(lr_mult=3.)}))
    w = build_optim_wrapper(model, cfg)
    assert type(w) is OptimWrapper
    g = _groups_by_param(w, model)
    expect = {  # (lr, weight_decay), following MMEngine's precedence rules
        'conv.weight': (0.1, 1e-2), 'conv.bias': (0.2, 5e-3), 'dw.weight': (0.1, 3e-3),
        'bn.weight': (0.1, 0.), 'bn.bias': (0.1, 0.), 'scale': (0.1, 7e-3),
        'head.weight': (1.0, 0.), 'head.bias': (0.3, 1e-2)}  # longest custom key wins
    for name, (lr, wd) in expect.items():
        assert g[name]['lr'] == pytest.approx(lr), name
        assert g[name]['weight_decay'] == pytest.approx(wd), name


def test_errors_name_the_key():
    with pytest.raises(ValueError, match='norm_decay_mult'):
        build_optim_wrapper(Net(), dict(optimizer=dict(type='SGD', lr=0.1),
                                        paramwise_cfg=dict(norm_decay_mult=0.)))
    with pytest.raises(KeyError, match="'optimizer'"):
        build_optim_wrapper(Net(), dict(type='OptimWrapper'))
    with pytest.raises(KeyError, match='Adamm'):
        build_optim_wrapper(Net(), dict(optimizer=dict(type='Adamm', lr=0.1)))


class GAN(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = nn.Linear(2, 3)
        self.discriminator = nn.Linear(3, 1)


def test_gen_optim_wrapper_constructor_seed_config():
    model = GAN()
    cfg = dict(constructor='GenOptimWrapperConstructor',
               generator=dict(accumulative_counts=8, type='AmpOptimWrapper', dtype='bfloat16',
                              loss_scale='dynamic',
                              optimizer=dict(type='Adam', lr=0.0001, betas=(0.0, 0.999),
                                             eps=1e-6)),
               discriminator=dict(optimizer=dict(type='Adam', lr=0.0004, betas=(0.0, 0.999),
                                                 eps=1e-6)))
    w = build_optim_wrapper(model, cfg)
    assert isinstance(w, OptimWrapperDict) and set(w.keys()) == {'generator', 'discriminator'}
    assert isinstance(w['generator'], AmpOptimWrapper) and w['generator']._accumulative_counts == 8
    assert w.get_lr() == {'generator.lr': [0.0001], 'discriminator.lr': [0.0004]}
    g_params = {id(p) for p in model.generator.parameters()}
    assert {id(p) for p in w['generator'].param_groups[0]['params']} == g_params
    with pytest.raises(KeyError, match="no submodule 'encoder'"):
        build_optim_wrapper(model, dict(constructor='MultiOptimWrapperConstructor',
                                        encoder=dict(optimizer=dict(type='SGD', lr=0.1))))


class TinyViT(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.cls_token = nn.Parameter(torch.zeros(1, 1, 4))
        self.backbone.pos_embed = nn.Parameter(torch.zeros(1, 2, 4))
        self.backbone.patch_embed = nn.Linear(4, 4)
        self.backbone.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(n))
        self.backbone.ln1 = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)


def test_layer_decay_constructor_vit_rule():
    model = TinyViT(3)
    w = build_optim_wrapper(model, dict(
        constructor='LearningRateDecayOptimWrapperConstructor',
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05),
        paramwise_cfg=dict(layer_decay_rate=0.5, norm_decay_mult=0.,
                           custom_keys={'.pos_embed': dict(decay_mult=0.)})))
    g = {grp['param_name']: grp for grp in w.param_groups}
    total = 3 + 2  # layers + embeddings + head
    depth = {'backbone.cls_token': 0, 'backbone.pos_embed': 0, 'backbone.patch_embed.weight': 0,
             'backbone.layers.0.weight': 1, 'backbone.layers.2.bias': 3,
             'backbone.ln1.weight': total - 1, 'head.weight': total - 1}
    for name, d in depth.items():
        assert g[name]['lr'] == pytest.approx(0.5 ** (total - d - 1)), name
    assert g['backbone.pos_embed']['weight_decay'] == 0.
    assert g['backbone.ln1.weight']['weight_decay'] == 0.
    assert g['head.weight']['weight_decay'] == pytest.approx(0.05)


def test_lars_matches_manual_update():
    torch.manual_seed(0)
    p = nn.Parameter(torch.randn(5))
    p0 = p.detach().clone()
    opt = LARS([p], lr=0.5, momentum=0.9, weight_decay=0.01, eta=0.02)
    grads = [torch.randn(5) for _ in range(2)]
    buf, ref = None, p0.clone()
    for grad in grads:
        p.grad = grad.clone()
        opt.step()
        local = 0.02 * ref.norm() / (grad.norm() + 0.01 * ref.norm() + 1e-8)
        d = (grad + 0.01 * ref) * (local * 0.5)
        buf = d.clone() if buf is None else buf * 0.9 + d
        ref = ref - buf
    torch.testing.assert_close(p.detach(), ref)
    w = build_optim_wrapper(nn.Linear(2, 2), dict(optimizer=dict(type='LARS', lr=0.1)))
    assert isinstance(w.optimizer, LARS)


def test_int_beta_of_mmagic_stylegan_configs_is_accepted():
    """MMagic's StyleGAN2/3 configs say betas=(0, 0.99**r); torch's Adam refuses an int beta."""
    model = nn.Linear(2, 2)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='Adam', lr=0.002,
                                                             betas=(0, 0.99 ** 0.8))))
    assert wrapper.param_groups[0]['betas'] == (0.0, 0.99 ** 0.8)
    model(torch.ones(1, 2)).sum().backward()
    wrapper.step()  # torch raised 'betas must be either both floats or both Tensors'
