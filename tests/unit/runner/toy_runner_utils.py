"""Tiny model/dataset/metric shared by the runner and hook tests (not a test module)."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from genforge.evaluation import BaseMetric
from genforge.models import BaseModel
from genforge.optim import OptimWrapper
from genforge.registry import METRICS


class ToyDataset(Dataset):
    """n samples of (inputs: 2 floats, target: 1 float); numpy noise exercises the numpy RNG."""

    metainfo = dict(name='toy')

    def __init__(self, n=14):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 2, generator=g)
        self.y = self.x.sum(1, keepdim=True) * 0.5

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        jitter = torch.tensor(np.random.uniform(-0.01, 0.01, size=2), dtype=torch.float32)
        return dict(inputs=self.x[i] + jitter, target=self.y[i])


class ToyModel(BaseModel):
    """Linear regression; torch noise in train_step exercises the torch RNG."""

    def __init__(self, nan_at=None):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.nan_at = nan_at  # 0-based call index whose loss becomes NaN
        self.calls = 0

    def train_step(self, data, optim_wrapper):
        x = data['inputs'] + 0.01 * torch.randn_like(data['inputs'])
        loss = ((self.linear(x) - data['target']) ** 2).mean()
        if self.nan_at is not None and self.calls == self.nan_at:
            loss = loss * float('nan')
        self.calls += 1
        parsed, log_vars = self.parse_losses({'loss_mse': loss})
        optim_wrapper.update_params(parsed)
        return log_vars

    def val_step(self, data):
        return [dict(pred=p) for p in self.linear(data['inputs'])]

    def test_step(self, data):
        return self.val_step(data)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


@METRICS.register_module(force=True)
class ScriptedMetric(BaseMetric):
    """Reports the next value of ``values`` at each evaluation (to drive save_best)."""

    default_prefix = 'toy'

    def __init__(self, values=(1.0,), key='score', **kwargs):
        super().__init__(**kwargs)
        self.values, self.key, self.calls = list(values), key, 0

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return {self.key: value}


def toy_loader(n=14, batch_size=4, shuffle=True, sampler='DefaultSampler'):
    # No sampler seed: it comes from the Runner's randomness seed (and from the checkpoint).
    return dict(batch_size=batch_size, num_workers=0,
                sampler=dict(type=sampler, shuffle=shuffle),
                collate_fn=dict(type='default_collate'), dataset=ToyDataset(n))


def toy_optim(model, lr=0.05):
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9))
