"""Evaluator + BaseMetric: prefixes, merging, dataset order and size cut."""
import pytest

from genforge.evaluation import BaseMetric, Evaluator
from genforge.registry import METRICS


@METRICS.register_module(force=True)
class MeanOfPreds(BaseMetric):
    default_prefix = 'mean'

    def process(self, data_batch, data_samples):
        self.results.extend(float(s['pred']) for s in data_samples)

    def compute_metrics(self, results):
        return {'value': sum(results) / len(results), 'n': len(results)}


def test_evaluator_builds_processes_and_cuts_padding():
    ev = Evaluator([dict(type='MeanOfPreds'), dict(type='MeanOfPreds', prefix='other')])
    ev.dataset_meta = dict(classes=('a',))
    assert ev.metrics[1].dataset_meta == dict(classes=('a',))
    for batch in ([1.0, 2.0], [3.0, 10.0]):
        ev.process([dict(pred=p) for p in batch], data_batch=None)
    # size=3: the 4th result is sampler padding (round_up) and is dropped
    assert ev.evaluate(3) == {'mean/value': 2.0, 'mean/n': 3, 'other/value': 2.0, 'other/n': 3}
    assert ev.metrics[0].results == []


def test_duplicate_metric_names_and_unknown_metric():
    ev = Evaluator([dict(type='MeanOfPreds'), dict(type='MeanOfPreds')])
    ev.process([dict(pred=1.0)])
    with pytest.raises(ValueError, match='different prefix'):
        ev.evaluate(1)
    with pytest.raises(KeyError, match=r"evaluator.metrics.0.type='MeanOfPred'.*'MeanOfPreds'"):
        Evaluator(dict(type='MeanOfPred'))


def test_aliases_registered():
    from genforge.registry import EVALUATOR
    assert EVALUATOR.get('GenEvaluator') is Evaluator is EVALUATOR.get('EditEvaluator')
