"""genforge's Inception-v3 against an independent port of the TF FID graph.

torch-fidelity is not installed here (and there is no network), so this file carries its own
port of the graph that torch-fidelity's ``FeatureExtractorInceptionV3`` reproduces, written
with plain tensor ops from the graph's description, not from genforge's modules:

- input uint8 -> float, TF 1.x ``resize_bilinear`` to 299 (``align_corners=False`` there
  means source = dst * in / out, no half-pixel offset, clamped at the last pixel),
  then ``(x - 128) / 128``;
- stem: 3x3/2 VALID, 3x3 VALID, 3x3 SAME, maxpool 3/2, 1x1, 3x3 VALID, maxpool 3/2; every
  conv is conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU;
- Mixed_5b-5d, 6a, 6b-6e, 7a, 7b (average pools ignore the padding, as TF's SAME average pool),
  7c (max pool in the pool branch), global average pool = pool3 (2048), ``logits_unbiased`` =
  pool3 @ fc.weight.T, ``logits`` adds the bias (1008 classes).

The parameters are seeded random tensors in the shared layout (torch-fidelity's, pytorch-fid's
and genforge's state-dict keys agree). With genforge's protocol choices plugged into the port
(``x / 127.5 - 1``, ``F.interpolate``), both networks give the same pool3 features and logits;
the two protocol differences are then measured one at a time (docs/metrics.md quotes them).
Why ~20 s: six passes of the full 299x299 network on CPU (one or two images each).
"""
import pytest
import torch
import torch.nn.functional as F

from genforge.evaluation.inception import InceptionV3FID

# -- the port ---------------------------------------------------------------------------------


def _tf1_resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """TF 1.x resize_bilinear(align_corners=False): sample at dst * in / out (no +0.5)."""
    def axis(n_in):
        src = torch.arange(size, dtype=torch.float64) * (n_in / size)
        lo = src.floor().long()
        hi = (lo + 1).clamp(max=n_in - 1)
        return lo, hi, (src - lo).to(x.dtype)

    (y0, y1, dy), (x0, x1, dx) = axis(x.shape[2]), axis(x.shape[3])
    top = x[:, :, y0][:, :, :, x0] * (1 - dx) + x[:, :, y0][:, :, :, x1] * dx
    bottom = x[:, :, y1][:, :, :, x0] * (1 - dx) + x[:, :, y1][:, :, :, x1] * dx
    return top * (1 - dy[:, None]) + bottom * dy[:, None]


class _Port:
    def __init__(self, w: dict):
        self.w = w

    def conv(self, name, x, stride=1, same=True):
        """conv -> BN(eps=1e-3, running stats) -> ReLU; SAME pads k // 2, VALID pads 0."""
        k = self.w[f'{name}.conv.weight']
        pad = (k.shape[2] // 2, k.shape[3] // 2) if same else (0, 0)
        y = F.conv2d(x, k, stride=stride, padding=pad)
        mean, var = self.w[f'{name}.bn.running_mean'], self.w[f'{name}.bn.running_var']
        gamma, beta = self.w[f'{name}.bn.weight'], self.w[f'{name}.bn.bias']
        scale = gamma / torch.sqrt(var + 1e-3)
        return torch.relu(y * scale[:, None, None] + (beta - mean * scale)[:, None, None])

    @staticmethod
    def avg_pool_same(x):
        # TF SAME average pool: sum over the window / number of real (unpadded) pixels
        total = F.conv2d(F.pad(x, (1, 1, 1, 1)), torch.ones(x.shape[1], 1, 3, 3, dtype=x.dtype),
                         groups=x.shape[1])
        ones = torch.ones(1, 1, *x.shape[2:], dtype=x.dtype)
        count = F.conv2d(F.pad(ones, (1, 1, 1, 1)), torch.ones(1, 1, 3, 3, dtype=x.dtype))
        return total / count

    def mixed_a(self, p, x):
        b5 = self.conv(f'{p}.branch5x5_2', self.conv(f'{p}.branch5x5_1', x))
        b3 = self.conv(f'{p}.branch3x3dbl_3', self.conv(
            f'{p}.branch3x3dbl_2', self.conv(f'{p}.branch3x3dbl_1', x)))
        pool = self.conv(f'{p}.branch_pool', self.avg_pool_same(x))
        return torch.cat([self.conv(f'{p}.branch1x1', x), b5, b3, pool], 1)

    def mixed_b(self, p, x):
        b3 = self.conv(f'{p}.branch3x3', x, stride=2, same=False)
        d = self.conv(f'{p}.branch3x3dbl_2', self.conv(f'{p}.branch3x3dbl_1', x))
        d = self.conv(f'{p}.branch3x3dbl_3', d, stride=2, same=False)
        return torch.cat([b3, d, F.max_pool2d(x, 3, 2)], 1)

    def mixed_c(self, p, x):
        b7 = x
        for i in (1, 2, 3):
            b7 = self.conv(f'{p}.branch7x7_{i}', b7)
        d = x
        for i in (1, 2, 3, 4, 5):
            d = self.conv(f'{p}.branch7x7dbl_{i}', d)
        pool = self.conv(f'{p}.branch_pool', self.avg_pool_same(x))
        return torch.cat([self.conv(f'{p}.branch1x1', x), b7, d, pool], 1)

    def mixed_d(self, p, x):
        b3 = self.conv(f'{p}.branch3x3_2', self.conv(f'{p}.branch3x3_1', x), stride=2,
                       same=False)
        b7 = x
        for i in (1, 2, 3):
            b7 = self.conv(f'{p}.branch7x7x3_{i}', b7)
        b7 = self.conv(f'{p}.branch7x7x3_4', b7, stride=2, same=False)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)

    def mixed_e(self, p, x, last):
        b3 = self.conv(f'{p}.branch3x3_1', x)
        b3 = torch.cat([self.conv(f'{p}.branch3x3_2a', b3), self.conv(f'{p}.branch3x3_2b', b3)], 1)
        d = self.conv(f'{p}.branch3x3dbl_2', self.conv(f'{p}.branch3x3dbl_1', x))
        d = torch.cat([self.conv(f'{p}.branch3x3dbl_3a', d), self.conv(f'{p}.branch3x3dbl_3b', d)], 1)
        pooled = F.max_pool2d(x, 3, 1, 1) if last else self.avg_pool_same(x)
        pool = self.conv(f'{p}.branch_pool', pooled)
        return torch.cat([self.conv(f'{p}.branch1x1', x), b3, d, pool], 1)

    @torch.no_grad()
    def __call__(self, img_u8, resize='tf1', scaling='tf'):
        x = img_u8.float()
        if x.shape[2:] != (299, 299):
            x = _tf1_resize_bilinear(x, 299) if resize == 'tf1' else \
                F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
        x = (x - 128) / 128 if scaling == 'tf' else x / 127.5 - 1
        x = self.conv('Conv2d_1a_3x3', x, stride=2, same=False)
        x = self.conv('Conv2d_2a_3x3', x, same=False)
        x = F.max_pool2d(self.conv('Conv2d_2b_3x3', x), 3, 2)
        x = self.conv('Conv2d_4a_3x3', self.conv('Conv2d_3b_1x1', x), same=False)
        x = F.max_pool2d(x, 3, 2)  # (N, 192, 35, 35)
        for p in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):
            x = self.mixed_a(p, x)
        x = self.mixed_b('Mixed_6a', x)
        for p in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):
            x = self.mixed_c(p, x)
        x = self.mixed_d('Mixed_7a', x)
        x = self.mixed_e('Mixed_7b', x, last=False)
        x = self.mixed_e('Mixed_7c', x, last=True)  # (N, 2048, 8, 8)
        pool3 = x.mean(dim=(2, 3))
        unbiased = pool3 @ self.w['fc.weight'].T
        return pool3, unbiased + self.w['fc.bias'], unbiased


# -- shared random weights and images ---------------------------------------------------------


def _random_weights(layout: dict, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    w = {}
    for key, ref in layout.items():
        shape = ref.shape
        if key.endswith('num_batches_tracked'):
            w[key] = torch.zeros((), dtype=torch.long)
        elif key.endswith('conv.weight'):
            fan_in = shape[1] * shape[2] * shape[3]
            w[key] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
        elif key.endswith('bn.weight') or key.endswith('running_var'):
            w[key] = 0.5 + torch.rand(shape, generator=g)
        elif key.endswith('bn.bias') or key.endswith('running_mean'):
            w[key] = 0.1 * torch.randn(shape, generator=g)
        elif key == 'fc.weight':
            w[key] = torch.randn(shape, generator=g) * (1.0 / shape[1]) ** 0.5
        else:  # fc.bias
            w[key] = 0.1 * torch.randn(shape, generator=g)
    return w


@pytest.fixture(scope='module')
def nets():
    net = InceptionV3FID().eval()
    weights = _random_weights(net.state_dict())
    net.load_state_dict(weights, strict=True)
    return net, _Port(weights)


def _images(size, n=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    low = torch.randint(0, 256, (n, 3, 8, 8), generator=g).float()
    # smooth content plus noise: resize differences show as in natural images
    smooth = F.interpolate(low, size=(size, size), mode='bicubic', align_corners=False)
    noise = torch.randint(-20, 21, (n, 3, size, size), generator=g)
    return (smooth + noise).round().clamp(0, 255).to(torch.uint8)


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def test_port_and_genforge_agree_with_genforge_protocol(nets):
    """299x299 uint8 images (no resize), x / 127.5 - 1 in both: same pool3 and logits."""
    net, port = nets
    imgs = _images(299)
    with torch.no_grad():
        feats, logits = net(imgs.float())
    p_feats, p_logits, p_unbiased = port(imgs, scaling='pytorch-fid')
    assert feats.std() > 1e-3 and logits.std() > 1e-3  # non-degenerate random network
    torch.testing.assert_close(feats, p_feats, rtol=1e-4, atol=1e-5 * float(feats.abs().max()))
    torch.testing.assert_close(logits, p_logits, rtol=1e-4, atol=1e-5 * float(logits.abs().max()))
    # what the IS reads: logits without the bias (torch-fidelity's logits_unbiased)
    torch.testing.assert_close(feats @ net.fc.weight.T, p_unbiased, rtol=1e-4,
                               atol=1e-5 * float(p_unbiased.abs().max()))


def test_tf1_resize_matches_its_definition_and_differs_from_interpolate():
    x = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4).contiguous()
    up = _tf1_resize_bilinear(x, 8)  # src = dst / 2: 0, .5, 1, ..., 3, 3 (clamped)
    assert up[0, 0, 0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]
    ref = F.interpolate(x, size=(8, 8), mode='bilinear', align_corners=False)  # half-pixel
    assert ref[0, 0, 0].tolist() == [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]


def test_protocol_differences_measured(nets, capsys):
    """The two documented differences, each alone, on the random-weight network."""
    net, port = nets
    imgs299 = _images(299, n=1, seed=2)
    tf_scale = port(imgs299, scaling='tf')[0]
    fid_scale = port(imgs299, scaling='pytorch-fid')[0]
    scaling_effect = _rel(fid_scale, tf_scale)
    imgs64 = _images(64, n=1, seed=3)
    tf_resize = port(imgs64, resize='tf1', scaling='tf')[0]
    torch_resize = port(imgs64, resize='torch', scaling='tf')[0]
    resize_effect = _rel(torch_resize, tf_resize)
    with capsys.disabled():
        print(f'\ninception protocol effects on pool3 (random weights): '
              f'scaling {scaling_effect:.2e}, resize 64->299 {resize_effect:.2e}')
    # docs/metrics.md quotes these orders of magnitude
    assert 1e-4 < scaling_effect < 5e-2
    assert 1e-3 < resize_effect < 3e-1
    # input-level facts behind them
    x = torch.arange(256.0)
    assert float(((x / 127.5 - 1) - (x - 128) / 128).abs().max()) == pytest.approx(1 / 128)
