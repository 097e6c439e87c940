"""SNGAN / SAGAN / BigGAN algorithms: a few tiny training iterations and the MMagic layouts."""
import copy
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers everything)
from genforge.optim import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.runner.message_hub import MessageHub
from genforge.structures import DataSample

REF = Path(__file__).resolve().parents[3] / 'data' / 'state_dicts' / 'mmagic'
NUM_CLASSES = 3

TINY_MODELS = {
    'SNGAN': dict(type='SNGAN', num_classes=NUM_CLASSES, noise_size=16,
                  data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='SNGANGenerator', output_scale=32, base_channels=8),
                  discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=8)),
    'SAGAN': dict(type='SAGAN', num_classes=NUM_CLASSES, noise_size=16,
                  data_preprocessor=dict(type='DataPreprocessor'),
                  generator=dict(type='SAGANGenerator', output_scale=32, base_channels=16,
                                 attention_after_nth_block=2, with_spectral_norm=True,
                                 init_cfg=dict(type='studio')),
                  discriminator=dict(type='SAGANDiscriminator', input_scale=32,
                                     base_channels=16, attention_after_nth_block=1,
                                     init_cfg=dict(type='studio'))),
    'BigGAN': dict(type='BigGAN', num_classes=NUM_CLASSES,
                   data_preprocessor=dict(type='DataPreprocessor'),
                   generator=dict(type='BigGANGenerator', output_scale=32, noise_size=20,
                                  base_channels=4, shared_dim=8, init_type='ortho'),
                   discriminator=dict(type='BigGANDiscriminator', input_scale=32,
                                      base_channels=4, init_cfg=dict(type='ortho'))),
}


def make_batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = [torch.randint(0, 256, (3, 32, 32), generator=g).float() for _ in range(n)]
    samples = []
    for i in range(n):
        sample = DataSample()
        sample.set_gt_label(i % NUM_CLASSES)
        samples.append(sample)
    return dict(inputs=dict(img=imgs), data_samples=samples)


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    counts = {}
    wrappers = {}
    for part in ('generator', 'discriminator'):
        opt = torch.optim.Adam(getattr(model, part).parameters(), lr=1e-4, betas=(0.0, 0.999))
        counts[part] = 0
        step = opt.step

        def counted(*args, _part=part, _step=step, **kwargs):
            counts[_part] += 1
            return _step(*args, **kwargs)
        opt.step = counted
        wrappers[part] = OptimWrapper(opt)
    return model, OptimWrapperDict(**wrappers), counts


def run_iter(model, optim, it):
    MessageHub.get_current_instance().update_info('iter', it)
    return model.train_step(make_batch(seed=it), optim)


@pytest.mark.parametrize('name', sorted(TINY_MODELS))
def test_two_iterations_with_two_discriminator_steps(name):
    model, optim, counts = build(dict(TINY_MODELS[name], discriminator_steps=2))
    g_before = {k: v.detach().clone() for k, v in model.generator.named_parameters()}
    logs = [run_iter(model, optim, 0)]
    assert counts == dict(discriminator=1, generator=0)
    # G's parameters are untouched while D takes its first step
    for k, v in model.generator.named_parameters():
        torch.testing.assert_close(v.detach(), g_before[k], msg=k)
    logs.append(run_iter(model, optim, 1))
    assert counts == dict(discriminator=2, generator=1)
    assert {'loss_disc_fake', 'loss_disc_real'} <= set(logs[0]) and 'loss_gen' in logs[1]
    for log in logs:
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in log.values())


def test_hinge_losses_match_formula():
    model, _, _ = build(TINY_MODELS['SNGAN'])
    fake, real = torch.tensor([[-2.0], [0.5], [1.5]]), torch.tensor([[0.2], [3.0], [-1.0]])
    loss, log = model.disc_loss(dict(disc_pred_fake=fake, disc_pred_real=real))
    expected_fake = F.relu(1 + fake).mean()
    expected_real = F.relu(1 - real).mean()
    torch.testing.assert_close(log['loss_disc_fake'], expected_fake)
    torch.testing.assert_close(log['loss_disc_real'], expected_real)
    torch.testing.assert_close(loss, expected_fake + expected_real)
    g_loss, _ = model.gen_loss(dict(disc_pred_fake_g=fake))
    torch.testing.assert_close(g_loss, -fake.mean())


def test_biggan_ema_is_the_closed_form_average():
    cfg = dict(TINY_MODELS['BigGAN'], ema_config=dict(interval=1, momentum=0.25, start_iter=0))
    model, optim, counts = build(cfg)
    run_iter(model, optim, 0)
    p1 = {k: v.detach().clone() for k, v in model.generator.named_parameters()}
    run_iter(model, optim, 1)
    assert counts == dict(discriminator=2, generator=2)
    ema = dict(model.generator_ema.module.named_parameters())
    for k, p2 in model.generator.named_parameters():
        # first update copies, the second averages: 0.75 * p1 + 0.25 * p2
        torch.testing.assert_close(ema[k], 0.75 * p1[k] + 0.25 * p2.detach(), msg=k)


def test_sampling_returns_labelled_images():
    model, _, _ = build(TINY_MODELS['SAGAN'])
    model.eval()
    with torch.no_grad():
        out = model(dict(num_batches=2, label=torch.tensor([2, 1])))
    assert len(out) == 2 and out[0].fake_img.shape == (3, 32, 32)
    assert [int(s.gt_label.reshape(-1)[0]) for s in out] == [2, 1]


def test_missing_labels_raise_a_clear_error():
    model, optim, _ = build(TINY_MODELS['SNGAN'])
    batch = make_batch()
    batch['data_samples'] = [DataSample() for _ in range(8)]
    MessageHub.get_current_instance().update_info('iter', 0)
    with pytest.raises(KeyError, match='gt_label'):
        model.train_step(batch, optim)


FULL = {  # whole models (incl. generator_ema) from MMagic configs, built on the meta device
    'biggan/biggan_2xb25-500kiters_cifar10-32x32': dict(
        type='BigGAN', num_classes=10, data_preprocessor=dict(type='DataPreprocessor',
                                                              rgb_to_bgr=True),
        generator=dict(type='BigGANGenerator', output_scale=32, noise_size=128, num_classes=10,
                       base_channels=64, with_shared_embedding=False, sn_eps=1e-8,
                       sn_style='torch', init_type='N02', split_noise=False,
                       auto_sync_bn=False),
        discriminator=dict(type='BigGANDiscriminator', input_scale=32, num_classes=10,
                           base_channels=64, sn_eps=1e-8, sn_style='torch', init_type='N02',
                           with_spectral_norm=True),
        generator_steps=1, discriminator_steps=4,
        ema_config=dict(type='ExponentialMovingAverage', interval=1, momentum=0.0001,
                        start_iter=1000)),
    'sngan_proj/sngan-proj_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32': dict(
        type='SNGAN', num_classes=10, data_preprocessor=dict(type='DataPreprocessor',
                                                             rgb_to_bgr=True),
        generator=dict(type='SNGANGenerator', output_scale=32, base_channels=256,
                       num_classes=10, init_cfg=dict(type='studio')),
        discriminator=dict(type='ProjDiscriminator', input_scale=32, base_channels=128,
                           num_classes=10, init_cfg=dict(type='studio')),
        discriminator_steps=5),
}


@pytest.mark.parametrize('name', sorted(FULL))
def test_full_model_layout_matches_mmagic(name):
    ref = json.loads((REF / f'{name}.json').read_text())['keys']
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(FULL[name]))
    mine = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert mine == ref
