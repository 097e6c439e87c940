"""Start-up checks: what would otherwise fail at the first validation, hours into training.

The Runner calls :func:`check_eval_loop` right after it builds a validation or test loop (its
dataloader and metrics exist then; nothing else is built), and :func:`check_train_image_size`
before training. Building the loops already stops on a data folder that does not exist and on a
missing Inception weights file; this adds what only shows when the loop runs. Each check raises
only when the later run would raise the same error (or train a network on images of a size it was
not built for), so a config that would work is never stopped. ``preflight = False`` at the top of
the config (or ``--cfg-options preflight=False``) skips them.
"""
from __future__ import annotations

import inspect
import random
from typing import Any

import numpy as np
import torch


def _evaluator_key(evaluator_cfg: Any, mode: str, loop_index: int, num_loops: int) -> str:
    """The config key of the evaluator of one (sub-)loop: ``val_evaluator`` or ``val_evaluator.1``."""
    if num_loops > 1 and isinstance(evaluator_cfg, (list, tuple)) and \
            len(evaluator_cfg) == num_loops:
        return f'{mode}_evaluator.{loop_index}'
    return f'{mode}_evaluator'


def _metric_key(evaluator_cfg: Any, base: str, index: int) -> str:
    """The config key of metric ``index`` of the evaluator at ``base``."""
    if isinstance(evaluator_cfg, (list, tuple)) and base.count('.') == 1:
        evaluator_cfg = evaluator_cfg[int(base.rsplit('.', 1)[1])]
    if isinstance(evaluator_cfg, dict) and 'metrics' in evaluator_cfg:
        metrics = evaluator_cfg['metrics']
        return f'{base}.metrics.{index}' if isinstance(metrics, (list, tuple)) else \
            f'{base}.metrics'
    if isinstance(evaluator_cfg, (list, tuple)):  # val_evaluator = [dict(type=...), ...]
        return f'{base}.{index}'
    return f'{base}.metrics' if index == 0 else f'{base}.metrics.{index}'


def _count_option(metric: Any) -> str:
    """The argument that sets how many real images ``metric`` reads (SWD: ``fake_nums``)."""
    params = inspect.signature(type(metric).__init__).parameters
    return 'real_nums' if 'real_nums' in params else 'fake_nums'


def real_count_problems(loop: Any, mode: str, evaluator_cfg: Any = None) -> list[str]:
    """Metrics that will ask the dataset for more real images than it has (one line each)."""
    from genforge.evaluation.metrics.base_gen_metric import GenMetric

    loops = list(getattr(loop, 'loops', None) or [loop])
    problems = []
    for j, sub in enumerate(loops):
        evaluator = getattr(sub, 'evaluator', None)
        dataset = getattr(getattr(sub, 'dataloader', None), 'dataset', None)
        if evaluator is None or not hasattr(evaluator, 'metric_groups'):
            continue
        try:
            length = len(dataset)
        except TypeError:  # an iterable dataset: the run finds out (never guess here)
            continue
        base = _evaluator_key(evaluator_cfg, mode, j, len(loops))
        for group in evaluator.metric_groups():
            # only the real-image sampler of GenMetric raises later (generative metrics sample)
            if getattr(type(group[0]), 'get_metric_sampler', None) is not \
                    GenMetric.get_metric_sampler:
                continue
            for metric in group:
                nums = getattr(metric, 'real_nums', -1)
                if not isinstance(nums, int) or nums == -1 or nums <= length:
                    continue
                index = evaluator.metrics.index(metric)
                key = f'{_metric_key(evaluator_cfg, base, index)}.{_count_option(metric)}'
                name = type(metric).__name__ + \
                    (f" ({metric.prefix})" if getattr(metric, 'prefix', None) else '')
                fix = f'lower it with --cfg-options {key}={length}, or add images'
                if mode == 'val':
                    fix += (' (or skip validation: --cfg-options val_cfg=None '
                            'val_dataloader=None val_evaluator=None)')
                problems.append(f'{name} compares {nums} real images, but the {mode} dataset '
                                f'has {length}; {fix}')
    return problems


def check_eval_loop(loop: Any, mode: str, evaluator_cfg: Any = None) -> None:
    """Raise ValueError naming every metric that cannot run on its dataset (see module doc)."""
    problems = real_count_problems(loop, mode, evaluator_cfg)
    if problems:
        raise ValueError('; '.join(problems) + ' (checked before the first iteration; '
                         'preflight=False skips this check)')


# Fixed-size discriminators and the argument that fixes their input size. Exact type names only:
# multi-scale subclasses (MS-PIE, progressive GANs) take several sizes on purpose.
_FIXED_SIZE_DISCRIMINATORS = {'DCGANDiscriminator': 'input_scale',
                              'StyleGAN2Discriminator': 'in_size'}


def _first_image_size(dataset: Any) -> tuple[int, int] | None:
    """(H, W) of the first training image after the pipeline; None when it cannot be told."""
    # random transforms in the pipeline must not shift the run's random streams
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        sample = dataset[0]
    except Exception:  # noqa: BLE001 - the run reports a broken sample itself, with context
        return None
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
    data_sample = sample.get('data_samples') if isinstance(sample, dict) else None
    img = getattr(data_sample, 'gt_img', None) if data_sample is not None else None
    if img is None and isinstance(sample, dict):
        img = sample.get('inputs')
    shape = getattr(img, 'shape', None)
    if shape is None or len(shape) != 3:
        return None
    return int(shape[-2]), int(shape[-1])


def check_train_image_size(model: Any, dataloader: Any) -> None:
    """Raise ValueError when the training images do not have the size the discriminator takes.

    A DCGAN discriminator given larger images silently scores patches instead of images; a
    StyleGAN2 one fails at its last layer. Only the fixed-size discriminators above are checked.
    """
    disc = getattr(getattr(model, 'module', model), 'discriminator', None)
    key = _FIXED_SIZE_DISCRIMINATORS.get(type(disc).__name__)
    size = getattr(disc, key, None) if key else None
    dataset = getattr(dataloader, 'dataset', None)
    if not isinstance(size, int) or dataset is None:
        return
    found = _first_image_size(dataset)
    if found is None or found == (size, size):
        return
    h, w = found
    raise ValueError(
        f'the training images are {h}x{w} (train_dataloader.dataset[0] after its pipeline), but '
        f'model.discriminator.{key}={size} takes {size}x{size} images: resize them in the '
        f"pipeline (dict(type='Resize', keys='gt', scale=({size}, {size}))) or build the model "
        f'for {h}x{w} (model.discriminator.{key} and the generator\'s output size; checked '
        'before the first iteration, preflight=False skips this check)')


__all__ = ['check_eval_loop', 'check_train_image_size', 'real_count_problems']
