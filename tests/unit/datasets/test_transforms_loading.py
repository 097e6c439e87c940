"""LoadImageFromFile against direct Pillow decoding."""
import numpy as np
import pytest
from PIL import Image

from genforge.datasets.transforms import LoadImageFromFile
from genforge.registry import TRANSFORMS


@pytest.fixture
def rgb_png(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / 'a.png'
    Image.fromarray(arr).save(path)
    return str(path), arr


def test_channel_orders_and_shapes(rgb_png):
    path, arr = rgb_png
    bgr = LoadImageFromFile(key='gt')(dict(gt_path=path))  # MMagic default: bgr
    np.testing.assert_array_equal(bgr['gt'], arr[..., ::-1])
    assert bgr['ori_gt_shape'] == (5, 7, 3) and bgr['gt_channel_order'] == 'bgr'
    rgb = TRANSFORMS.build(dict(type='LoadImageFromFile', channel_order='rgb', to_float32=True))(
        dict(img_path=path))
    assert rgb['img'].dtype == np.float32
    np.testing.assert_array_equal(rgb['img'], arr.astype(np.float32))
    assert rgb['img_shape'] == (5, 7) and rgb['ori_shape'] == (5, 7)  # MMCV keys for key='img'


def test_grayscale_unchanged_and_y_channel(rgb_png, tmp_path):
    path, arr = rgb_png
    gray = LoadImageFromFile(key='img', color_type='grayscale')(dict(img_path=path))['img']
    expected = np.asarray(Image.fromarray(arr).convert('L'))[..., None]
    np.testing.assert_array_equal(gray, expected)
    rgba = np.dstack([arr, np.full(arr.shape[:2], 9, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / 'rgba.png')
    un = LoadImageFromFile(color_type='unchanged', channel_order='rgb')(
        dict(img_path=str(tmp_path / 'rgba.png')))['img']
    np.testing.assert_array_equal(un, rgba)
    y = LoadImageFromFile(channel_order='rgb', to_y_channel=True)(dict(img_path=path))['img']
    r, g, b = (arr[..., i].astype(np.float64) / 255 for i in range(3))
    y_ref = np.round(65.481 * r + 128.553 * g + 24.966 * b + 16).astype(np.uint8)  # BT.601
    assert y.shape == (5, 7, 1)
    assert np.abs(y[..., 0].astype(int) - y_ref).max() <= 1


def test_frames_and_cache(rgb_png, tmp_path):
    path, arr = rgb_png
    other = tmp_path / 'b.png'
    Image.fromarray(arr[::-1].copy()).save(other)
    out = LoadImageFromFile(key='img', channel_order='rgb', save_original_img=True)(
        dict(img_path=[path, str(other)]))
    assert isinstance(out['img'], list) and len(out['img']) == 2
    np.testing.assert_array_equal(out['img'][1], arr[::-1])
    assert out['ori_img_shape'] == [(5, 7, 3), (5, 7, 3)]
    np.testing.assert_array_equal(out['ori_img'][0], arr)
    cached = LoadImageFromFile(use_cache=True, channel_order='rgb')
    cached(dict(img_path=str(other)))
    other.unlink()  # the second read comes from memory
    np.testing.assert_array_equal(cached(dict(img_path=str(other)))['img'], arr[::-1])


def test_ignore_empty_drops_missing(tmp_path):
    assert LoadImageFromFile(ignore_empty=True)(dict(img_path=str(tmp_path / 'none.png'))) is None
