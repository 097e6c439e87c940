"""GenValLoop/GenTestLoop with a tiny DCGAN, FID (random-weight Inception) and SWD."""
import math

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import genforge.models  # noqa: F401  (registers DCGAN)
from genforge.datasets.collate import pseudo_collate
from genforge.evaluation.evaluator import Evaluator
from genforge.evaluation.inception import InceptionV3FID
from genforge.message_hub import MessageHub
from genforge.registry import LOOPS, MODELS
from genforge.runner.build import build_evaluator
from genforge.structures import DataSample


class _Imgs(Dataset):
    def __init__(self, n=8):
        g = torch.Generator().manual_seed(0)
        self.imgs = torch.randint(0, 256, (n, 3, 16, 16), generator=g, dtype=torch.uint8)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=dict(img=self.imgs[i]), data_samples=DataSample(gt_img=self.imgs[i]))


class _Runner:
    """The parts of Runner a loop uses (the real Runner is covered by integration tests)."""

    def __init__(self, model):
        self.model = model
        self.message_hub = MessageHub.get_instance('test_gen_loops')
        self.hooks_called = []
        self.metrics = None
        self.build_evaluator = staticmethod(build_evaluator)

    def call_hook(self, name, **kwargs):
        self.hooks_called.append(name)
        if name.endswith('_epoch') and name.startswith('after_'):
            self.metrics = kwargs['metrics']


def _dcgan():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='DCGAN', noise_size=8, data_preprocessor=dict(type='DataPreprocessor'),
        generator=dict(type='DCGANGenerator', output_scale=16, base_channels=16, noise_size=8),
        discriminator=dict(type='DCGANDiscriminator', input_scale=16, output_scale=4,
                           out_channels=1, base_channels=8)))


def test_gen_val_loop_runs_fid_and_swd(tmp_path):
    path = tmp_path / 'random_inception.pth'
    torch.save(InceptionV3FID().state_dict(), path)  # test-only weights
    model = _dcgan()
    model.train()
    runner = _Runner(model)
    evaluator = dict(type='GenEvaluator', metrics=[
        dict(type='FrechetInceptionDistance', prefix='FID-Full-50k', fake_nums=3, real_nums=4,
             inception_style='PyTorch', inception_path=str(path), sample_model='orig'),
        dict(type='SWD', prefix='SWD', fake_nums=4, image_shape=(3, 16, 16),
             sample_model='orig')])
    loader = DataLoader(_Imgs(4), batch_size=2, collate_fn=pseudo_collate)
    loop = LOOPS.build(dict(type='GenValLoop'), default_args=dict(
        runner=runner, dataloader=loader, evaluator=evaluator))
    metrics = loop.run()
    assert set(metrics) == {'FID-Full-50k/fid', 'FID-Full-50k/mean', 'FID-Full-50k/cov',
                            'SWD/16', 'SWD/avg'}
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics['SWD/avg'] > 0 and metrics['FID-Full-50k/fid'] >= 0
    assert runner.metrics == metrics and model.training  # train mode restored
    protocols = runner.message_hub.get_info('eval_protocols')
    assert protocols['FID-Full-50k'].startswith('fid@inception=custom-')
    assert 'fake=3' in protocols['FID-Full-50k'] and 'real=' in protocols['FID-Full-50k']
    # 3 fakes in batches of 2: 2 generation steps (2 + 1); SWD: 2 real batches
    assert runner.hooks_called.count('before_val_iter') == 4
    assert runner.hooks_called[:2] == ['before_val', 'before_val_epoch']


def test_gen_test_loop_uses_test_hooks_and_ms_ssim():
    model = _dcgan()
    runner = _Runner(model)
    evaluator = Evaluator([dict(type='MS_SSIM', prefix='MS', fake_nums=4,
                                sample_model='orig')])
    loader = DataLoader(_Imgs(4), batch_size=2, collate_fn=pseudo_collate)
    loop = LOOPS.build(dict(type='GenTestLoop'), default_args=dict(
        runner=runner, dataloader=loader, evaluator=evaluator))
    metrics = loop.run()
    assert 0.0 <= metrics['MS/avg'] <= 1.0
    assert runner.hooks_called[0] == 'before_test' and runner.hooks_called[-1] == 'after_test'


def test_fid_through_the_loop_equals_numpy_scipy_on_the_same_features(tmp_path):
    """FID from ValLoop + FrechetInceptionDistance == numpy mean/cov + scipy.linalg.sqrtm on
    features from a separate call of the same (random-weight) Inception network."""
    import numpy as np
    from scipy import linalg

    from genforge.evaluation.inception import quantize_uint8
    torch.manual_seed(1)
    net = InceptionV3FID().eval()
    for m in net.modules():  # variance-preserving init: the default one shrinks pool3 to ~1e-8
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
    path = tmp_path / 'random_inception.pth'
    torch.save(net.state_dict(), path)
    model = _dcgan()
    fakes = []
    val_step = model.val_step

    def recording_val_step(data):  # keep what the loop generated for the second path
        out = val_step(data)
        fakes.extend(s.get('fake_img').detach().clone() for s in out)
        return out

    model.val_step = recording_val_step
    evaluator = dict(type='GenEvaluator', metrics=[dict(
        type='FrechetInceptionDistance', prefix='FID', fake_nums=3, real_nums=3,
        inception_style='PyTorch', inception_path=str(path), sample_model='orig')])
    dataset = _Imgs(3)
    loop = LOOPS.build(dict(type='ValLoop'), default_args=dict(
        runner=_Runner(model), dataloader=DataLoader(dataset, batch_size=2,
                                                     collate_fn=pseudo_collate),
        evaluator=evaluator))
    metrics = loop.run()
    assert len(fakes) == 3  # generation batches of 2 and 1

    def feats(bgr):  # BGR [0, 255] -> RGB integers -> pool3, an independent forward call
        with torch.no_grad():
            return net(quantize_uint8(bgr.float().flip(1)))[0].double().numpy()

    f_fake = feats(torch.stack(fakes))
    f_real = feats(dataset.imgs)
    mu1, mu2 = f_fake.mean(0), f_real.mean(0)
    s1, s2 = np.cov(f_fake, rowvar=False), np.cov(f_real, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    mean_term = float(((mu1 - mu2) ** 2).sum())
    ref = mean_term + float(np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    assert metrics['FID/fid'] == pytest.approx(ref, rel=1e-6)
    assert metrics['FID/mean'] == pytest.approx(mean_term, rel=1e-6)
    assert metrics['FID/fid'] > 0.1  # a non-trivial value (random images, random network)
