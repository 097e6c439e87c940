"""Evaluator: feeds predictions to its metrics and merges their results (MMEngine + MMagic API)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from genforge.registry import EVALUATOR, METRICS

from .metrics.base import BaseMetric


@EVALUATOR.register_module(name=['Evaluator', 'GenEvaluator', 'EditEvaluator'])
class Evaluator:
    """Holds a list of metrics built from ``METRICS``.

    MMEngine use: ``process(data_samples, data_batch)`` per batch, ``evaluate(size)`` at the end.
    MMagic use (generative metrics, GenValLoop): ``prepare_metrics(model, dataloader)``,
    ``prepare_samplers(model, dataloader)`` -> ``[(metrics, sampler), ...]``,
    ``process(data_samples, data_batch, metrics)``, ``evaluate()``.

    Example: val_evaluator = dict(type='Evaluator', metrics=[dict(type='PSNR', crop_border=4)])
    """

    def __init__(self, metrics: dict | BaseMetric | Sequence | None,
                 key_path: str = 'evaluator'):
        # key_path: where this evaluator sits in the config ('val_evaluator'), for error messages
        self.is_ready = False
        if metrics is None:
            self.metrics: list | None = None
            return
        if isinstance(metrics, (dict, BaseMetric)) or not isinstance(metrics, Sequence):
            metrics = [metrics]
        self.metrics = []
        for i, metric in enumerate(metrics):
            if isinstance(metric, dict):
                metric = METRICS.build(metric, key_path=f'{key_path}.metrics.{i}')
            self.metrics.append(metric)
        self._dataset_meta: dict | None = None

    @property
    def dataset_meta(self) -> dict | None:
        return getattr(self, '_dataset_meta', None)

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics or []:
            metric.dataset_meta = dataset_meta

    def prepare_metrics(self, module: Any, dataloader: Any) -> None:
        """Let metrics precompute what they need once (e.g. real-image statistics)."""
        if self.is_ready:
            return
        for metric in self.metrics or []:
            if hasattr(metric, 'prepare'):
                metric.prepare(module, dataloader)
        self.is_ready = True

    def prepare_samplers(self, module: Any, dataloader: Any) -> list[tuple[list, Iterator]]:
        """Group metrics that need the same inputs and give each group one sampler."""
        if not self.metrics:
            return [([], dataloader)]  # nothing to measure; hooks still see the predictions
        out = []
        for metrics in self.metric_groups():
            first = metrics[0]
            if hasattr(first, 'get_metric_sampler'):
                out.append((metrics, first.get_metric_sampler(module, dataloader, metrics)))
            else:
                out.append((metrics, dataloader))
        return out

    def metric_groups(self) -> list[list]:
        """Metrics that need the same inputs (sampler mode, sample model, conditions), in order."""
        groups: dict[str, list] = {}
        for metric in self.metrics or []:
            key = repr((getattr(metric, 'SAMPLER_MODE', 'normal'),
                        getattr(metric, 'sample_model', None),
                        getattr(metric, 'need_cond_input', False)))
            groups.setdefault(key, []).append(metric)
        return list(groups.values())

    def process(self, data_samples: Sequence, data_batch: Any = None,
                metrics: Sequence | None = None) -> None:
        """Give one batch of predictions (and its input batch) to ``metrics`` (default: all)."""
        if not self.metrics:
            return
        if hasattr(data_samples, 'split') and not isinstance(data_samples, (list, tuple)):
            data_samples = data_samples.split()  # a stacked DataSample -> one per sample
        for metric in (metrics if metrics is not None else self.metrics):
            if metric is not None:
                metric.process(data_batch, data_samples)

    def evaluate(self, size: int | None = None) -> dict:
        """Merged ``{prefix/key: value}`` of every metric; duplicate keys are an error."""
        if not self.metrics:
            return {}
        results: dict = {}
        for metric in self.metrics:
            out = metric.evaluate(size) if size is not None else metric.evaluate()
            clash = set(out) & set(results)
            if clash:
                raise ValueError(f'two metrics both report {sorted(clash)}; give them different '
                                 f'prefix= values')
            results.update(out)
        return results

    def offline_evaluate(self, data_samples: Sequence, data: Sequence | None = None,
                         chunk_size: int = 1) -> dict:
        """Evaluate saved predictions without a model (MMEngine's helper)."""
        data = data if data is not None else [None] * len(data_samples)
        for i in range(0, len(data_samples), chunk_size):
            self.process(data_samples[i:i + chunk_size], data[i:i + chunk_size])
        return self.evaluate(len(data_samples))


__all__ = ['Evaluator']
