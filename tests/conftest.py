"""Shared test set-up: GPU tests skip on CPU machines; runs write nothing outside tmp dirs."""
from __future__ import annotations

import os
import random
import tempfile

import pytest
import torch

# Library code reads this for cached weights; keep tests away from the user's cache.
os.environ['GENFORGE_CACHE'] = tempfile.mkdtemp(prefix='genforge-test-cache-')


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture(autouse=True)
def _work_in_tmp_cwd(tmp_path, monkeypatch):
    """Tests that fall back to relative paths (work_dirs/...) write into their own tmp dir."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def kill_rng(request) -> random.Random:
    """The random source of the SIGKILL tests' kill points (which checkpoint, what delay).

    Seeded from ``GENFORGE_KILL_SEED`` when set, else a fresh seed; the seed is printed (pytest
    shows it with a failure) and attached to the test report, so a failing kill point reruns
    exactly: ``GENFORGE_KILL_SEED=<seed> pytest <test id>``.
    """
    seed = int(os.environ.get('GENFORGE_KILL_SEED') or random.SystemRandom().randrange(2 ** 32))
    print(f'kill points: GENFORGE_KILL_SEED={seed} pytest {request.node.nodeid!r}')
    request.node.user_properties.append(('kill_seed', seed))
    return random.Random(seed)
