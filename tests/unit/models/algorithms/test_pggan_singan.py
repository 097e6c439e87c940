"""ProgressiveGrowingGAN / SinGAN / PESinGAN: MMagic layouts from the shipped configs, the
PGGAN schedule, per-scale optimizers, SinGAN pyramid state and errors."""
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import genforge.models  # noqa: F401
import genforge.optim  # noqa: F401
from genforge.config import Config
from genforge.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ROOT = Path(__file__).resolve().parents[4]
REF = ROOT / 'tests' / 'data' / 'state_dicts' / 'mmagic'
LAYOUTS = sorted((REF / 'pggan').glob('*.json')) + sorted((REF / 'singan').glob('*.json')) + \
    sorted((REF / 'positional_encoding_in_gans').glob('singan*.json'))


@pytest.mark.parametrize('ref', LAYOUTS, ids=lambda p: p.stem)
def test_shipped_config_builds_mmagic_layout(ref):
    info = json.loads(ref.read_text())
    cfg = Config.fromfile(str(ROOT / 'configs' / info['config']))
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == info['model_type']
    # SinGAN also carries its noise pyramid as _extra_state (MMagic pickles it separately)
    got = [(k, list(v.shape)) for k, v in model.state_dict().items() if k != '_extra_state']
    assert got == list(info['keys'].items())


TINY = dict(base_channels=64, max_channels=8)


def _pggan(**kw):
    return MODELS.build(dict(
        type='ProgressiveGrowingGAN', data_preprocessor=dict(type='DataPreprocessor'),
        noise_size=8, generator=dict(type='PGGANGenerator', out_scale=16, noise_size=8, **TINY),
        discriminator=dict(type='PGGANDiscriminator', in_scale=16, **TINY), **kw))


def test_pggan_schedule_against_closed_form():
    model = _pggan(nkimgs_per_scale={'4': 1.0, '8': 2.0, '16': 3.0}, transition_kimgs=0.5)
    cases = {0.0: (0, 1.0), 0.99: (0, 1.0), 1.0: (1, 0.0), 1.25: (1, 0.5), 1.6: (1, 1.0),
             3.0: (2, 0.0), 3.1: (2, 0.2), 10.0: (2, 1.0)}
    for shown, (stage, weight) in cases.items():
        assert model.stage_of(shown) == stage
        assert model.transition_weight_of(shown, stage) == pytest.approx(weight)


def test_pggan_scale_errors_name_the_key():
    with pytest.raises(ValueError, match="nkimgs_per_scale key '32'=32 is outside"):
        _pggan(nkimgs_per_scale={'4': 1, '32': 1})
    with pytest.raises(ValueError, match='must increase'):
        _pggan(nkimgs_per_scale={'8': 1, '4': 1})
    model = _pggan(nkimgs_per_scale={'4': 1, '8': 1})
    with pytest.raises(ValueError, match=r'curr_scale=16 is outside the schedule.*\[4, 8\]'):
        model(dict(num_batches=1, curr_scale=16, sample_model='orig'))
    assert model(dict(num_batches=2, curr_scale=4))[0].fake_img.shape == (3, 4, 4)


def test_pggan_optimizers_per_scale():
    model = _pggan(nkimgs_per_scale={'4': 1, '8': 1, '16': 1})
    adam = dict(optimizer=dict(type='Adam', lr=0.001, betas=(0., 0.99)))
    build = OPTIM_WRAPPER_CONSTRUCTORS.get('PGGANOptimWrapperConstructor')
    wrappers = build(dict(generator=adam, discriminator=adam,
                          lr_schedule=dict(generator={'16': 0.003})))(model)
    assert sorted(wrappers.keys()) == sorted(f'{n}_{s}' for n in ('generator', 'discriminator')
                                             for s in (4, 8, 16))
    assert wrappers['generator_16'].param_groups[0]['lr'] == 0.003
    assert wrappers['generator_8'].param_groups[0]['lr'] == 0.001
    assert wrappers['discriminator_16'].param_groups[0]['lr'] == 0.001
    assert wrappers['generator_4'].optimizer is not wrappers['generator_8'].optimizer
    shared = build(dict(generator=adam, discriminator=adam,
                        reset_optim_for_new_scale=False))(model)
    assert shared['generator_4'] is shared['generator_16']
    with pytest.raises(ValueError, match='paramwise_cfg'):
        build(dict(generator=adam), paramwise_cfg=dict(norm_decay_mult=0.))


SG = dict(in_channels=3, num_scales=2, base_channels=8, min_feat_channels=8, num_layers=3)


def _singan(type_='SinGAN', gen_type='SinGANMultiScaleGenerator', **kw):
    return MODELS.build(dict(
        type=type_, data_preprocessor=dict(type='DataPreprocessor',
                                           non_image_keys=['input_sample']),
        generator=dict(type=gen_type, out_channels=3, **SG),
        discriminator=dict(type='SinGANMultiScaleDiscriminator', **SG), num_scales=2,
        iters_per_scale=1, **kw))


def _pyramid():
    torch.manual_seed(0)
    return {f'real_scale{i}': torch.rand(1, 3, 6 + 2 * i, 7 + 2 * i) * 2 - 1 for i in range(3)}


def test_singan_state_round_trips_through_state_dict_and_pickle(tmp_path):
    model = _singan()
    model._set_reals(_pyramid())
    model.curr_stage, model.noise_weights = 2, [1, 0.2, 0.3]
    other = _singan()
    other.load_state_dict(model.state_dict(), strict=True)
    assert other.curr_stage == 2 and other.noise_weights == [1, 0.2, 0.3]
    for a, b in zip(model.fixed_noises, other.fixed_noises):
        assert torch.equal(a, b)
    # MMagic's layout (no _extra_state) still loads strictly; the pyramid comes from its pickle
    mmagic_sd = {k: v for k, v in model.state_dict().items() if k != '_extra_state'}
    fresh = _singan(test_pkl_data=str(tmp_path / 'p.pkl'))
    fresh.load_state_dict(mmagic_sd, strict=True)
    with open(tmp_path / 'p.pkl', 'wb') as f:
        pickle.dump(dict(fixed_noises=[n.numpy() for n in model.fixed_noises],
                         noise_weights=[1, 0.2, 0.3], curr_stage=2), f)
    torch.manual_seed(3)
    ref = model(dict(mode='recon'))[0].fake_img
    torch.manual_seed(3)
    torch.testing.assert_close(fresh(dict(mode='recon'))[0].fake_img, ref)


def test_singan_arbitrary_output_size_and_errors():
    model = _singan()
    with pytest.raises(RuntimeError, match='test_pkl_data'):
        model(dict(num_batches=1))
    model._set_reals(_pyramid())
    model.curr_stage, model.noise_weights = 2, [1, 0.2, 0.3]
    out = model(dict(num_batches=2, output_size=(20, 33)))
    assert len(out) == 2 and out[0].fake_img.shape == (3, 20, 33)
    with pytest.raises(ValueError, match="output_size needs mode='rand'"):
        model(dict(mode='recon', output_size=(20, 33)))
    bad = _pyramid()
    bad.pop('real_scale2')
    with pytest.raises(ValueError, match=r'levels \[0, 1\] but model.num_scales=2'):
        _singan()._set_reals(bad)


def test_pe_singan_fixed_noises_with_padding_and_channels():
    model = _singan('PESinGAN', 'SinGANMSGeneratorPE', fixed_noise_with_pad=True,
                    first_fixed_noises_ch=2)
    model._set_reals(_pyramid())
    pad = model.generator.pad_head
    shapes = [tuple(n.shape) for n in model.fixed_noises]
    assert shapes == [(1, 2, 6 + 2 * pad, 7 + 2 * pad), (1, 1, 8 + 2 * pad, 9 + 2 * pad),
                      (1, 1, 10 + 2 * pad, 11 + 2 * pad)]
    assert np.count_nonzero(model.fixed_noises[1].numpy()) == 0
