"""genforge.evaluation.functional.gen_metrics against closed forms and NumPy/SciPy/sklearn."""
import numpy as np
import pytest
import torch
from scipy import linalg
from scipy.stats import entropy
from skimage.metrics import structural_similarity
from sklearn.neighbors import NearestNeighbors

from genforge.evaluation.functional.gen_metrics import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    ms_ssim,
    precision_recall,
    sliced_wasserstein_distance,
    trace_sqrt_product,
)


def test_frechet_distance_diagonal_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    got = frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_full_covariance_matches_scipy_reference():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8))
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_singular_is_exact():
    # The eps route (pytorch-fid) gives 3 - 6e-6 here with a 'singular product' warning; the
    # eigenvalue route needs no offset: exactly 3, and nothing to warn about.
    import warnings
    sigma = np.zeros((3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        got = frechet_distance(np.zeros(3), sigma, np.ones(3), sigma)
    assert got == pytest.approx(3.0, abs=1e-12)


def _scipy_fid(mu1, s1, mu2, s2) -> float:
    """The textbook route (pytorch-fid): sqrtm of the non-symmetric product, real part."""
    covmean = linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(covmean.real))


@pytest.mark.parametrize('dim,n', [(48, 400),  # well conditioned
                                   (48, 49),   # barely full rank: tiny eigenvalues
                                   (48, 20)])  # fewer samples than dimensions: singular
def test_frechet_distance_equals_scipy_sqrtm(dim, n):
    rng = np.random.default_rng(dim + n)
    a = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim))
    b = 0.7 * a + rng.normal(0.2, 1.0, size=(n, dim))
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ref = _scipy_fid(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-6)
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.trace(linalg.sqrtm(s1 @ s2).real),
                                                       rel=1e-6)


def test_frechet_distance_refuses_a_non_psd_covariance():
    bad = np.diag([1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match='sigma1 is not positive semi-definite'):
        frechet_distance(np.zeros(3), bad, np.zeros(3), np.eye(3))


def _kid_reference(real, fake, num_subsets, m, seed):
    rng = np.random.default_rng(seed)
    d, vals = real.shape[1], []
    for _ in range(num_subsets):
        x = fake[rng.choice(len(fake), m, replace=False)]
        y = real[rng.choice(len(real), m, replace=False)]
        a = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
        b = (x @ y.T / d + 1) ** 3
        vals.append((a.sum() - np.diag(a).sum()) / (m * (m - 1)) - b.sum() * 2 / (m * m))
    return np.mean(vals), np.std(vals)


def test_kid_matches_numpy_reference():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(40, 5)), rng.normal(0.3, 1.2, size=(30, 5))
    mean, std = kernel_inception_distance(real, fake, num_subsets=7, max_subset_size=20, seed=3)
    ref_mean, ref_std = _kid_reference(real, fake, 7, 20, 3)
    assert mean == pytest.approx(ref_mean, rel=1e-6)
    assert std == pytest.approx(ref_std, rel=1e-6)
    assert mean > 0


def test_inception_score_matches_scipy_entropy():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(40, 11))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    scores = []
    for part in np.split(probs, 4):
        py = part.mean(0)
        scores.append(np.exp(np.mean([entropy(p, py) for p in part])))
    mean, std = inception_score(torch.from_numpy(probs), splits=4)
    assert mean == pytest.approx(np.mean(scores), rel=1e-9)
    assert std == pytest.approx(np.std(scores), rel=1e-9)
    # one-hot over 10 distinct classes, 10 per split: IS equals the class count
    onehot = np.eye(10)[np.arange(20) % 10]
    assert inception_score(onehot, splits=2)[0] == pytest.approx(10.0)


def test_precision_recall_matches_sklearn_knn():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(50, 4)), rng.normal(0.8, 1.0, size=(45, 4))

    def ref(manifold, probes, k=3):
        radii = NearestNeighbors(n_neighbors=k + 1).fit(manifold).kneighbors(manifold)[0][:, -1]
        d = np.linalg.norm(probes[:, None] - manifold[None], axis=-1)
        return np.mean((d <= radii[None]).any(1))

    p, r = precision_recall(real, fake, k=3)
    assert p == pytest.approx(ref(real, fake), rel=1e-6)
    assert r == pytest.approx(ref(fake, real), rel=1e-6)
    assert precision_recall(real, real, k=3) == (1.0, 1.0)


def test_swd_zero_on_self_and_grows_with_blur():
    gen = torch.Generator().manual_seed(0)
    imgs = torch.rand(8, 3, 32, 32, generator=gen) * 2 - 1
    same, avg_same = sliced_wasserstein_distance(imgs, imgs.clone(), seed=1)
    assert len(same) == 2 and avg_same == pytest.approx(0.0, abs=1e-9)
    k = torch.ones(3, 1, 3, 3) / 9
    blur1 = torch.nn.functional.conv2d(imgs, k, padding=1, groups=3)
    blur2 = torch.nn.functional.conv2d(blur1, k, padding=1, groups=3)
    _, d1 = sliced_wasserstein_distance(imgs, blur1, seed=1)
    _, d2 = sliced_wasserstein_distance(imgs, blur2, seed=1)
    assert 0 < d1 < d2


def test_ms_ssim_identity_and_single_scale_equals_skimage_ssim():
    rng = np.random.default_rng(6)
    a = rng.uniform(0, 255, size=(2, 32, 32, 3))
    b = np.clip(a + rng.normal(0, 20, size=a.shape), 0, 255)
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    ours = ms_ssim(a, b, weights=[1.0], reduce_mean=False)
    ref = [structural_similarity(x, y, data_range=255, channel_axis=-1, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False) for x, y in zip(a, b)]
    np.testing.assert_allclose(ours, ref, rtol=1e-6)
    assert ms_ssim(a, b) < 1.0


def test_frechet_distance_few_samples_in_many_dimensions_equals_closed_form():
    """N << D (e.g. a small fake_nums against 2048-d pool3): the trace term against the exact
    ||A1 A2^T||_* / (N - 1) (A = centred samples; S1 S2 shares its non-zero eigenvalues with
    (A1 A2^T)(A1 A2^T)^T). Round-off eigenvalues of the singular product must not add up."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 1024)), rng.normal(1.0, 2.0, size=(4, 1024))
    ca, cb = a - a.mean(0), b - b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    nuclear = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / 3
    assert trace_sqrt_product(s1, s2) == pytest.approx(nuclear, rel=1e-10)
    ref = float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * nuclear)
    assert frechet_distance(a.mean(0), s1, b.mean(0), s2) == pytest.approx(ref, rel=1e-10)
