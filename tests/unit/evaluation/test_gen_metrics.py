"""Generative metric classes: shared Inception pass, reference stats cache, second-path checks.

The Inception network has random weights (test-only: inception_style='PyTorch' with
inception_path pointing at a state dict saved from a random init).
"""
import pickle

import numpy as np
import pytest
import torch
from _metric_stubs import PreprocessorOnlyModel  # tests/unit/evaluation/_metric_stubs.py
from scipy.special import softmax
from scipy.stats import entropy
from sklearn.neighbors import NearestNeighbors
from torch.utils.data import DataLoader, Dataset

from genforge.datasets.collate import pseudo_collate
from genforge.evaluation.evaluator import Evaluator
from genforge.evaluation.inception import InceptionV3FID, quantize_uint8
from genforge.evaluation.metrics.fid import FrechetInceptionDistance
from genforge.evaluation.metrics.inception_cache import get_inception_extractor
from genforge.evaluation.metrics.inception_score import InceptionScore
from genforge.evaluation.metrics.kid import KernelInceptionDistance
from genforge.evaluation.metrics.ms_ssim import MultiScaleStructureSimilarity
from genforge.evaluation.metrics.precision_recall import PrecisionAndRecall
from genforge.evaluation.metrics.swd import SlicedWassersteinDistance
from genforge.structures import DataSample


class _Imgs(Dataset):
    def __init__(self, n=8, size=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.imgs = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=self.imgs[i], data_samples=DataSample(gt_img=self.imgs[i]))


class _Broken(_Imgs):
    def __getitem__(self, i):
        raise AssertionError('the cached statistics should have been used')


@pytest.fixture(scope='module')
def weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('inc') / 'random_inception.pth'
    torch.save(InceptionV3FID().state_dict(), path)
    net = InceptionV3FID().eval()
    net.load_state_dict(torch.load(path))
    return str(path), net


def _feats(net, bgr):  # second path: flip, quantise, run the network directly
    with torch.no_grad():
        f, _ = net(quantize_uint8(bgr.float().flip(1)))
    return f.double().numpy()


def _fakes(seed, n=4):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 16, 16, generator=g) * 255


def test_inception_metrics_share_one_pass_and_match_second_path(weights, tmp_path):
    path, net = weights
    common = dict(inception_style='PyTorch', inception_path=path, sample_model='orig')
    metrics = [
        KernelInceptionDistance(fake_nums=4, real_nums=4, num_subsets=4, max_subset_size=3,
                                prefix='KID', **common),
        PrecisionAndRecall(fake_nums=4, real_nums=4, k=2, prefix='PR', **common),
        InceptionScore(fake_nums=4, splits=2, use_pillow_resize=False, prefix='IS', **common)]
    evaluator = Evaluator(metrics)
    dataset = _Imgs(n=4)
    loader = DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)
    extractor = get_inception_extractor('PyTorch', path)
    start = extractor.num_forward
    evaluator.prepare_metrics(PreprocessorOnlyModel(), loader)
    assert extractor.num_forward - start == 2  # 4 real images, batch 2, one pass for all
    fakes = [_fakes(1, n=2), _fakes(2, n=2)]
    for batch in fakes:
        evaluator.process([dict(fake_img=t) for t in batch], None, metrics)
    assert extractor.num_forward - start == 4  # one pass per fake batch for four metrics
    res = evaluator.evaluate()

    real_f = _feats(net, dataset.imgs)
    fake_f = np.concatenate([_feats(net, b) for b in fakes])
    # (FID's math: test_gen_functional; FID through the loop: test_gen_loops)
    # KID: NumPy re-implementation with the documented subset draws
    rng, d, vals = np.random.default_rng(0), 2048, []
    for _ in range(4):
        x, y = fake_f[rng.choice(4, 3, replace=False)], real_f[rng.choice(4, 3, replace=False)]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        vals.append((a.sum() - np.trace(a)) / 6 - 2 * ((x @ y.T / d + 1) ** 3).sum() / 9)
    assert res['KID/kid'] == pytest.approx(np.mean(vals), rel=1e-6)
    # PR: sklearn k-NN radii
    radii = NearestNeighbors(n_neighbors=3).fit(real_f).kneighbors(real_f)[0][:, -1]
    dist = np.linalg.norm(fake_f[:, None] - real_f[None], axis=-1)
    assert res['PR/precision'] == pytest.approx(np.mean((dist <= radii).any(1)), rel=1e-6)
    # IS: softmax of the bias-free logits, scipy entropy
    probs = softmax(fake_f @ net.fc.weight.detach().double().numpy().T, axis=1)
    scores = [np.exp(np.mean([entropy(p, part.mean(0)) for p in part]))
              for part in np.split(probs, 2)]
    assert res['IS/is'] == pytest.approx(np.mean(scores), rel=1e-6)
    assert metrics[0].protocol.startswith('kid@inception=custom-')
    assert 'resize=tf-bilinear' in metrics[0].protocol and 'fake=4' in metrics[0].protocol
    assert 'features=inception-pool3' in metrics[1].protocol


def test_inception_pkl_is_reused_and_other_weights_refused(weights, tmp_path):
    path, _ = weights
    pkl = tmp_path / 'stats.pkl'
    common = dict(inception_style='PyTorch', inception_path=path, real_nums=2,
                  inception_pkl=str(pkl), sample_model='orig')
    first = FrechetInceptionDistance(fake_nums=4, **common)
    first.prepare(PreprocessorOnlyModel(), DataLoader(_Imgs(n=2, seed=5), batch_size=2,
                                       collate_fn=pseudo_collate))
    with open(pkl, 'rb') as f:
        state = pickle.load(f)
    assert state['weights'] == first.extractor.weights_tag and state['real_nums'] == 2
    assert not (tmp_path / 'stats.pkl.tmp').exists()
    second = FrechetInceptionDistance(fake_nums=4, **common)
    second.prepare(PreprocessorOnlyModel(), DataLoader(_Broken(), batch_size=4, collate_fn=pseudo_collate))
    np.testing.assert_array_equal(second.real_stats['cov'], first.real_stats['cov'])
    assert 'real=pkl:stats.pkl:2' in second.protocol
    state['weights'] = 'pt2015'
    with open(pkl, 'wb') as f:
        pickle.dump(state, f)
    third = FrechetInceptionDistance(fake_nums=4, **common)
    with pytest.raises(ValueError, match="'pt2015'"):
        third.prepare(PreprocessorOnlyModel(), DataLoader(_Broken(), batch_size=4, collate_fn=pseudo_collate))
    state['weights'] = 'stylegan2015-0123abcd'  # a file of `fid-stats --inception-style StyleGAN`
    with open(pkl, 'wb') as f:
        pickle.dump(state, f)
    fourth = FrechetInceptionDistance(fake_nums=4, **common)
    with pytest.raises(ValueError, match="made with inception_style='StyleGAN' and the metric "
                                         "uses 'PyTorch'"):
        fourth.prepare(PreprocessorOnlyModel(),
                       DataLoader(_Broken(), batch_size=4, collate_fn=pseudo_collate))


def test_swd_metric_zero_for_identical_pairs_and_positive_otherwise():
    dataset = _Imgs(n=4, size=16)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    same = SlicedWassersteinDistance(fake_nums=4, image_shape=(3, 16, 16), prefix='SWD')
    same.prepare(PreprocessorOnlyModel(), None)
    same.process(batch, [dict(fake_img=t.float()) for t in dataset.imgs])
    res = same.evaluate()
    assert res['SWD/16'] == pytest.approx(0.0, abs=1e-9) and res['SWD/avg'] == res['SWD/16']
    other = SlicedWassersteinDistance(fake_nums=4, image_shape=(3, 16, 16))
    other.prepare(PreprocessorOnlyModel(), None)
    other.process(batch, [dict(fake_img=t) for t in _fakes(3)])
    assert other.evaluate()['avg'] > 0


def test_ms_ssim_metric_pairs_and_errors():
    img = _fakes(4, n=1)[0]
    metric = MultiScaleStructureSimilarity(fake_nums=4, sample_model='orig', prefix='MS')
    metric.process(None, [dict(fake_img=img)] * 4)
    assert metric.evaluate() == {'MS/avg': 1.0}
    with pytest.raises(ValueError, match='even'):
        MultiScaleStructureSimilarity(fake_nums=3)
    with pytest.raises(KeyError, match='fake_key'):
        metric.process(None, [dict(pred_img=img)] * 2)


def test_real_key_missing_names_the_key(weights):
    path, _ = weights
    fid = FrechetInceptionDistance(fake_nums=2, real_nums=2, real_key='img_a',
                                   inception_style='PyTorch', inception_path=path)
    with pytest.raises(KeyError, match="real_key='img_a'"):
        fid.prepare(PreprocessorOnlyModel(), DataLoader(_Imgs(n=2), batch_size=2, collate_fn=pseudo_collate))


def test_mmagic_lowercase_inception_style_is_pytorch(weights):
    # MMagic's MS-PIE configs write inception_style='pytorch'; MMagic reads it as PyTorch
    path, _ = weights
    fid = FrechetInceptionDistance(fake_nums=2, inception_style='pytorch', inception_path=path)
    assert fid.inception_style == 'PyTorch' and fid.resize_desc == 'tf-bilinear'
    with pytest.raises(ValueError, match="inception_style='tf' is not supported"):
        FrechetInceptionDistance(fake_nums=2, inception_style='tf', inception_path=path)


def test_fid_stats_cli_writes_stats_of_the_folder(weights, tmp_path):
    from PIL import Image

    from genforge.cli import main
    path, net = weights
    imgs = _Imgs(n=2, seed=7).imgs
    for i, img in enumerate(imgs):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(tmp_path / f'{i}.png')
    out = tmp_path / 'out' / 'stats.pkl'
    assert main(['fid-stats', str(tmp_path), '--out', str(out), '--inception-path', path,
                 '--batch-size', '2', '--inception-style', 'PyTorch']) == 0
    with open(out, 'rb') as f:
        state = pickle.load(f)
    with torch.no_grad():
        ref = net(imgs.float())[0].double().numpy()  # PNGs are RGB: no flip
    np.testing.assert_allclose(state['real_mean'], ref.mean(0), rtol=1e-6, atol=1e-9)
    assert state['real_nums'] == 2 and state['weights'].startswith('custom-')
    assert state['inception_style'] == 'PyTorch'
    assert main(['fid-stats', str(tmp_path / 'nope'), '--out', str(out)]) == 2


def test_fid_stats_default_style_is_the_fid_metric_default():
    import inspect

    from genforge.cli import build_parser
    sub = build_parser()._subparsers._group_actions[0].choices['fid-stats']
    metric_default = inspect.signature(FrechetInceptionDistance).parameters['inception_style']
    assert sub.get_default('inception_style') == metric_default.default == 'StyleGAN'
