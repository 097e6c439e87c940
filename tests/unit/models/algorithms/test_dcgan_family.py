"""DCGAN / LSGAN / GGAN / WGAN-GP and BaseGAN: training schedule, losses, EMA and sampling."""
# ruff: noqa: B006  (MMagic's signatures default to dict(type=...) configs; they are copied, never mutated)
import copy
from pathlib import Path

import pytest
import torch
from torch import nn

import genforge.models  # noqa: F401  (registers every type)
from genforge.models import BaseConditionalGAN, BaseGAN
from genforge.models.archs import WGANGPDiscriminator, WGANGPGenerator
from genforge.optim.optim_wrapper import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.runner.message_hub import MessageHub
from genforge.structures import DataSample

TINY = {
    'DCGAN': (dict(type='DCGANGenerator', output_scale=16, base_channels=16, noise_size=8),
              dict(type='DCGANDiscriminator', input_scale=16, output_scale=4, out_channels=1,
                   base_channels=8)),
    'LSGAN': (dict(type='LSGANGenerator', output_scale=16, input_scale=4, base_channels=16,
                   noise_size=8),
              dict(type='LSGANDiscriminator', input_scale=16, output_scale=4, base_channels=8)),
    'GGAN': (dict(type='LSGANGenerator', output_scale=16, input_scale=4, base_channels=16,
                  noise_size=8),
             dict(type='LSGANDiscriminator', input_scale=16, output_scale=4, base_channels=8)),
}
_FEW_CHANNELS = {'4': 16, '8': 8, '16': 8, '32': 8, '64': 8, '128': 8}


class _TinyWGANGPGenerator(WGANGPGenerator):
    _default_channels_per_scale = _FEW_CHANNELS  # MMagic's table has 512 channels at 4x4


class _TinyWGANGPDiscriminator(WGANGPDiscriminator):
    _default_channels_per_scale = _FEW_CHANNELS


def build(algo='DCGAN', **kwargs):
    if algo == 'WGANGP':
        gen = _TinyWGANGPGenerator(noise_size=8, out_scale=8)
        disc = _TinyWGANGPDiscriminator(in_channel=3, in_scale=8,
                                        conv_module_cfg=dict(norm_cfg=dict(type='GN')))
    else:
        gen, disc = TINY[algo]
    cfg = dict(type=algo, data_preprocessor=dict(type='DataPreprocessor'), generator=gen,
               discriminator=disc)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def make_batch(n=8, size=16, convention='mmgen', seed=0):
    """A collated batch of ``n`` images in [0, 255] in either packing convention."""
    g = torch.Generator().manual_seed(seed)
    imgs = [torch.randint(0, 256, (3, size, size), generator=g).float() for _ in range(n)]
    if convention == 'mmgen':  # PackGenInputs(keys=['img'])
        return dict(inputs=dict(img=imgs), data_samples=[DataSample() for _ in range(n)])
    return dict(inputs={}, data_samples=[DataSample(gt_img=im) for im in imgs])  # PackInputs


def make_wrappers(model, lr=1e-3, g_accu=1, d_accu=1):
    def wrap(net, accu):
        return OptimWrapper(torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.999)),
                            accumulative_counts=accu)
    return OptimWrapperDict(generator=wrap(model.generator, g_accu),
                            discriminator=wrap(model.discriminator, d_accu))


def count_steps(wrappers):
    counts = {'generator': 0, 'discriminator': 0}
    for name, w in wrappers.optim_wrappers.items():
        original = w.optimizer.step

        def step(*args, _name=name, _orig=original, **kwargs):
            counts[_name] += 1
            return _orig(*args, **kwargs)
        w.optimizer.step = step
    return counts


def run_iters(model, wrappers, num_iters, batch_fn=make_batch):
    """The train loop's contract: MessageHub 'iter' is set before each train_step."""
    hub = MessageHub.get_current_instance()
    logs = []
    for i in range(num_iters):
        hub.update_info('iter', i)  # the train loop's 0-based iteration
        logs.append(model.train_step(batch_fn(seed=i), wrappers))
    return logs


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize('algo,keys', [
    ('DCGAN', {'loss', 'loss_disc_fake', 'loss_disc_real', 'loss_gen'}),
    ('LSGAN', {'loss', 'loss_disc_fake', 'loss_disc_real', 'loss_gen'}),
    ('GGAN', {'loss', 'loss_disc_fake', 'loss_disc_real', 'loss_gen'}),
    ('WGANGP', {'loss', 'loss_disc_fake', 'loss_disc_real', 'loss_gp', 'loss_gen'}),
])
def test_each_algorithm_trains_two_iterations(algo, keys):
    size = 8 if algo == 'WGANGP' else 16
    model = build(algo)
    wrappers = make_wrappers(model)
    g_before = copy.deepcopy(model.generator.state_dict())
    logs = run_iters(model, wrappers, 2, lambda seed: make_batch(size=size, seed=seed))
    for log in logs:
        assert set(log) == keys
        assert all(torch.isfinite(v) for v in log.values())
    changed = [k for k, v in model.generator.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, g_before[k])]
    assert changed  # the generator was updated


def test_disc_losses_match_formulas():
    """Each algorithm's D/G loss against its paper's formula on fixed predictions."""
    fake, real = torch.tensor([[0.3], [-1.2]]), torch.tensor([[2.0], [0.1]])
    sp = nn.functional.softplus
    expect = {
        'DCGAN': (sp(fake).mean() + sp(-real).mean(), sp(-fake).mean()),
        'LSGAN': ((fake ** 2).mean() + ((real - 1) ** 2).mean(), ((fake - 1) ** 2).mean()),
        'GGAN': ((1 + fake).clamp(min=0).mean() + (1 - real).clamp(min=0).mean(), -fake.mean()),
    }
    for algo, (d_ref, g_ref) in expect.items():
        model = build(algo)
        d_loss, _ = model.disc_loss(dict(disc_pred_fake=fake, disc_pred_real=real))
        g_loss, _ = model.gen_loss(dict(disc_pred_fake_g=fake))
        torch.testing.assert_close(d_loss, d_ref)
        torch.testing.assert_close(g_loss, g_ref)


def test_wgangp_loss_config_and_penalty():
    model = build('WGANGP', loss_config=dict(gp_norm_mode='pixel', gp_loss_weight=3))
    assert (model.gp_norm_mode, model.gp_loss_weight) == ('pixel', 3)
    assert build('WGANGP').gp_norm_mode == 'HWC'  # MMagic's default
    real, fake = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    pf, pr = model.discriminator(fake), model.discriminator(real)
    torch.manual_seed(1)
    _, log = model.disc_loss(dict(real_imgs=real, fake_imgs=fake, disc_pred_fake=pf,
                                  disc_pred_real=pr, discriminator=model.discriminator))
    torch.manual_seed(1)  # same interpolation draw
    alpha = torch.rand(2, 1, 1, 1)
    x = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(model.discriminator(x).sum(), x)
    torch.testing.assert_close(log['loss_gp'], 3 * ((grad.norm(dim=1) - 1) ** 2).mean(),
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('disc_steps,accu,gen_steps', [(2, 2, 1), (1, 1, 2), (2, 1, 1)])
def test_step_schedule(disc_steps, accu, gen_steps):
    num_iters = 2 * disc_steps * accu  # two generator updates
    model = build('DCGAN', discriminator_steps=disc_steps, generator_steps=gen_steps)
    wrappers = make_wrappers(model, g_accu=accu, d_accu=accu)
    counts = count_steps(wrappers)
    g_calls = []
    orig_train_g = model.train_generator
    model.train_generator = lambda *a: g_calls.append(1) or orig_train_g(*a)
    logs = run_iters(model, wrappers, num_iters, lambda seed: make_batch(n=2, seed=seed))
    # D: one update_params per iteration, an optimizer step every `accu` of them
    assert counts['discriminator'] == num_iters // accu
    # G: trained when (iter + 1) % (disc_steps * accu) == 0, gen_steps full steps each time
    g_updates = num_iters // (disc_steps * accu)
    assert counts['generator'] == g_updates * gen_steps
    assert len(g_calls) == g_updates * gen_steps * accu
    assert sum('loss_gen' in log for log in logs) == g_updates
    # D's parameters are trainable again after the G step
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_ema_equals_closed_form_average():
    m = 0.25
    model = build('DCGAN', ema_config=dict(type='ExponentialMovingAverage', interval=1,
                                           momentum=m))
    wrappers = make_wrappers(model)
    expected = None
    hub = MessageHub.get_current_instance()
    for i in range(3):
        hub.update_info('iter', i)
        model.train_step(make_batch(seed=i), wrappers)
        params = {k: v.detach().clone() for k, v in model.generator.named_parameters()}
        # first update copies, later ones: avg = (1 - m) * avg + m * param
        expected = params if expected is None else {
            k: (1 - m) * expected[k] + m * params[k] for k in params}
    ema = dict(model.generator_ema.module.named_parameters())
    for k, v in expected.items():
        torch.testing.assert_close(ema[k], v)
    assert int(model.generator_ema.steps) == 3
    # buffers (BN statistics) follow the generator
    torch.testing.assert_close(model.generator_ema.module.noise2feat.bn.running_mean,
                               model.generator.noise2feat.bn.running_mean)


def test_ema_start_iter_tracks_generator_before_start():
    model = build('DCGAN', ema_config=dict(momentum=0.1, start_iter=3))
    wrappers = make_wrappers(model)
    run_iters(model, wrappers, 2)  # iters 0, 1 < start_iter: EMA copies G
    for (k, v), (_, e) in zip(model.generator.state_dict().items(),
                              model.generator_ema.module.state_dict().items()):
        torch.testing.assert_close(e, v, msg=k)
    assert int(model.generator_ema.steps) == 0


def test_sampling_modes_and_destruct():
    model = build('DCGAN', ema_config=dict(momentum=0.1))
    model.eval()
    noise = torch.randn(3, 8)
    out = model.val_step(dict(inputs=dict(noise=noise, sample_model='orig')))
    assert len(out) == 3 and out[0].sample_model == 'orig'
    with torch.no_grad():
        ref = (model.generator(noise) * 127.5 + 127.5).clamp(0, 255)  # [-1, 1] -> [0, 255]
    torch.testing.assert_close(torch.stack([s.fake_img for s in out]), ref)
    torch.testing.assert_close(out[1].noise, noise[1])
    both = model(dict(num_batches=2, sample_model='ema/orig'))
    assert both[0].ema.fake_img.shape == both[0].orig.fake_img.shape == (3, 16, 16)
    assert model(dict(num_batches=2))[0].sample_model == 'ema'  # EMA by default
    with pytest.raises(ValueError, match='sample_model'):
        build('DCGAN')(dict(num_batches=1, sample_model='ema'))


@pytest.mark.parametrize('convention', ['mmgen', 'mmagic'])
def test_real_images_from_both_packing_conventions(convention):
    model = build('DCGAN')
    data = model.data_preprocessor(make_batch(convention=convention), True)
    real = model.get_real_imgs(data['inputs'], data['data_samples'])
    assert real.shape == (8, 3, 16, 16) and real.min() >= -1 and real.max() <= 1
    logs = run_iters(model, make_wrappers(model), 1,
                     lambda seed: make_batch(convention=convention, seed=seed))
    assert torch.isfinite(logs[0]['loss_gen'])
    with pytest.raises(KeyError, match='gt_img'):
        model.get_real_imgs({}, DataSample())


def test_base_gan_default_losses_from_loss_config():
    gen, disc = (MODELS.build(c) for c in TINY['DCGAN'])
    model = BaseGAN(gen, disc, data_preprocessor=dict(type='DataPreprocessor'),
                    loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='hinge')))
    logs = run_iters(model, make_wrappers(model), 1)
    assert {'loss_disc_fake', 'loss_disc_real', 'loss_disc_fake_g'} <= set(logs[0])
    with pytest.raises(ValueError, match='noise_size'):
        BaseGAN(dict(TINY['DCGAN'][0]), noise_size=5)


class _CondG(nn.Module):
    def __init__(self, noise_size=8, num_classes=3):
        super().__init__()
        self.noise_size, self.num_classes = noise_size, num_classes
        self.embed = nn.Embedding(num_classes, noise_size)
        self.fc = nn.Linear(noise_size, 3 * 16 * 16)

    def forward(self, noise, label=None, return_noise=False):
        return torch.tanh(self.fc(noise * self.embed(label))).view(-1, 3, 16, 16)


class _CondD(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(3 * 16 * 16, num_classes)
        self.seen = []

    def forward(self, x, label=None):
        self.seen.append(label.clone())
        return self.fc(x.flatten(1)).gather(1, label[:, None])


def test_conditional_gan_uses_gt_label():
    model = BaseConditionalGAN(_CondG(), _CondD(), data_preprocessor=dict(type='DataPreprocessor'),
                               loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='hinge')))
    assert model.num_classes == 3 and model.noise_size == 8

    def batch(seed):
        data = make_batch(seed=seed)
        for i, s in enumerate(data['data_samples']):
            s.set_gt_label(i % 3)
        return data
    logs = run_iters(model, make_wrappers(model), 2, batch)
    assert all(torch.isfinite(v) for log in logs for v in log.values())
    # D saw the real labels (second D call of the first iteration)
    torch.testing.assert_close(model.discriminator.seen[1], torch.arange(8) % 3)
    out = model(dict(num_batches=4, sample_model='orig'))
    assert len(out) == 4 and all(0 <= int(s.gt_label) < 3 for s in out)
    with pytest.raises(ValueError, match='num_classes'):
        BaseConditionalGAN(_CondG(num_classes=3), _CondD(num_classes=4))


# -- seed 000 ("design your own models"): its code with imports moved to genforge ------------
SEED_MODEL_CFG = dict(
    type='DCGAN',
    noise_size=100,
    data_preprocessor=dict(type='GANDataPreprocessor'),
    generator=dict(type='DCGANGenerator', output_scale=64, base_channels=1024),
    discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4,
                       out_channels=1))


@pytest.fixture
def seed_registry():
    """Register the seed's classes under their own names, restoring genforge's afterwards."""
    saved = {k: MODELS.module_dict.pop(k) for k in ('DCGAN', 'DCGANGenerator')}
    yield
    for k in ('DCGAN', 'DCGANGenerator'):
        MODELS.module_dict.pop(k, None)
    MODELS.module_dict.update(saved)


def _define_seed_classes():
    import logging

    import numpy as np
    import torch.nn.functional as F
    from torch import Tensor
    from torch.nn.modules.batchnorm import _BatchNorm

    from genforge.models import BaseGAN
    from genforge.models.layers import ConvModule
    from genforge.models.utils import get_module_device, normal_init
    from genforge.optim import OptimWrapper
    from genforge.registry import MODELS, MODULES
    from genforge.runner import load_checkpoint

    @MODULES.register_module()
    class DCGANGenerator(nn.Module):
        def __init__(self, output_scale, out_channels=3, base_channels=1024, input_scale=4,
                     noise_size=100, default_norm_cfg=dict(type='BN'),
                     default_act_cfg=dict(type='ReLU'), out_act_cfg=dict(type='Tanh'),
                     pretrained=None):
            super().__init__()
            self.output_scale = output_scale
            self.base_channels = base_channels
            self.input_scale = input_scale
            self.noise_size = noise_size
            self.num_upsamples = int(np.log2(output_scale // input_scale))
            self.noise2feat = ConvModule(
                noise_size, base_channels, kernel_size=4, stride=1, padding=0,
                conv_cfg=dict(type='ConvTranspose2d'), norm_cfg=default_norm_cfg,
                act_cfg=default_act_cfg)
            upsampling = []
            curr_channel = base_channels
            for _ in range(self.num_upsamples - 1):
                upsampling.append(ConvModule(
                    curr_channel, curr_channel // 2, kernel_size=4, stride=2, padding=1,
                    conv_cfg=dict(type='ConvTranspose2d'), norm_cfg=default_norm_cfg,
                    act_cfg=default_act_cfg))
                curr_channel //= 2
            self.upsampling = nn.Sequential(*upsampling)
            self.output_layer = ConvModule(
                curr_channel, out_channels, kernel_size=4, stride=2, padding=1,
                conv_cfg=dict(type='ConvTranspose2d'), norm_cfg=None, act_cfg=out_act_cfg)

        def forward(self, noise, num_batches=0, return_noise=False):
            # the seed's snippet uses `noise_batch` without defining it; the one missing line:
            noise_batch = noise.reshape(noise.shape[0], -1, 1, 1)
            noise_batch = noise_batch.to(get_module_device(self))
            x = self.noise2feat(noise_batch)
            x = self.upsampling(x)
            x = self.output_layer(x)
            return x

        def init_weights(self, pretrained=None):
            if isinstance(pretrained, str):
                logger = logging.getLogger(__name__)  # MMLogger.get_current_instance()
                load_checkpoint(self, pretrained, strict=False, logger=logger)
            elif pretrained is None:
                for m in self.modules():
                    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                        normal_init(m, 0, 0.02)
                    elif isinstance(m, _BatchNorm):
                        nn.init.normal_(m.weight.data)
                        nn.init.constant_(m.bias.data, 0)
            else:
                raise TypeError('pretrained must be a str or None but'
                                f' got {type(pretrained)} instead.')

    @MODELS.register_module()
    class DCGAN(BaseGAN):
        def disc_loss(self, disc_pred_fake: Tensor, disc_pred_real: Tensor) -> tuple:
            losses_dict = dict()
            losses_dict['loss_disc_fake'] = F.binary_cross_entropy_with_logits(
                disc_pred_fake, 0. * torch.ones_like(disc_pred_fake))
            losses_dict['loss_disc_real'] = F.binary_cross_entropy_with_logits(
                disc_pred_real, 1. * torch.ones_like(disc_pred_real))
            loss, log_var = self.parse_losses(losses_dict)
            return loss, log_var

        def gen_loss(self, disc_pred_fake: Tensor) -> tuple:
            losses_dict = dict()
            losses_dict['loss_gen'] = F.binary_cross_entropy_with_logits(
                disc_pred_fake, 1. * torch.ones_like(disc_pred_fake))
            loss, log_var = self.parse_losses(losses_dict)
            return loss, log_var

        def train_discriminator(self, inputs, data_sample,
                                optimizer_wrapper: OptimWrapper) -> dict[str, Tensor]:
            real_imgs = inputs['img']
            num_batches = real_imgs.shape[0]
            noise_batch = self.noise_fn(num_batches=num_batches)
            with torch.no_grad():
                fake_imgs = self.generator(noise=noise_batch, return_noise=False)
            disc_pred_fake = self.discriminator(fake_imgs)
            disc_pred_real = self.discriminator(real_imgs)
            parsed_losses, log_vars = self.disc_loss(disc_pred_fake, disc_pred_real)
            optimizer_wrapper.update_params(parsed_losses)
            return log_vars

        def train_generator(self, inputs, data_sample,
                            optimizer_wrapper: OptimWrapper) -> dict[str, Tensor]:
            num_batches = inputs['img'].shape[0]
            noise = self.noise_fn(num_batches=num_batches)
            fake_imgs = self.generator(noise=noise, return_noise=False)
            disc_pred_fake = self.discriminator(fake_imgs)
            parsed_loss, log_vars = self.gen_loss(disc_pred_fake)
            optimizer_wrapper.update_params(parsed_loss)
            return log_vars

    return DCGANGenerator, DCGAN


def test_seed000_dcgan_registers_builds_and_trains(seed_registry):
    seed_gen_cls, seed_dcgan_cls = _define_seed_classes()
    assert MODELS.get('DCGAN') is seed_dcgan_cls and MODELS.get('DCGANGenerator') is seed_gen_cls
    # the seed's config, as written (64x64, 1024 base channels)
    model = MODELS.build(copy.deepcopy(SEED_MODEL_CFG))
    assert isinstance(model.generator, seed_gen_cls) and model.noise_size == 100
    assert model.generator.output_layer.conv.weight.shape == (128, 3, 4, 4)
    # the same config at 16x16 with few channels trains
    cfg = copy.deepcopy(SEED_MODEL_CFG)
    cfg.update(noise_size=8)
    cfg['generator'].update(output_scale=16, base_channels=16)
    cfg['discriminator'].update(input_scale=16, base_channels=8)
    model = MODELS.build(cfg)
    model.init_weights()
    conv_w = model.generator.upsampling[0].conv.weight
    assert abs(conv_w.std().item() - 0.02) < 0.01  # the seed's init_weights ran
    wrappers = make_wrappers(model)
    counts = count_steps(wrappers)
    logs = run_iters(model, wrappers, 2)
    assert counts == {'generator': 2, 'discriminator': 2}
    assert all(torch.isfinite(v) for log in logs for v in log.values())
    assert {'loss_disc_fake', 'loss_disc_real', 'loss_gen'} <= set(logs[-1])


CONFIG_DIR = Path(__file__).resolve().parents[4] / 'configs'
GAN_CONFIGS = sorted(str(p) for algo in ('dcgan', 'lsgan', 'ggan', 'wgan-gp')
                     for p in (CONFIG_DIR / algo).glob('*.py'))


@pytest.mark.parametrize('path', GAN_CONFIGS, ids=lambda p: p.rsplit('/', 1)[-1])
def test_shipped_configs_load_and_build(path):
    from genforge.config import Config
    cfg = Config.fromfile(path)
    with torch.device('meta'):  # full-size networks: shapes only
        model = MODELS.build(cfg.model)
    algo = path.split('/')[-2]
    assert type(model).__name__ == {'dcgan': 'DCGAN', 'lsgan': 'LSGAN', 'ggan': 'GGAN',
                                    'wgan-gp': 'WGANGP'}[algo]
    assert set(cfg.optim_wrapper) >= {'generator', 'discriminator', 'constructor'}
    if algo == 'wgan-gp':
        assert model.discriminator_steps == 5 and model.gp_norm_mode == 'HWC'
        assert model.gp_loss_weight == (50 if 'GP-50' in path else 10)



def test_schedule_does_not_depend_on_runtime_info_hook(tmp_path):
    """The train loop itself hands the iteration to the model: without RuntimeInfoHook the
    generator still trains once every ``discriminator_steps`` iterations."""
    from genforge.config import Config
    from genforge.runner import Runner
    loader = dict(batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler'),
                  dataset=dict(type='DigitsDataset', img_size=16, indices=4))
    cfg = Config(dict(
        work_dir=str(tmp_path / 'work'),
        model=dict(type='DCGAN', noise_size=4, discriminator_steps=2,
                   data_preprocessor=dict(type='DataPreprocessor'),
                   generator=dict(type='DCGANGenerator', output_scale=16, out_channels=1,
                                  base_channels=8),
                   discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                                      in_channels=1, out_channels=1, base_channels=4)),
        train_dataloader=loader,
        optim_wrapper=dict(constructor='GenOptimWrapperConstructor',
                           generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                           discriminator=dict(optimizer=dict(type='Adam', lr=2e-4))),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(runtime_info=None, checkpoint=None), randomness=dict(seed=0)))
    runner = Runner.from_cfg(cfg)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    counts = count_steps(runner.optim_wrapper)
    runner.train()
    assert counts == dict(discriminator=4, generator=2)
