"""Accuracy and SingleLabelMetric against scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support, top_k_accuracy_score

from genforge.evaluation import Accuracy, Evaluator, SingleLabelMetric
from genforge.structures import DataSample


@pytest.fixture
def preds():
    rng = np.random.default_rng(0)
    scores = rng.random((40, 6))
    scores /= scores.sum(1, keepdims=True)
    labels = rng.integers(0, 6, 40)
    labels[:5] = scores[:5].argmax(1)  # some right answers
    return scores, labels


def _samples(scores, labels) -> list[DataSample]:
    return [DataSample().set_gt_label(int(lb)).set_pred_score(torch.tensor(s, dtype=torch.float32))
            for s, lb in zip(scores, labels)]


def test_accuracy_topk_equals_sklearn(preds):
    scores, labels = preds
    ev = Evaluator(dict(type='Accuracy', topk=(1, 3)))
    ev.process(_samples(scores[:25], labels[:25]))  # two batches
    ev.process(_samples(scores[25:], labels[25:]))
    metrics = ev.evaluate(40)
    for k in (1, 3):
        ref = 100 * top_k_accuracy_score(labels, scores, k=k, labels=range(6))
        assert np.isclose(metrics[f'accuracy/top{k}'], ref, atol=1e-4)


def test_accuracy_thresholds_and_labels(preds):
    scores, labels = preds
    thr = 0.25
    acc = Accuracy.calculate(torch.tensor(scores), torch.tensor(labels), topk=1,
                             thrs=(None, thr))
    top1 = scores.argmax(1)
    assert np.isclose(acc[0][0].item(), 100 * np.mean(top1 == labels), atol=1e-4)
    ok = (top1 == labels) & (scores.max(1) > thr)
    assert np.isclose(acc[0][1].item(), 100 * ok.mean(), atol=1e-4)
    by_label = Accuracy.calculate(torch.tensor(top1), torch.tensor(labels))
    assert np.isclose(by_label.item(), 100 * np.mean(top1 == labels), atol=1e-4)
    with pytest.raises(ValueError, match='Top-7'):
        Accuracy.calculate(torch.tensor(scores), torch.tensor(labels), topk=7)


@pytest.mark.parametrize('average', ['macro', 'micro'])
def test_single_label_metric_equals_sklearn(preds, average):
    scores, labels = preds
    metric = SingleLabelMetric(average=average, items=('precision', 'recall', 'f1-score'))
    metric.process(None, _samples(scores, labels))
    out = metric.evaluate(40)
    p, r, f, _ = precision_recall_fscore_support(labels, scores.argmax(1), average=average,
                                                 labels=range(6), zero_division=0)
    suffix = '_micro' if average == 'micro' else ''
    assert np.isclose(out[f'single-label/precision{suffix}'], 100 * p, atol=1e-3)
    assert np.isclose(out[f'single-label/recall{suffix}'], 100 * r, atol=1e-3)
    assert np.isclose(out[f'single-label/f1-score{suffix}'], 100 * f, atol=1e-3)


def test_single_label_classwise_and_label_inputs(preds):
    scores, labels = preds
    pred = scores.argmax(1)
    p, r, f, s = SingleLabelMetric.calculate(torch.tensor(pred), torch.tensor(labels),
                                             average=None, num_classes=6)
    rp, rr, rf, rs = precision_recall_fscore_support(labels, pred, labels=range(6),
                                                     zero_division=0)
    assert np.allclose(p.numpy(), 100 * rp, atol=1e-3)
    assert np.allclose(f.numpy(), 100 * rf, atol=1e-3)
    assert np.array_equal(s.numpy(), rs)
    with pytest.raises(ValueError, match='unknown items'):
        SingleLabelMetric(items=('accuracy', ))
