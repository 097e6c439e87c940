"""Distributed evaluation and weight broadcast under a real ``torchrun --nproc-per-node 2`` (gloo).

One launch of a worker script:
1. FID, KID and SWD: each rank processes its share of the same real and generated images (real
   items ``r, r + 2, ...`` as the metric samplers deal them; generated image ``j * 2 + r`` as the
   generative sampler's per-rank order interleaves back), then ``evaluate`` gathers over gloo.
   The test process computes the same metrics in one process on all images: equal values.
2. Rank 0's weight broadcast: each rank builds its model from a different seed and
   ``init_weights`` writes rank-dependent values on purpose; at ``before_train`` every rank
   must hold rank 0's weights.
"""
from __future__ import annotations

import textwrap

import pytest
import torch

from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)
from tests.integration.test_distributed import _torchrun

N = 4  # images per set (2 per rank)

COMMON_SRC = '''
import torch
from torch.utils.data import DataLoader, Dataset

from genforge.datasets.collate import pseudo_collate
from genforge.models.data_preprocessors import DataPreprocessor
from genforge.structures import DataSample

N = 4


class Imgs(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(0)
        self.imgs = torch.randint(0, 256, (N, 3, 16, 16), generator=g, dtype=torch.uint8)

    def __len__(self):
        return N

    def __getitem__(self, i):
        return dict(inputs=self.imgs[i], data_samples=DataSample(gt_img=self.imgs[i]))


def fakes():
    g = torch.Generator().manual_seed(1)
    return torch.rand(N, 3, 16, 16, generator=g) * 255


class Holder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.data_preprocessor = DataPreprocessor()
        self.w = torch.nn.Parameter(torch.zeros(1))


def metrics(path):
    from genforge.evaluation.metrics.fid import FrechetInceptionDistance
    from genforge.evaluation.metrics.kid import KernelInceptionDistance
    from genforge.evaluation.metrics.swd import SlicedWassersteinDistance
    common = dict(inception_style='PyTorch', inception_path=path, sample_model='orig')
    return [FrechetInceptionDistance(fake_nums=N, real_nums=N, prefix='FID', **common),
            KernelInceptionDistance(fake_nums=N, real_nums=N, num_subsets=5, max_subset_size=3,
                                    prefix='KID', **common),
            SlicedWassersteinDistance(fake_nums=N, image_shape=(3, 16, 16), prefix='SWD',
                                      sample_model='orig')]


def evaluate(path, rank, world):
    """Every metric over this rank's share of the images; the gathered results."""
    dataset, fake = Imgs(), fakes()
    loader = DataLoader(dataset, batch_size=2, collate_fn=pseudo_collate)
    fid, kid, swd = metrics(path)
    holder = Holder()
    mine = [j * world + rank for j in range(N // world)]  # generative order of this rank
    for m in (fid, kid):
        m.prepare(holder, loader)
        m.process(None, [dict(fake_img=fake[i]) for i in mine])
    swd.prepare(holder, loader)
    sampler = swd.get_metric_sampler(holder, loader, [swd])
    order = list(sampler.sampler)  # the dataset items this rank's real batches hold
    for b, batch in enumerate(sampler):
        idx = order[b * loader.batch_size:(b + 1) * loader.batch_size]
        swd.process(batch, [dict(fake_img=fake[i]) for i in idx])
    out = {}
    for m in (fid, kid, swd):
        out.update(m.evaluate())
    return out
'''

WORKER_SRC = '''
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

from dist_metrics_common import evaluate
from genforge.dist import get_dist_info, init_dist
from genforge.hooks import Hook
from genforge.models import BaseModel
from genforge.runner import Runner

out, path = sys.argv[1], sys.argv[2]
init_dist('pytorch', backend='gloo')
rank, world = get_dist_info()
results = evaluate(path, rank, world)
torch.save(results, os.path.join(out, f'metrics_rank{rank}.pt'))


class RankInit(BaseModel):
    def __init__(self):
        super().__init__()
        torch.manual_seed(100 + rank)  # construction differs per rank too
        self.body = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Conv2d(2, 1, 1))

    def init_weights(self):  # rank-dependent on purpose: only the broadcast can equalise them
        with torch.no_grad():
            for i, p in enumerate(self.parameters()):
                p.fill_(float(rank + 1) * (i + 1))

    def forward(self, inputs, data_samples=None, mode='tensor', target=None):
        out = self.body(inputs)
        return dict(loss=F.mse_loss(out, target)) if mode == 'loss' else out


class Grab(Hook):
    def before_train(self, runner):
        state = {k: v.detach().clone() for k, v in runner._plain_model.state_dict().items()}
        torch.save(state, os.path.join(out, f'init_rank{rank}.pt'))


data = [dict(inputs=torch.randn(1, 6, 6), target=torch.randn(1, 4, 4)) for _ in range(4)]
runner = Runner(model=RankInit(), work_dir=os.path.join(out, 'bcast'), launcher='pytorch',
                env_cfg=dict(dist_cfg=dict(backend='gloo')), randomness=dict(seed=0),
                train_dataloader=dict(batch_size=2, dataset=data,
                                      sampler=dict(type='DefaultSampler', shuffle=False),
                                      collate_fn=dict(type='default_collate')),
                train_cfg=dict(by_epoch=False, max_iters=1),
                optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
                default_hooks=dict(checkpoint=None, progress=None), custom_hooks=[Grab()])
runner.train()
'''


@pytest.fixture(scope='module')
def launched(tmp_path_factory):
    from genforge.evaluation.inception import InceptionV3FID
    root = tmp_path_factory.mktemp('distmetrics')
    torch.manual_seed(3)
    net = InceptionV3FID()
    for m in net.modules():  # variance-preserving init: non-trivial pool3 features
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity='relu')
    path = root / 'random_inception.pth'
    torch.save(net.state_dict(), path)
    (root / 'dist_metrics_common.py').write_text(textwrap.dedent(COMMON_SRC))
    (root / 'dist_metrics_worker.py').write_text(WORKER_SRC)
    _torchrun(['dist_metrics_worker.py', str(root), str(path)], cwd=root, timeout=180)
    return root, str(path)


def test_fid_kid_swd_gathered_over_two_ranks_equal_one_process(launched, monkeypatch):
    root, path = launched
    monkeypatch.syspath_prepend(str(root))
    from dist_metrics_common import evaluate
    single = evaluate(path, 0, 1)
    ranks = [torch.load(root / f'metrics_rank{r}.pt', weights_only=False) for r in (0, 1)]
    assert ranks[0] == ranks[1]  # rank 0 computed, every rank got the broadcast
    assert set(single) == set(ranks[0]) >= {'FID/fid', 'KID/kid', 'SWD/16', 'SWD/avg'}
    assert single['FID/fid'] > 1e-3 and single['SWD/avg'] > 0
    for key, value in single.items():
        # same features in the same order: equal up to float32 kernel round-off
        assert ranks[0][key] == pytest.approx(value, rel=1e-5, abs=1e-9), key


def test_rank0_weights_are_broadcast_after_rank_dependent_init(launched):
    root, _ = launched
    states = [torch.load(root / f'init_rank{r}.pt', weights_only=True) for r in (0, 1)]
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
    # rank 0's own init (rank + 1 = 1), not rank 1's (2) nor the constructors' random values
    first = next(iter(states[0].values()))
    assert torch.all(first == 1.0)
