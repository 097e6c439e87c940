"""BaseModel.train_step / parse_losses, EMA closed form, DDP wrappers (1-process gloo)."""
import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from genforge.models import (
    BaseModel,
    ExponentialMovingAverage,
    ImgDataPreprocessor,
    MMDistributedDataParallel,
    MMSeparateDistributedDataParallel,
    RampUpEMA,
    is_model_wrapper,
)
from genforge.models.utils import set_requires_grad
from genforge.optim import OptimWrapper, OptimWrapperDict


class Regressor(BaseModel):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(inputs.flatten(1))
        if mode == 'loss':
            return dict(loss_mse=F.mse_loss(out, data_samples), aux_loss=[out.mean() * 0] * 2,
                        acc=out.mean())
        return out


def test_train_step_equals_manual_step():
    torch.manual_seed(0)
    model = Regressor(data_preprocessor=dict(type='ImgDataPreprocessor', mean=[1.], std=[2.]))
    ref = Regressor()
    ref.load_state_dict(model.state_dict())
    x, y = torch.randn(3, 1, 2, 2), torch.randn(3, 1)
    log = model.train_step(dict(inputs=x, data_samples=y),
                           OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    loss = F.mse_loss(ref.fc(((x - 1) / 2).flatten(1)), y)
    loss.backward()
    opt.step()
    torch.testing.assert_close(model.fc.weight, ref.fc.weight)
    assert list(log) == ['loss', 'loss_mse', 'aux_loss', 'acc']
    torch.testing.assert_close(log['loss'], loss.detach())  # acc has no 'loss' in its name
    assert not log['loss'].requires_grad


def test_parse_losses_errors_and_preprocessor_type():
    model = Regressor()
    with pytest.raises(TypeError, match="losses\\['loss_x'\\]"):
        model.parse_losses(dict(loss_x=1.0))
    with pytest.raises(TypeError, match='data_preprocessor'):
        Regressor(data_preprocessor=3)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.noise_size = 8
        self.model = nn.Sequential(nn.Linear(8, 16), nn.Tanh())

    def forward(self, z):
        return self.model(z).view(-1, 1, 4, 4)


class GAN(BaseModel):
    """Seed 002's GAN (smaller): G/D alternate through an OptimWrapperDict."""

    def __init__(self, generator, discriminator, data_preprocessor):
        super().__init__(data_preprocessor=data_preprocessor)
        self.generator, self.discriminator = generator, discriminator

    def train_step(self, data, optim_wrapper):
        inputs = self.data_preprocessor(data, True)['inputs']
        z = torch.randn(inputs.shape[0], 8)
        with optim_wrapper['discriminator'].optim_context(self.discriminator):
            with torch.no_grad():
                fake = self.generator(z)
            loss, log = self.parse_losses(dict(
                loss_fake=F.binary_cross_entropy(self.discriminator(fake), torch.zeros(len(z), 1)),
                loss_real=F.binary_cross_entropy(self.discriminator(inputs),
                                                 torch.ones(len(z), 1))))
        optim_wrapper['discriminator'].update_params(loss)
        set_requires_grad(self.discriminator, False)
        with optim_wrapper['generator'].optim_context(self.generator):
            g_loss, g_log = self.parse_losses(dict(loss_gen=F.binary_cross_entropy(
                self.discriminator(self.generator(z)), torch.ones(len(z), 1))))
        optim_wrapper['generator'].update_params(g_loss)
        set_requires_grad(self.discriminator, True)
        log.update(g_log)
        return log


def test_seed_002_gan_train_step():
    torch.manual_seed(0)
    g = Generator()
    d = nn.Sequential(nn.Flatten(), nn.Linear(16, 1), nn.Sigmoid())
    model = GAN(g, d, ImgDataPreprocessor(mean=([127.5]), std=([127.5])))
    owd = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.999))),
        discriminator=OptimWrapper(torch.optim.Adam(d.parameters(), lr=1e-4,
                                                    betas=(0.5, 0.999))))
    g0, d0 = g.model[0].weight.clone(), d[1].weight.clone()
    data = dict(inputs=[torch.randint(0, 256, (1, 4, 4), dtype=torch.uint8) for _ in range(4)])
    log = model.train_step(data, owd)
    assert all(torch.isfinite(v) for v in log.values())
    assert not torch.equal(g0, g.model[0].weight) and not torch.equal(d0, d[1].weight)
    assert all(p.requires_grad for p in d.parameters())


def test_ema_closed_form_and_state_dict():
    src = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = ExponentialMovingAverage(src, momentum=0.25)
    values = []
    for i in range(4):
        with torch.no_grad():
            src[0].weight.fill_(float(i + 1))
            src[1].running_mean.fill_(float(10 * i))
        ema.update_parameters(src)
        values.append(float(i + 1))
    expected = values[0]  # first update copies; then avg = 0.75 * avg + 0.25 * param
    for v in values[1:]:
        expected = 0.75 * expected + 0.25 * v
    torch.testing.assert_close(ema.module[0].weight, torch.full((2, 2), expected))
    assert torch.equal(ema.module[1].running_mean, src[1].running_mean)  # buffers copied
    sd = ema.state_dict()
    assert 'steps' in sd and int(sd['steps']) == 4
    assert all(k == 'steps' or k.startswith('module.') for k in sd)
    # MMagic checkpoints without the 'module.' level still load
    ema2 = ExponentialMovingAverage(src, momentum=0.25)
    ema2.load_state_dict({k.replace('module.', ''): v for k, v in sd.items()})
    torch.testing.assert_close(ema2.module[0].weight, ema.module[0].weight)
    with pytest.raises(ValueError, match='momentum'):
        ExponentialMovingAverage(src, momentum=1.5)


def test_rampup_ema_beta_closed_form():
    assert RampUpEMA.rampup(0, ema_kimg=10, ema_rampup=0.05, batch_size=4) == \
        pytest.approx(0.5 ** (4 / (4 * 0.05)))
    assert RampUpEMA.rampup(10 ** 6, ema_kimg=10, ema_rampup=0.05, batch_size=4) == \
        pytest.approx(0.5 ** (4 / 10000))


@pytest.fixture
def gloo_world(tmp_path):
    # file store: no TCP port to collide with parallel test runs
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_separate_ddp_wraps_trainable_submodules(gloo_world):
    g = Generator()
    d = nn.Sequential(nn.Flatten(), nn.Linear(16, 1), nn.Sigmoid())
    model = GAN(g, d, ImgDataPreprocessor(mean=[127.5], std=[127.5]))
    wrapped = MMSeparateDistributedDataParallel(model)
    assert is_model_wrapper(wrapped) and wrapped.module is model
    assert is_model_wrapper(model.generator) and is_model_wrapper(model.discriminator)
    assert not is_model_wrapper(model.data_preprocessor)  # no trainable params: not wrapped
    owd = OptimWrapperDict(generator=OptimWrapper(torch.optim.Adam(g.parameters(), lr=1e-3)),
                           discriminator=OptimWrapper(torch.optim.Adam(d.parameters(), lr=1e-3)))
    data = dict(inputs=[torch.randint(0, 256, (1, 4, 4)).float() for _ in range(2)])
    log = wrapped.train_step(data, owd)
    assert torch.isfinite(log['loss'])
    with wrapped.no_sync():
        pass
    # MMDistributedDataParallel: train_step goes through DDP forward and updates the weights
    reg = Regressor()
    w0 = reg.fc.weight.clone()
    ddp = MMDistributedDataParallel(reg)
    log = ddp.train_step(dict(inputs=torch.randn(2, 4), data_samples=torch.randn(2, 1)),
                         OptimWrapper(torch.optim.SGD(reg.parameters(), lr=0.1)))
    assert torch.isfinite(log['loss']) and not torch.equal(w0, reg.fc.weight)
