"""genforge.structures: DataSample, the record passed from dataset to model to metric."""
from .data_sample import DataSample, format_label, format_score  # noqa: F401

__all__ = ['DataSample', 'format_label', 'format_score']
