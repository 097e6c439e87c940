"""DigitsDataset: scikit-learn's digits, upscaled, packed in MMagic's convention."""
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

from genforge.datasets import DigitsDataset


def test_digits_match_sklearn_upscaled():
    ds = DigitsDataset(img_size=16, indices=[0, 7])
    ref = load_digits()
    assert len(ds) == 2
    for pos, idx in enumerate([0, 7]):
        item = ds[pos]
        sample = item['data_samples']
        small = (ref.images[idx] * (255. / 16.)).round().astype(np.uint8)
        expected = np.asarray(Image.fromarray(small).resize((16, 16), Image.Resampling.BICUBIC))
        assert tuple(sample.gt_img.shape) == (1, 16, 16)
        assert np.array_equal(sample.gt_img[0].numpy(), expected)
        assert int(sample.gt_label) == int(ref.target[idx])


def test_full_dataset_size_and_classes():
    ds = DigitsDataset(img_size=8)
    assert len(ds) == 1797
    assert ds.metainfo['classes'] == tuple(str(i) for i in range(10))
