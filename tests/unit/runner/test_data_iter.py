"""TrainDataIter resume: the global torch RNG after a resumed pass opens matches the
uninterrupted run (iter(DataLoader) draws a base seed from it)."""
import pytest
import torch
from torch.utils.data import DataLoader

from genforge.runner.data_iter import TrainDataIter


@pytest.mark.parametrize('taken', [1, 3])  # mid-pass / the pass just finished
def test_resumed_data_iter_leaves_the_rng_as_the_uninterrupted_run(taken):
    loader = DataLoader(list(range(6)), batch_size=2)
    straight = TrainDataIter(loader)
    for _ in range(taken):
        straight.next_batch()
    state = straight.state_dict()
    torch.manual_seed(0)  # the RNG state a checkpoint would restore
    batch_a, after_a = straight.next_batch(), torch.rand(3)
    resumed = TrainDataIter(loader)
    resumed.load_state_dict(state)
    torch.manual_seed(0)
    batch_b, after_b = resumed.next_batch(), torch.rand(3)
    assert torch.equal(batch_a, batch_b)
    assert torch.equal(after_a, after_b)
