"""BaseEditModel: a generator trained with a pixel loss (MMagic's image-restoration model)."""
from __future__ import annotations

from typing import Any

import torch

from genforge.models.base_model import BaseModel
from genforge.registry import MODELS
from genforge.structures import DataSample

__all__ = ['BaseEditModel']


@MODELS.register_module()
class BaseEditModel(BaseModel):
    """Image restoration / editing model: ``generator`` + ``pixel_loss``.

    forward modes: 'tensor' (raw generator output, normalised range), 'loss'
    (``{'loss': pixel_loss(out, gt)}``), 'predict' (list of DataSample, one per image, with
    ``output.pred_img`` and ``pred_img`` de-normalised to [0, 255], plus the ``input``).

    Args:
        generator (dict): generator config.
        pixel_loss (dict): pixel loss config.
        train_cfg (dict, optional), test_cfg (dict, optional): kept for the algorithm.
        init_cfg (dict, optional): weight init config.
        data_preprocessor (dict, optional): e.g. dict(type='DataPreprocessor', mean=[0.] * 3,
            std=[255.] * 3) for [0, 1] network inputs.

    Example: dict(type='BaseEditModel',
                  generator=dict(type='SRCNNNet', channels=(3, 64, 32, 3),
                                 kernel_sizes=(9, 1, 5), upscale_factor=4),
                  pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
                  data_preprocessor=dict(type='DataPreprocessor', mean=[0.] * 3,
                                         std=[255.] * 3))
    """

    def __init__(self, generator: dict, pixel_loss: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | None = None, data_preprocessor: dict | None = None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.generator = MODELS.build(generator, key_path='model.generator')
        self.pixel_loss = MODELS.build(pixel_loss, key_path='model.pixel_loss') \
            if pixel_loss else None

    def forward(self, inputs: torch.Tensor | dict, data_samples: DataSample | None = None,
                mode: str = 'tensor', **kwargs) -> Any:
        """inputs: (N, C, H, W) normalised by the data preprocessor (or dict with 'img')."""
        if isinstance(inputs, dict):
            inputs = inputs['img']
        if mode == 'tensor':
            return self.forward_tensor(inputs, data_samples, **kwargs)
        if mode == 'predict':
            predictions = self.forward_inference(inputs, data_samples, **kwargs)
            return self.convert_to_datasample(predictions, data_samples, inputs)
        if mode == 'loss':
            return self.forward_train(inputs, data_samples, **kwargs)
        raise ValueError(f"{type(self).__name__}.forward: mode={mode!r}; use 'tensor', "
                         f"'predict' or 'loss'")

    def forward_tensor(self, inputs: torch.Tensor, data_samples: DataSample | None = None,
                       **kwargs) -> torch.Tensor:
        return self.generator(inputs, **kwargs)

    def forward_inference(self, inputs: torch.Tensor, data_samples: DataSample | None = None,
                          **kwargs) -> DataSample:
        """Generator output mapped back to [0, 255] (stacked DataSample with ``pred_img``)."""
        feats = self.forward_tensor(inputs, data_samples, **kwargs)
        feats = self.data_preprocessor.destruct(feats, data_samples)
        return DataSample(pred_img=feats.cpu())

    def convert_to_datasample(self, predictions: DataSample, data_samples: DataSample | None,
                              inputs: torch.Tensor | None) -> list[DataSample]:
        """One DataSample per image: the loaded sample + ``input``, ``output``, ``pred_img``."""
        n = predictions.pred_img.shape[0]
        if data_samples is None:
            data_samples = DataSample()
            data_samples._batch_size = n
        if isinstance(data_samples, list):
            data_samples = DataSample.stack(data_samples)
        if inputs is not None:
            # 'img' metainfo tells destruct the channel order/padding of the inputs
            data_samples.set_tensor_data(
                {'input': self.data_preprocessor.destruct(inputs, data_samples, 'img').cpu()})
        samples = data_samples.split(allow_nonseq_value=True)
        for sample, pred in zip(samples, predictions.split()):
            sample.output = pred
            sample.pred_img = pred.pred_img
        return samples

    def forward_train(self, inputs: torch.Tensor, data_samples: DataSample | None = None,
                      **kwargs) -> dict[str, torch.Tensor]:
        if self.pixel_loss is None:
            raise ValueError(f"{type(self).__name__}: set model.pixel_loss (e.g. "
                             f"dict(type='L1Loss')) to train")
        feats = self.forward_tensor(inputs, data_samples, **kwargs)
        return dict(loss=self.pixel_loss(feats, self.extract_gt_data(data_samples)))

    @staticmethod
    def extract_gt_data(data_samples: DataSample | list) -> torch.Tensor:
        """The (N, C, H, W) normalised ground truth of a batch."""
        if isinstance(data_samples, list):
            data_samples = DataSample.stack(data_samples)
        if data_samples is None or 'gt_img' not in data_samples:
            raise KeyError('training needs data_samples with a "gt_img" field: load the GT '
                           "with LoadImageFromFile(key='gt') before PackInputs")
        gt = data_samples.gt_img
        return torch.stack(gt) if isinstance(gt, list) else gt
