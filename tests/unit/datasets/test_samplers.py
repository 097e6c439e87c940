"""DefaultSampler / InfiniteSampler: rank shards, epoch seeding, mid-epoch resume."""
import itertools

import pytest
import torch
from torch.utils.data import DataLoader

from genforge.datasets import DefaultSampler, InfiniteSampler
from genforge.registry import DATA_SAMPLERS


def _perm(n, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return torch.randperm(n, generator=g).tolist()


@pytest.mark.parametrize('n,world', [(10, 3), (12, 4), (7, 2)])
def test_default_sampler_shards_are_disjoint_and_cover(n, world):
    data = list(range(n))
    shards = [list(DefaultSampler(data, shuffle=True, seed=5, round_up=False, rank=r, world_size=world))
              for r in range(world)]
    flat = list(itertools.chain(*shards))
    assert sorted(flat) == data  # no overlap, nothing missing
    # round_up: equal shard sizes, padded by repeating the start of the permutation
    padded = [list(DefaultSampler(data, seed=5, rank=r, world_size=world)) for r in range(world)]
    size = -(-n // world)
    assert all(len(s) == size for s in padded)
    glob = (_perm(n, 5) * 2)[:size * world]
    assert padded == [glob[r::world] for r in range(world)]


def test_default_sampler_epoch_seeding_and_len():
    data = list(range(20))
    s = DefaultSampler(data, shuffle=True, seed=3)
    assert list(s) == _perm(20, 3) and len(s) == 20
    s.set_epoch(4)
    assert list(s) == _perm(20, 7)  # seed + epoch
    assert list(s) == list(s)       # same epoch, same order
    assert list(DefaultSampler(data, shuffle=False)) == data
    built = DATA_SAMPLERS.build(dict(type='DefaultSampler', shuffle=False), default_args=dict(dataset=data))
    assert isinstance(built, DefaultSampler) and list(built) == data


def test_default_sampler_resume_mid_epoch():
    data = list(range(23))
    s = DefaultSampler(data, seed=11, rank=1, world_size=2)
    s.set_epoch(2)
    full = list(s)
    state = s.state_dict(num_consumed=8)
    assert state == dict(epoch=2, seed=11, num_consumed=8)
    resumed = DefaultSampler(data, seed=999, rank=1, world_size=2)  # seed comes from the state
    resumed.load_state_dict(state)
    assert list(resumed) == full[8:]
    assert list(resumed) == full  # only the first pass after resume skips
    with pytest.raises(KeyError, match='num_consumed'):
        resumed.load_state_dict(dict(epoch=0, seed=1))


def test_resume_through_dataloader_gives_identical_batches():
    data = list(range(30))
    loader = DataLoader(data, batch_size=4, sampler=DefaultSampler(data, seed=2))
    straight = [b.tolist() for b in loader]
    sampler = DefaultSampler(data, seed=2)
    sampler.load_state_dict(dict(epoch=0, seed=2, num_consumed=3 * 4))  # 3 batches done
    resumed = [b.tolist() for b in DataLoader(data, batch_size=4, sampler=sampler)]
    assert resumed == straight[3:]


def test_infinite_sampler_stream_ranks_and_resume():
    data = list(range(5))
    s = InfiniteSampler(data, seed=7)
    first = list(itertools.islice(iter(s), 15))
    assert first == _perm(5, 7) + _reference_stream(5, 7)[5:15]
    shards = [list(itertools.islice(iter(InfiniteSampler(data, seed=7, rank=r, world_size=2)), 6))
              for r in range(2)]
    stream = _reference_stream(5, 7)[:12]
    assert shards == [stream[0::2], stream[1::2]]
    r = InfiniteSampler(data, seed=0, rank=1, world_size=2)
    r.load_state_dict(dict(epoch=0, seed=7, num_consumed=4))
    assert list(itertools.islice(iter(r), 2)) == stream[1::2][4:6]
    assert r.state_dict()['num_consumed'] == 6  # own count includes the skipped samples


def _reference_stream(n, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    out = []
    for _ in range(4):
        out += torch.randperm(n, generator=g).tolist()
    return out


def test_infinite_sampler_unshuffled_and_empty():
    assert list(itertools.islice(iter(InfiniteSampler([0, 1, 2], shuffle=False)), 7)) == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match='dataset is empty'):
        InfiniteSampler([], seed=0)
    with pytest.raises(ValueError, match='rank=2'):
        DefaultSampler([1], seed=0, rank=2, world_size=2)
