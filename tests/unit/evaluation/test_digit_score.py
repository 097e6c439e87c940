"""DigitScore: real digits score high, shuffled pixels low, one value per seed."""
import numpy as np
import pytest
import torch

pytest.importorskip('sklearn')

from genforge.evaluation.metrics.digit_score import DigitScore, _classifier, digit_score  # noqa: E402
from genforge.registry import METRICS  # noqa: E402
from genforge.structures import DataSample  # noqa: E402


def _shuffled(imgs: np.ndarray, seed: int = 0) -> np.ndarray:
    flat = imgs.reshape(len(imgs), -1).copy()
    rng = np.random.default_rng(seed)
    for row in flat:
        rng.shuffle(row)
    return flat.reshape(imgs.shape)


def _independent_is(probs: np.ndarray) -> float:
    # naive loop: exp(mean_x sum_y p(y|x) log(p(y|x) / p(y)))
    marg = probs.mean(0)
    total = 0.
    for p in probs:
        total += sum(py * np.log(py / my) for py, my in zip(p, marg) if py > 0)
    return float(np.exp(total / len(probs)))


def test_real_digits_high_shuffled_low():
    clf = _classifier(32, 0)
    real = digit_score(clf.held_out)
    assert real['score'] > 6 and real['confident'] > 0.7 and real['min_class_share'] > 0.05
    assert real['ratio'] == pytest.approx(1.0)
    assert real['score'] == pytest.approx(_independent_is(clf.predict_proba(clf.held_out)), rel=1e-5)
    fake = digit_score(_shuffled(clf.held_out))
    assert fake['score'] < 2 and fake['ratio'] < 0.3 and fake['confident'] < 0.2
    assert fake['real_score'] == pytest.approx(real['real_score'])


def test_same_value_for_a_seed_and_metric_type():
    imgs = torch.from_numpy(_classifier(32, 0).held_out[:40]).float()[:, None]
    a, b = digit_score(imgs, seed=0), digit_score(imgs.repeat(1, 3, 1, 1), seed=0)
    assert a == b  # grey in 1 or 3 equal channels: same numbers
    metric = METRICS.build(dict(type='DigitScore', prefix='digits', fake_nums=30))
    assert isinstance(metric, DigitScore)
    for start in (0, 20):
        metric.process({}, [DataSample(fake_img=img) for img in imgs[start:start + 20]])
    out = metric.evaluate()
    assert set(out) == {f'digits/{k}' for k in ('confident', 'score', 'real_score', 'ratio',
                                                 'min_class_share')}
    assert out['digits/score'] == pytest.approx(digit_score(imgs[:30])['score'], abs=1e-4)
    # a fresh classifier fit for the same seed gives the same probabilities
    _classifier.cache_clear()
    assert digit_score(imgs, seed=0) == a


def test_bad_shape_names_the_problem():
    with pytest.raises(ValueError, match='digit_score'):
        digit_score(np.zeros((3, 3)))
