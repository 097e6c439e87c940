"""One Inception network and one forward pass shared by FID, KID, IS and PR.

``get_inception_extractor(style, path)`` returns the same :class:`InceptionExtractor` for the same
weights, so the network is loaded once per process. The extractor remembers the last batch it
saw (by the identity of the per-sample image tensors), so when FID, KID, IS and PR of one
evaluator process the same generated batch, the network runs once. Real-image features are
memoised the same way per (dataset, count, key).
"""
from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader

from ...optim.amp import channels_last_helps
from ..inception import load_inception, quantize_uint8
from .base_gen_metric import GenerativeMetric, unwrap_model
from .real_stats import load_or_compute_real_stats

__all__ = ['InceptionExtractor', 'get_inception_extractor', 'pil_resize', 'InceptionGenMetric']

logger = logging.getLogger(__name__)

_PIL_METHODS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR,
                'nearest': Image.NEAREST, 'box': Image.BOX}


def pil_resize(imgs: torch.Tensor, method: str = 'bicubic', size: int = 299) -> torch.Tensor:
    """Resize uint8-valued (N, 3, H, W) images with Pillow (MMagic's IS preprocessing)."""
    out = []
    for img in imgs.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy():
        pil = Image.fromarray(img).resize((size, size), resample=_PIL_METHODS[method])
        out.append(torch.from_numpy(np.asarray(pil).copy()))
    return torch.stack(out).permute(0, 3, 1, 2).float().to(imgs.device)


class InceptionExtractor:
    """Inception features with a one-batch memo.

    ``extract(images, resize=None)``: ``images`` is a list of (3, H, W) RGB float tensors in
    [0, 255]; returns ``dict(feats=(N, 2048) float64 cpu, probs=(N, 1008) float64 cpu)``.
    ``probs`` is the softmax of the logits without the fc bias, as NVlabs' ``no_output_bias``
    and torch-fidelity's ``logits_unbiased`` (the TF IS graph).
    """

    def __init__(self, inception_style: str = 'StyleGAN', inception_path: str | None = None):
        self.inception_style = inception_style
        self.inception_path = inception_path
        self.net, self.weights_tag = load_inception(inception_style, inception_path)
        self.device = torch.device('cpu')
        self._memo_key = None
        self._memo_refs: list = []
        self._memo_out: dict | None = None
        self._real_memo: dict = {}
        self.num_forward = 0  # batches that ran the network (tests read it)
        self.memory_format = torch.contiguous_format

    def to(self, device) -> InceptionExtractor:
        self.device = torch.device(device)
        self.net.to(self.device)
        # fp32 NHWC convs ran 1.5x faster on a CPU with AVX512/AMX (benchmarks/eval_speed.py);
        # the same check as channels_last='auto' decides. TorchScript weights stay as loaded.
        fmt = torch.channels_last if self.inception_style == 'PyTorch' and \
            channels_last_helps(self.device) else torch.contiguous_format
        if fmt != self.memory_format:
            self.net.to(memory_format=fmt)
            self.memory_format = fmt
        return self

    @torch.no_grad()
    def _forward(self, x: torch.Tensor) -> dict:
        self.num_forward += 1
        x = quantize_uint8(x).to(self.device)
        if self.inception_style == 'StyleGAN':
            u8 = x.to(torch.uint8)
            feats = self.net(u8, return_features=True)
            probs = self.net(u8, no_output_bias=True)
        else:
            feats, _ = self.net(x.contiguous(memory_format=self.memory_format))
            # no bias: the TF Inception Score graph's softmax input
            probs = F.softmax(feats @ self.net.fc.weight.T, dim=1)
        return dict(feats=feats.double().cpu(), probs=probs.double().cpu())

    def extract(self, images: list[torch.Tensor], resize: str | None = None,
                bgr: bool = True) -> dict:
        """Features of ``images``; reuses the previous result for the very same tensors.

        ``bgr``: the images are BGR (MMagic's metric convention) and are flipped to RGB here.
        ``resize``: a Pillow method to pre-resize to 299 (IS), None = the network's own resize.
        """
        # memory address + version counter (shared by views and .detach()) identify the data
        key = (resize, bgr) + tuple((t.data_ptr(), t._version, tuple(t.shape), t.stride(),
                                     t.dtype, str(t.device)) for t in images)
        if key == self._memo_key:
            return self._memo_out
        if len({tuple(t.shape) for t in images}) == 1:
            batch = torch.stack([t.float() for t in images])
            if batch.size(1) == 1:  # grayscale (MNIST, digits): Inception wants 3 channels
                batch = batch.expand(-1, 3, -1, -1)
            if bgr:
                batch = batch.flip(1)  # (N, 3, H, W) BGR -> RGB
            if resize is not None:
                batch = pil_resize(batch, resize)
            out = self._forward(batch)
        else:  # mixed sizes: one pass per image
            parts = [self.extract([t], resize, bgr) for t in images]
            out = {k: torch.cat([p[k] for p in parts]) for k in ('feats', 'probs')}
        # keep references so the memory in the key cannot be reused by new tensors
        self._memo_key, self._memo_refs, self._memo_out = key, list(images), out
        return out

    def real_features(self, key: tuple, compute) -> dict:
        """Memoised real-image features: ``compute()`` runs once per ``key``."""
        if key not in self._real_memo:
            self._real_memo.clear()  # hold one dataset's features at a time
            self._real_memo[key] = compute()
        return self._real_memo[key]


_EXTRACTORS: dict[tuple, InceptionExtractor] = {}


def get_inception_extractor(inception_style: str = 'StyleGAN',
                            inception_path: str | None = None) -> InceptionExtractor:
    """The process-wide extractor for these weights (built on first use)."""
    key = (inception_style, None if inception_path is None else str(inception_path))
    if key not in _EXTRACTORS:
        _EXTRACTORS[key] = InceptionExtractor(inception_style, inception_path)
    return _EXTRACTORS[key]


# --------------------------------------------------------------------------------------------
# Base of the Inception-based metrics (FID, KID, IS, PR)
# --------------------------------------------------------------------------------------------
class InceptionGenMetric(GenerativeMetric):
    """A GenerativeMetric whose features come from the shared Inception extractor.

    Subclasses set ``needs_real`` (reference features from the real dataloader in
    :meth:`prepare`, or from ``inception_pkl``) and ``needs_raw_real`` (all real feature rows,
    not only mean/covariance).
    """
    needs_real = True
    needs_raw_real = False
    resize_tag = None  # None: the network's own resize

    def __init__(self, fake_nums: int, real_nums: int = -1, inception_style: str = 'StyleGAN',
                 inception_path: str | None = None, inception_pkl: str | None = None,
                 fake_key: str | None = None, real_key: str | None = 'gt_img',
                 need_cond_input: bool = False, sample_model: str = 'orig',
                 collect_device: str = 'cpu', prefix: str | None = None,
                 sample_kwargs: dict | None = None):
        super().__init__(fake_nums, real_nums, fake_key, real_key, need_cond_input,
                         sample_model, collect_device, prefix, sample_kwargs)
        # MMagic's MS-PIE configs write 'pytorch' (MMagic reads every non-'StyleGAN' as PyTorch)
        inception_style = {'pytorch': 'PyTorch', 'stylegan': 'StyleGAN'}.get(
            str(inception_style).lower(), inception_style)
        self.inception_style = inception_style
        self.inception_path = inception_path
        self.inception_pkl = inception_pkl
        self.extractor = get_inception_extractor(inception_style, inception_path)
        self.real_stats: dict | None = None

    @property
    def resize_desc(self) -> str:
        if self.resize_tag:
            return f'pil-{self.resize_tag}'
        return 'tf-bilinear' if self.inception_style == 'PyTorch' else 'stylegan-bilinear'

    def _protocol_fields(self) -> list:
        fields = [('inception', self.extractor.weights_tag), ('resize', self.resize_desc),
                  ('fake', self.fake_nums)]
        if self.needs_real:
            n = self.real_stats['num'] if self.real_stats else self.real_nums
            fields.append(('real', f'{self.real_source}:{n}'))
        return fields

    def prepare(self, module: nn.Module, dataloader: DataLoader) -> None:
        super().prepare(module, dataloader)
        params = list(unwrap_model(module).parameters())
        self.extractor.to(params[0].device if params else 'cpu')
        if self.needs_real and self.real_stats is None:
            self.real_stats = load_or_compute_real_stats(self, dataloader)

    def process(self, data_batch: dict, data_samples) -> None:
        if len(self.fake_results) >= self.fake_nums_per_device:
            return
        out = self.extractor.extract(self.fake_images(data_samples), self.resize_tag)
        self.fake_results += list(out[self.feature_name])

    feature_name = 'feats'
