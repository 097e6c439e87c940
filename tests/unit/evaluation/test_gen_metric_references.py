"""Generative metrics against independent computations (issue 21).

Each reference below is written from the published definition with NumPy/SciPy/Pillow, not by
calling genforge: SWD (PGGAN: Laplacian pyramid, per-image 7x7 patches, per-channel
normalisation, random projections), MS-SSIM (Wang et al. / PGGAN's downsampling), IS on the
Pillow path, PPL of a linear generator, FID/TransFID (numpy mean/cov, SVD trace term).
The shared randomness (patch centres, projection directions) follows the documented seeding
so that both sides see the same random draws; everything else is computed separately.
Why some take 10-30 s: the Inception tests run the full 299x299 network on CPU (2-3 images per
pass, the fewest that give a non-trivial FID/IS); the rest take well under a second.
"""
import numpy as np
import pytest
import torch
from _metric_stubs import PreprocessorOnlyModel  # tests/unit/evaluation/_metric_stubs.py
from PIL import Image
from scipy.ndimage import convolve
from scipy.special import softmax
from scipy.stats import entropy
from torch.utils.data import DataLoader, Dataset

from genforge.datasets.collate import pseudo_collate
from genforge.evaluation.functional.gen_metrics import ms_ssim, sliced_wasserstein_distance
from genforge.evaluation.inception import InceptionV3FID
from genforge.evaluation.metrics.fid import FrechetInceptionDistance, TransFID
from genforge.evaluation.metrics.inception_score import InceptionScore, TransIS
from genforge.evaluation.metrics.ms_ssim import MultiScaleStructureSimilarity
from genforge.evaluation.metrics.ppl import PerceptualPathLength
from genforge.evaluation.metrics.swd import SlicedWassersteinDistance
from genforge.optim.amp import channels_last_helps
from genforge.structures import DataSample


class _Imgs(Dataset):
    def __init__(self, n=4, size=16, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.imgs = torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8)

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=self.imgs[i], data_samples=DataSample(gt_img=self.imgs[i]))


@pytest.fixture(scope='module')
def inception(tmp_path_factory):
    """Random-weight Inception with a variance-preserving init (non-trivial features)."""
    torch.manual_seed(3)
    net = InceptionV3FID().eval()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
    with torch.no_grad():  # logits from how an image differs from the typical one: IS > 1
        probe = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 255
        feats = net(probe.round())[0]
        w = net.fc.weight
        common = feats.mean(0) / feats.mean(0).norm()
        w -= (w @ common)[:, None] * common[None]  # rows orthogonal to the shared direction
        w *= 3.0 / (feats @ w.T).std()
    path = tmp_path_factory.mktemp('inc') / 'random_inception.pth'
    torch.save(net.state_dict(), path)
    return str(path), net


def _pool3_and_logits(net, rgb_uint8_valued):
    # the extractor picks the memory format of its float32 convs; use the same kernels so the
    # features agree to round-off (channels_last vs contiguous differ by ~1e-6 in FID)
    fmt = torch.channels_last if channels_last_helps(torch.device('cpu')) \
        else torch.contiguous_format
    net = net.to(memory_format=fmt)
    with torch.no_grad():
        f, _ = net(rgb_uint8_valued.float().contiguous(memory_format=fmt))
    f = f.double().numpy()
    return f, f @ net.fc.weight.detach().double().numpy().T  # bias-free logits


def _batched(net, rgb, batch=2):
    return np.concatenate([_pool3_and_logits(net, rgb[i:i + batch])[0]
                           for i in range(0, len(rgb), batch)])


def _fid_numpy(f1, f2):
    """FID with numpy mean/cov; tr sqrtm(S1 S2) through the nuclear norm of A1 A2^T / (n - 1)
    (A = centred features; S1 S2 and M M^T share their non-zero eigenvalues for M = A1 A2^T),
    exact for the singular covariances of a few samples and much faster than a 2048-d sqrtm."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    a1, a2 = f1 - mu1, f2 - mu2
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    nuclear = np.linalg.svd(a1 @ a2.T, compute_uv=False).sum() / (len(f1) - 1)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * nuclear)


# ------------------------------------------------------------------------------------------
# SWD: naive NumPy version of PGGAN's recipe (with MMagic's pyramid filter)
# ------------------------------------------------------------------------------------------
_BINOMIAL = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0


def _blur(img, stride):  # (N, C, H, W) 5x5 binomial, zero padding 2, as F.conv2d(padding=2)
    n, c, h, w = img.shape
    pad = np.pad(img, ((0, 0), (0, 0), (2, 2), (2, 2)))
    out = np.zeros_like(img)
    for dy in range(5):
        for dx in range(5):
            out += _BINOMIAL[dy, dx] * pad[:, :, dy:dy + h, dx:dx + w]
    return out[:, :, ::stride, ::stride]


def _naive_laplacian(img, levels):
    gauss = [img]
    for _ in range(levels - 1):
        gauss.append(_blur(gauss[-1], 2))
    up = [_blur(g.repeat(2, axis=2).repeat(2, axis=3), 1) for g in gauss[1:]]  # nearest x2
    return [g - u for g, u in zip(gauss, up)] + [gauss[-1]]


def _naive_swd(real, fake, seed=0, nhoods=128, size=7):
    """real/fake (N, 3, H, W) in [-1, 1] -> per-level SWD x 1e3."""
    levels = 0
    res = real.shape[2]
    while res >= 16 and levels < 4:
        levels, res = levels + 1, res // 2
    gen = torch.Generator().manual_seed(seed)
    half = size // 2
    out = []
    for lvl, (rb, fb) in enumerate(zip(_naive_laplacian(real, levels),
                                       _naive_laplacian(fake, levels))):
        descs = {0: [], 1: []}
        h, w = rb.shape[2:]
        for i in range(real.shape[0]):  # per image: its own 128 patch centres
            rng = np.random.default_rng((seed, lvl, i))
            xs = rng.integers(half, w - half, size=nhoods)
            ys = rng.integers(half, h - half, size=nhoods)
            for k, band in enumerate((rb, fb)):
                for x, y in zip(xs, ys):
                    patch = band[i, :, y - half:y + half + 1, x - half:x + half + 1]
                    # PGGAN's np.ogrid indexing stores the patch as (C, x, y): transposed
                    descs[k].append(patch.transpose(0, 2, 1))
        final = []
        for k in (0, 1):
            d = np.stack(descs[k])  # (M, 3, 7, 7)
            d = d - d.mean(axis=(0, 2, 3), keepdims=True)
            d = d / d.std(axis=(0, 2, 3), keepdims=True, ddof=1)  # per channel
            final.append(d.reshape(len(d), -1))
        dists = []
        for _ in range(4):
            dirs = torch.randn(final[0].shape[1], 128, generator=gen,
                               dtype=torch.float64).numpy()
            dirs = dirs / np.sqrt((dirs ** 2).sum(axis=0, keepdims=True))
            pa, pb = np.sort(final[0] @ dirs, axis=0), np.sort(final[1] @ dirs, axis=0)
            dists.append(np.abs(pa - pb).mean())
        out.append(1e3 * np.mean(dists))
    return out


def test_swd_functional_and_metric_equal_naive_numpy_and_ignore_batching():
    real_ds = _Imgs(n=5, size=32, seed=1)
    g = torch.Generator().manual_seed(2)
    fake = (torch.rand(5, 3, 32, 32, generator=g) * 255).round()
    to_pm1 = lambda x: (x.double().numpy() - 127.5) / 127.5  # noqa: E731
    ref = _naive_swd(to_pm1(real_ds.imgs), to_pm1(fake))
    assert len(ref) == 2 and min(ref) > 1  # non-trivial values at 32 and 16 px

    levels, avg = sliced_wasserstein_distance(to_pm1(real_ds.imgs), to_pm1(fake), seed=0)
    np.testing.assert_allclose(levels, ref, rtol=1e-9)
    assert avg == pytest.approx(np.mean(ref), rel=1e-9)

    for batch in (2, 5):  # batches of 2, 2, 1 and one batch of 5: the same patches per image
        metric = SlicedWassersteinDistance(fake_nums=5, image_shape=(3, 32, 32), sample_model='orig')
        metric.prepare(PreprocessorOnlyModel(), None)
        for start in range(0, 5, batch):
            idx = range(start, min(start + batch, 5))
            metric.process(pseudo_collate([real_ds[i] for i in idx]),
                           [dict(fake_img=fake[i].flip(0)) for i in idx])  # RGB -> BGR
        # the metric reads BGR and keeps that order; SWD is per-channel symmetric, but the
        # reference is fed the same order to compare exactly
        res = metric.evaluate()
        ref_bgr = _naive_swd(to_pm1(real_ds.imgs), to_pm1(fake.flip(1)))
        assert res['32'] == pytest.approx(ref_bgr[0], rel=1e-4)  # rounded to 4 decimals
        assert res['16'] == pytest.approx(ref_bgr[1], rel=1e-4)


# ------------------------------------------------------------------------------------------
# MS-SSIM: direct NumPy formula (Wang et al. 2003, PGGAN's downsampling)
# ------------------------------------------------------------------------------------------
def _valid_filter(x, win):  # (N, H, W, C) 'valid' weighted window sums, written out
    size, (h, w) = len(win), x.shape[1:3]
    out = np.zeros((x.shape[0], h - size + 1, w - size + 1, x.shape[3]))
    for dy in range(size):
        for dx in range(size):
            out += win[dy, dx] * x[:, dy:dy + h - size + 1, dx:dx + w - size + 1]
    return out


def _naive_ms_ssim(a, b, weights=(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)):
    """a, b: (N, H, W, C) in [0, 255] -> MS-SSIM per image pair."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mcs, mssim = [], []
    for _ in weights:
        h, w = a.shape[1:3]
        size = min(11, h, w)
        sigma = 1.5 * size / 11
        coords = np.arange(size) - (size - 1) / 2  # centred grid (half-integers when even)
        g1 = np.exp(-coords ** 2 / (2 * sigma ** 2))
        win = np.outer(g1, g1) / np.outer(g1, g1).sum()
        mu_a, mu_b = _valid_filter(a, win), _valid_filter(b, win)
        var_a = _valid_filter(a * a, win) - mu_a ** 2
        var_b = _valid_filter(b * b, win) - mu_b ** 2
        cov = _valid_filter(a * b, win) - mu_a * mu_b
        cs = (2 * cov + c2) / (var_a + var_b + c2)
        lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
        mssim.append((lum * cs).mean(axis=(1, 2, 3)))
        mcs.append(cs.mean(axis=(1, 2, 3)))
        box = np.ones((1, 2, 2, 1)) / 4  # PGGAN: reflect-padded 2x2 box, then every 2nd pixel
        a = convolve(a, box, mode='reflect')[:, ::2, ::2]
        b = convolve(b, box, mode='reflect')[:, ::2, ::2]
    mcs, mssim = np.clip(mcs, 0, None), np.clip(mssim, 0, None)
    wts = np.asarray(weights)[:, None]
    return np.prod(mcs[:-1] ** wts[:-1], axis=0) * mssim[-1] ** wts[-1]


@pytest.mark.parametrize('shape', [(32, 32), (33, 31), (15, 15), (9, 12)])
def test_ms_ssim_equals_direct_numpy_formula_also_on_odd_sizes(shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.uniform(0, 255, size=(3, *shape, 3))
    b = np.clip(0.6 * a + 0.4 * rng.uniform(0, 255, size=a.shape), 0, 255)
    ref = _naive_ms_ssim(a, b)
    assert np.all((0.05 < ref) & (ref < 0.99))
    np.testing.assert_allclose(ms_ssim(a, b, reduce_mean=False), ref, rtol=1e-8)
    assert ms_ssim(a, b) == pytest.approx(ref.mean(), rel=1e-8)


def test_ms_ssim_metric_on_odd_sized_samples_equals_reference():
    rng = np.random.default_rng(4)
    imgs = torch.from_numpy(rng.uniform(0, 255, size=(4, 3, 17, 17)))
    metric = MultiScaleStructureSimilarity(fake_nums=4, sample_model='orig')
    metric.process(None, [dict(fake_img=t) for t in imgs])
    nhwc = imgs.permute(0, 2, 3, 1).numpy()
    ref = _naive_ms_ssim(nhwc[0::2], nhwc[1::2]).mean()
    assert metric.evaluate()['avg'] == pytest.approx(ref, abs=5e-5)  # rounded to 4 decimals


# ------------------------------------------------------------------------------------------
# PPL on a linear generator
# ------------------------------------------------------------------------------------------
def test_ppl_of_a_linear_generator_equals_hand_computation():
    latent, size, n, eps = 6, 16, 200, 0.05
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3 * size * size, latent)) * 0.3

    metric = PerceptualPathLength(fake_nums=n, space='Z', sampling='end', epsilon=eps,
                                  latent_dim=latent, sample_model='orig', crop=True)
    loader = DataLoader(_Imgs(n=2), batch_size=50)
    torch.manual_seed(11)
    sampler = metric.get_metric_sampler(PreprocessorOnlyModel(), loader, [metric])
    for data in sampler:  # the "model": image = W @ latent, in [-1, 1] -> [0, 255]
        lat = data['inputs']['noise'].double().numpy()
        imgs = torch.from_numpy((lat @ weight.T).reshape(-1, 3, size, size) * 127.5 + 127.5)
        metric.process(data, [dict(fake_img=t) for t in imgs])
    got = metric.evaluate()['ppl_score']

    # by hand: the same latents (the sampler's torch.randn(2n', latent) per batch of n'=50),
    # slerp at t=0 and t=eps, W, MMagic's face crop, squared distance / eps^2, 1%/99% trim
    torch.manual_seed(11)
    dists = []
    for _ in range(n // 50):
        z = torch.randn(100, latent).double().numpy()
        a = z[0::2] / np.linalg.norm(z[0::2], axis=1, keepdims=True)
        b = z[1::2] / np.linalg.norm(z[1::2], axis=1, keepdims=True)
        omega = np.arccos(np.clip((a * b).sum(1, keepdims=True), -1, 1))
        ortho = b - (a * b).sum(1, keepdims=True) * a
        ortho /= np.linalg.norm(ortho, axis=1, keepdims=True)
        e1 = a * np.cos(eps * omega) + ortho * np.sin(eps * omega)
        diff = ((e1 - a) @ weight.T).reshape(-1, 3, size, size)[:, :, 6:14, 4:12]
        dists += list((diff ** 2).mean(axis=(1, 2, 3)) / eps ** 2)
    d = np.sort(dists)
    lo, hi = d[int(np.floor(0.01 * (n - 1)))], d[int(np.ceil(0.99 * (n - 1)))]
    ref = d[(d >= lo) & (d <= hi)].mean()
    assert 0 < ref and got == pytest.approx(ref, rel=2e-3)  # float32 images in the metric


# ------------------------------------------------------------------------------------------
# Inception-based: IS (default Pillow path), TransIS, FID metric, TransFID
# ------------------------------------------------------------------------------------------
def _mmagic_pil_preprocess(bgr_float):
    """MMagic InceptionScore._preprocess: BGR->RGB, .to(uint8) (truncates), Pillow bicubic 299."""
    rgb = bgr_float.flip(1).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out = [np.asarray(Image.fromarray(x).resize((299, 299), resample=Image.BICUBIC))
           for x in rgb]
    return torch.from_numpy(np.stack(out).astype(np.float32)).permute(0, 3, 1, 2)


def _is_reference(logits, splits):
    probs = softmax(logits, axis=1)
    part = len(probs) // splits
    scores = [np.exp(np.mean([entropy(p, probs[k * part:(k + 1) * part].mean(0))
                              for p in probs[k * part:(k + 1) * part]]))
              for k in range(splits)]
    return np.mean(scores), np.std(scores)


def test_inception_score_default_pillow_path_equals_mmagic_preprocessing(inception):
    path, net = inception
    g = torch.Generator().manual_seed(5)
    fakes = torch.rand(2, 3, 20, 20, generator=g) * 255  # fractional values: rounding matters
    metric = InceptionScore(fake_nums=2, splits=1, inception_style='PyTorch', inception_path=path,
                            prefix='IS')
    assert metric.use_pillow_resize and metric.resize_desc == 'pil-bicubic'
    metric.prepare(PreprocessorOnlyModel(), None)
    metric.process(None, [dict(fake_img=t) for t in fakes])
    res = metric.evaluate()
    _, logits = _pool3_and_logits(net, _mmagic_pil_preprocess(fakes))
    mean, _ = _is_reference(logits, 1)
    # float32 network (the metric may run it channels_last): 1e-5
    assert res['IS/is'] == pytest.approx(mean, rel=1e-5) and res['IS/is_std'] == 0.0
    assert res['IS/is'] > 1.01  # not the trivial score of identical predictions
    # the test tells the two quantisations apart: rounding instead of MMagic's truncation
    # gives another score
    _, logits_rounded = _pool3_and_logits(net, _mmagic_pil_preprocess(torch.floor(fakes + 0.5)))
    assert abs(_is_reference(logits_rounded, 1)[0] - mean) > 5e-5 * mean  # > 5x the tolerance


class _Pairs(Dataset):
    """Translation data: img_a (real) per item."""

    def __init__(self, n=4, seed=0):
        self.imgs = _Imgs(n=n, size=16, seed=seed).imgs

    def __len__(self):
        return len(self.imgs)

    def __getitem__(self, i):
        return dict(inputs=dict(img_a=self.imgs[i]),
                    data_samples=DataSample(img_a=self.imgs[i]))


def _translate(batch):  # a fixed "translation": invert the image
    return [dict(fake_b=255.0 - s.img_a.float()) for s in batch['data_samples']]


def test_trans_fid_and_trans_is_over_the_real_loader_equal_references(inception):
    path, net = inception
    dataset = _Pairs(n=3, seed=6)
    loader = DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)
    fid = TransFID(fake_nums=-1, real_key='img_a', fake_key='fake_b',
                   inception_style='PyTorch', inception_path=path, sample_model='orig')
    tis = TransIS(fake_nums=-1, splits=1, fake_key='fake_b', inception_style='PyTorch',
                  inception_path=path, sample_model='orig')
    for m in (fid, tis):
        m.prepare(PreprocessorOnlyModel(), loader)
        sampler = m.get_metric_sampler(PreprocessorOnlyModel(), loader, [m])
        assert sampler is loader  # fakes come from translating every real batch
        for batch in sampler:
            m.process(batch, _translate(batch))
    assert fid.fake_nums == tis.fake_nums == 3  # -1 -> the dataset length

    real_rgb = dataset.imgs.flip(1)  # BGR loader convention -> RGB for the network
    fake_rgb = (255 - dataset.imgs.float()).flip(1)
    f_real, f_fake = _batched(net, real_rgb), _batched(net, fake_rgb)  # loader batches 2 + 1
    ref_fid = _fid_numpy(f_fake, f_real)
    assert fid.evaluate()['fid'] == pytest.approx(ref_fid, rel=1e-6)
    assert ref_fid > 1e-3
    _, logits = _pool3_and_logits(net, _mmagic_pil_preprocess(255 - dataset.imgs.float()))
    assert tis.evaluate()['is'] == pytest.approx(_is_reference(logits, 1)[0], rel=1e-5)


def test_fid_metric_equals_numpy_scipy_on_the_same_features(inception):
    path, net = inception
    real = _Imgs(n=3, size=16, seed=8)
    g = torch.Generator().manual_seed(9)
    fakes = torch.rand(3, 3, 16, 16, generator=g) * 255
    metric = FrechetInceptionDistance(fake_nums=3, real_nums=3, inception_style='PyTorch',
                                      inception_path=path, sample_model='orig')
    metric.prepare(PreprocessorOnlyModel(), DataLoader(real, batch_size=2, collate_fn=pseudo_collate))
    metric.process(None, [dict(fake_img=t) for t in fakes[:2]])
    metric.process(None, [dict(fake_img=t) for t in fakes[2:]])
    res = metric.evaluate()
    # features in the metric's batches (2 + 1): float32 kernels differ by batch size at ~1e-6
    f_fake = _batched(net, torch.floor(fakes.flip(1) + 0.5))  # PNG rounding
    f_real = _batched(net, real.imgs.flip(1))
    ref = _fid_numpy(f_fake, f_real)
    assert ref > 1e-3 and res['fid'] == pytest.approx(ref, rel=1e-6)
