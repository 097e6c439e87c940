"""PSNR/SSIM/MAE/MSE against scikit-image / NumPy, and the metric classes' data plumbing."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from genforge.evaluation import Evaluator
from genforge.evaluation.functional import psnr, ssim
from genforge.registry import METRICS
from genforge.structures import DataSample


def _pair(seed=0, shape=(40, 37, 3), noise=12.):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, shape).astype(np.uint8)
    b = np.clip(a + rng.normal(0, noise, shape), 0, 255).astype(np.uint8)
    return a, b


def _y_rgb(img):  # BT.601 studio-swing luma, written out independently
    img = img.astype(np.float64)
    return 16. + (65.481 * img[..., 0] + 128.553 * img[..., 1] + 24.966 * img[..., 2]) / 255.


def _sk_ssim(a, b, **kw):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255, **kw)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_y_channel_equals_skimage(seed):
    a, b = _pair(seed)
    ya, yb = _y_rgb(a), _y_rgb(b)
    assert abs(psnr(a, b, convert_to='Y') - peak_signal_noise_ratio(ya, yb, data_range=255)) \
        < 1e-4
    assert abs(ssim(a, b, convert_to='Y') - _sk_ssim(ya, yb)) < 1e-4


def test_rgb_crop_and_order_equal_skimage():
    a, b = _pair(3, (30, 34, 3))
    c = 4
    ac, bc = a[c:-c, c:-c].astype(np.float64), b[c:-c, c:-c].astype(np.float64)
    assert abs(ssim(a, b, crop_border=c) - _sk_ssim(ac, bc, channel_axis=2)) < 1e-4
    assert abs(psnr(a, b, crop_border=c) - peak_signal_noise_ratio(ac, bc, data_range=255)) < 1e-4
    # CHW input and BGR channel order give the same numbers
    chw = lambda x: x.transpose(2, 0, 1)  # noqa: E731
    assert psnr(chw(a), chw(b), input_order='CHW', convert_to='Y') == \
        pytest.approx(psnr(a, b, convert_to='Y'))
    assert ssim(a[..., ::-1], b[..., ::-1], convert_to='Y', channel_order='bgr') == \
        pytest.approx(ssim(a, b, convert_to='Y'), abs=1e-10)


def test_identical_and_errors():
    a, _ = _pair()
    assert psnr(a, a) == float('inf')
    assert ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='shapes are different'):
        psnr(a, a[:-1])
    with pytest.raises(ValueError, match="convert_to='YCbCr'"):
        psnr(a, a, convert_to='YCbCr')
    with pytest.raises(ValueError, match='input_order'):
        ssim(a, a, input_order='NHWC')


def _samples(pairs):
    """What BaseEditModel.predict returns: gt_img and output.pred_img, (C, H, W) BGR floats."""
    out = []
    for a, b in pairs:
        gt = torch.from_numpy(a[..., ::-1].transpose(2, 0, 1).copy()).float()
        pred = torch.from_numpy(b[..., ::-1].transpose(2, 0, 1).copy()).float()
        s = DataSample(gt_img=gt)
        s.output = DataSample(pred_img=pred)
        out.append(s)
    return out


def test_metric_classes_average_over_images_with_prefix():
    pairs = [_pair(s, (24, 20, 3)) for s in range(3)]
    ev = Evaluator([dict(type='PSNR', crop_border=2, convert_to='Y', prefix='Set5'),
                    dict(type='SSIM', crop_border=2, convert_to='Y', prefix='Set5'),
                    dict(type='MAE'), dict(type='MSE', scaling=100)])
    ev.process(_samples(pairs[:2]))
    ev.process([s.to_dict() for s in _samples(pairs[2:])])  # dict samples work too
    res = ev.evaluate(3)
    ys = [(_y_rgb(a)[2:-2, 2:-2], _y_rgb(b)[2:-2, 2:-2]) for a, b in pairs]
    assert res['Set5/PSNR'] == pytest.approx(
        np.mean([peak_signal_noise_ratio(x, y, data_range=255) for x, y in ys]), abs=1e-4)
    assert res['Set5/SSIM'] == pytest.approx(np.mean([_sk_ssim(x, y) for x, y in ys]), abs=1e-4)
    f = [(a / 255., b / 255.) for a, b in pairs]
    assert res['MAE'] == pytest.approx(np.mean([np.abs(x - y).mean() for x, y in f]))
    assert res['MSE'] == pytest.approx(100 * np.mean([((x - y) ** 2).mean() for x, y in f]))


def test_mae_mask_and_missing_key_message():
    gt = torch.zeros(3, 4, 4)
    pred = torch.full((3, 4, 4), 51.)  # 0.2 after /255
    pred[:, :2] = 255.
    mask = torch.zeros(1, 4, 4)
    mask[:, 2:] = 1
    metric = METRICS.build(dict(type='MAE', mask_key='mask'))
    metric.process(None, [dict(gt_img=gt, mask=mask, output=dict(pred_img=pred))])
    assert metric.compute_metrics(metric.results)['MAE'] == pytest.approx(0.2)
    with pytest.raises(KeyError, match='pred_img'):
        metric.process(None, [dict(gt_img=gt, mask=mask)])


def test_video_samples_average_frames():
    a, b = _pair(5, (16, 16, 3))
    a2, b2 = _pair(6, (16, 16, 3))
    t = lambda x: torch.from_numpy(x.transpose(2, 0, 1).copy()).float()  # noqa: E731
    metric = METRICS.build(dict(type='PSNR'))
    metric.process(None, [dict(gt_img=torch.stack([t(a), t(a2)]),
                               pred_img=torch.stack([t(b), t(b2)]))])
    expected = np.mean([psnr(a, b), psnr(a2, b2)])
    assert metric.compute_metrics(metric.results)['PSNR'] == pytest.approx(expected)
