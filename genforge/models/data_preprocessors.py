"""Data preprocessors: move a collated batch to the model's device and normalise images.

``BaseDataPreprocessor`` and ``ImgDataPreprocessor`` follow MMEngine; ``DataPreprocessor`` follows
MMagic (dict inputs, channel-order bookkeeping, normalised ``data_samples`` fields, ``destruct``).
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genforge.registry import MODELS
from genforge.structures import DataSample

__all__ = ['BaseDataPreprocessor', 'ImgDataPreprocessor', 'DataPreprocessor', 'stack_batch']

logger = logging.getLogger(__name__)


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Moves every tensor / DataSample of a batch to the module's device.

    Example: dict(type='BaseDataPreprocessor', non_blocking=True)
    """

    def __init__(self, non_blocking: bool = False):
        super().__init__()
        self._non_blocking = non_blocking
        # An empty buffer whose device follows model.to()/cuda(): no device bookkeeping needed.
        self.register_buffer('_device_probe', torch.empty(0), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._device_probe.device

    def cast_data(self, data: Any) -> Any:
        """Recursively move tensors and DataSamples in ``data`` to ``self.device``."""
        if isinstance(data, Mapping):
            return {k: self.cast_data(v) for k, v in data.items()}
        if isinstance(data, (str, bytes)) or data is None:
            return data
        if isinstance(data, tuple) and hasattr(data, '_fields'):  # namedtuple
            return type(data)(*(self.cast_data(v) for v in data))
        if isinstance(data, (list, tuple)):
            return type(data)(self.cast_data(v) for v in data)
        if isinstance(data, (Tensor, DataSample)):
            if isinstance(data, Tensor) and data.device == self.device:
                return data
            return data.to(self.device, non_blocking=self._non_blocking)
        return data

    def forward(self, data: dict, training: bool = False) -> dict | list:
        return self.cast_data(data)


def _pad(x: Tensor, th: int, tw: int, value: float = 0, mode: str = 'constant') -> Tensor:
    """Pad the last two dims at bottom/right to (th, tw)."""
    h, w = x.shape[-2:]
    if (th, tw) == (h, w):
        return x
    if mode == 'constant':
        return F.pad(x, (0, tw - w, 0, th - h), mode, value)
    return F.pad(x, (0, tw - w, 0, th - h), mode)


def _round_up(size: int, divisor: int) -> int:
    return math.ceil(size / divisor) * divisor


def stack_batch(tensors: list[Tensor], pad_size_divisor: int = 1, pad_value: float = 0,
                pad_mode: str = 'constant') -> Tensor:
    """Stack CHW (or TCHW) tensors, padding H, W at bottom/right to a common size that is a
    multiple of ``pad_size_divisor``: (C, H_i, W_i) x N -> (N, C, H, W)."""
    if not tensors:
        raise ValueError('stack_batch: got an empty list of tensors')
    if any(t.dim() != tensors[0].dim() for t in tensors):
        raise ValueError(f'stack_batch: tensors must have the same ndim, got '
                         f'{[t.dim() for t in tensors]}')
    th = _round_up(max(t.shape[-2] for t in tensors), pad_size_divisor)
    tw = _round_up(max(t.shape[-1] for t in tensors), pad_size_divisor)
    return torch.stack([_pad(t, th, tw, pad_value, pad_mode) for t in tensors])


def _pad_to_divisor(x: Tensor, divisor: int, value: float = 0, mode: str = 'constant') -> Tensor:
    h, w = x.shape[-2:]
    return _pad(x, _round_up(h, divisor), _round_up(w, divisor), value, mode)


def _as_list(value: Any) -> list | None:
    if value is None:
        return None
    return list(value) if isinstance(value, (list, tuple)) else [value]


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Stack, pad, flip channels and normalise image batches (MMEngine semantics).

    Inputs: ``dict(inputs=list[Tensor CHW] | Tensor NCHW, data_samples=...)``; output ``inputs``
    is a float ``(N, C, H, W)`` tensor ``(x - mean) / std``, padded at bottom/right.

    Example: dict(type='ImgDataPreprocessor', mean=[127.5], std=[127.5], bgr_to_rgb=False)
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 pad_size_divisor: int = 1, pad_value: float = 0, bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False, non_blocking: bool = False):
        super().__init__(non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('ImgDataPreprocessor: bgr_to_rgb and rgb_to_bgr cannot both be True')
        mean, std = _as_list(mean), _as_list(std)
        if (mean is None) != (std is None):
            raise ValueError(f'ImgDataPreprocessor: set both mean and std or neither '
                             f'(got mean={mean}, std={std})')
        self._enable_normalize = mean is not None
        if mean is not None:
            if len(mean) not in (1, 3) or len(std) not in (1, 3):
                raise ValueError(f'ImgDataPreprocessor: mean/std need 1 or 3 values, got '
                                 f'mean={mean}, std={std}')
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                                 persistent=False)
        self._channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def _normalize(self, x: Tensor) -> Tensor:
        x = x.float()
        if self._enable_normalize:
            if self.mean.shape[0] == 3 and x.shape[-3] != 3:
                raise ValueError(f'ImgDataPreprocessor: mean/std have 3 channels but the image '
                                 f'has shape {tuple(x.shape)}')
            x = (x - self.mean) / self.std
        return x

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, Tensor):
            if inputs.dim() != 4:
                raise ValueError(f'ImgDataPreprocessor: a tensor input must be (N, C, H, W), got '
                                 f'{tuple(inputs.shape)}')
            batch = [inputs]
        elif isinstance(inputs, Sequence) and inputs and all(isinstance(t, Tensor) for t in inputs):
            batch = list(inputs)
        else:
            raise TypeError(f"ImgDataPreprocessor: data['inputs'] must be a Tensor or a list of "
                            f'Tensors, got {type(inputs).__name__}')
        if self._channel_conversion:
            # (..., C, H, W): swap B and R, only for 3-channel images
            batch = [t.flip(-3) if t.shape[-3] == 3 else t for t in batch]
        if len(batch) == 1 and isinstance(inputs, Tensor) or \
                all(t.shape == batch[0].shape for t in batch):
            # Same size: normalise the stacked batch once (equal to per-image, cheaper).
            x = batch[0] if isinstance(inputs, Tensor) else torch.stack(batch)
            x = _pad_to_divisor(self._normalize(x), self.pad_size_divisor, self.pad_value)
        else:
            x = stack_batch([self._normalize(t) for t in batch], self.pad_size_divisor,
                            self.pad_value)
        data = dict(data)
        data['inputs'] = x
        data.setdefault('data_samples', None)
        return data


def _first(value: Any) -> Any:
    """Metainfo of a stacked DataSample is a per-sample list; all entries must agree."""
    if isinstance(value, list):
        if any(v != value[0] for v in value):
            raise ValueError(f'DataPreprocessor: inconsistent channel order in batch: {value}')
        return value[0] if value else None
    return value


@MODELS.register_module(name=['DataPreprocessor', 'GenDataPreprocessor', 'GANDataPreprocessor',
                              'EditDataPreprocessor'])
class DataPreprocessor(ImgDataPreprocessor):
    """MMagic's preprocessor: images (tensor, list or dict values) are channel-converted,
    normalised ``(x - mean) / std`` and padded; ``noise`` and other non-image keys pass through.

    ``data_samples`` come back stacked into one DataSample. In training, its ``data_keys`` fields
    (default ``gt_img``) are normalised like the inputs; in evaluation they are only converted to
    BGR (metrics compare in [0, 255]). ``destruct(outputs, data_samples)`` maps model outputs back
    to [0, 255] BGR without padding.

    Example: dict(type='DataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                  output_channel_order='RGB')
    """
    _NON_IMAGE_KEYS = ('noise',)
    _NON_CONCATENATE_KEYS = ('num_batches', 'mode', 'sample_kwargs', 'eq_cfg')

    def __init__(self, mean: Any = 127.5, std: Any = 127.5, pad_size_divisor: int = 1,
                 pad_value: float = 0, pad_mode: str = 'constant',
                 non_image_keys: str | list[str] | None = None,
                 non_concentate_keys: str | list[str] | None = None,
                 output_channel_order: str | None = None,
                 data_keys: str | list[str] | None = 'gt_img', input_view: tuple | None = None,
                 output_view: tuple | None = None, stack_data_sample: bool = True,
                 bgr_to_rgb: bool = False, rgb_to_bgr: bool = False, non_blocking: bool = False,
                 only_norm_gt_in_training: bool = True):
        super().__init__(mean, std, pad_size_divisor, pad_value, non_blocking=non_blocking)
        # MMEditing 1.0rc's EditDataPreprocessor argument: ``data_keys`` (gt) are normalised only
        # in training here anyway, so True is the behaviour; False is not supported.
        if not only_norm_gt_in_training:
            raise ValueError('DataPreprocessor: only_norm_gt_in_training=False is not supported; '
                             'ground truth stays in pixel range at evaluation, as metrics expect')
        if output_channel_order not in (None, 'RGB', 'BGR'):
            raise ValueError(f"DataPreprocessor: output_channel_order must be 'RGB', 'BGR' or "
                             f'None, got {output_channel_order!r}')
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError('DataPreprocessor: bgr_to_rgb and rgb_to_bgr cannot both be True')
        # bgr_to_rgb / rgb_to_bgr (MMGeneration 1.x spelling) map onto MMagic's channel orders.
        self._default_order = 'RGB' if rgb_to_bgr else 'BGR'
        if bgr_to_rgb:
            output_channel_order = 'RGB'
        elif rgb_to_bgr:
            output_channel_order = 'BGR'
        self.output_channel_order = output_channel_order
        self.non_image_keys = list(self._NON_IMAGE_KEYS) + (_as_list(non_image_keys) or [])
        self.non_concatenate_keys = list(self._NON_CONCATENATE_KEYS) + \
            (_as_list(non_concentate_keys) or [])
        self.pad_mode = pad_mode
        self.data_keys = _as_list(data_keys) or []
        self.input_view = input_view
        self.output_view = output_view
        self.stack_data_sample = stack_data_sample

    # -- channel order and normalisation --------------------------------------------------
    @staticmethod
    def _channel_dim(x: Tensor) -> int:
        dims = {2: 1, 3: 0, 4: 1, 5: 2}  # (HW, C), (C, H, W), (N, C, H, W), (N, T, C, H, W)
        if x.ndim not in dims:
            raise ValueError(f'DataPreprocessor: expected a (C, H, W), (N, C, H, W) or '
                             f'(N, T, C, H, W) tensor, got shape {tuple(x.shape)}')
        return dims[x.ndim]

    def _channel_order(self, key: str, x: Tensor, samples: DataSample | None) -> str:
        """Order of ``x`` from the samples' metainfo, else 'single' (1 channel) or the default."""
        n_channels = x.shape[self._channel_dim(x)]
        prefix = 'gt' if key == 'gt_img' else key
        color = order = None
        if samples is not None:
            color = _first(samples.get(f'{prefix}_color_type'))
            order = _first(samples.get(f'{prefix}_channel_order'))
        if n_channels == 1 or color == 'grayscale':
            return 'single'
        if order and color != 'unchanged':
            return str(order).upper()
        return self._default_order

    def _convert(self, x: Tensor, order: str, target: str | None) -> tuple[Tensor, str]:
        if target is None or order.upper() == target.upper() or order == 'single':
            return x, order
        dim = self._channel_dim(x)
        index = [2, 1, 0, 3] if x.shape[dim] == 4 else [2, 1, 0]  # keep alpha last
        return x.index_select(dim, torch.tensor(index, device=x.device)), target

    def _view(self, x: Tensor, stat: Tensor, view: tuple | None) -> Tensor:
        if view is not None:
            return stat.view(view)
        shape = [1, -1] if x.ndim == 2 else [1] * (x.ndim - 3) + [-1, 1, 1]
        return stat.view(shape)

    def _norm(self, x: Tensor, do_norm: bool = True) -> Tensor:
        x = x.float()
        if self._enable_normalize and do_norm:
            x = (x - self._view(x, self.mean, self.input_view)) / \
                self._view(x, self.std, self.input_view)
        return x

    # -- inputs --------------------------------------------------------------------------
    def _process_images(self, images: Tensor | list[Tensor], key: str,
                        samples: DataSample | None, meta: dict) -> Tensor:
        """Convert, normalise, pad a (N, ...) tensor or a list of (...) tensors."""
        if isinstance(images, Tensor):
            shapes = [tuple(images.shape[1:])] * images.shape[0]
        else:
            shapes = [tuple(t.shape) for t in images]
        order = self._channel_order(key, images[0], samples)
        th = _round_up(max(s[-2] for s in shapes), self.pad_size_divisor)
        tw = _round_up(max(s[-1] for s in shapes), self.pad_size_divisor)
        if not isinstance(images, Tensor):
            images = torch.stack(images) if len(set(shapes)) == 1 else torch.stack(
                [_pad(t.float(), th, tw, self.pad_value, self.pad_mode) for t in images])
        x, out_order = self._convert(images, order, self.output_channel_order)
        x = _pad(self._norm(x), th, tw, self.pad_value, self.pad_mode)
        # (0, pad_h, pad_w) per sample, MMagic's 'padding_size' layout
        meta['padding_size'] = [torch.tensor([0., th - s[-2], tw - s[-1]]) for s in shapes]
        meta[f'{key}_output_channel_order'] = [out_order] * len(shapes)
        return x

    def _process_dict(self, inputs: dict, samples: DataSample | None, meta: dict) -> dict:
        out = {}
        for k, v in inputs.items():
            if isinstance(v, list) and k in self.non_concatenate_keys:
                if any(item != v[0] for item in v):
                    raise ValueError(f'DataPreprocessor: inputs[{k!r}] must be equal across the '
                                     f'batch (it is a non-concatenate key), got {v}')
                out[k] = v[0]
            elif isinstance(v, list) and v and all(isinstance(t, Tensor) for t in v):
                out[k] = torch.stack(v) if k in self.non_image_keys else \
                    self._process_images(v, k, samples, meta)
            elif isinstance(v, Tensor) and k not in self.non_image_keys:
                out[k] = self._process_images(v, k, samples, meta)
            else:
                out[k] = v
        return out

    # -- data samples ----------------------------------------------------------------------
    def _process_samples(self, samples: DataSample, training: bool) -> None:
        """Normalise (training) or convert to BGR (eval) the ``data_keys`` fields in place."""
        target, do_norm = (self.output_channel_order, True) if training else ('BGR', False)
        n = len(samples)
        for key in self.data_keys:
            if key not in samples:
                logger.debug('DataPreprocessor: data_samples has no field %r', key)
                continue
            value = samples.get(key)
            items = value if isinstance(value, list) else [value]
            order = self._channel_order(key, items[0], samples)
            converted = [self._convert(t, order, target) for t in items]
            items = [self._norm(t, do_norm) for t, _ in converted]
            samples.set_field(items if isinstance(value, list) else items[0], key)
            samples.set_metainfo({
                f'{key}_enable_norm': [self._enable_normalize] * n,
                f'{key}_output_channel_order': [converted[0][1]] * n,
                f'{key}_mean': [getattr(self, 'mean', None)] * n,
                f'{key}_std': [getattr(self, 'std', None)] * n})

    def forward(self, data: dict, training: bool = False) -> dict:
        samples = data.get('data_samples')
        if isinstance(samples, (list, tuple)) and samples and \
                all(isinstance(s, DataSample) for s in samples):
            # stack first, then move one DataSample: copying N per-sample records to the
            # device cost ~1 ms per batch of 16 on CPU (benchmarks/train_overhead.py)
            data = {**data, 'data_samples': DataSample.stack(list(samples))}
        data = dict(self.cast_data(data))
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(samples, (list, tuple)):
            samples = DataSample.stack(list(samples)) if samples else None
        meta: dict[str, list] = {}
        if isinstance(inputs, Tensor):
            inputs = self._process_images(inputs, 'img', samples, meta)
        elif isinstance(inputs, (list, tuple)) and inputs and \
                all(isinstance(t, Tensor) for t in inputs):
            inputs = self._process_images(list(inputs), 'img', samples, meta)
        elif isinstance(inputs, (list, tuple)) and inputs and \
                all(isinstance(d, dict) for d in inputs):
            inputs = self._process_dict({k: [d[k] for d in inputs] for k in inputs[0]},
                                        samples, meta)
        elif isinstance(inputs, dict):
            inputs = self._process_dict(inputs, samples, meta)
        else:
            raise TypeError(f"DataPreprocessor: data['inputs'] must be a Tensor, a list of "
                            f'Tensors, a dict or a list of dicts, got {type(inputs).__name__}')
        if meta:
            if samples is None:
                samples = DataSample()
                samples._batch_size = len(next(iter(meta.values())))
            samples.set_metainfo(meta)
        if samples is not None:
            self._process_samples(samples, training)
            if not self.stack_data_sample:
                samples = samples.split(allow_nonseq_value=True)
        data['inputs'] = inputs
        data['data_samples'] = samples
        return data

    # -- back to pixels -------------------------------------------------------------------
    def destruct(self, outputs: Tensor, data_samples: DataSample | list | None = None,
                 key: str = 'img') -> Tensor:
        """De-normalise, convert to BGR, remove padding and clamp to [0, 255]."""
        if isinstance(data_samples, list):
            data_samples = DataSample.stack(data_samples)
        order = None
        if data_samples is not None:
            order = _first(data_samples.get(f'{key}_output_channel_order'))
        if order is None:
            order = 'single' if outputs.shape[self._channel_dim(outputs)] == 1 \
                else (self.output_channel_order or self._default_order)
        x = outputs
        if self._enable_normalize:
            x = x * self._view(x, self.std, self.output_view) + \
                self._view(x, self.mean, self.output_view)
        x, _ = self._convert(x, order, 'BGR')
        pad = data_samples.get('padding_size') if data_samples is not None else None
        if pad is not None:
            pad = pad[0] if isinstance(pad, list) else pad
            ph, pw = int(pad[-2]), int(pad[-1])
            x = x[..., :x.shape[-2] - ph, :x.shape[-1] - pw]
        return x.clamp(0, 255)

    # MMEditing 1.0rc spelling, used by MMagic's "design your own model" guide (seed 001).
    destructor = destruct
