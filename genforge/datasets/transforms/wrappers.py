"""MMCV's transform wrappers: KeyMapper (rename keys around transforms) and TransformBroadcaster
(run the same transforms on several keys, optionally with the same random draws).

Translation pipelines use them to turn ``img_A``/``img_B`` into ``img_<domain>`` keys and to
resize/crop both domains alike.
"""
from __future__ import annotations

import random
from typing import Any

import numpy as np

from genforge.registry import TRANSFORMS

from .base import BaseTransform

__all__ = ['KeyMapper', 'TransformBroadcaster']


def _compose(transforms: Any):
    from genforge.datasets.base_dataset import Compose  # the dataset module imports transforms
    return Compose(transforms)


@TRANSFORMS.register_module()
class KeyMapper(BaseTransform):
    """Rename keys for the wrapped transforms, then rename their outputs back.

    ``mapping={inner: outer}``: the transforms see ``results[outer]`` as ``inner`` (other keys
    are kept). ``remapping={inner: outer}``: after the transforms, ``results[outer] =
    inner_results[inner]``. ``auto_remap`` (default: True when ``remapping`` is None) inverts
    ``mapping``. Without transforms, this only copies keys (MMagic's translation configs).

    Example: dict(type='KeyMapper', mapping={'img_photo': 'img_A', 'img_mask': 'img_B'},
                  remapping={'img_photo': 'img_photo', 'img_mask': 'img_mask'})
    """

    def __init__(self, transforms: Any = None, mapping: dict | None = None,
                 remapping: dict | None = None, auto_remap: bool | None = None,
                 allow_nonexist_keys: bool = False):
        if auto_remap is None:
            auto_remap = remapping is None
        if auto_remap and remapping is not None:
            raise ValueError('KeyMapper: give remapping or auto_remap=True, not both')
        self.transforms = _compose(transforms)
        self.mapping = dict(mapping) if mapping is not None else None
        self.auto_remap = auto_remap
        if auto_remap and mapping is not None:
            remapping = {inner: outer for inner, outer in mapping.items()}
        self.remapping = dict(remapping) if remapping is not None else None
        self.allow_nonexist_keys = allow_nonexist_keys

    def _map_input(self, results: dict) -> dict:
        inputs = dict(results)
        for inner, outer in (self.mapping or {}).items():
            if outer in results:
                inputs[inner] = results[outer]
            elif not self.allow_nonexist_keys:
                raise KeyError(f'{type(self).__name__}: mapping {inner!r} <- {outer!r}, but '
                               f'{outer!r} is not in the results (keys: {sorted(results)}). Fix '
                               'the pipeline or set allow_nonexist_keys=True.')
        return inputs

    def _map_output(self, outputs: dict) -> dict:
        if self.remapping is None:
            return outputs
        return {outer: outputs[inner] for inner, outer in self.remapping.items()
                if inner in outputs}

    def transform(self, results: dict) -> dict | None:
        outputs = self.transforms(self._map_input(results))
        if outputs is None:
            return None
        results = dict(results)
        results.update(self._map_output(outputs))
        return results


@TRANSFORMS.register_module()
class TransformBroadcaster(KeyMapper):
    """Apply ``transforms`` once per key in ``mapping``'s lists.

    ``mapping={'img': ['img_A', 'img_B']}`` runs the transforms on ``img_A`` then ``img_B``, each
    seen as ``img``, and writes the results back (``auto_remap``). With
    ``share_random_params=True`` every run replays the same NumPy / Python random draws, so both
    images get the same random crop or flip.

    Example: dict(type='TransformBroadcaster', mapping={'img': ['img_A', 'img_B']},
                  auto_remap=True, share_random_params=True,
                  transforms=[dict(type='Resize', scale=(286, 286), interpolation='bicubic')])
    """

    def __init__(self, transforms: Any, mapping: dict | None = None,
                 remapping: dict | None = None, auto_remap: bool | None = None,
                 allow_nonexist_keys: bool = False, share_random_params: bool = False):
        super().__init__(transforms, mapping, remapping, auto_remap, allow_nonexist_keys)
        lengths = {len(v) for v in (self.mapping or {}).values() if isinstance(v, (list, tuple))}
        if not self.mapping or len(lengths) != 1 or not all(
                isinstance(v, (list, tuple)) for v in self.mapping.values()):
            raise ValueError(f'TransformBroadcaster: mapping must map each inner key to a list of '
                             f"outer keys of one length, e.g. {{'img': ['img_A', 'img_B']}}, "
                             f'got {mapping!r}')
        self.num_targets = lengths.pop()
        self.share_random_params = share_random_params

    def _scatter(self, table: dict | None, i: int) -> dict | None:
        return None if table is None else {k: v[i] for k, v in table.items()}

    def transform(self, results: dict) -> dict | None:
        mapping, remapping = self.mapping, self.remapping
        states = (np.random.get_state(), random.getstate())
        out = dict(results)
        try:
            for i in range(self.num_targets):
                if self.share_random_params and i > 0:
                    # replay the first run's random draws: same crop position / flip decision
                    np.random.set_state(states[0])
                    random.setstate(states[1])
                self.mapping, self.remapping = self._scatter(mapping, i), \
                    self._scatter(remapping, i)
                out = super().transform(out)
                if out is None:
                    return None
        finally:
            self.mapping, self.remapping = mapping, remapping
        return out
