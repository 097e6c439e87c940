"""Reduction helpers and the ``weighted_loss`` / ``masked_loss`` decorators.

Two OpenMMLab conventions exist for a weighted 'mean':

* MMPretrain/MMDet (``weight_reduce_loss``): ``mean(loss * weight)`` over *all* elements, or
  ``sum(loss * weight) / avg_factor`` when ``avg_factor`` is given.
* MMagic (``mask_reduce_loss``): the mean over the *weighted region*,
  ``sum(loss * weight) / sum(weight)`` (optionally per sample with ``sample_wise=True``).

``weighted_loss`` serves both call styles: called the MMPretrain way
(``weight, reduction, avg_factor``) it uses the first; called the MMagic way (``sample_wise=``
given, as MMagic's pixel losses do) it uses the second. ``masked_loss`` always uses the second.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch

__all__ = ['reduce_loss', 'weight_reduce_loss', 'mask_reduce_loss', 'weighted_loss',
           'masked_loss']

_REDUCTIONS = ('none', 'mean', 'sum')


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce an element-wise loss with 'none' | 'mean' | 'sum'."""
    if reduction == 'none':
        return loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    raise ValueError(f"reduction={reduction!r} is not supported; use one of {_REDUCTIONS}")


def weight_reduce_loss(loss: torch.Tensor, weight: torch.Tensor | None = None,
                       reduction: str = 'mean', avg_factor: float | None = None) -> torch.Tensor:
    """MMPretrain semantics: multiply by ``weight``, then reduce (or divide by ``avg_factor``)."""
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == 'mean':
        return loss.sum() / avg_factor
    if reduction != 'none':
        raise ValueError('avg_factor can not be used with reduction="sum"; use reduction="mean"')
    return loss


def mask_reduce_loss(loss: torch.Tensor, weight: torch.Tensor | None = None,
                     reduction: str = 'mean', sample_wise: bool = False) -> torch.Tensor:
    """MMagic semantics: 'mean' averages over the weighted region only.

    Args:
        loss (Tensor): element-wise loss, (N, C, H, W).
        weight (Tensor, optional): (N, C, H, W) or (N, 1, H, W) element weights / mask.
        reduction (str): 'none' | 'mean' | 'sum'.
        sample_wise (bool): with 'mean' and a weight, average each sample over its own weighted
            region, then average over samples.
    """
    if weight is not None:
        if weight.dim() != loss.dim():
            raise ValueError(f'weight has {weight.dim()} dims but the loss has {loss.dim()} '
                             f'(shapes {tuple(weight.shape)} vs {tuple(loss.shape)})')
        if weight.dim() > 1 and weight.size(1) not in (1, loss.size(1)):
            raise ValueError(f'weight channels must be 1 or {loss.size(1)}, got {weight.size(1)}')
        loss = loss * weight
    if weight is None or reduction in ('sum', 'none'):
        return reduce_loss(loss, reduction)
    if reduction != 'mean':
        raise ValueError(f"reduction={reduction!r} is not supported; use one of {_REDUCTIONS}")
    if weight.dim() > 1 and weight.size(1) == 1:
        weight = weight.expand_as(loss)
    eps = 1e-12  # an all-zero mask gives 0, not NaN
    if sample_wise:
        dims = list(range(1, weight.dim()))
        per_sample = weight.sum(dim=dims, keepdim=True)  # (N, C, H, W) -> (N, 1, 1, 1)
        return (loss / (per_sample + eps)).sum() / weight.size(0)
    return loss.sum() / (weight.sum() + eps)


def weighted_loss(loss_func: Callable) -> Callable:
    """Decorate an element-wise ``loss_func(pred, target, **kw)`` with weight and reduction.

    The result is called ``loss_func(pred, target, weight=None, reduction='mean',
    avg_factor=None, sample_wise=None, **kw)``. With ``sample_wise`` left as None it follows
    MMPretrain (``weight_reduce_loss``); with ``sample_wise`` True/False it follows MMagic
    (``mask_reduce_loss``).

    Example:
        >>> @weighted_loss
        ... def l1_loss(pred, target):
        ...     return (pred - target).abs()
        >>> l1_loss(torch.tensor([0., 2, 3]), torch.ones(3), torch.tensor([1., 0, 1]))
        tensor(1.)
    """

    @functools.wraps(loss_func)
    def wrapper(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                reduction: str = 'mean', avg_factor: float | None = None,
                sample_wise: bool | None = None, **kwargs) -> torch.Tensor:
        loss = loss_func(pred, target, **kwargs)
        if sample_wise is None:
            return weight_reduce_loss(loss, weight, reduction, avg_factor)
        if avg_factor is not None:
            raise ValueError('pass either avg_factor (MMPretrain style) or sample_wise '
                             '(MMagic style), not both')
        return mask_reduce_loss(loss, weight, reduction, sample_wise)

    return wrapper


def masked_loss(loss_func: Callable) -> Callable:
    """MMagic's decorator: ``loss_func(pred, target, weight=None, reduction='mean',
    sample_wise=False, **kw)`` reduced with ``mask_reduce_loss``."""

    @functools.wraps(loss_func)
    def wrapper(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                reduction: str = 'mean', sample_wise: bool = False, **kwargs) -> torch.Tensor:
        loss = loss_func(pred, target, **kwargs)
        return mask_reduce_loss(loss, weight, reduction, sample_wise)

    return wrapper
