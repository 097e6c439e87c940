"""Batch augmentations on (images, one-hot scores): Mixup, CutMix and a random chooser.

Each takes ``(inputs (N, C, H, W), scores (N, K))`` and returns mixed inputs and mixed scores
whose rows still sum to 1 (MMPretrain's ``BATCH_AUGMENTS``; registered in ``MODELS`` here).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from genforge.registry import MODELS

__all__ = ['Mixup', 'CutMix', 'RandomBatchAugment']


def _check(inputs: torch.Tensor, scores: torch.Tensor, who: str) -> None:
    if scores.ndim != 2:
        raise ValueError(f'{who}: expects one-hot scores (N, num_classes), got shape '
                         f'{tuple(scores.shape)}; set num_classes in the data preprocessor')
    if inputs.size(0) != scores.size(0):
        raise ValueError(f'{who}: {inputs.size(0)} images but {scores.size(0)} scores')


@MODELS.register_module()
class Mixup:
    """``lam * x + (1 - lam) * x[perm]`` with ``lam ~ Beta(alpha, alpha)``; scores likewise.

    Example: model.train_cfg = dict(augments=dict(type='Mixup', alpha=0.2))
    """

    def __init__(self, alpha: float):
        if not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f'Mixup: alpha must be a positive number, got {alpha!r}')
        self.alpha = alpha

    def mix(self, batch_inputs: torch.Tensor, batch_scores: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = float(np.random.beta(self.alpha, self.alpha))
        index = torch.randperm(batch_inputs.size(0), device=batch_inputs.device)
        mixed_inputs = lam * batch_inputs + (1 - lam) * batch_inputs[index]
        mixed_scores = lam * batch_scores + (1 - lam) * batch_scores[index]
        return mixed_inputs, mixed_scores

    def __call__(self, batch_inputs: torch.Tensor, batch_scores: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        _check(batch_inputs, batch_scores, type(self).__name__)
        return self.mix(batch_inputs, batch_scores.float())


@MODELS.register_module()
class CutMix(Mixup):
    """Paste a random box of a permuted batch; scores mixed by the pasted area share.

    Args:
        alpha: Beta(alpha, alpha) draws the target area share ``1 - lam``.
        cutmix_minmax: box side as a (min, max) fraction of the image side instead.
        correct_lam: recompute ``lam`` from the clipped box's real area.

    Example: dict(type='CutMix', alpha=1.0)
    """

    def __init__(self, alpha: float, cutmix_minmax: Sequence[float] | None = None,
                 correct_lam: bool = True):
        super().__init__(alpha)
        self.cutmix_minmax, self.correct_lam = cutmix_minmax, correct_lam

    def rand_bbox(self, img_shape: tuple[int, int], lam: float) -> tuple[int, int, int, int]:
        """A box of area ~ (1 - lam) * H * W centred uniformly at random, clipped to the image."""
        img_h, img_w = img_shape
        ratio = np.sqrt(1 - lam)
        cut_h, cut_w = int(img_h * ratio), int(img_w * ratio)
        cy, cx = np.random.randint(0, img_h), np.random.randint(0, img_w)
        yl, yh = np.clip(cy - cut_h // 2, 0, img_h), np.clip(cy + cut_h // 2, 0, img_h)
        xl, xh = np.clip(cx - cut_w // 2, 0, img_w), np.clip(cx + cut_w // 2, 0, img_w)
        return int(yl), int(yh), int(xl), int(xh)

    def rand_bbox_minmax(self, img_shape: tuple[int, int]) -> tuple[int, int, int, int]:
        img_h, img_w = img_shape
        lo, hi = self.cutmix_minmax
        cut_h = np.random.randint(int(img_h * lo), int(img_h * hi))
        cut_w = np.random.randint(int(img_w * lo), int(img_w * hi))
        yl, xl = np.random.randint(0, img_h - cut_h), np.random.randint(0, img_w - cut_w)
        return yl, yl + cut_h, xl, xl + cut_w

    def cutmix_bbox_and_lam(self, img_shape: tuple[int, int], lam: float
                            ) -> tuple[tuple[int, int, int, int], float]:
        if self.cutmix_minmax is not None:
            box = self.rand_bbox_minmax(img_shape)
        else:
            box = self.rand_bbox(img_shape, lam)
        if self.correct_lam or self.cutmix_minmax is not None:
            yl, yh, xl, xh = box
            lam = 1. - (yh - yl) * (xh - xl) / float(img_shape[0] * img_shape[1])
        return box, lam

    def mix(self, batch_inputs: torch.Tensor, batch_scores: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor]:
        lam = float(np.random.beta(self.alpha, self.alpha))
        index = torch.randperm(batch_inputs.size(0), device=batch_inputs.device)
        (y1, y2, x1, x2), lam = self.cutmix_bbox_and_lam(tuple(batch_inputs.shape[-2:]), lam)
        batch_inputs = batch_inputs.clone()  # do not write into the caller's tensor
        batch_inputs[:, :, y1:y2, x1:x2] = batch_inputs[index, :, y1:y2, x1:x2]
        mixed_scores = lam * batch_scores + (1 - lam) * batch_scores[index]
        return batch_inputs, mixed_scores


class RandomBatchAugment:
    """Apply one of ``augments`` per batch, chosen with ``probs`` (uniform if None; with probs
    summing below 1 the rest is 'no augment').

    Example: ClsDataPreprocessor(batch_augments=dict(augments=[dict(type='Mixup', alpha=0.8),
                                 dict(type='CutMix', alpha=1.0)]))
    """

    def __init__(self, augments: dict | Sequence[dict], probs: float | Sequence[float] | None = None):
        augments = [augments] if not isinstance(augments, (list, tuple)) else list(augments)
        self.augments = [MODELS.build(a, key_path='model.train_cfg.augments')
                         if isinstance(a, dict) else a for a in augments]
        if isinstance(probs, float):
            probs = [probs]
        if probs is not None:
            if len(probs) != len(self.augments) or sum(probs) > 1 + 1e-6:
                raise ValueError(f'RandomBatchAugment: probs {probs} must have one value per '
                                 f'augment ({len(self.augments)}) and sum to at most 1')
            self.probs = list(probs) + [max(0., 1 - sum(probs))]
            self.augments.append(None)
        else:
            self.probs = None

    def __call__(self, batch_input: torch.Tensor, batch_score: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        aug = self.augments[np.random.choice(len(self.augments), p=self.probs)]
        if aug is None:
            return batch_input, batch_score.float()
        return aug(batch_input, batch_score)
