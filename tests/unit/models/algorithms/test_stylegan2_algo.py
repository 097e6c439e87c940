"""StyleGAN2 / StyleGAN3 algorithms: MMagic's full checkpoint layout (incl. mean_path_length and
the EMA), lazy R1 against a closed form, lazy path-length regularisation, ADA's p controller
fed from the D step, train_step end to end."""
import json
from pathlib import Path

import pytest
import torch
from torch import nn

import genforge.models  # noqa: F401
from genforge.config import Config
from genforge.message_hub import MessageHub
from genforge.optim.optim_wrapper import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

ROOT = Path(__file__).resolve().parents[4]
REF = ROOT / 'tests' / 'data' / 'state_dicts' / 'mmagic' / 'styleganv2'


def tiny(**kwargs):
    cfg = dict(type='StyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
               generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=8,
                              num_mlps=2, max_channels=8),
               discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8),
               loss_config=dict(r1_loss_weight=80., r1_interval=4, norm_mode='HWC',
                                g_reg_interval=2, g_reg_weight=8., pl_batch_shrink=2))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def test_full_model_layout_matches_mmagic_config():
    cfg = Config.fromfile(str(ROOT / 'configs/styleganv2/stylegan2_c2_8xb4-800kiters_ffhq-256x256.py'))
    ref = json.loads((REF / 'stylegan2_c2_8xb4-800kiters_ffhq-256x256.json').read_text())['keys']
    with torch.device('meta'):
        model = MODELS.build(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict')
                             else dict(cfg.model))
    mine = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(mine) == list(ref)
    assert mine == ref


class LinearD(nn.Module):
    """D(x) = <w, x>: dD/dx = w for every sample, so R1 (HWC) = ||w||^2 exactly."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 16, 16))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1, keepdim=True)


def test_lazy_r1_matches_closed_form():
    model = tiny()
    d = LinearD()
    real = torch.randn(4, 3, 16, 16)
    outputs = dict(disc_pred_fake=torch.zeros(4, 1), disc_pred_real=torch.zeros(4, 1),
                   real_imgs=real, discriminator=d, batch_size=4)
    for iteration in range(9):
        loss, log_vars = model.disc_loss(dict(outputs, iteration=iteration))
        softplus0 = 2 * torch.log(torch.tensor(2.))
        if iteration % 4 == 0:  # r1_interval=4
            expected = 80. * d.w.detach().pow(2).sum()
            torch.testing.assert_close(log_vars['loss_r1_gp'], expected)
            torch.testing.assert_close(loss.detach(), softplus0 + expected)
        else:
            assert 'loss_r1_gp' not in log_vars
            torch.testing.assert_close(loss.detach(), softplus0)


def test_lazy_path_length_updates_its_running_mean():
    model = tiny()
    outputs = dict(disc_pred_fake_g=torch.zeros(4, 1), generator=model.generator, batch_size=4)
    _, log_vars = model.gen_loss(dict(outputs, iteration=1))
    assert 'loss_path_regular' not in log_vars and model.mean_path_length.item() == 0
    loss, log_vars = model.gen_loss(dict(outputs, iteration=2))
    assert 'loss_path_regular' in log_vars and model.mean_path_length.item() > 0
    loss.backward()  # double backward through the generator
    assert model.generator.style_mapping[1].linear.weight_orig.grad is not None


def test_unknown_loss_config_key_is_named():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['r1_weight'\]"):
        tiny(loss_config=dict(r1_weight=1.))


def batch(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs={}, data_samples=[
        DataSample(gt_img=torch.randint(0, 256, (3, 16, 16), generator=g).float())
        for _ in range(n)])


def wrappers(model):
    return OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters(), lr=1e-3,
                                                betas=(0., 0.99))),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters(), lr=1e-3,
                                                    betas=(0., 0.99))))


def test_train_step_with_ada_updates_p_from_real_scores():
    model = tiny(discriminator=dict(
        type='ADAStyleGAN2Discriminator', in_size=16, max_channels=8,
        data_aug=dict(type='ADAAug', update_interval=2, ada_kimg=1, ada_target=-2.,
                      aug_pipeline=dict(xflip=1, rotate90=1, brightness=1))),
        ema_config=dict(type='ExponentialMovingAverage', momentum=0.1))
    optim = wrappers(model)
    hub = MessageHub.get_current_instance()
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    for it in range(2):
        hub.update_info('iter', it)
        log_vars = model.train_step(batch(seed=it), optim)
    # ada_target=-2 < any mean sign: p grows by batch * interval / (ada_kimg * 1000) once
    p = model.discriminator.ada_aug.aug_pipeline.p.item()
    assert p == pytest.approx(4 * 2 / 1000)
    assert {'loss_disc_fake', 'loss_disc_real', 'loss_gen', 'augment'} <= set(log_vars)
    assert all(torch.isfinite(v).all() for v in log_vars.values())
    changed = [k for k, v in model.generator.state_dict().items() if not torch.equal(v, before[k])]
    assert any('weight_orig' in k for k in changed)


def test_stylegan3_passes_phase_kwargs_to_the_generator():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='StyleGAN3', data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='StyleGANv3Generator', out_size=16, style_channels=16,
                       img_channels=3, noise_size=16,
                       synthesis_cfg=dict(type='SynthesisNetwork', channel_base=256,
                                          channel_max=16, num_layers=4)),
        discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8),
        loss_config=dict(r1_interval=2, g_reg_interval=2)))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', 0)
    w_avg = model.generator.style_mapping.w_avg.clone()
    layer = getattr(model.generator.synthesis, model.generator.synthesis.layer_names[0])
    ema = layer.magnitude_ema.clone()
    model.train_step(batch(), wrappers(model))
    # the D phase runs the generator with update_emas=True
    assert not torch.equal(model.generator.style_mapping.w_avg, w_avg)
    assert not torch.equal(layer.magnitude_ema, ema)


def test_conditional_stylegan2_trains_and_samples_with_labels():
    """num_classes (NVlabs' conditional StyleGAN2-ADA): one-hot labels to G's mapping and D's
    projection; real labels from gt_label, path-length regularisation with sampled labels."""
    model = tiny(num_classes=3,
                 generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=8,
                                num_mlps=2, max_channels=8, cond_size=3),
                 discriminator=dict(type='StyleGAN2Discriminator', in_size=16, max_channels=8,
                                    cond_size=3, cond_mapping_channels=8,
                                    cond_mapping_layers=2))
    optim = wrappers(model)
    hub = MessageHub.get_current_instance()
    data = batch()
    for i, sample in enumerate(data['data_samples']):
        sample.set_gt_label(i % 3)
    for it in range(2):  # iteration 0 runs R1 and the path-length penalty
        hub.update_info('iter', it)
        log_vars = model.train_step(data, optim)
        assert all(torch.isfinite(v).all() for v in log_vars.values())
        if it == 0:
            assert 'loss_path_regular' in log_vars
    with torch.no_grad():
        out = model.val_step(dict(inputs=dict(num_batches=2),
                                  data_samples=[DataSample().set_gt_label(2)] * 2))
    assert out[0].fake_img.shape == (3, 16, 16)
    with pytest.raises(ValueError, match='gt_label'):
        model.train_step(batch(), optim)
