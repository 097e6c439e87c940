"""Which checkpoint a resume starts from, and whether a file can be resumed from at all.

``resume=True`` follows ``work_dir/last_checkpoint``. When that pointer is missing, dangling or
names an unreadable file while older ``iter_*.pth`` / ``epoch_*.pth`` files exist, the newest
checkpoint that loads is used (and named in a warning): starting from scratch would overwrite
them. When checkpoints exist and none loads, the run stops instead.
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any

from .checkpoint import _load_checkpoint

logger = logging.getLogger('genforge.runner')

_CKPT_NAME = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def list_checkpoints(work_dir: str) -> list[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir``, newest (largest N, then mtime) first."""
    if not os.path.isdir(work_dir):
        return []
    found = []
    for name in os.listdir(work_dir):
        match = _CKPT_NAME.match(name)
        path = os.path.join(work_dir, name)
        if match and os.path.isfile(path):
            found.append((int(match.group(2)), os.path.getmtime(path), path))
    return [path for _, _, path in sorted(found, reverse=True)]


def _pointer_target(work_dir: str) -> tuple[str | None, str | None]:
    """(path named by last_checkpoint or None, why it is unusable or None)."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        return None, None
    with open(pointer, encoding='utf-8', errors='replace') as f:
        path = f.read().strip()
    if path and not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(work_dir, path)
    if not path or not os.path.isfile(path):
        return None, f'{pointer} names {path!r}, which does not exist'
    return path, None


def check_fresh_start(work_dir: str, overwrite: bool = False) -> None:
    """FileExistsError when a run starting at iteration 0 would overwrite an earlier run's
    ``iter_N.pth`` / ``epoch_N.pth`` in ``work_dir`` (unless ``overwrite``)."""
    existing = list_checkpoints(work_dir)
    if not existing or overwrite:
        return
    names = ', '.join(os.path.basename(p) for p in existing[:3])
    more = f' and {len(existing) - 3} more' if len(existing) > 3 else ''
    raise FileExistsError(
        f'work_dir {work_dir!r} already holds checkpoints of an earlier run ({names}{more}); a '
        f'new run from iteration 0 would overwrite them. Continue that run with --resume, '
        f'choose another --work-dir, or pass --overwrite (overwrite_checkpoints=True) to '
        f'replace them.')


def training_state_problem(checkpoint: Any) -> str | None:
    """Why ``checkpoint`` cannot be resumed from (None when it can)."""
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get('state_dict'), dict):
        return 'it is a bare state dict (weights only)'
    meta = checkpoint.get('meta')
    if not isinstance(meta, dict) or ('iter' not in meta and 'epoch' not in meta):
        return 'it has no training state (no meta with iter/epoch)'
    return None


def find_resume_checkpoint(work_dir: str) -> str | None:
    """The checkpoint ``resume=True`` continues from; None only when ``work_dir`` holds none."""
    pointed, why = _pointer_target(work_dir)
    # CheckpointHook(out_dir=...) may keep the files elsewhere: look where the pointer points too
    folders = [work_dir] + ([os.path.dirname(pointed)] if pointed else [])
    candidates = [pointed] if pointed else []
    for folder in folders:
        candidates += [p for p in list_checkpoints(folder) if os.path.abspath(p) not in
                       {os.path.abspath(c) for c in candidates}]
    failures = [why] if why else []
    for path in candidates:
        try:
            problem = training_state_problem(_load_checkpoint(path))
        except Exception as exc:  # unreadable: say why, try the next older one
            problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if problem is None:
            if failures:
                logger.warning('resume: %s; resuming from the newest checkpoint that loads: %s',
                               '; '.join(failures), path)
            return path
        failures.append(f'{os.path.basename(path)}: {problem}')
    if candidates:
        raise RuntimeError(
            f'resume: work_dir {work_dir!r} holds checkpoints but none can be resumed from '
            f'({"; ".join(failures)}). Pass --resume PATH with a good checkpoint, or move them '
            f'away (or use another --work-dir) to start from scratch; they are left untouched.')
    if why:
        logger.warning('resume: %s and %s holds no other checkpoint', why, work_dir)
    return None


def held_model(checkpoint: Any) -> str:
    """Short description of the model a checkpoint holds: its config type, else its submodules."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    cfg = meta.get('cfg') if isinstance(meta, dict) else None
    if isinstance(cfg, str):
        match = re.search(r"""model\s*=\s*dict\(\s*type\s*=\s*['"]([\w.]+)['"]""", cfg)
        if match:
            return f'{match.group(1)} weights'
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    heads = sorted({str(k).split('.')[0] for k in state}) if isinstance(state, dict) else []
    if not heads:
        return 'no weights'
    more = f' and {len(heads) - 6} more' if len(heads) > 6 else ''
    return f'a model with top-level modules {", ".join(heads[:6])}{more}'


def resume_mismatch_error(filename: str, model: Any, exc: Exception) -> Exception:
    """One line for ``--resume`` with the checkpoint of another model (``exc``: strict load)."""
    try:
        checkpoint = _load_checkpoint(filename)
    except Exception:  # the load worked a moment ago; describe what we can
        checkpoint = {}
    own = set(model.state_dict())
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else {}
    theirs = set(map(str, state)) if isinstance(state, dict) else set()
    unmatched = sorted(theirs - own)[:3] or sorted(own - theirs)[:3]
    return RuntimeError(
        f'resume: {filename!r} holds {held_model(checkpoint)} ({len(theirs & own)} of the '
        f'{len(own)} tensors of {type(model).__name__} match; e.g. {", ".join(unmatched)}), but '
        f'the config builds {type(model).__name__}. Resume with a checkpoint of this config, or '
        f'start from its matching weights with --load-from (load_from=...).')


def check_coverage(checkpoint: Any, state: dict, model: Any, filename: str,
                   min_coverage: float = 0.5) -> None:
    """RuntimeError when fewer than ``min_coverage`` of ``model``'s tensors are in ``state``.

    A checkpoint of another model loads almost nothing non-strictly; evaluating or training
    from the random weights left would print meaningless numbers without a word.
    """
    own = model.state_dict()
    if not own or min_coverage <= 0:
        return
    fits = [k for k, v in own.items() if k in state and getattr(state[k], 'shape', None) == v.shape]
    if len(fits) >= min_coverage * len(own):
        return
    theirs = sorted(map(str, state))
    unmatched = [k for k in theirs if k not in own][:3]
    missing = [k for k in own if k not in state][:3]
    raise RuntimeError(
        f'{filename} does not fit the model: only {len(fits)} of the {len(own)} tensors of '
        f'{type(model).__name__} load from it (it holds {held_model(checkpoint)}; checkpoint keys '
        f'not in the model: {", ".join(unmatched) or "none"}; model keys not in it: '
        f'{", ".join(missing) or "none"}). Use the checkpoint of this config, or load the '
        f'matching tensors anyway with --no-strict (load_strict=False).')


__all__ = ['check_coverage', 'check_fresh_start', 'find_resume_checkpoint', 'list_checkpoints',
           'training_state_problem', 'held_model', 'resume_mismatch_error']
