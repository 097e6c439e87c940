"""Rank, world size and collectives over ``torch.distributed``; all of them work undistributed.

``init_dist('pytorch')`` reads the environment variables torchrun sets (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT); nothing here launches processes.
"""
from __future__ import annotations

import atexit
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as torch_dist

logger = logging.getLogger(__name__)


def is_distributed() -> bool:
    """True when a default process group is initialised."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def is_multi_process() -> bool:
    """True when a process group with more than one process is running (what SyncBN needs);
    ``is_distributed`` is also True for a one-process group."""
    return is_distributed() and torch_dist.get_world_size() > 1


def get_rank() -> int:
    return torch_dist.get_rank() if is_distributed() else 0


def get_world_size() -> int:
    return torch_dist.get_world_size() if is_distributed() else 1


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)`` as MMEngine returns it."""
    return get_rank(), get_world_size()


def get_local_rank() -> int:
    return int(os.environ.get('LOCAL_RANK', 0))


def is_main_process() -> bool:
    return get_rank() == 0


def master_only(func: Callable) -> Callable:
    """Decorator: run ``func`` on rank 0 only (other ranks return None)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if is_main_process():
            return func(*args, **kwargs)
        return None
    return wrapper


def barrier() -> None:
    if is_distributed():
        torch_dist.barrier()


def all_gather_object(obj: Any) -> list:
    """Every rank's ``obj`` in rank order (``[obj]`` when undistributed)."""
    if not is_distributed():
        return [obj]
    out: list = [None] * get_world_size()
    torch_dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    torch_dist.broadcast_object_list(box, src=src)
    return box[0]


def collect_results(results: list, size: int, device: str = 'cpu') -> list | None:
    """Gather per-rank result lists, interleave them back into dataset order, drop padding.

    DefaultSampler shards indices round-robin (rank r gets r, r+W, ...), so zipping the rank lists
    restores the order; ``size`` cuts the samples added by ``round_up``. ``device`` is accepted for
    MMEngine compatibility ('cpu' | 'gpu'): object gathering works the same on both.
    """
    parts = all_gather_object(results)
    if len(parts) == 1:
        return list(results)[:size]
    ordered = []
    for group in zip(*parts):
        ordered.extend(group)
    # Ranks with one extra item (uneven shards without round_up): append the leftovers.
    longest = max(len(p) for p in parts)
    for p in parts:
        if len(p) == longest and len(p) > min(len(q) for q in parts):
            ordered.append(p[-1])
    return ordered[:size]


def sync_random_seed(seed: int | None = None) -> int:
    """A seed equal on every rank: rank 0 draws one (if ``seed`` is None) and broadcasts it."""
    if seed is None:
        seed = int(torch.randint(0, 2 ** 31 - 1, (1,)).item())
    return int(broadcast_object(seed))


def _destroy_process_group() -> None:
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def init_dist(launcher: str, backend: str | None = None, **kwargs) -> None:
    """Initialise the default process group from torchrun's environment variables.

    Args:
        launcher: 'pytorch' (torchrun / torch.distributed.run). 'slurm' and 'mpi' are MMEngine
            spellings we do not support: run them through torchrun instead.
        backend: 'nccl' (GPU) or 'gloo' (CPU). None picks nccl when CUDA is available.
    """
    if launcher != 'pytorch':
        raise ValueError(f"launcher={launcher!r} is not supported; use launcher='pytorch' under "
                         f"torchrun (torchrun --nproc-per-node N -m genforge train CONFIG "
                         f"--launcher pytorch)")
    if is_distributed():
        return
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'launcher=pytorch needs the environment variables {missing}; start the '
                           f'program with torchrun, which sets them')
    if backend is None or (backend == 'nccl' and not torch.cuda.is_available()):
        # nccl needs GPUs; gloo is PyTorch's CPU backend.
        backend = 'nccl' if torch.cuda.is_available() else 'gloo'
    if backend == 'nccl':
        torch.cuda.set_device(get_local_rank())
    torch_dist.init_process_group(backend=backend, **kwargs)
    # Left to interpreter shutdown, gloo's threads can be torn down while still joinable, and a
    # rank that finished its work aborts ("terminate called without an active exception").
    atexit.register(_destroy_process_group)
    logger.info('initialised process group: backend=%s rank=%d world_size=%d', backend, get_rank(),
                get_world_size())


__all__ = ['is_distributed', 'get_rank', 'get_world_size', 'get_dist_info', 'get_local_rank',
           'is_main_process', 'master_only', 'barrier', 'all_gather_object', 'broadcast_object',
           'collect_results', 'sync_random_seed', 'init_dist']
