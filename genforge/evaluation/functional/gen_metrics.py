"""The math of the generative metrics as plain functions (arrays in, floats out).

Usable without the Runner; the registered metrics in ``genforge.evaluation.metrics`` call these.
Statistics are computed in float64 so that FID/KID agree with the reference implementations
(pytorch-fid, torch-fidelity, StyleGAN2-ADA) to float64 round-off.
"""
from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from scipy.special import rel_entr

__all__ = [
    'frechet_distance', 'frechet_distance_terms', 'trace_sqrt_product',
    'kernel_inception_distance', 'inception_score',
    'precision_recall', 'sliced_wasserstein_distance', 'sliced_wasserstein', 'laplacian_pyramid',
    'get_descriptors_for_minibatch', 'finalize_descriptors', 'image_descriptors', 'swd_levels',
    'ms_ssim', 'feature_stats',
]

logger = logging.getLogger(__name__)


def _np64(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# FID
# --------------------------------------------------------------------------------------------
def feature_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (N-1)-normalised covariance of ``feats`` (N, D), in float64."""
    feats = _np64(feats)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def trace_sqrt_product(sigma1, sigma2) -> float:
    """``tr(sqrtm(sigma1 @ sigma2))`` for symmetric positive semi-definite matrices.

    ``sigma1 @ sigma2`` is similar to the symmetric PSD ``sqrt(sigma1) sigma2 sqrt(sigma1)``
    (conjugate by ``sqrt(sigma1)``), so both have the same non-negative eigenvalues and the trace
    of the square root is the sum of their square roots. Two symmetric eigendecompositions
    (``eigh``, ``eigvalsh``) replace ``scipy.linalg.sqrtm`` of a non-symmetric matrix: ~1 s
    instead of ~30 s for 2048x2048, and exact (no eps offset) for singular covariances.
    """
    w, v = linalg.eigh(sigma1, driver='evd')
    _check_psd(w, 'sigma1')
    sqrt1 = (v * np.sqrt(_drop_round_off(w))) @ v.T  # (D, D) symmetric square root
    m = sqrt1 @ sigma2 @ sqrt1
    ev = linalg.eigh((m + m.T) / 2, eigvals_only=True, driver='evd')  # symmetrise round-off
    _check_psd(ev, 'sigma2')
    return float(np.sqrt(_drop_round_off(ev)).sum())


def _drop_round_off(eigenvalues: np.ndarray) -> np.ndarray:
    """Zero the eigenvalues that are round-off (|x| <= D * eps * max, numpy's rank rule).

    A singular covariance (fewer samples than dimensions) has D - N + 1 zero eigenvalues that
    come out as +-1e-16 * max; their square roots (~1e-8 * sqrt(max) each, thousands of them)
    used to add a bias of ~1e-6 relative to FID.
    """
    tol = eigenvalues.size * np.finfo(np.float64).eps * float(np.abs(eigenvalues).max(initial=0))
    return np.where(eigenvalues > tol, eigenvalues, 0.0)


def _check_psd(eigenvalues: np.ndarray, name: str) -> None:
    scale = max(float(np.abs(eigenvalues).max(initial=0.0)), 1e-300)
    if eigenvalues.min(initial=0.0) < -1e-6 * scale:
        raise ValueError(f'frechet_distance: {name} is not positive semi-definite (eigenvalue '
                         f'{eigenvalues.min():.3g}, largest {scale:.3g}); pass covariance '
                         'matrices (np.cov of the features)')


def frechet_distance_terms(mu1, sigma1, mu2, sigma2, eps: float = 1e-6
                           ) -> tuple[float, float, float]:
    """Fréchet distance split as (fid, |mu1 - mu2|^2, trace term).

    ``eps`` is accepted for compatibility and unused: the eigenvalue route needs no diagonal
    offset for singular covariances (fewer samples than feature dimensions).
    """
    mu1, mu2 = np.atleast_1d(_np64(mu1)), np.atleast_1d(_np64(mu2))
    sigma1, sigma2 = np.atleast_2d(_np64(sigma1)), np.atleast_2d(_np64(sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f'frechet_distance: shapes differ: mu {mu1.shape} vs {mu2.shape}, '
                         f'sigma {sigma1.shape} vs {sigma2.shape}')
    diff = mu1 - mu2
    mean_term = float(diff @ diff)
    trace_term = float(np.trace(sigma1) + np.trace(sigma2)
                       - 2 * trace_sqrt_product(sigma1, sigma2))
    return mean_term + trace_term, mean_term, trace_term


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the FID formula).

    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2))`` in float64; the trace of the
    matrix square root comes from :func:`trace_sqrt_product` (equal to ``scipy.linalg.sqrtm``'s
    to ~1e-14 relative; for singular covariances equal to the exact nuclear-norm form to ~1e-10,
    where sqrtm is off by ~1e-8; and much faster at 2048 dimensions).
    """
    return frechet_distance_terms(mu1, sigma1, mu2, sigma2, eps)[0]


# --------------------------------------------------------------------------------------------
# KID
# --------------------------------------------------------------------------------------------
def _poly_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel k(a, b) = (a.b / d + 1)^3."""
    d, m = x.shape[1], x.shape[0]
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    # diagonals dropped: E[k(x, x')] over distinct pairs only
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2 * k_xy.sum() / (m * m))


def kernel_inception_distance(real_feats, fake_feats, num_subsets: int = 100,
                              max_subset_size: int = 1000, seed: int | None = 0
                              ) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): mean and std of unbiased polynomial MMD^2 over subsets.

    Each subset draws ``m = min(n_real, n_fake, max_subset_size)`` fake rows and then ``m``
    real rows without replacement from ``np.random.default_rng(seed)`` (torch-fidelity's
    scheme). The std is over subsets (``ddof=0``).
    """
    real, fake = _np64(real_feats), _np64(fake_feats)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f'kernel_inception_distance: expected (N, D) arrays with equal D, got '
                         f'{real.shape} and {fake.shape}')
    m = min(real.shape[0], fake.shape[0], max_subset_size)
    if m < 2:
        raise ValueError(f'kernel_inception_distance: needs >= 2 samples per set, got {m}')
    rng = np.random.default_rng(seed)
    mmds = np.empty(num_subsets)
    for i in range(num_subsets):
        f = fake[rng.choice(fake.shape[0], m, replace=False)]
        r = real[rng.choice(real.shape[0], m, replace=False)]
        mmds[i] = _poly_mmd2_unbiased(f, r)
    return float(mmds.mean()), float(mmds.std())


# --------------------------------------------------------------------------------------------
# IS
# --------------------------------------------------------------------------------------------
def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception Score of class probabilities ``probs`` (N, C): mean and std over ``splits``.

    Split ``k`` holds rows ``[k*N//splits, (k+1)*N//splits)`` (MMagic/sbarratt convention; a
    remainder is dropped); score = exp(mean_i KL(p(y|x_i) || p(y))) with p(y) the split mean.
    """
    p = _np64(probs)
    if p.ndim != 2 or p.shape[0] < splits:
        raise ValueError(f'inception_score: expected (N, C) with N >= splits={splits}, got '
                         f'{p.shape}')
    p = p / p.sum(axis=1, keepdims=True)
    part_len = p.shape[0] // splits
    scores = []
    for k in range(splits):
        part = p[k * part_len:(k + 1) * part_len]
        py = part.mean(axis=0, keepdims=True)
        # rel_entr: p*log(p/q) with 0*log(0)=0, as scipy.stats.entropy
        kl = rel_entr(part, py).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# --------------------------------------------------------------------------------------------
# Precision / Recall (Kynkäänniemi et al. 2019)
# --------------------------------------------------------------------------------------------
def _kth_radii(feats: torch.Tensor, k: int, batch: int) -> torch.Tensor:
    # k + 1: the nearest neighbour of a point in its own set is itself (distance 0)
    return torch.cat([torch.cdist(rows, feats).kthvalue(k + 1, dim=1).values
                      for rows in feats.split(batch)])


def _inside(probes: torch.Tensor, manifold: torch.Tensor, radii: torch.Tensor,
            batch: int) -> torch.Tensor:
    return torch.cat([(torch.cdist(rows, manifold) <= radii[None]).any(dim=1)
                      for rows in probes.split(batch)])


def precision_recall(real_feats, fake_feats, k: int = 3, batch_size: int = 10000
                     ) -> tuple[float, float]:
    """Improved precision and recall: k-NN hypersphere manifolds in feature space.

    precision = share of fake samples inside the real manifold (union of balls around each
    real sample with radius = distance to its k-th nearest real neighbour); recall symmetric.
    """
    real = torch.as_tensor(_np64(real_feats))
    fake = torch.as_tensor(_np64(fake_feats))
    if min(real.shape[0], fake.shape[0]) <= k:
        raise ValueError(f'precision_recall: each set needs more than k={k} samples, got '
                         f'{real.shape[0]} real and {fake.shape[0]} fake')
    real_r, fake_r = _kth_radii(real, k, batch_size), _kth_radii(fake, k, batch_size)
    precision = _inside(fake, real, real_r, batch_size).double().mean().item()
    recall = _inside(real, fake, fake_r, batch_size).double().mean().item()
    return float(precision), float(recall)


# --------------------------------------------------------------------------------------------
# SWD (ProGAN / MMagic)
# --------------------------------------------------------------------------------------------
def _gaussian_kernel() -> torch.Tensor:
    k = torch.tensor([1., 4., 6., 4., 1.])
    return (torch.outer(k, k) / 256.0).view(1, 1, 5, 5)


def _pyramid_layer(img: torch.Tensor, kernel: torch.Tensor, direction: str) -> torch.Tensor:
    kernel = kernel.to(img)
    if direction == 'up':
        img = F.interpolate(img, scale_factor=2)  # nearest, as MMagic
    c = img.shape[1]
    # depthwise blur: the same 5x5 binomial kernel on every channel
    return F.conv2d(img, kernel.expand(c, 1, 5, 5), padding=2, groups=c,
                    stride=1 if direction == 'up' else 2)


def laplacian_pyramid(img: torch.Tensor, n_pyramids: int) -> list[torch.Tensor]:
    """Laplacian pyramid (N, C, H, W) -> [band_0 (H), ..., band_n (H / 2^n)]; last is Gaussian."""
    kernel = _gaussian_kernel()
    gauss = [img]
    for _ in range(n_pyramids):
        gauss.append(_pyramid_layer(gauss[-1], kernel, 'down'))
    bands = [g - _pyramid_layer(g_next, kernel, 'up') for g, g_next in zip(gauss, gauss[1:])]
    return bands + [gauss[-1]]


def get_descriptors_for_minibatch(minibatch: torch.Tensor, nhood_size: int,
                                  nhoods_per_image: int, rng: np.random.Generator | None = None
                                  ) -> torch.Tensor:
    """Random ``nhood_size``^2 patches: (N, 3, H, W) -> (N * nhoods_per_image, 3, s, s)."""
    rng = rng if rng is not None else np.random.default_rng()
    n, c, h, w = minibatch.shape
    half = nhood_size // 2
    num = nhoods_per_image * n
    nhood, chan, x, y = np.ogrid[0:num, 0:c, -half:half + 1, -half:half + 1]
    img = nhood // nhoods_per_image
    x = x + rng.integers(half, w - half, size=(num, 1, 1, 1))
    y = y + rng.integers(half, h - half, size=(num, 1, 1, 1))
    idx = ((img * c + chan) * h + y) * w + x
    return minibatch.reshape(-1)[torch.as_tensor(idx)]


def finalize_descriptors(desc) -> torch.Tensor:
    """Normalise descriptors per channel and flatten: (M, C, s, s) -> (M, C*s*s)."""
    if isinstance(desc, (list, tuple)):
        desc = torch.cat(list(desc), dim=0)
    desc = desc - desc.mean(dim=(0, 2, 3), keepdim=True)
    desc = desc / desc.std(dim=(0, 2, 3), keepdim=True)
    return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, dir_repeats: int = 4,
                       dirs_per_repeat: int = 128, generator: torch.Generator | None = None
                       ) -> float:
    """Sliced Wasserstein-1 distance between two equal-size descriptor sets (M, D)."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f'sliced_wasserstein: expected two (M, D) sets of equal shape, got '
                         f'{tuple(a.shape)} and {tuple(b.shape)}')
    results = []
    for _ in range(dir_repeats):
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=generator, dtype=a.dtype)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        proj_a = torch.sort(a @ dirs, dim=0).values
        proj_b = torch.sort(b @ dirs, dim=0).values
        results.append((proj_a - proj_b).abs().mean().item())
    return float(sum(results) / dir_repeats)


def image_descriptors(band: torch.Tensor, indices, level: int, seed: int, nhood_size: int = 7,
                      nhoods_per_image: int = 128) -> torch.Tensor:
    """Per-image random patches of one pyramid level: (N, C, H, W) -> (N * nhoods, C, s, s).

    Image ``indices[i]`` (its position in the evaluation order) draws its patch centres from
    ``np.random.default_rng((seed, level, indices[i]))``, so an image gets the same patches
    whatever batch or rank it is processed in (PGGAN samples patches per image).
    """
    n, c, h, w = band.shape
    half = nhood_size // 2
    xs, ys = [], []
    for idx in indices:  # the draws of get_descriptors_for_minibatch on a one-image batch
        rng = np.random.default_rng((seed, level, int(idx)))
        xs.append(rng.integers(half, w - half, size=nhoods_per_image))
        ys.append(rng.integers(half, h - half, size=nhoods_per_image))
    num = n * nhoods_per_image
    nhood, chan, x, y = np.ogrid[0:num, 0:c, -half:half + 1, -half:half + 1]
    img = nhood // nhoods_per_image
    x = x + np.concatenate(xs).reshape(num, 1, 1, 1)
    y = y + np.concatenate(ys).reshape(num, 1, 1, 1)
    # (N*nhoods, C, s, s); as in PGGAN the patch is stored transposed (axis 2 runs along x)
    return band.reshape(-1)[torch.as_tensor(((img * c + chan) * h + y) * w + x)]


def swd_levels(resolution: int) -> int:
    """Pyramid levels SWD uses: resolutions H, H/2, ... down to 16 px, at most 4."""
    num_levels = 0
    while resolution >= 16 and num_levels < 4:
        num_levels, resolution = num_levels + 1, resolution // 2
    return num_levels


def sliced_wasserstein_distance(real_imgs, fake_imgs, num_levels: int | None = None,
                                nhood_size: int = 7, nhoods_per_image: int = 128,
                                dir_repeats: int = 4, dirs_per_repeat: int = 128,
                                seed: int | None = 0) -> tuple[list[float], float]:
    """SWD between two image sets (N, 3, H, W) in [-1, 1], x1e3 per pyramid level (ProGAN).

    Levels default to resolutions H, H/2, ... down to 16 (at most 4). Real image ``i`` and fake
    image ``i`` share their patch positions (:func:`image_descriptors`), so SWD(x, x) = 0; the
    projections come from ``torch.Generator().manual_seed(seed)``, ``dir_repeats`` draws of
    ``torch.randn(D, dirs_per_repeat)`` per level in level order. Returns
    ``([swd_level_0, ...], average)``; the SWD metric gives the same numbers.
    """
    real = torch.as_tensor(real_imgs).double()
    fake = torch.as_tensor(fake_imgs).double()
    if real.shape[1:] != fake.shape[1:] or real.shape[0] != fake.shape[0]:
        raise ValueError(f'sliced_wasserstein_distance: real {tuple(real.shape)} and fake '
                         f'{tuple(fake.shape)} must have equal shapes')
    num_levels = swd_levels(real.shape[2]) if num_levels is None else num_levels
    seed = seed or 0
    gen, idx = torch.Generator().manual_seed(seed), range(real.shape[0])
    dists = []
    for lvl, (r_band, f_band) in enumerate(zip(laplacian_pyramid(real, num_levels - 1),
                                               laplacian_pyramid(fake, num_levels - 1))):
        r_desc = finalize_descriptors(image_descriptors(r_band, idx, lvl, seed, nhood_size,
                                                        nhoods_per_image))
        f_desc = finalize_descriptors(image_descriptors(f_band, idx, lvl, seed, nhood_size,
                                                        nhoods_per_image))
        dists.append(1e3 * sliced_wasserstein(r_desc, f_desc, dir_repeats, dirs_per_repeat, gen))
    return dists, float(np.mean(dists))


# --------------------------------------------------------------------------------------------
# MS-SSIM (Wang et al. 2003; ProGAN's NumPy version)
# --------------------------------------------------------------------------------------------
def _gauss_window(size: int, sigma: float) -> np.ndarray:
    radius = size // 2
    offset, start, stop = 0.0, -radius, radius + 1
    if size % 2 == 0:
        offset, stop = 0.5, stop - 1
    x, y = np.mgrid[offset + start:stop, offset + start:stop]
    g = np.exp(-((x ** 2 + y ** 2) / (2.0 * sigma ** 2)))
    return g / g.sum()


def _ssim_and_cs(img1: np.ndarray, img2: np.ndarray, max_val: float, filter_size: int,
                 filter_sigma: float, k1: float, k2: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-image SSIM and contrast-structure term for NHWC arrays (valid Gaussian filtering)."""
    _, h, w, _ = img1.shape
    size = min(filter_size, h, w)  # the window cannot exceed the image
    sigma = size * filter_sigma / filter_size if filter_size else 0
    if filter_size:
        win = _gauss_window(size, sigma).reshape(1, size, size, 1)
        from scipy import signal  # lazy: scipy.signal costs seconds at import
        blur = lambda a: signal.fftconvolve(a, win, mode='valid')  # noqa: E731
    else:
        blur = lambda a: a  # noqa: E731
    mu1, mu2 = blur(img1), blur(img2)
    s11 = blur(img1 * img1) - mu1 * mu1
    s22 = blur(img2 * img2) - mu2 * mu2
    s12 = blur(img1 * img2) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    v1, v2 = 2.0 * s12 + c2, s11 + s22 + c2
    ssim = np.mean(((2.0 * mu1 * mu2 + c1) * v1) / ((mu1 * mu1 + mu2 * mu2 + c1) * v2),
                   axis=(1, 2, 3))
    return ssim, np.mean(v1 / v2, axis=(1, 2, 3))


def ms_ssim(img1, img2, max_val: float = 255, filter_size: int = 11, filter_sigma: float = 1.5,
            k1: float = 0.01, k2: float = 0.03, weights=None, reduce_mean: bool = True):
    """MS-SSIM of two image batches, NHWC in [0, max_val] (ProGAN/MMagic conventions).

    Five scales with the paper's weights by default, 2x2 box downsampling between scales
    (odd sizes as ProGAN: the last row/column is mirrored, see :func:`_box_down`).
    Returns the batch mean (``reduce_mean``) or one value per image pair.
    """
    im1, im2 = _np64(img1), _np64(img2)
    if im1.shape != im2.shape or im1.ndim != 4:
        raise ValueError(f'ms_ssim: expected two NHWC batches of equal shape, got {im1.shape} '
                         f'and {im2.shape}')
    weights = np.asarray(weights if weights is not None
                         else [0.0448, 0.2856, 0.3001, 0.2363, 0.1333], dtype=np.float64)
    mssim, mcs = [], []
    for _ in range(weights.size):
        ssim, cs = _ssim_and_cs(im1, im2, max_val, filter_size, filter_sigma, k1, k2)
        mssim.append(ssim)
        mcs.append(cs)
        im1, im2 = _box_down(im1), _box_down(im2)
    mssim = np.clip(np.asarray(mssim), 0.0, np.inf)  # clip: negative SSIM ** weight is NaN
    mcs = np.clip(np.asarray(mcs), 0.0, np.inf)
    result = np.prod(mcs[:-1] ** weights[:-1, None], axis=0) * mssim[-1] ** weights[-1]
    return float(result.mean()) if reduce_mean else result


def _box_down(x: np.ndarray) -> np.ndarray:
    """2x2 box average, (N, H, W, C) -> (N, ceil(H/2), ceil(W/2), C).

    ProGAN's ``convolve(x, ones((1, 2, 2, 1)) / 4, mode='reflect')[:, ::2, ::2]``: an odd
    trailing row/column is averaged with its mirror (itself), so odd sizes keep their last
    pixels and no level becomes empty (MMagic's slicing version fails on odd sizes).
    """
    pad_h, pad_w = x.shape[1] % 2, x.shape[2] % 2
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode='edge')
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) * 0.25
