"""Pix2Pix / CycleGAN: losses against independent computations, schedule, domains, image pool."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import genforge.models  # noqa: F401  (registers every type)
from genforge.models.algorithms.cyclegan import GANImageBuffer
from genforge.optim.optim_wrapper import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample

UNET = dict(type='UnetGenerator', in_channels=3, out_channels=3, num_down=5, base_channels=4,
            use_dropout=False)
RESNET = dict(type='ResnetGenerator', in_channels=3, out_channels=3, base_channels=4,
              num_blocks=1)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convolutions run several times faster on one thread than on two contended ones."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def pix2pix(**kw):
    cfg = dict(type='Pix2Pix', data_preprocessor=dict(
        type='DataPreprocessor', data_keys=['img_photo', 'img_mask']), generator=UNET,
        discriminator=dict(type='PatchDiscriminator', in_channels=6, base_channels=4, num_conv=2),
        default_domain='photo', reachable_domains=['photo'], related_domains=['photo', 'mask'],
        loss_config=dict(pixel_loss_weight=100.0))
    cfg.update(kw)
    return MODELS.build(cfg)


def cyclegan(**kw):
    cfg = dict(type='CycleGAN', data_preprocessor=dict(
        type='DataPreprocessor', data_keys=['img_photo', 'img_mask']), generator=RESNET,
        discriminator=dict(type='PatchDiscriminator', in_channels=3, base_channels=4, num_conv=2,
                           norm_cfg=dict(type='IN')),
        default_domain='photo', reachable_domains=['photo', 'mask'],
        related_domains=['photo', 'mask'], buffer_size=4)
    cfg.update(kw)
    return MODELS.build(cfg)


def batch(n=2, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = {k: [torch.randint(0, 256, (3, size, size), generator=g).float() for _ in range(n)]
            for k in ('img_photo', 'img_mask')}
    samples = [DataSample(img_photo=imgs['img_photo'][i], img_mask=imgs['img_mask'][i])
               for i in range(n)]
    return dict(inputs=imgs, data_samples=samples)


def wrappers(model, lr=0.01):
    return OptimWrapperDict(
        generators=OptimWrapper(torch.optim.SGD(model.generators.parameters(), lr=lr)),
        discriminators=OptimWrapper(torch.optim.SGD(model.discriminators.parameters(), lr=lr)))


def normed(data, key):
    return torch.stack(data['inputs'][key]) / 127.5 - 1


def test_pix2pix_losses_match_closed_form():
    torch.manual_seed(0)
    model = pix2pix()
    data = batch()
    g0, d0 = copy.deepcopy(model.generators.photo), copy.deepcopy(model.discriminators.photo)
    log = model.train_step(copy.deepcopy(data), wrappers(model), iteration=0)
    src, tgt = normed(data, 'img_mask'), normed(data, 'img_photo')
    fake = g0(src)
    # BCE-with-logits written out: -log(sigmoid(x)) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x)
    exp_fake = F.softplus(d0(torch.cat([src, fake], 1))).mean()
    exp_real = F.softplus(-d0(torch.cat([src, tgt], 1))).mean()
    torch.testing.assert_close(log['loss_gan_d_fake'], exp_fake.detach())
    torch.testing.assert_close(log['loss_gan_d_real'], exp_real.detach())
    d1 = model.discriminators.photo  # G's loss sees the discriminator after its update
    exp_g = F.softplus(-d1(torch.cat([src, fake], 1))).mean()
    torch.testing.assert_close(log['loss_gan_g'], exp_g.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(log['loss_pixel'], 100 * (fake - tgt).abs().mean().detach())
    # D's step: loss halved -> SGD moved D by lr * 0.5 * grad
    d0.zero_grad()
    (0.5 * (exp_fake + exp_real)).backward()
    p0, p1 = next(d0.parameters()), next(d1.parameters())
    torch.testing.assert_close(p1, (p0 - 0.01 * p0.grad).detach(), rtol=1e-4, atol=1e-6)


def test_discriminator_steps_and_init_steps_gate_the_generator():
    model = pix2pix(discriminator_steps=2, disc_init_steps=2)
    ow = wrappers(model)
    for it, updates in ((0, False), (1, False), (2, False), (3, True)):
        before = copy.deepcopy(model.generators.photo.state_dict())
        log = model.train_step(batch(seed=it), ow, iteration=it)
        changed = any(not torch.equal(before[k], v)
                      for k, v in model.generators.photo.state_dict().items() if 'weight' in k)
        assert changed == updates and ('loss_pixel' in log) == updates


def test_domain_errors_name_the_config_key():
    with pytest.raises(ValueError, match="model.default_domain='cat'"):
        pix2pix(default_domain='cat')
    with pytest.raises(ValueError, match=r"model.reachable_domains \['photo'\] are not in "
                                         r'model.related_domains'):
        pix2pix(related_domains=['mask', 'edges'])
    model = pix2pix()
    with pytest.raises(ValueError, match=r"target_domain='mask'.*reachable_domains=\['photo'\]"):
        model.translation(torch.zeros(1, 3, 32, 32), target_domain='mask')
    bad = batch()
    bad['inputs'] = {'img_A': bad['inputs']['img_photo'], 'img_B': bad['inputs']['img_mask']}
    with pytest.raises(KeyError, match=r"no \['img_photo', 'img_mask'\].*KeyMapper"):
        model.train_step(bad, wrappers(model), iteration=0)


def test_forward_test_uses_batch_stats_and_leaves_model_untouched():
    torch.manual_seed(0)
    model = pix2pix().eval()
    state = copy.deepcopy(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    out = model(x, test_mode=True, target_domain='photo')
    ref = copy.deepcopy(model.generators.photo).train()(x)  # train-mode BN: batch statistics
    torch.testing.assert_close(out['target'], ref)
    assert not model.generators.photo.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_pix2pix_test_step_fields():
    model = pix2pix()
    out = model.test_step(batch(n=3))
    assert len(out) == 3
    fake = out[0].fake_photo
    assert fake.shape == (3, 32, 32) and fake.min() >= 0 and fake.max() <= 255
    assert torch.equal(out[1].img_mask, batch(n=3)['data_samples'][1].img_mask)


def test_cyclegan_losses_match_closed_form():
    torch.manual_seed(0)
    model = cyclegan()
    data = batch()
    gens = copy.deepcopy(model.generators)
    log = model.train_step(copy.deepcopy(data), wrappers(model), iteration=0)
    real = {d: normed(data, f'img_{d}') for d in ('photo', 'mask')}
    fake = {'photo': gens.photo(real['mask']), 'mask': gens.mask(real['photo'])}
    cycle = {'mask': gens.mask(fake['photo']), 'photo': gens.photo(fake['mask'])}
    exp_cycle = 10 * sum((cycle[d] - real[d]).abs().mean() for d in real)
    exp_id = 0.5 * sum((gens[d](real[d]) - real[d]).abs().mean() for d in real)
    torch.testing.assert_close(log['cycle_loss'], exp_cycle.detach(), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(log['id_loss'], exp_id.detach(), rtol=1e-4, atol=1e-6)
    for d in real:  # LSGAN terms against the updated discriminators
        pred = model.discriminators[d](fake[d])
        torch.testing.assert_close(log[f'loss_gan_g_{d}'], ((pred - 1) ** 2).mean().detach(),
                                   rtol=1e-4, atol=1e-6)
    assert set(log) >= {'loss_gan_d_photo', 'loss_gan_d_mask', 'loss'}
    assert 'id_loss' not in cyclegan(loss_config=dict(cycle_loss_weight=10., id_loss_weight=0.)
                                     ).train_step(batch(), wrappers(model), iteration=0)


def test_cyclegan_test_step_returns_both_domains():
    out = cyclegan().test_step(batch(n=2))
    assert out[0].fake_photo.shape == out[0].fake_mask.shape == (3, 32, 32)


def _naive_pool(size, ratio, stream, rng):
    """The pool's rule written out separately: fill, then swap with probability ``ratio``."""
    pool, outs = [], []
    for img in stream:
        if len(pool) < size:
            pool.append(img)
            outs.append(img)
        elif rng.random() < ratio:
            idx = rng.randint(0, size)
            outs.append(pool[idx])
            pool[idx] = img
        else:
            outs.append(img)
    return outs


def test_image_pool_matches_naive_rule_and_round_trips():
    stream = torch.arange(12.).view(12, 1, 1, 1)
    np.random.seed(7)
    buf = GANImageBuffer(4)
    got = torch.cat([buf.query(stream[i:i + 3]) for i in range(0, 12, 3)])
    expected = _naive_pool(4, 0.5, list(stream), np.random.RandomState(7))
    assert got.flatten().tolist() == torch.stack(expected).flatten().tolist()
    # state round trip: the restored pool answers a query exactly as the original does
    clone = GANImageBuffer(4)
    clone.load_state_dict(copy.deepcopy(buf.state_dict()))
    np.random.seed(3)
    a = buf.query(stream[:6] + 100)
    np.random.seed(3)
    assert torch.equal(clone.query(stream[:6] + 100), a)
    assert torch.equal(GANImageBuffer(0).query(stream), stream)
    with pytest.raises(ValueError, match='buffer_size=4'):
        GANImageBuffer(5).load_state_dict(buf.state_dict())


def test_cyclegan_train_state_round_trip():
    model = cyclegan()
    model.train_step(batch(), wrappers(model), iteration=0)
    state = model.train_state_dict()
    assert state['image_buffers']['photo']['images'].shape == (2, 3, 32, 32)
    other = cyclegan()
    other.load_train_state_dict(state)
    assert torch.equal(other.image_buffers['mask'].state_dict()['images'],
                       state['image_buffers']['mask']['images'])
