"""Path-length regulariser against the closed form for a linear generator img = A · w."""
import math

import torch
from torch import nn

from genforge.models.losses import gen_path_regularizer
from tests._single_thread import single_thread  # noqa: F401  (one OpenMP thread)


class LinearGenerator(nn.Module):
    """img[n, 0, h, w] = sum_{l, c} A[h, w, l, c] * latent[n, l, c]; latents ~ N(0, I)."""

    def __init__(self):
        super().__init__()
        self.A = nn.Parameter(torch.randn(4, 4, 3, 5, dtype=torch.float64))

    def forward(self, styles, num_batches=1, return_latents=False):
        latent = torch.randn(num_batches, 3, 5, dtype=torch.float64, requires_grad=True)
        img = torch.einsum('hwlc,nlc->nhw', self.A, latent)[:, None]
        return dict(fake_img=img, latent=latent)


def test_path_lengths_penalty_and_running_mean_match_closed_form():
    gen = LinearGenerator()
    mean = torch.tensor(0.5, dtype=torch.float64)
    torch.manual_seed(3)
    penalty, new_mean, lengths = gen_path_regularizer(gen, 8, mean, pl_batch_shrink=2,
                                                      decay=0.01, weight=2.)
    torch.manual_seed(3)  # replay the same draws: latents, then the image-space noise
    torch.randn(4, 3, 5, dtype=torch.float64)  # batch 8 // shrink 2 = 4 samples
    y = torch.randn(4, 1, 4, 4, dtype=torch.float64) / math.sqrt(16)
    jt_y = torch.einsum('hwlc,nhw->nlc', gen.A.detach(), y[:, 0])  # J^T y
    expected = jt_y.pow(2).sum(2).mean(1).sqrt()
    torch.testing.assert_close(lengths.detach(), expected)
    expected_mean = 0.5 + 0.01 * (expected.mean() - 0.5)
    torch.testing.assert_close(new_mean, expected_mean)
    torch.testing.assert_close(penalty.detach(), 2 * (expected - expected_mean).pow(2).mean())
    assert not new_mean.requires_grad
    penalty.backward()  # double backward: the penalty depends on A through dImg/dw
    assert gen.A.grad is not None and gen.A.grad.abs().sum() > 0
