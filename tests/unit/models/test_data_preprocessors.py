"""Preprocessors vs manual numpy normalisation, flipping and padding."""
import numpy as np
import pytest
import torch

from genforge.models import DataPreprocessor, ImgDataPreprocessor
from genforge.registry import MODELS
from genforge.structures import DataSample


def _imgs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, s).astype(np.uint8) for s in shapes]


def test_img_preprocessor_seed_002_single_channel():
    pre = ImgDataPreprocessor(mean=[127.5], std=[127.5])
    arrs = _imgs([(1, 6, 6)] * 2)
    out = pre(dict(inputs=[torch.from_numpy(a) for a in arrs]))
    expected = (np.stack(arrs).astype(np.float32) - 127.5) / 127.5
    np.testing.assert_allclose(out['inputs'].numpy(), expected, rtol=1e-6)
    assert out['data_samples'] is None and out['inputs'].dtype == torch.float32


def test_img_preprocessor_bgr_to_rgb_and_padding():
    mean, std = [10., 20., 30.], [2., 4., 8.]
    pre = ImgDataPreprocessor(mean=mean, std=std, bgr_to_rgb=True, pad_size_divisor=4,
                              pad_value=-1)
    arrs = _imgs([(3, 5, 6), (3, 7, 3)])
    out = pre(dict(inputs=[torch.from_numpy(a) for a in arrs]))['inputs']
    assert out.shape == (2, 3, 8, 8)
    for a, o in zip(arrs, out):
        ref = (a[::-1].astype(np.float32) - np.array(mean)[:, None, None]) / \
            np.array(std)[:, None, None]
        h, w = a.shape[1:]
        np.testing.assert_allclose(o[:, :h, :w].numpy(), ref, rtol=1e-6)
        assert (o[:, h:, :] == -1).all() and (o[:, :, w:] == -1).all()


def test_gan_preprocessor_dict_inputs_noise_passthrough_and_samples():
    pre = MODELS.build(dict(type='GANDataPreprocessor'))
    assert isinstance(pre, DataPreprocessor)
    arrs = _imgs([(3, 4, 4)] * 2)
    noise = torch.randn(2, 8)
    samples = [DataSample(gt_img=torch.from_numpy(a).float()) for a in arrs]
    out = pre(dict(inputs=dict(img=[torch.from_numpy(a) for a in arrs], noise=[n for n in noise],
                               num_batches=[2, 2]), data_samples=samples), training=True)
    expected = (np.stack(arrs).astype(np.float32) - 127.5) / 127.5
    np.testing.assert_allclose(out['inputs']['img'].numpy(), expected, rtol=1e-6)
    assert torch.equal(out['inputs']['noise'], noise) and out['inputs']['num_batches'] == 2
    ds = out['data_samples']
    assert isinstance(ds, DataSample) and len(ds) == 2
    np.testing.assert_allclose(ds.gt_img.numpy(), expected, rtol=1e-6)  # normalised in training
    # evaluation: data_samples stay in [0, 255]
    samples = [DataSample(gt_img=torch.from_numpy(a).float()) for a in arrs]
    out = pre(dict(inputs=torch.from_numpy(np.stack(arrs)), data_samples=samples))
    np.testing.assert_allclose(out['data_samples'].gt_img.numpy(), np.stack(arrs))


def test_output_channel_order_and_destruct_roundtrip():
    pre = DataPreprocessor(mean=[0., 0., 0.], std=[255., 255., 255.], output_channel_order='RGB',
                           pad_size_divisor=8)
    arrs = _imgs([(3, 5, 6)] * 2)
    batch = torch.from_numpy(np.stack(arrs))
    out = pre(dict(inputs=batch))
    x, ds = out['inputs'], out['data_samples']
    assert x.shape == (2, 3, 8, 8)
    np.testing.assert_allclose(x[:, :, :5, :6].numpy(),
                               np.stack(arrs)[:, ::-1].astype(np.float32) / 255., rtol=1e-6)
    back = pre.destruct(x, ds)  # de-normalise, back to BGR, un-pad
    assert back.shape == (2, 3, 5, 6)
    np.testing.assert_allclose(back.numpy(), np.stack(arrs).astype(np.float32), atol=1e-4)


def test_bad_inputs_name_the_problem():
    with pytest.raises(TypeError, match="data\\['inputs'\\]"):
        DataPreprocessor()(dict(inputs='nope'))
    with pytest.raises(ValueError, match='output_channel_order'):
        DataPreprocessor(output_channel_order='rgb')
