"""Stand-ins the metric tests share."""
from __future__ import annotations

import torch

from genforge.models.data_preprocessors import DataPreprocessor


class PreprocessorOnlyModel(torch.nn.Module):
    """What ``metric.prepare(model, loader)`` reads of a model: its data preprocessor and a
    parameter (for the device); no network, so no sampling."""

    def __init__(self):
        super().__init__()
        self.data_preprocessor = DataPreprocessor()
        self.w = torch.nn.Parameter(torch.zeros(1))
