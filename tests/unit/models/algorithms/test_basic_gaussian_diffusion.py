"""BasicGaussianDiffusion: train step, EMA, full/respaced sampling, checkpoints, bad input."""
import copy
import logging

import pytest
import torch

import genforge.models  # noqa: F401
from genforge.optim import OptimWrapper, OptimWrapperDict
from genforge.registry import MODELS
from genforge.structures import DataSample


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Small convs run far faster on one thread than on two busy shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

T = 16
UNET = dict(type='DenoisingUnet', image_size=8, in_channels=1, base_channels=32,
            channels_cfg=[1, 2], resblocks_per_downsample=1, attention_res=[4],
            use_rescale_timesteps=True, use_scale_shift_norm=True)
LOSSES = [dict(type='DDPMVLBLoss', rescale_mode='constant', rescale_cfg=dict(scale=T / 1000),
               log_cfgs=[dict(type='quartile', prefix_name='loss_vlb', total_timesteps=T),
                         dict(type='name')]),
          dict(type='DDPMMSELoss',
               log_cfgs=dict(type='quartile', prefix_name='loss_mse', total_timesteps=T))]
MODEL = dict(type='BasicGaussianDiffusion', num_timesteps=T, betas_cfg=dict(type='cosine'),
             data_preprocessor=dict(type='DataPreprocessor'), denoising=UNET, ddpm_loss=LOSSES,
             timestep_sampler=dict(type='UniformTimeStepSampler'),
             ema_config=dict(momentum=0.5))


def _batch(n=4):
    g = torch.Generator().manual_seed(0)
    return dict(inputs=dict(img=[torch.randint(0, 256, (1, 8, 8), generator=g).float()
                                 for _ in range(n)]),
                data_samples=[DataSample() for _ in range(n)])


def _build(**kw):
    cfg = copy.deepcopy(MODEL)
    cfg.update(kw)
    return MODELS.build(cfg)


def test_train_steps_update_network_and_ema():
    torch.manual_seed(0)
    model = _build()
    wrappers = OptimWrapperDict(denoising=OptimWrapper(
        torch.optim.Adam(model.denoising.parameters(), lr=1e-3)))
    before = copy.deepcopy(model.denoising.state_dict())
    for _ in range(2):
        log_vars = model.train_step(_batch(), wrappers)
    assert torch.isfinite(log_vars['loss'])
    assert log_vars['loss'] == pytest.approx(
        (log_vars['loss_ddpm_vlb'] + log_vars['loss_ddpm_mse']).item())
    assert any(k.startswith('loss_mse_quartile_') for k in log_vars)
    key = 'out.conv.weight'  # zero at init, trained now
    assert torch.count_nonzero(before[key]) == 0
    assert torch.count_nonzero(model.denoising.state_dict()[key]) > 0
    # EMA (momentum 0.5): first update copies, second averages -> between the two
    ema = model.denoising_ema.module.state_dict()[key]
    assert not torch.equal(ema, model.denoising.state_dict()[key])
    assert int(model.denoising_ema.steps) == 2


def test_plain_optim_wrapper_is_accepted():
    model = _build(ema_config=None)
    wrapper = OptimWrapper(torch.optim.SGD(model.denoising.parameters(), lr=0.1))
    assert 'loss' in model.train_step(_batch(2), wrapper)
    assert not model.with_ema


class _Recorder(torch.nn.Module):
    """Wraps the U-Net; records the timesteps it is called with."""

    def __init__(self, net):
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, x_t, t, label=None):
        self.seen.append(t[0].item())
        return self.net(x_t, t, label=label)


def test_full_and_respaced_chains():
    model = _build().eval()
    rec = _Recorder(model.denoising)
    x_T = torch.randn(2, 1, 8, 8)
    out = model.DDPM_sample(rec, x_T)
    assert rec.seen == list(range(T - 1, -1, -1)) and out.shape == x_T.shape
    rec.seen.clear()
    schedule = model.get_schedule(timestep_respacing=4)
    model.DDPM_sample(rec, x_T, schedule=schedule)
    assert rec.seen == [15, 10, 5, 0]  # the network sees original-chain indices
    steps = []
    chain = model.sample_from_noise(x_T, sample_model='orig', timestep_respacing='ddim4',
                                    save_intermedia=True,
                                    progress=lambda done, total: steps.append((done, total)))
    assert sorted(chain) == [0, 4, 8, 12, T] and steps[-1] == (4, 4)


def test_sampling_is_reproducible_with_fixed_step_noise():
    model = _build().eval()
    x_T, z = torch.randn(2, 1, 8, 8), torch.randn(T, 2, 1, 8, 8)
    a = model.sample_from_noise(x_T, sample_model='ema', timesteps_noise=z)
    b = model.sample_from_noise(x_T, sample_model='ema', timesteps_noise=z)
    assert torch.equal(a, b) and a.abs().max() <= 1 + 1e-6
    both = model.sample_from_noise(x_T, sample_model='ema/orig', timesteps_noise=z)
    assert both.shape[0] == 4 and torch.equal(both[:2], a)


def test_val_step_returns_uint8_range_samples():
    model = _build().eval()
    out = model.val_step(dict(inputs=dict(num_batches=3, sample_model='ema',
                                          sample_kwargs=dict(timestep_respacing=2))))
    assert len(out) == 3 and out[0].fake_img.shape == (1, 8, 8)
    assert 0 <= out[0].fake_img.min() and out[0].fake_img.max() <= 255


def test_checkpoint_round_trip_and_num_timesteps_mismatch():
    model = _build()
    state = model.state_dict()
    other = _build()
    other.load_state_dict(state, strict=True)
    # MMGeneration-style state dict (no extra state) still loads strictly
    legacy = {k: v for k, v in state.items() if k != '_extra_state'}
    other.load_state_dict(legacy, strict=True)
    wrong = _build(num_timesteps=8, ddpm_loss=dict(type='DDPMMSELoss'))
    with pytest.raises(ValueError, match='num_timesteps=8 does not match the checkpoint, '
                                         'trained with num_timesteps=16'):
        wrong.load_state_dict(state, strict=False)


def test_bad_inputs(caplog):
    model = _build()
    with pytest.raises(ValueError, match='unconditional'):
        model.sample_from_noise(None, 1, 'orig', label=torch.tensor([1]))
    with pytest.raises(ValueError, match="sample_model='ema' needs an EMA"):
        _build(ema_config=None).sample_from_noise(None, 1, 'ema')
    with pytest.raises(ValueError, match='model.denoising.num_timesteps=1000 disagrees'):
        _build(denoising=dict(UNET, num_timesteps=1000))
    with caplog.at_level(logging.WARNING):
        _build(ddpm_loss=dict(type='DDPMMSELoss'))
    assert 'no loss in model.ddpm_loss trains the variance' in caplog.text


def test_conditional_model_uses_dataset_labels():
    model = _build(num_classes=3)
    batch = _batch(2)
    batch['data_samples'] = [DataSample().set_gt_label(i) for i in (0, 2)]
    wrapper = OptimWrapper(torch.optim.SGD(model.denoising.parameters(), lr=0.1))
    assert torch.isfinite(model.train_step(batch, wrapper)['loss'])
    seen = []
    model.denoising.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append(kwargs['label'].tolist()), with_kwargs=True)
    model.eval().val_step(dict(inputs=dict(num_batches=2, sample_model='orig',
                                           sample_kwargs=dict(timestep_respacing=2)),
                               data_samples=[DataSample().set_gt_label(i) for i in (1, 2)]))
    assert seen == [[1, 2], [1, 2]]  # both steps of the chain see the labels
