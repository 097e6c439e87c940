"""Runner helpers: seeding, RNG state capture/restore, atomic text writes, work-dir probing."""
from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from typing import Any

import numpy as np
import torch

from genforge.dist import get_rank, sync_random_seed
from genforge.fileio import atomic_write_text  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)


def set_random_seed(seed: int | None = None, deterministic: bool = False,
                    diff_rank_seed: bool = False) -> int:
    """Seed python, NumPy and torch (CPU and CUDA); return the seed used.

    Args:
        seed: None draws one (the same on every rank).
        deterministic: use deterministic cuDNN kernels and torch algorithms (slower).
        diff_rank_seed: add the rank to the seed so ranks draw different noise.
    """
    seed = sync_random_seed(seed)
    if diff_rank_seed:
        seed += get_rank()
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        # Needed by cuBLAS for deterministic matmuls on CUDA >= 10.2.
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def get_rng_state() -> dict:
    """Python, NumPy, torch and CUDA generator states as plain containers of tensors/numbers."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    state = dict(
        python=dict(version=version, state=torch.tensor(internal, dtype=torch.int64),
                    gauss=gauss),
        numpy=dict(bit_generator=np_state['bit_generator'],
                   key=torch.from_numpy(np_state['state']['key'].astype(np.int64)),
                   pos=int(np_state['state']['pos']), has_gauss=int(np_state['has_gauss']),
                   gauss=float(np_state['gauss'])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`get_rng_state` captured."""
    py = state['python']
    random.setstate((py['version'], tuple(int(v) for v in py['state'].tolist()), py['gauss']))
    npst = state['numpy']
    np.random.set_state(dict(bit_generator=npst['bit_generator'],
                             state=dict(key=npst['key'].numpy().astype(np.uint32),
                                        pos=npst['pos']),
                             has_gauss=npst['has_gauss'], gauss=npst['gauss']))
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        cuda_states = state['cuda']
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])
        else:
            logger.warning('checkpoint holds %d CUDA RNG states but %d devices are visible; CUDA '
                           'RNG not restored', len(cuda_states), torch.cuda.device_count())


def probe_writable(work_dir: str) -> None:
    """Fail before training when ``work_dir`` cannot be created or written."""
    try:
        os.makedirs(work_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix='.write_probe.', dir=work_dir)
        os.write(fd, b'x' * 4096)
        os.fsync(fd)
        os.close(fd)
        os.remove(tmp)
    except OSError as exc:
        raise PermissionError(
            f'work_dir={work_dir!r} is not writable ({exc.strerror or exc}); choose another '
            f'folder with --work-dir or work_dir=..., or free disk space') from exc


def config_text(cfg: Any) -> str:
    """The text to dump for a Config (its pretty_text) or a plain dict (its repr)."""
    if cfg is None:
        return ''
    text = getattr(cfg, 'pretty_text', None)
    if isinstance(text, str):
        return text
    return repr(dict(cfg)) if isinstance(cfg, dict) else repr(cfg)


def unique_timestamp(work_dir: str) -> str:
    # Two runs started in the same second (tests, quick restarts) get their own log folder.
    stamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
    candidate, n = stamp, 0
    while os.path.exists(os.path.join(work_dir, candidate)):
        n += 1
        candidate = f'{stamp}_{n}'
    return candidate


def config_name(cfg: Any) -> str | None:
    filename = getattr(cfg, 'filename', None)
    if filename:
        return os.path.splitext(os.path.basename(filename))[0]
    return None


