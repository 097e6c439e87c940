"""PairedImageDataset / UnpairedImageDataset and the translation transforms."""
import numpy as np
import pytest
import torch
from PIL import Image

from genforge.datasets import PairedImageDataset, UnpairedImageDataset
from genforge.registry import TRANSFORMS


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return arr


def _rand_img(rng, h, w):
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_paired_dataset_splits_halves_and_packs_domains(tmp_path):
    rng = np.random.default_rng(0)
    pairs = [_save(tmp_path / 'train' / f'{i}.png', _rand_img(rng, 16, 32)) for i in range(3)]
    _save(tmp_path / 'test' / 'x.png', _rand_img(rng, 16, 32))
    pipeline = [
        dict(type='LoadPairedImageFromFile', key='pair', domain_a='A', domain_b='B'),
        dict(type='KeyMapper', mapping={'img_photo': 'img_A', 'img_mask': 'img_B'},
             remapping={'img_photo': 'img_photo', 'img_mask': 'img_mask'}),
        dict(type='PackInputs', keys=['img_photo', 'img_mask'], data_keys=['img_photo', 'img_mask'])]
    ds = PairedImageDataset(data_root=str(tmp_path), pipeline=pipeline)
    assert len(ds) == 3 and len(PairedImageDataset(str(tmp_path), pipeline, test_mode=True)) == 1
    out = ds[1]
    bgr = torch.from_numpy(pairs[1][..., ::-1].copy()).permute(2, 0, 1)  # loader default: BGR
    assert torch.equal(out['inputs']['img_photo'], bgr[:, :, :16])
    assert torch.equal(out['inputs']['img_mask'], bgr[:, :, 16:])
    assert torch.equal(out['data_samples'].img_mask, bgr[:, :, 16:])


def test_paired_width_not_twice_height_names_file(tmp_path):
    _save(tmp_path / 'train' / 'bad.png', np.zeros((16, 30, 3), np.uint8))
    ds = PairedImageDataset(str(tmp_path), [dict(type='LoadPairedImageFromFile', key='pair')])
    with pytest.raises(ValueError, match=r'bad\.png is 30x16 .*twice its height \(32\)'):
        ds[0]


def test_paired_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='train'):
        PairedImageDataset(str(tmp_path), [])


def test_unpaired_dataset_domains_and_length(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        _save(tmp_path / 'trainA' / f'a{i}.png', _rand_img(rng, 8, 8))
    for i in range(5):
        _save(tmp_path / 'trainB' / f'b{i}.png', _rand_img(rng, 8, 8))
    for d in 'AB':
        _save(tmp_path / f'test{d}' / 'x.png', _rand_img(rng, 8, 8))
    ds = UnpairedImageDataset(str(tmp_path), [], domain_a='photo', domain_b='mask')
    assert len(ds) == 5
    infos = [ds.get_data_info(i) for i in range(5)]
    assert [i['img_photo_path'].split('/')[-1] for i in infos] == ['a0.png', 'a1.png', 'a2.png',
                                                                    'a0.png', 'a1.png']
    np.random.seed(3)
    drawn = [ds.get_data_info(0)['img_mask_path'].split('/')[-1] for _ in range(4)]
    np.random.seed(3)
    assert drawn == [f'b{np.random.randint(0, 5)}.png' for _ in range(4)]
    test = UnpairedImageDataset(str(tmp_path), [], test_mode=True)
    assert len(test) == 1 and test.get_data_info(0)['img_B_path'].endswith('testB/x.png')


def test_unpaired_empty_domain_folder_is_named(tmp_path):
    _save(tmp_path / 'trainA' / 'a.png', np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'trainB').mkdir()
    (tmp_path / 'trainB' / 'notes.txt').write_text('x')
    with pytest.raises(FileNotFoundError, match=r"trainB'.*1 other file"):
        UnpairedImageDataset(str(tmp_path), [])


def test_fixed_crop_same_window_on_all_keys():
    rng = np.random.default_rng(1)
    a = _rand_img(rng, 20, 24)
    np.random.seed(0)
    out = TRANSFORMS.build(dict(type='FixedCrop', keys=['img_A', 'img_B'], crop_size=(8, 10)))(
        dict(img_A=a, img_B=a[..., ::-1].copy()))
    x, y, w, h = out['img_A_crop_bbox']
    assert (w, h) == (10, 8) and out['img_B_crop_bbox'] == [x, y, w, h]
    np.testing.assert_array_equal(out['img_A'], a[y:y + 8, x:x + 10])
    np.testing.assert_array_equal(out['img_B'], a[y:y + 8, x:x + 10, ::-1])
    fixed = TRANSFORMS.build(dict(type='FixedCrop', keys=['img_A'], crop_size=(8, 8),
                                  crop_pos=(20, 15)))(dict(img_A=a))
    np.testing.assert_array_equal(fixed['img_A'], a[15:20, 20:24])  # clipped to the image
    with pytest.raises(ValueError, match="'img_B'.*same size"):
        TRANSFORMS.build(dict(type='FixedCrop', keys=['img_A', 'img_B'], crop_size=(4, 4)))(
            dict(img_A=a, img_B=a[:10]))


@pytest.mark.parametrize('share', [True, False])
def test_transform_broadcaster_shares_random_params(share):
    rng = np.random.default_rng(2)
    a = _rand_img(rng, 40, 40)
    t = TRANSFORMS.build(dict(
        type='TransformBroadcaster', mapping={'img': ['img_A', 'img_B']}, auto_remap=True,
        share_random_params=share,
        transforms=[dict(type='Crop', keys=['img'], crop_size=(8, 8), random_crop=True),
                    dict(type='Flip', keys=['img'], flip_ratio=0.5)]))
    np.random.seed(5)
    same = []
    for _ in range(6):
        out = t(dict(img_A=a, img_B=a.copy(), other=1))
        assert out['other'] == 1 and out['img_A'].shape == (8, 8, 3) and 'img' not in out
        same.append(np.array_equal(out['img_A'], out['img_B']))
    assert all(same) if share else not all(same)


def test_key_mapper_copies_and_errors():
    km = TRANSFORMS.build(dict(type='KeyMapper', mapping={'img_photo': 'img_A'},
                               remapping={'img_photo': 'img_photo'}))
    arr = np.ones((2, 2, 3), np.uint8)
    out = km(dict(img_A=arr))
    assert out['img_photo'] is arr and out['img_A'] is arr
    with pytest.raises(KeyError, match="'img_A' is not in the results"):
        km(dict(img_B=arr))
    # with transforms and auto_remap: the wrapped Resize sees 'img', results go back to 'img_A'
    rs = TRANSFORMS.build(dict(type='KeyMapper', mapping={'img': 'img_A'},
                               transforms=[dict(type='Resize', keys='img', scale=(4, 6))]))
    out = rs(dict(img_A=np.zeros((2, 2, 3), np.uint8)))
    assert out['img_A'].shape == (6, 4, 3) and 'img' not in out


def test_pack_edit_inputs_alias():
    assert TRANSFORMS.get('PackEditInputs') is TRANSFORMS.get('PackInputs')
