"""PackInputs (MMagic + MMPretrain argument sets), PackGenInputs, ToTensor, ImageToTensor."""
import numpy as np
import pytest
import torch

from genforge.datasets.transforms import ImageToTensor, PackGenInputs, PackInputs, ToTensor
from genforge.structures import DataSample


def _img(h=4, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


def test_pack_inputs_mmagic_mapping():
    img, gt = _img(), _img(seed=1)
    out = PackInputs()(dict(img=img, gt=gt, img_path='a.png', gt_path='b.png', ori_gt_shape=gt.shape,
                            sample_idx=3, unrelated=1))
    assert torch.equal(out['inputs'], torch.from_numpy(img).permute(2, 0, 1))
    ds = out['data_samples']
    assert isinstance(ds, DataSample)
    assert torch.equal(ds.gt_img, torch.from_numpy(gt).permute(2, 0, 1))
    assert ds.metainfo['img_path'] == 'a.png' and ds.metainfo['gt_path'] == 'b.png'
    assert ds.metainfo['sample_idx'] == 3 and 'unrelated' not in ds.all_keys()
    # GAN (MMagic 1.2): only 'gt' loaded -> empty inputs, image in data_samples.gt_img
    gan = PackInputs()(dict(gt=gt))
    assert gan['inputs'] == {} and gan['data_samples'].gt_img.shape == (3, 4, 5)
    both = PackInputs(keys=['img', 'extra'], data_keys=['flow'])(dict(img=img, extra=img[..., :1],
                                                                    flow=np.ones((2, 2))))
    assert set(both['inputs']) == {'img', 'extra'} and both['inputs']['extra'].shape == (1, 4, 5)
    assert torch.equal(both['data_samples'].flow, torch.ones(1, 2, 2, dtype=torch.float64))


def test_pack_inputs_mmpretrain_args():
    img = _img()
    out = PackInputs(input_key='img', algorithm_keys=['mask'], meta_keys=['img_path', 'flip'])(
        dict(img=img, gt_label=4, gt_score=[0.1, 0.9], mask=np.zeros(3), img_path='p.jpg', flip=True))
    ds = out['data_samples']
    assert out['inputs'].shape == (3, 4, 5)
    assert ds.gt_label.tolist() == [4] and torch.allclose(ds.gt_score, torch.tensor([0.1, 0.9]))
    assert isinstance(ds.mask, np.ndarray)  # algorithm keys are stored as they are
    assert ds.metainfo['flip'] is True
    gray = PackInputs(input_key='img')(dict(img=_img()[..., 0]))
    assert gray['inputs'].shape == (1, 4, 5)
    with pytest.raises(KeyError, match="input_key='img'"):
        PackInputs(input_key='img')(dict(gt=img))


def test_pack_gen_inputs_mmgen():
    img = _img()
    out = PackGenInputs(keys=['img'], meta_keys=['img_path'])(dict(img=img, img_path='x.png', gt_label=2))
    assert torch.equal(out['inputs']['img'], torch.from_numpy(img).permute(2, 0, 1))
    assert out['data_samples'].metainfo == dict(img_path='x.png')
    assert out['data_samples'].gt_label.tolist() == [2]
    with pytest.raises(KeyError, match=r"meta_keys \['gt_path'\]"):
        PackGenInputs(meta_keys=['gt_path'])(dict(img=img))


def test_to_tensor_and_image_to_tensor():
    img = _img()
    out = ToTensor(keys=['img', 'n'])(dict(img=img, n=3))
    assert out['img'].shape == (4, 5, 3) and out['n'].item() == 3
    out = ImageToTensor(keys='img')(dict(img=img))
    assert torch.equal(out['img'], torch.from_numpy(img).permute(2, 0, 1))
