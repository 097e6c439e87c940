"""Reference (real-image) Inception statistics: computed once, cached in ``inception_pkl``.

The pickle holds ``real_mean`` (D,), ``real_cov`` (D, D) float64, ``real_nums``, ``weights`` (the
Inception weights tag, e.g. 'pt2015') and, when a metric needs the rows (KID, PR),
``real_feats`` (N, D) float32. MMagic's ``mu``/``sigma`` and ``mean``/``cov`` key spellings load
too. A pickle made with other Inception weights is refused, never silently used.
"""
from __future__ import annotations

import logging
import os
import pickle

import numpy as np
import torch
from torch.utils.data import DataLoader

from ...datasets.collate import pseudo_collate
from ...dist import all_gather_object, broadcast_object, get_dist_info, is_main_process
from ...fileio import atomic_open
from ..functional.gen_metrics import feature_stats

__all__ = ['load_or_compute_real_stats', 'save_stats_pkl', 'load_stats_pkl']

logger = logging.getLogger(__name__)


def save_stats_pkl(path: str | os.PathLike, state: dict) -> None:
    """Atomic pickle write (tmp + os.replace)."""
    with atomic_open(path, 'wb') as f:
        pickle.dump(state, f)


def load_stats_pkl(path: str | os.PathLike) -> dict:
    """Load a statistics pickle and normalise its key names to real_mean / real_cov."""
    from ...fileio import safe_pickle_load
    with open(path, 'rb') as f:
        state = dict(safe_pickle_load(f, path))   # a .pkl from elsewhere must not run code
    for mean_key, cov_key in (('mu', 'sigma'), ('mean', 'cov')):
        if 'real_mean' not in state and mean_key in state:
            state['real_mean'], state['real_cov'] = state[mean_key], state[cov_key]
    if 'real_mean' not in state or 'real_cov' not in state:
        raise KeyError(f"inception_pkl '{path}' has no real_mean/real_cov (keys: "
                       f'{sorted(state)}); recreate it with `genforge fid-stats`')
    return state


def _real_features(metric, dataloader: DataLoader, nums: int) -> torch.Tensor:
    """Inception features of the first ``nums`` dataset items, gathered over ranks."""
    rank, world = get_dist_info()
    subset = [(i * world + rank) % nums for i in range((nums - 1) // world + 1)]
    loader = DataLoader(dataloader.dataset, batch_size=dataloader.batch_size, sampler=subset,
                        collate_fn=pseudo_collate, shuffle=False, drop_last=False)
    feats = [metric.extractor.extract(metric.real_images(batch))['feats'] for batch in loader]
    gathered = all_gather_object(torch.cat(feats))
    # rank r computed items r, r + world, ...: interleave rows back into dataset order
    rows = torch.stack(gathered, dim=1).reshape(-1, gathered[0].shape[1]) \
        if len(gathered) > 1 else gathered[0]
    return rows[:nums]


def _check_weights(state: dict, metric, path) -> None:
    weights = state.get('weights')
    if weights is not None and weights != metric.extractor.weights_tag:
        raise ValueError(f"inception_pkl '{path}' was computed with Inception weights "
                         f"{weights!r} but {type(metric).__name__} uses "
                         f"{metric.extractor.weights_tag!r}; delete the file or point "
                         'inception_pkl elsewhere so the statistics are recomputed.')


def load_or_compute_real_stats(metric, dataloader: DataLoader) -> dict:
    """``dict(mean, cov, feats or None, num)`` for ``metric`` (uses/creates its inception_pkl)."""
    pkl = metric.inception_pkl
    if pkl and os.path.isfile(pkl):
        state = load_stats_pkl(pkl)
        _check_weights(state, metric, pkl)
        if not metric.needs_raw_real or 'real_feats' in state:
            metric.real_source = f'pkl:{os.path.basename(pkl)}'
            feats = state.get('real_feats')
            logger.info('%s: reference statistics from %s', type(metric).__name__, pkl)
            return dict(mean=np.asarray(state['real_mean'], np.float64),
                        cov=np.asarray(state['real_cov'], np.float64),
                        feats=None if feats is None else torch.as_tensor(feats).double(),
                        num=int(state.get('real_nums', len(feats) if feats is not None else -1)))
    dataset = dataloader.dataset
    nums = len(dataset) if metric.real_nums == -1 else min(metric.real_nums, len(dataset))
    key = (id(dataset), nums, metric.real_key, id(metric.data_preprocessor))
    feats = metric.extractor.real_features(key, lambda: _real_features(metric, dataloader, nums))
    mean, cov = feature_stats(feats)
    metric.real_source = getattr(metric, 'real_source', 'val')
    if pkl and is_main_process():
        state = dict(real_mean=mean, real_cov=cov, real_nums=nums,
                     weights=metric.extractor.weights_tag, resize=metric.resize_desc)
        if metric.needs_raw_real:
            state['real_feats'] = feats.float().numpy()
        save_stats_pkl(pkl, state)
        logger.info('%s: saved reference statistics of %d images to %s',
                    type(metric).__name__, nums, pkl)
    broadcast_object(None)  # keep ranks in step while rank 0 writes
    return dict(mean=mean, cov=cov, feats=feats, num=nums)
