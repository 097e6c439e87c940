"""Digit score: how much generated images look like digits, by a small digits classifier.

For models trained on ``DigitsDataset`` (scikit-learn's bundled 8x8 digits, upscaled). An
Inception network knows nothing of 8x8 digits, so this metric trains a scikit-learn logistic regression on the
same digits instead, after the same round trip the images take (8 px -> ``img_size`` -> 8 px),
and reports on the samples:

- ``confident``: fraction of samples the classifier gives one class with p > ``threshold``;
- ``score``: the classifier-based Inception Score exp(E_x KL(p(y|x) || p(y))), between 1
  (every sample looks alike or like no digit) and 10 (every sample clearly one digit, all ten
  digits equally often);
- ``real_score``: the same score of real held-out digits (what a perfect model reaches);
- ``ratio`` = ``score / real_score`` and ``min_class_share``: the share of the rarest
  predicted class (0.1 when balanced, near 0 on mode collapse).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from ...registry import METRICS
from .base_gen_metric import GenerativeMetric

__all__ = ['DigitScore', 'DigitClassifier', 'digit_score']


def _to_8px(images: np.ndarray) -> np.ndarray:
    """(N, H, W) grey images in [0, 255] -> (N, 64) features in [0, 1] (area-averaged to 8x8)."""
    from PIL import Image
    imgs = np.clip(np.asarray(images, dtype=np.float32), 0, 255)
    if imgs.shape[1:] != (8, 8):
        imgs = np.stack([np.asarray(Image.fromarray(img, mode='F').resize(
            (8, 8), Image.Resampling.BOX)) for img in imgs])
    return imgs.reshape(len(imgs), 64) / 255.


class DigitClassifier:
    """Multinomial logistic regression trained on 80% of the bundled digits at ``img_size``.

    The other 20% (``held_out``) give the real digits' score. Deterministic for a ``seed``.

    Example:
        clf = DigitClassifier(img_size=32, seed=0); probs = clf.predict_proba(imgs)  # (N, 10)
    """

    def __init__(self, img_size: int = 32, seed: int = 0, C: float = 1.):
        from sklearn.linear_model import LogisticRegression

        from ...datasets.digits import load_digit_images
        images, labels = load_digit_images(img_size)
        order = np.random.default_rng(seed).permutation(len(images))
        n_train = int(0.8 * len(images))
        train, held = order[:n_train], order[n_train:]
        self.held_out = images[held]
        self.held_out_labels = labels[held]
        # Multinomial logistic regression (lbfgs: deterministic). With C=1 its softmax stays
        # unsure on non-digits (3% of shuffled-pixel digits confident); C=10 or an SVC with
        # Platt-calibrated one-vs-rest probabilities called ~75% of them confident digits.
        self.model = LogisticRegression(C=C, max_iter=3000)
        self.model.fit(_to_8px(images[train]), labels[train])

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) grey images in [0, 255] -> (N, 10) class probabilities."""
        return self.model.predict_proba(_to_8px(images))


@functools.lru_cache(maxsize=4)
def _classifier(img_size: int, seed: int) -> DigitClassifier:
    return DigitClassifier(img_size, seed)


def _scores(probs: np.ndarray, threshold: float) -> dict:
    marginal = probs.mean(0, keepdims=True)
    eps = 1e-12
    kl = (probs * (np.log(probs + eps) - np.log(marginal + eps))).sum(1)
    counts = np.bincount(probs.argmax(1), minlength=probs.shape[1])
    return dict(confident=float((probs.max(1) > threshold).mean()), score=float(np.exp(kl.mean())),
                min_class_share=float(counts.min() / len(probs)))


def digit_score(images: np.ndarray | torch.Tensor, img_size: int | None = None, seed: int = 0,
                threshold: float = 0.8) -> dict:
    """Digit score of (N, H, W) or (N, C, H, W) images in [0, 255] (channels are averaged).

    Returns ``confident``, ``score``, ``real_score``, ``ratio``, ``min_class_share``.
    """
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images.mean(1)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f'digit_score: expected (N, H, W) or (N, C, H, W) images, got shape '
                         f'{images.shape}')
    clf = _classifier(int(img_size or images.shape[-1]), int(seed))
    out = _scores(clf.predict_proba(images), threshold)
    out['real_score'] = _scores(clf.predict_proba(clf.held_out), threshold)['score']
    out['ratio'] = out['score'] / out['real_score']
    return out


@METRICS.register_module(name=['DigitScore'])
class DigitScore(GenerativeMetric):
    """Digit score of ``fake_nums`` samples of a model trained on ``DigitsDataset``.

    Results: ``confident``, ``score``, ``real_score``, ``ratio``, ``min_class_share`` (see the
    module docstring). Needs scikit-learn. Images: (1 or 3, H, W) in [0, 255].

    Example:
        dict(type='DigitScore', prefix='digits', fake_nums=500, sample_model='ema')
    """
    name = 'DigitScore'

    def __init__(self, fake_nums: int = 500, seed: int = 0, threshold: float = 0.8,
                 fake_key: str | None = None, sample_model: str = 'ema',
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(fake_nums, 0, fake_key, None, False, sample_model, collect_device,
                         prefix)
        self.seed, self.threshold = seed, threshold

    def _protocol_fields(self) -> list:
        return [('fake', self.fake_nums), ('seed', self.seed)]

    def process(self, data_batch: dict, data_samples) -> None:
        left = self.fake_nums_per_device - len(self.fake_results)
        if left > 0:
            self.fake_results.extend(img.float().cpu() for img in self.fake_images(data_samples)[:left])

    def compute_metrics(self, results_fake: list) -> dict:
        res = digit_score(torch.stack(results_fake), seed=self.seed, threshold=self.threshold)
        return {k: round(v, 4) for k, v in res.items()}
