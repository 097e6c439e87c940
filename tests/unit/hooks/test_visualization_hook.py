"""VisualizationHook's vis modes (MMagic's GAN / Noise / Translation / TranslationVal / SinGAN /
Arguments) against a real DCGAN and tiny stand-ins with MMagic's translation / SinGAN interface."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from genforge.hooks import VisualizationHook
from genforge.registry import MODELS
from genforge.structures import DataSample
from genforge.visualization import Visualizer


class _Recorder(Visualizer):
    """The real grid writer, plus a record of every call."""

    def __init__(self, save_dir):
        super().__init__(name=f'rec-{id(self)}', save_dir=str(save_dir),
                         vis_backends=[dict(type='LocalVisBackend')])
        self.calls = []

    def add_datasample(self, name, **kwargs):
        self.calls.append(dict(kwargs, name=name))
        return super().add_datasample(name, **kwargs)


class _Pairs(Dataset):
    """Domain a images whose value is the index (+ offset), MMagic's unpaired layout."""

    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        img = torch.full((3, 8, 8), float(i + self.offset))
        return dict(inputs=dict(img_a=img, img_b=img + 100), data_samples=DataSample())


class _TinyTranslation(nn.Module):
    """MMagic's translation interface: ``val_step(batch)`` with ``inputs`` a dict of domain
    images; ``forward(img, target_domain)`` translates (here: a 1x1 conv)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.default_domain = 'b'

    def forward(self, img, target_domain=None):
        return self.conv(img)

    def val_step(self, data):
        src = torch.stack(data['inputs']['img_a'])
        fake = self(src, target_domain=self.default_domain)
        return [DataSample(gt_a=a, fake_b=f) for a, f in zip(src, fake)]


class _TinySinGAN(nn.Module):
    """SinGAN's interface: ``mode='rand'`` returns one sample per pyramid scale."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.seen = []

    def val_step(self, data):
        self.seen.append(data['inputs'])
        return [DataSample(fake_img=torch.zeros(3, 4 * 2 ** s, 4 * 2 ** s) * self.w)
                for s in range(3)]


def _runner(model, tmp_path, train_len=10, val_len=7):
    return SimpleNamespace(
        model=model, iter=0, visualizer=_Recorder(tmp_path),
        train_dataloader=SimpleNamespace(batch_size=4, dataset=_Pairs(train_len)),
        val_loop=SimpleNamespace(dataloader=SimpleNamespace(batch_size=4,
                                                            dataset=_Pairs(val_len, 1000))))


def _dcgan():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=8, out_channels=3, base_channels=8),
        discriminator=dict(type='DCGANDiscriminator', input_scale=8, output_scale=4,
                           in_channels=3, out_channels=1, base_channels=8)))


@pytest.mark.parametrize('mode', ['GAN', 'Noise'])
def test_noise_modes_reuse_fixed_noise_and_pass_extra_inputs(mode, tmp_path, monkeypatch):
    model = _dcgan()
    seen = []
    val_step = model.val_step
    monkeypatch.setattr(model, 'val_step', lambda data: (seen.append(data), val_step(data))[1])
    runner = _runner(model, tmp_path)
    hook = VisualizationHook(vis_kwargs_list=dict(type=mode, sample_model='orig'), n_samples=6)
    hook.vis_sample(runner, step=1)
    hook.vis_sample(runner, step=2)
    first, second = runner.visualizer.calls
    assert first['name'] == mode.lower() and first['target_keys'] == ['fake_img']
    assert len(first['gen_samples']) == 6 and first['n_row'] == 6
    assert len(seen) == 4  # ceil(6 / train batch 4) calls, twice
    assert all(d['inputs']['sample_model'] == 'orig' and d['inputs']['num_batches'] == 4
               for d in seen)
    for a, b in zip(first['gen_samples'], second['gen_samples']):
        assert torch.equal(a.fake_img, b.fake_img)  # fixed_input: the same noise every time
    assert torch.equal(seen[0]['inputs']['noise'], seen[2]['inputs']['noise'])
    assert list((tmp_path / 'vis_image').glob(f'{mode.lower()}_*.png'))


def test_noise_without_fixed_input_draws_new_noise(tmp_path):
    runner = _runner(_dcgan(), tmp_path)
    hook = VisualizationHook(vis_kwargs_list=dict(type='Noise', fixed_input=False), n_samples=4)
    hook.vis_sample(runner, step=1)
    hook.vis_sample(runner, step=2)
    first, second = runner.visualizer.calls
    assert not torch.equal(first['gen_samples'][0].fake_img, second['gen_samples'][0].fake_img)


def test_translation_modes_read_train_and_val_batches(tmp_path):
    runner = _runner(_TinyTranslation(), tmp_path)
    hook = VisualizationHook(n_samples=6, vis_kwargs_list=[
        dict(type='Translation'), dict(type='TranslationVal', name='val', fixed_input=False)])
    hook.vis_sample(runner, step=1)
    hook.vis_sample(runner, step=2)
    train1, val1, train2, val2 = runner.visualizer.calls
    assert [c['name'] for c in (train1, val1)] == ['translation', 'val']
    assert train1['target_keys'] == ['gt_a', 'fake_b']  # every image field of the outputs
    values = [[float(s.gt_a[0, 0, 0]) for s in c['gen_samples']]
              for c in (train1, val1, train2, val2)]
    assert values[0] == values[2] == [0, 1, 2, 3, 4, 5]  # fixed_input: the same images again
    assert values[1] == [1000, 1001, 1002, 1003, 1004, 1005]
    # not fixed: a new sampler over the (unshuffled) validation set, as MMagic builds one
    assert values[3] == values[1]
    expected = runner.model(torch.stack([s.gt_a for s in train1['gen_samples']]))
    assert torch.allclose(torch.stack([s.fake_b for s in train1['gen_samples']]), expected)


def test_singan_mode_calls_rand_and_keeps_all_scales(tmp_path):
    model = _TinySinGAN()
    runner = _runner(model, tmp_path)
    hook = VisualizationHook(vis_kwargs_list=dict(type='SinGAN', target_keys='fake_img',
                                                  n_row=None), n_samples=2)
    hook.vis_sample(runner, step=1)
    assert model.seen == [dict(mode='rand', num_batches=4)]
    (call,) = runner.visualizer.calls
    assert call['name'] == 'singan' and len(call['gen_samples']) == 3  # one call, 3 scales
    assert call['n_row'] is None


def test_arguments_mode_passes_forward_kwargs(tmp_path):
    model = _TinySinGAN()
    runner = _runner(model, tmp_path)
    hook = VisualizationHook(vis_kwargs_list=dict(
        type='Arguments', name='args', forward_kwargs=dict(mode='recon', num_batches=1),
        target_keys=['fake_img'], n_samples=1))
    hook.vis_sample(runner, step=1)
    assert model.seen == [dict(mode='recon', num_batches=1)]
    with pytest.raises(KeyError, match='forward_kwargs'):
        VisualizationHook(vis_kwargs_list=dict(type='Arguments')).vis_sample(runner, step=2)


def test_unknown_vis_type_names_the_supported_ones():
    with pytest.raises(ValueError, match=r"type='Video'.*'SinGAN'.*'Translation'.*'Noise'.*'Arguments'"):
        VisualizationHook(vis_kwargs_list=[dict(type='GAN'), dict(type='Video')])


def test_grids_are_saved_as_images(tmp_path):
    runner = _runner(_TinyTranslation(), tmp_path)
    VisualizationHook(vis_kwargs_list=dict(type='TranslationVal'), n_samples=4,
                      n_row=2).vis_sample(runner, step=3)
    (png,) = (tmp_path / 'vis_image').glob('translationval_*3*.png')
    from PIL import Image
    img = np.asarray(Image.open(png))
    assert img.ndim == 3 and img.shape[0] > img.shape[1]  # 2 keys x 4 samples, 2 per row


def test_noise_ema_orig_rows_with_mmagic_target_keys(tmp_path):
    """The BigGAN configs' entry: sample_model='ema/orig', target_keys=['ema', 'orig']."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
        ema_config=dict(interval=1, momentum=0.5),
        generator=dict(type='DCGANGenerator', output_scale=8, out_channels=3, base_channels=8),
        discriminator=dict(type='DCGANDiscriminator', input_scale=8, output_scale=4,
                           in_channels=3, out_channels=1, base_channels=8)))
    with torch.no_grad():  # make EMA and original generators differ
        for p in model.generator_ema.parameters():
            p.add_(0.5)
    runner = _runner(model, tmp_path)
    hook = VisualizationHook(n_samples=4, n_row=4, vis_kwargs_list=dict(
        type='Noise', name='fake_img', sample_model='ema/orig', target_keys=['ema', 'orig']))
    hook.vis_sample(runner, step=1)
    (call,) = runner.visualizer.calls
    samples = call['gen_samples']
    assert not torch.equal(samples[0].ema.fake_img, samples[0].orig.fake_img)
    (png,) = (tmp_path / 'vis_image').glob('fake_img_*.png')
    from PIL import Image
    h, w = np.asarray(Image.open(png)).shape[:2]
    assert (h, w) == (2 * 8 + 3 * 2, 4 * 8 + 5 * 2)  # 2 rows (ema, orig) x 4, padding 2
