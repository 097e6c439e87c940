"""Shared test set-up: GPU tests skip on CPU machines; runs write nothing outside tmp dirs."""
from __future__ import annotations

import os
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
