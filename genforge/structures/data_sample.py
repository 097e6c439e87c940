"""DataSample: the one record that flows dataset -> model -> metric.

It follows MMEngine's ``BaseDataElement`` interface (data fields as attributes + a ``metainfo``
dict) with MMagic's batch helpers (``stack``/``split``) and MMPretrain's label helpers
(``set_gt_label``, ``set_gt_score``, ``pred_label``, ``pred_score``).

Labels are plain ``LongTensor`` s (MMPretrain layout): ``sample.gt_label`` is ``tensor([3])`` for
one sample and ``tensor([3, 1, ...])`` (N,) after ``DataSample.stack``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from numbers import Number
from typing import Any

import numpy as np
import torch

__all__ = ['DataSample', 'format_label', 'format_score']

_INTERNAL = ('_metainfo_fields', '_data_fields', '_batch_size')


def format_label(value: Any, num_classes: int | None = None) -> torch.Tensor:
    """Convert an int / sequence / ndarray / tensor label to a 1-D ``LongTensor``."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = int(value.item())
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value).to(torch.long)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        value = torch.tensor(value, dtype=torch.long)
    elif isinstance(value, (int, np.integer)):
        value = torch.tensor([int(value)], dtype=torch.long)
    elif isinstance(value, torch.Tensor):
        value = value.to(torch.long)
    else:
        raise TypeError(f'gt_label: type {type(value).__name__} is not a valid label; use an int, '
                        f'a list of ints, a numpy array or a tensor')
    if num_classes is not None and value.numel() and int(value.max()) >= num_classes:
        raise ValueError(f'gt_label: label {value.tolist()} exceeds num_classes={num_classes}')
    return value


def format_score(value: Any) -> torch.Tensor:
    """Convert a sequence / ndarray / tensor score to a float tensor."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).float()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.tensor(value, dtype=torch.float32)
    if isinstance(value, torch.Tensor):
        return value if value.is_floating_point() else value.float()
    raise TypeError(f'score: type {type(value).__name__} is not valid; use a list, ndarray or '
                    f'tensor of floats')


def _is_label_key(key: str) -> bool:
    return key.endswith('_label')


def _splittable(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, np.ndarray, DataSample)) or (
        isinstance(value, Sequence) and not isinstance(value, str))


class DataSample:
    """A data container: data fields as attributes plus a ``metainfo`` dict.

    Example:
        >>> s = DataSample(gt_img=torch.rand(3, 8, 8), metainfo=dict(img_path='a.png'))
        >>> s.set_gt_label(2)
        >>> batch = DataSample.stack([s, s])   # gt_img (2, 3, 8, 8), gt_label (2,)
        >>> batch.metainfo['img_path']         # ['a.png', 'a.png']
        >>> first = batch[0]                   # == batch.split()[0]
    """

    # source key in pipeline results -> data field name (MMagic's PackInputs mapping)
    META_KEYS = {k: k for k in (
        'img_path', 'gt_path', 'merged_path', 'trimap_path', 'ori_shape', 'img_shape',
        'ori_merged_shape', 'ori_trimap_shape', 'trimap_channel_order', 'empty_box',
        'ori_img_shape', 'ori_gt_shape', 'img_channel_order', 'gt_channel_order', 'gt_color_type',
        'img_color_type', 'sample_idx', 'num_input_frames', 'num_output_frames', 'mask_bbox',
        'coord', 'cell')}
    DATA_KEYS = {
        'gt': 'gt_img', 'gt_label': 'gt_label', 'gt_heatmap': 'gt_heatmap',
        'gt_unsharp': 'gt_unsharp', 'merged': 'gt_merged', 'ori_alpha': 'ori_alpha',
        'fg': 'gt_fg', 'bg': 'gt_bg', 'gt_rgb': 'gt_rgb', 'alpha': 'gt_alpha', 'img_lq': 'img_lq',
        'ref': 'ref_img', 'ref_lq': 'ref_lq', 'mask': 'mask', 'trimap': 'trimap', 'gray': 'gray',
        'cropped_img': 'cropped_img', 'pred_img': 'pred_img', 'ori_trimap': 'ori_trimap',
        'prompt': 'prompt'}

    def __init__(self, *, metainfo: dict | None = None, **kwargs: Any) -> None:
        object.__setattr__(self, '_metainfo_fields', [])
        object.__setattr__(self, '_data_fields', [])
        object.__setattr__(self, '_batch_size', None)
        if metainfo:
            self.set_metainfo(metainfo)
        if kwargs:
            self.set_data(kwargs)

    # -- fields --------------------------------------------------------------------------
    def set_field(self, value: Any, name: str, dtype: Any = None,
                  field_type: str = 'data') -> None:
        """Set ``name`` as a data (default) or metainfo field, checking ``dtype`` if given."""
        if field_type not in ('data', 'metainfo'):
            raise ValueError(f"DataSample.set_field: field_type must be 'data' or 'metainfo', "
                             f'got {field_type!r}')
        if dtype is not None and not isinstance(value, dtype):
            raise TypeError(f'DataSample.{name}: expected {dtype}, got {type(value).__name__}')
        if name in _INTERNAL:
            raise AttributeError(f'DataSample: {name!r} is reserved')
        if field_type == 'metainfo':
            if name in self._data_fields:
                raise AttributeError(f'DataSample: {name!r} is already a data field; '
                                     f'cannot set it as metainfo')
            if name not in self._metainfo_fields:
                self._metainfo_fields.append(name)
        else:
            if name in self._metainfo_fields:
                raise AttributeError(f'DataSample: {name!r} is a metainfo field; change it with '
                                     f'set_metainfo({{{name!r}: value}})')
            if name not in self._data_fields:
                self._data_fields.append(name)
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _INTERNAL:
            object.__setattr__(self, name, value)
        else:
            self.set_field(value, name)

    def __delattr__(self, name: str) -> None:
        if name in _INTERNAL:
            raise AttributeError(f'DataSample: {name!r} is reserved and cannot be deleted')
        object.__delattr__(self, name)
        for fields in (self._metainfo_fields, self._data_fields):
            if name in fields:
                fields.remove(name)

    __delitem__ = __delattr__

    def set_metainfo(self, metainfo: dict) -> None:
        if not isinstance(metainfo, dict):
            raise TypeError(f'DataSample.set_metainfo expects a dict, got {type(metainfo).__name__}')
        for k, v in metainfo.items():
            self.set_field(v, k, field_type='metainfo')

    def set_data(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise TypeError(f'DataSample.set_data expects a dict, got {type(data).__name__}')
        for k, v in data.items():
            setattr(self, k, v)

    def update(self, instance: DataSample) -> None:
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def set_predefined_data(self, data: dict) -> None:
        """Set fields from pipeline results using MMagic's META_KEYS / DATA_KEYS mappings."""
        self.set_metainfo({self.META_KEYS[k]: v for k, v in data.items() if k in self.META_KEYS})
        self.set_tensor_data({self.DATA_KEYS[k]: v for k, v in data.items()
                              if k in self.DATA_KEYS})

    def set_tensor_data(self, data: dict) -> None:
        """Set data fields, converting numpy arrays / numbers to tensors (``gt_label`` formatted)."""
        for k, v in data.items():
            if k == 'gt_label':
                self.set_gt_label(v)
            elif k == 'prompt' or isinstance(v, (str, list)) and v and isinstance(v[0], str):
                self.set_field(v, k)
            else:
                self.set_field(_to_tensor(v), k)

    # -- labels and scores (MMPretrain) ----------------------------------------------------
    def set_gt_label(self, value: Any) -> DataSample:
        self.set_field(format_label(value, self.get('num_classes')), 'gt_label')
        return self

    def set_gt_score(self, value: Any) -> DataSample:
        score = format_score(value)
        num_classes = self.get('num_classes')
        if num_classes is not None and score.shape[-1] != num_classes:
            raise ValueError(f'gt_score: length {score.shape[-1]} != num_classes={num_classes}')
        self.set_field(score, 'gt_score')
        return self

    def set_pred_label(self, value: Any) -> DataSample:
        self.set_field(format_label(value), 'pred_label')
        return self

    def set_pred_score(self, value: Any) -> DataSample:
        self.set_field(format_score(value), 'pred_score')
        return self

    def set_gt_prompt(self, value: str | Sequence[str]) -> DataSample:
        self.set_field(value, 'prompt')
        return self

    # -- dict-like access ------------------------------------------------------------------
    @property
    def metainfo(self) -> dict:
        return {k: getattr(self, k) for k in self._metainfo_fields}

    def keys(self) -> list[str]:
        return list(self._data_fields)

    def values(self) -> list:
        return [getattr(self, k) for k in self._data_fields]

    def items(self) -> Iterator[tuple[str, Any]]:
        for k in self._data_fields:
            yield k, getattr(self, k)

    def metainfo_keys(self) -> list[str]:
        return list(self._metainfo_fields)

    def metainfo_values(self) -> list:
        return [getattr(self, k) for k in self._metainfo_fields]

    def metainfo_items(self) -> Iterator[tuple[str, Any]]:
        for k in self._metainfo_fields:
            yield k, getattr(self, k)

    def all_keys(self) -> list[str]:
        return self.metainfo_keys() + self.keys()

    def all_values(self) -> list:
        return self.metainfo_values() + self.values()

    def all_items(self) -> Iterator[tuple[str, Any]]:
        yield from self.metainfo_items()
        yield from self.items()

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in self else default

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            value = getattr(self, key)
            delattr(self, key)
            return value
        if default:
            return default[0]
        raise KeyError(f'DataSample has no field {key!r} (fields: {self.all_keys()})')

    def __contains__(self, key: str) -> bool:
        return key in self._data_fields or key in self._metainfo_fields

    def to_dict(self) -> dict:
        return {k: v.to_dict() if isinstance(v, DataSample) else v for k, v in self.all_items()}

    # -- copies and devices ------------------------------------------------------------------
    def new(self, *, metainfo: dict | None = None, **kwargs: Any) -> DataSample:
        """A shallow copy (values shared), optionally with fields replaced."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()))
        out.set_data(dict(self.items()))
        out._batch_size = self._batch_size
        if metainfo:
            out.set_metainfo(metainfo)
        if kwargs:
            out.set_data(kwargs)
        return out

    def _map(self, fn) -> DataSample:
        """Apply ``fn`` to tensor data fields (recursing into nested DataSamples)."""
        out = self.new()
        for k, v in self.items():
            if isinstance(v, torch.Tensor):
                object.__setattr__(out, k, fn(v))
            elif isinstance(v, DataSample):
                object.__setattr__(out, k, v._map(fn))
        return out

    def to(self, *args: Any, **kwargs: Any) -> DataSample:
        return self._map(lambda t: t.to(*args, **kwargs))

    def cpu(self) -> DataSample:
        return self._map(lambda t: t.cpu())

    def cuda(self) -> DataSample:
        return self._map(lambda t: t.cuda())

    def detach(self) -> DataSample:
        return self._map(lambda t: t.detach())

    def clone(self) -> DataSample:
        return self._map(lambda t: t.clone())

    def numpy(self) -> DataSample:
        out = self.new()
        for k, v in self.items():
            if isinstance(v, torch.Tensor):
                object.__setattr__(out, k, v.detach().cpu().numpy())
            elif isinstance(v, DataSample):
                object.__setattr__(out, k, v.numpy())
        return out

    def to_tensor(self) -> DataSample:
        out = self.new()
        for k, v in self.items():
            if isinstance(v, np.ndarray):
                object.__setattr__(out, k, torch.from_numpy(v))
        return out

    # -- batches (MMagic) --------------------------------------------------------------------
    @classmethod
    def stack(cls, data_samples: Sequence[DataSample]) -> DataSample:
        """Stack samples: tensors on a new dim 0, 1-element labels concatenated to (N,),
        other values (and every metainfo key) collected in lists."""
        if not data_samples:
            raise ValueError('DataSample.stack: got an empty list')
        first = data_samples[0]
        keys, meta_keys = first.keys(), first.metainfo_keys()
        key_set, meta_set = set(keys), set(meta_keys)  # sets: this runs every iteration
        for i, s in enumerate(data_samples):
            if set(s.keys()) != key_set or set(s.metainfo_keys()) != meta_set:
                raise ValueError(f'DataSample.stack: sample {i} has fields {s.all_keys()}, '
                                 f'sample 0 has {first.all_keys()}; all must have the same fields')
        out = cls()
        for k in meta_keys:
            out.set_field([s.get(k) for s in data_samples], k, field_type='metainfo')
        for k in keys:
            out.set_field(_stack_values(k, [s.get(k) for s in data_samples]), k)
        out._batch_size = len(data_samples)
        return out

    def split(self, allow_nonseq_value: bool = False) -> list[DataSample]:
        """Inverse of ``stack``: one DataSample per item along dim 0."""
        return [self._item(i, allow_nonseq_value) for i in range(len(self))]

    def __getitem__(self, index: int) -> DataSample:
        if isinstance(index, slice):
            return DataSample.stack([self[i] for i in range(len(self))[index]])
        if not isinstance(index, int):
            raise TypeError(f'DataSample index must be an int or a slice, got {type(index).__name__}')
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f'DataSample index {index} out of range for a batch of {n}')
        return self._item(index % n)

    def _item(self, i: int, allow_nonseq_value: bool = False) -> DataSample:
        out = DataSample()
        for k, v in self.all_items():
            field = 'metainfo' if k in self._metainfo_fields else 'data'
            if isinstance(v, torch.Tensor) and _is_label_key(k) and v.ndim == 1:
                item = v[i:i + 1]  # keep the (1,) label layout of a single sample
            elif _splittable(v):
                item = v[i]
            elif allow_nonseq_value:
                item = v
            else:
                raise TypeError(f'DataSample.split: field {k!r} ({type(v).__name__}) is not a '
                                f'sequence; pass allow_nonseq_value=True to copy it to every item')
            out.set_field(item, k, field_type=field)
        return out

    def __len__(self) -> int:
        """Batch size: set by ``stack``; otherwise the common length of all sequence fields
        (MMagic's rule), 1 when they disagree or there are none."""
        if self._batch_size is not None:
            return self._batch_size
        lengths = {len(v) for v in self.all_values() if _splittable(v)}
        return lengths.pop() if len(lengths) == 1 else 1

    def __repr__(self) -> str:
        def fmt(v):
            if isinstance(v, torch.Tensor):
                return f'Tensor(shape={tuple(v.shape)}, dtype={v.dtype}, device={v.device})'
            return repr(v)
        meta = ', '.join(f'{k}={fmt(v)}' for k, v in self.metainfo_items())
        data = ', '.join(f'{k}={fmt(v)}' for k, v in self.items())
        return f'DataSample(META: {meta or "-"}; DATA: {data or "-"})'


def _to_tensor(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 3:  # HWC image -> CHW, MMagic's PackInputs layout
            value = np.ascontiguousarray(value.transpose(2, 0, 1))
        elif value.ndim == 2:
            value = value[None]
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, Number):
        return torch.tensor(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return torch.tensor(value)
    return value


def _stack_values(key: str, values: list) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor) and all(isinstance(v, torch.Tensor) for v in values):
        if _is_label_key(key) and all(v.ndim == 1 and v.numel() == 1 for v in values):
            return torch.cat(values)
        if all(v.shape == first.shape for v in values):
            return torch.stack(values)
        return values  # ragged tensors (e.g. multi-label) stay a list
    if isinstance(first, DataSample):
        return DataSample.stack(values)
    return values
