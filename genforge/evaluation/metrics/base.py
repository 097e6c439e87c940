"""BaseMetric: accumulate per-batch results, gather them across ranks, compute once."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from genforge.dist import broadcast_object, collect_results, is_main_process

logger = logging.getLogger(__name__)


class BaseMetric:
    """MMEngine's metric interface.

    Subclasses implement ``process(data_batch, data_samples)`` (append to ``self.results``) and
    ``compute_metrics(results) -> dict``. ``evaluate(size)`` gathers every rank's results in
    dataset order (cut to ``size``, dropping sampler padding), computes on rank 0, prefixes the
    keys with ``prefix/`` and broadcasts the dict to all ranks.

    Example:
        >>> class Accuracy(BaseMetric):
        ...     default_prefix = 'acc'
        ...     def process(self, data_batch, data_samples):
        ...         self.results += [int(s['pred'] == s['gt']) for s in data_samples]
        ...     def compute_metrics(self, results):
        ...         return {'top1': sum(results) / len(results)}
    """

    default_prefix: str | None = None

    def __init__(self, collect_device: str = 'cpu', prefix: str | None = None,
                 collect_dir: str | None = None):
        if collect_device not in ('cpu', 'gpu'):
            raise ValueError(f"collect_device must be 'cpu' or 'gpu', got {collect_device!r}")
        self.collect_device = collect_device
        self.collect_dir = collect_dir
        self.prefix = prefix or self.default_prefix
        self.results: list = []
        self._dataset_meta: dict | None = None

    @property
    def dataset_meta(self) -> dict | None:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        raise NotImplementedError(f'{type(self).__name__} must implement process(data_batch, '
                                  f'data_samples)')

    def compute_metrics(self, results: list) -> dict:
        raise NotImplementedError(f'{type(self).__name__} must implement compute_metrics(results)')

    def evaluate(self, size: int | None = None) -> dict:
        """Metrics over all ranks' results, keys prefixed ``prefix/``; clears ``results``."""
        if not self.results:
            logger.warning('%s got no results: was process() called? (empty dataloader or '
                           'wrong evaluator wiring)', type(self).__name__)
        local_total = len(self.results)
        results = collect_results(self.results, size if size is not None else 10 ** 12,
                                  self.collect_device)
        metrics = None
        if is_main_process():
            metrics = self.compute_metrics(results if results is not None else [])
            if self.prefix:
                metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        metrics = broadcast_object(metrics)
        logger.debug('%s evaluated %d local results', type(self).__name__, local_total)
        self.results.clear()
        return metrics


__all__ = ['BaseMetric']
