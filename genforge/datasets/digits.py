"""scikit-learn's bundled handwritten digits as an image dataset (for the demo; no download)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from genforge.registry import DATASETS

from .base_dataset import BaseDataset


def load_digit_images(img_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 8x8 digits upscaled to ``img_size`` -> (N, img_size, img_size) uint8, labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError('DigitsDataset needs scikit-learn, which ships the digits: '
                          'pip install scikit-learn (or pip install genforge[demo])') from exc
    digits = load_digits()
    # pixel values are 0..16; stretch to 0..255 before resizing so rounding loses nothing
    small = (digits.images * (255. / 16.)).round().astype(np.uint8)
    big = np.stack([np.asarray(Image.fromarray(img).resize((img_size, img_size),
                                                           Image.Resampling.BICUBIC))
                    for img in small])
    return big, digits.target.astype(np.int64)


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """The 1,797 handwritten digits bundled with scikit-learn, upscaled to ``img_size``.

    Each item has ``gt`` (H, W, 1) uint8 and ``gt_label``; the default pipeline packs them in
    MMagic 1.2's convention (``data_samples.gt_img``).

    Example: dict(type='DigitsDataset', img_size=32, pipeline=[dict(type='PackInputs')])
    """

    METAINFO = dict(classes=tuple(str(i) for i in range(10)))

    def __init__(self, img_size: int = 32, pipeline=(dict(type='PackInputs'),), **kwargs):
        self.img_size = img_size
        super().__init__(pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> list[dict]:
        images, labels = load_digit_images(self.img_size)
        return [dict(gt=img[:, :, None], gt_label=int(label), gt_path=f'digits/{i:04d}.png',
                     sample_idx=i) for i, (img, label) in enumerate(zip(images, labels))]


__all__ = ['DigitsDataset', 'load_digit_images']
