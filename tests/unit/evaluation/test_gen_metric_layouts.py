"""Generative metrics read real images from both packing layouts, and fake_nums=-1 means the
evaluation dataset's length (issue 22)."""
from __future__ import annotations

import logging

import pytest
import torch
from _metric_stubs import PreprocessorOnlyModel  # tests/unit/evaluation/_metric_stubs.py
from torch.utils.data import DataLoader, Dataset

from genforge.datasets.collate import pseudo_collate
from genforge.datasets.transforms import PackGenInputs, PackInputs
from genforge.evaluation.metrics.ms_ssim import MultiScaleStructureSimilarity
from genforge.evaluation.metrics.swd import SlicedWassersteinDistance


class _Packed(Dataset):
    """The same uint8 HWC images packed by PackInputs (MMagic) or PackGenInputs (MMGen 1.x)."""

    def __init__(self, pack, n=6, size=16):
        g = torch.Generator().manual_seed(0)
        self.imgs = torch.randint(0, 256, (n, size, size, 3), generator=g, dtype=torch.uint8)
        self.pack = pack

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return self.pack(dict(img=self.imgs[i].numpy(), gt=self.imgs[i].numpy(),
                              img_path=f'{i}.png'))


def _reals(metric, dataset):
    loader = DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate)
    metric.prepare(PreprocessorOnlyModel(), loader)
    return torch.cat([torch.stack(metric.real_images(b)) for b in loader])


def test_real_images_from_packgeninputs_without_setting_real_key(caplog):
    expected = _Packed(None).imgs.permute(0, 3, 1, 2).float()  # (N, H, W, C) -> (N, C, H, W)
    gen_layout = _Packed(PackGenInputs(keys=['img'], meta_keys=['img_path']))
    swd = SlicedWassersteinDistance(fake_nums=6, image_shape=(3, 16, 16), sample_model='orig')
    with caplog.at_level(logging.INFO, 'genforge.evaluation.metrics.base_gen_metric'):
        got = _reals(swd, gen_layout)
    assert torch.equal(got, expected)
    assert "inputs['img']" in caplog.text and "real_key='gt_img'" in caplog.text


def test_real_images_of_both_layouts_agree():
    def pack_gt(results):  # MMagic's GAN datasets: the real image on the sample as gt_img
        return PackInputs(keys=['img'])(dict(results, gt_img=results['img']))
    a = _reals(SlicedWassersteinDistance(fake_nums=6, image_shape=(3, 16, 16)), _Packed(pack_gt))
    b = _reals(SlicedWassersteinDistance(fake_nums=6, image_shape=(3, 16, 16)),
               _Packed(PackGenInputs(keys=['img'])))
    assert torch.equal(a, b)


def test_explicit_real_key_is_not_replaced():
    metric = SlicedWassersteinDistance(fake_nums=6, image_shape=(3, 16, 16), real_key='img_a')
    with pytest.raises(KeyError, match="real_key='img_a'"):
        _reals(metric, _Packed(PackGenInputs(keys=['img'])))


@pytest.mark.parametrize('metric_cls', ['swd', 'ms_ssim'])
def test_fake_nums_minus_one_is_the_dataset_length(metric_cls):
    dataset = _Packed(PackGenInputs(keys=['img']), n=6)
    loader = DataLoader(dataset, batch_size=4, collate_fn=pseudo_collate)
    if metric_cls == 'swd':
        metric = SlicedWassersteinDistance(fake_nums=-1, image_shape=(3, 16, 16),
                                           sample_model='orig', prefix='swd')
    else:
        metric = MultiScaleStructureSimilarity(fake_nums=-1, sample_model='orig', prefix='ms')
    metric.prepare(PreprocessorOnlyModel(), loader)
    assert metric.fake_nums == len(dataset) == 6
    fakes = [dict(fake_img=t.permute(2, 0, 1).float()) for t in dataset.imgs]
    for start in range(0, 6, 4):
        batch = pseudo_collate([dataset[i] for i in range(start, min(start + 4, 6))])
        metric.process(batch, fakes[start:start + 4])
    res = metric.evaluate()
    if metric_cls == 'swd':
        # identical pairs -> 0; all 6 pairs were used (not 0, not 4)
        assert res['swd/avg'] == pytest.approx(0.0, abs=1e-9)
    else:
        assert 'ms/avg' in res
    assert len(fakes) == metric.fake_nums
