"""Reference (real-image) Inception statistics: computed once, cached on disk.

With ``inception_pkl`` set, that file is the cache. Without it, the statistics go to
``<genforge cache>/inception_stats/<weights>-<fingerprint>.pkl`` (``$GENFORGE_CACHE`` or
``~/.cache/genforge``), so a second validation, a resumed run or another run on the same data
reads them instead of running Inception over the real images again. The fingerprint covers the
protocol (Inception weights, ``real_key``, ``real_nums``, whether the rows are kept) and the
data: dataset type and length, every file the first ``real_nums`` items name (path, size,
mtime) and the bytes of the first preprocessed batch (so a changed pipeline or preprocessor
misses). Datasets that name no files (synthetic, in-memory) are not cached on disk.
``GENFORGE_STATS_CACHE=0`` turns the default cache off.

The pickle holds ``real_mean`` (D,), ``real_cov`` (D, D) float64, ``real_nums``, ``weights`` (the
Inception weights tag, e.g. 'pt2015') and, when a metric needs the rows (KID, PR),
``real_feats`` (N, D) float32. MMagic's ``mu``/``sigma`` and ``mean``/``cov`` key spellings load
too. A pickle made with other Inception weights is refused, never silently used.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle

import numpy as np
import torch
from torch.utils.data import DataLoader

from ...datasets.collate import pseudo_collate
from ...dist import all_gather_object, broadcast_object, get_dist_info, is_main_process
from ...fileio import atomic_open, genforge_cache_dir
from ..functional.gen_metrics import feature_stats

__all__ = ['load_or_compute_real_stats', 'save_stats_pkl', 'load_stats_pkl',
           'default_stats_cache_path']

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
        made = state.get('inception_style') or _style_of_tag(str(weights))
        used = metric.extractor.inception_style
        hint = (f"; it was made with inception_style={made!r} and the metric uses {used!r}: set "
                f"inception_style={made!r} in the metric or rerun `genforge fid-stats DATA_DIR "
                f"--out {path} --inception-style {used}`" if made and made != used else '')
        raise ValueError(f"inception_pkl '{path}' was computed with Inception weights "
                         f"{weights!r} but {type(metric).__name__} uses "
                         f"{metric.extractor.weights_tag!r}{hint}; otherwise delete the file or "
                         'point inception_pkl elsewhere so the statistics are recomputed.')


def _style_of_tag(tag: str) -> str | None:
    # tags from genforge.evaluation.inception.load_inception
    return 'StyleGAN' if tag.startswith('stylegan') else 'PyTorch' if tag == 'pt2015' else None


def _hash_data_files(h, dataset, nums: int) -> bool:
    """Feed (key, path, size, mtime) of every file the first ``nums`` items name into ``h``."""
    found = False
    for i in range(nums):
        info = dataset.get_data_info(i)
        for key in sorted(info):
            value = info[key]
            if isinstance(value, str) and os.path.isfile(value):
                st = os.stat(value)
                h.update(f'{key}={value}:{st.st_size}:{st.st_mtime_ns};'.encode())
                found = True
    return found


def default_stats_cache_path(metric, dataloader: DataLoader, nums: int) -> str | None:
    """Where the real statistics of (this dataset, this protocol) are cached; None = no cache."""
    if os.environ.get('GENFORGE_STATS_CACHE', '1') == '0':
        return None
    dataset = dataloader.dataset
    if not hasattr(dataset, 'get_data_info'):
        return None
    h = hashlib.sha256()
    h.update(repr((type(dataset).__module__, type(dataset).__qualname__, len(dataset), nums,
                   metric.extractor.weights_tag, metric.real_key,
                   bool(metric.needs_raw_real))).encode())
    if not _hash_data_files(h, dataset, nums):
        return None  # nothing on disk identifies the data
    # the first batch as the metric sees it: catches pipeline and preprocessor changes
    first = pseudo_collate([dataset[i] for i in range(min(nums, dataloader.batch_size or 1))])
    for img in metric.real_images(first):
        h.update(img.detach().float().cpu().contiguous().numpy().tobytes())
    folder = genforge_cache_dir() / 'inception_stats'
    return str(folder / f'{metric.extractor.weights_tag}-{h.hexdigest()[:20]}.pkl')


def _stats_from_state(state: dict) -> dict:
    feats = state.get('real_feats')
    return dict(mean=np.asarray(state['real_mean'], np.float64),
                cov=np.asarray(state['real_cov'], np.float64),
                feats=None if feats is None else torch.as_tensor(feats).double(),
                num=int(state.get('real_nums', len(feats) if feats is not None else -1)))


def _read_usable(path: str | None, metric, strict: bool = True) -> dict | None:
    """Rank 0 reads ``path`` and every rank gets its state (None: missing or lacks rows).

    ``strict=False`` (the default cache): an unreadable file is recomputed, not an error."""
    state, error = None, None
    if is_main_process() and path and os.path.isfile(path):
        try:
            state = load_stats_pkl(path)
            _check_weights(state, metric, path)
        except (KeyError, ValueError, OSError, pickle.UnpicklingError) as exc:
            error = exc  # raised on every rank below, so none waits in a collective
        if state is not None and metric.needs_raw_real and 'real_feats' not in state:
            state = None
    state, error = broadcast_object((state, error))
    if error is not None and strict:
        raise error
    if error is not None:
        logger.warning('%s: ignoring the unreadable statistics cache %s (%s); recomputing',
                       type(metric).__name__, path, error)
    return state


def load_or_compute_real_stats(metric, dataloader: DataLoader) -> dict:
    """``dict(mean, cov, feats or None, num)`` for ``metric``, from its inception_pkl or the
    default cache when they hold them, else computed (and written there)."""
    pkl = metric.inception_pkl
    state = _read_usable(pkl, metric) if pkl else None
    if state is not None:
        metric.real_source = f'pkl:{os.path.basename(pkl)}'
        logger.info('%s: reference statistics from %s', type(metric).__name__, pkl)
        return _stats_from_state(state)
    dataset = dataloader.dataset
    nums = len(dataset) if metric.real_nums == -1 else min(metric.real_nums, len(dataset))
    # every rank computes the (deterministic) fingerprint: an error there is raised everywhere
    cache = None if pkl else default_stats_cache_path(metric, dataloader, nums)
    state = _read_usable(cache, metric, strict=False) if cache else None
    if state is not None:
        logger.info('%s: reference statistics of %d images from the cache %s',
                    type(metric).__name__, nums, cache)
        return _stats_from_state(state)
    key = (id(dataset), nums, metric.real_key, id(metric.data_preprocessor))
    feats = metric.extractor.real_features(key, lambda: _real_features(metric, dataloader, nums))
    mean, cov = feature_stats(feats)
    metric.real_source = getattr(metric, 'real_source', 'val')
    target = pkl or cache
    if target and is_main_process():
        state = dict(real_mean=mean, real_cov=cov, real_nums=nums,
                     weights=metric.extractor.weights_tag, resize=metric.resize_desc)
        if metric.needs_raw_real:
            state['real_feats'] = feats.float().numpy()
        os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
        save_stats_pkl(target, state)
        logger.info('%s: saved reference statistics of %d images to %s',
                    type(metric).__name__, nums, target)
    broadcast_object(None)  # keep ranks in step while rank 0 writes
    return dict(mean=mean, cov=cov, feats=feats, num=nums)
