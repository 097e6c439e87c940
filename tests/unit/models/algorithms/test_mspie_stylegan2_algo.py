"""MSPIEStyleGAN2: the scale draw follows multi_scale_probability, each iteration's D and G see
real and fake images of that scale's size (reals resized bilinearly), a checkpoint reloads
strictly and gives the same images, and bad train_settings name the key."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401
from genforge.checkpoint import get_state_dict, load_checkpoint, save_checkpoint
from genforge.message_hub import MessageHub
from genforge.optim.optim_wrapper import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)

SETTINGS = dict(num_upblocks=2, multi_input_scales=[0, 2], multi_scale_probability=[0.5, 0.5])


def tiny(**kwargs):
    cfg = dict(type='MSPIEStyleGAN2', data_preprocessor=dict(type='DataPreprocessor'),
               generator=dict(type='MSStyleGANv2Generator', out_size=16, style_channels=8,
                              num_mlps=2, max_channels=8, head_pos_encoding=dict(type='CSG'),
                              deconv2conv=True, up_after_conv=True,
                              up_config=dict(scale_factor=2, mode='bilinear',
                                             align_corners=True)),
               discriminator=dict(type='MSStyleGAN2Discriminator', in_size=16, max_channels=8,
                                  with_adaptive_pool=True),
               ema_config=dict(type='ExponentialMovingAverage', momentum=0.1),
               loss_config=dict(r1_loss_weight=80., r1_interval=2, norm_mode='HWC',
                                g_reg_interval=2, g_reg_weight=8., pl_batch_shrink=2),
               train_settings=SETTINGS)
    cfg.update(kwargs)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def batch(n=2, size=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs={}, data_samples=[
        DataSample(gt_img=torch.randint(0, 256, (3, size, size), generator=g).float())
        for _ in range(n)])


def wrappers(model):
    return OptimWrapperDict(**{
        name: OptimWrapper(torch.optim.Adam(getattr(model, name).parameters(), lr=1e-3,
                                            betas=(0., 0.99)))
        for name in ('generator', 'discriminator')})


def test_scale_draws_follow_the_probabilities():
    model = tiny(train_settings=dict(SETTINGS, multi_input_scales=[0, 1, 2],
                                     multi_scale_probability=[0.6, 0.3, 0.1]))
    np.random.seed(0)
    draws = np.array([model.sample_scale() for _ in range(3000)])
    freqs = [(draws == s).mean() for s in (0, 1, 2)]
    # binomial standard deviations are <= 0.009 here: 4 sigma
    np.testing.assert_allclose(freqs, [0.6, 0.3, 0.1], atol=0.036)


def test_each_iteration_trains_at_its_scale(monkeypatch):
    model = tiny()
    scales = iter([2, 0])
    monkeypatch.setattr(model, 'sample_scale', lambda: next(scales))
    seen = []
    model.discriminator.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    hub, optim = MessageHub.get_current_instance(), wrappers(model)
    data = batch()
    sizes = []
    for it in range(2):
        hub.update_info('iter', it)
        seen.clear()
        log_vars = model.train_step(data, optim)
        sizes.append(log_vars['chosen_scale'].item())
        # D step: fakes, reals (+ R1's call on reals); G step: fakes; path length calls only G
        want = 16 + 4 * (2 if it == 0 else 0)
        assert {tuple(x.shape[-2:]) for x in seen} == {(want, want)}
    assert sizes == [2., 0.]
    assert model._train_scale == 0  # the scale does not outlive train_step


def test_reals_are_resized_bilinearly_to_the_scale():
    model = tiny()
    data = model.data_preprocessor(batch(size=20), True)
    plain = model.get_real_imgs(data['inputs'], data['data_samples'])
    assert plain.shape[-2:] == (16, 16)
    with model.training_scale(2):
        real = model.get_real_imgs(data['inputs'], data['data_samples'])
    raw = torch.stack([s.gt_img for s in data['data_samples']]) if isinstance(
        data['data_samples'], list) else data['data_samples'].gt_img
    want = F.interpolate(raw, size=(24, 24), mode='bilinear', align_corners=True)
    torch.testing.assert_close(real, want)


def test_checkpoint_reloads_strictly_and_gives_the_same_images(tmp_path):
    model = tiny()
    hub, optim = MessageHub.get_current_instance(), wrappers(model)
    hub.update_info('iter', 0)
    model.train_step(batch(), optim)
    path = str(tmp_path / 'iter_1.pth')
    save_checkpoint({'state_dict': get_state_dict(model)}, path)
    fresh = tiny(generator=dict(model._gen_cfg, mix_prob=0.5))  # other init weights
    load_checkpoint(fresh, path, strict=True)
    z = torch.randn(3, 8)
    for scale in (0, 2):
        for name in ('generator', 'generator_ema'):
            want = getattr(model, name).eval()(z, randomize_noise=False, chosen_scale=scale)
            got = getattr(fresh, name).eval()(z, randomize_noise=False, chosen_scale=scale)
            torch.testing.assert_close(got, want)


@pytest.mark.parametrize('settings,match', [
    (dict(SETTINGS, num_upblocks=6),
     r'train_settings.num_upblocks=6 .* set num_upblocks=2'),
    (dict(SETTINGS, multi_scale_probability=[0.5, 0.4]),
     r'multi_scale_probability=\[0.5, 0.4\] must .* summing to 1'),
    (dict(SETTINGS, multi_scale_probability=[1.]), r'one non-negative probability per'),
    (dict(SETTINGS, multi_input_scales=[0, -4]), r'chosen_scale=-4 is not reachable'),
    (dict(SETTINGS, multi_input_scales=[0, 1.5]), r'multi_input_scales=\[0, 1.5\] must be ints'),
    (dict(SETTINGS, use_ema=True), r"unknown key\(s\) \['use_ema'\]")])
def test_bad_train_settings_name_the_key(settings, match):
    with pytest.raises(ValueError, match=match):
        tiny(train_settings=settings)


def test_sampling_at_an_output_size_picks_the_scale():
    model = tiny().eval()
    calls = []
    model.generator.register_forward_pre_hook(
        lambda m, args, kwargs: calls.append(kwargs.get('chosen_scale')), with_kwargs=True)
    out = model.val_step(dict(inputs=dict(num_batches=2, output_size=(24, 32),
                                          sample_model='orig')))
    assert out[0].fake_img.shape == (3, 24, 32)
    assert calls == [(2, 4)]  # (4 + 2) * 4 = 24, (4 + 4) * 4 = 32
    with pytest.raises(ValueError, match=r'output_size 22x22 is not reachable.*\(4 \+ chosen'):
        model.val_step(dict(inputs=dict(num_batches=1, output_size=(22, 22))))
    with pytest.raises(ValueError, match=r'chosen_scale=\(-4, 0\) is not reachable'):
        model.val_step(dict(inputs=dict(num_batches=1, output_size=(0, 16))))


def test_a_single_scale_generator_is_refused():
    with pytest.raises(TypeError, match=r"model.generator must be .*MSStyleGANv2Generator"):
        tiny(generator=dict(type='StyleGANv2Generator', out_size=16, style_channels=8,
                            num_mlps=2, max_channels=8))
