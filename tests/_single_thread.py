"""An autouse fixture for test modules of many small tensor ops: one OpenMP thread.

On a busy machine, OpenMP threads that spin waiting for a descheduled sibling make tiny ops
(gradcheck, 16-pixel GANs) up to 100x slower; one thread keeps such tests in seconds.
Use: ``from tests._single_thread import single_thread  # noqa: F401`` in the test module.
"""
import pytest
import torch


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
