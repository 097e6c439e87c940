"""DataSample fields, labels, stack/split, devices."""
import numpy as np
import pytest
import torch

from genforge.structures import DataSample


def _sample(i):
    s = DataSample(gt_img=torch.full((3, 4, 4), float(i)), metainfo=dict(img_path=f'{i}.png'))
    s.set_gt_label(i)
    return s


def test_fields_and_metainfo():
    s = _sample(1)
    assert s.keys() == ['gt_img', 'gt_label'] and s.metainfo == {'img_path': '1.png'}
    assert 'img_path' in s and 'gt_img' in s and s.get('fake_img', 7) == 7
    with pytest.raises(AttributeError, match='img_path'):
        s.img_path = 'x'  # metainfo must change through set_metainfo
    s.set_metainfo(dict(img_path='y.png'))
    assert s.img_path == 'y.png'
    assert s.pop('gt_img').shape == (3, 4, 4) and 'gt_img' not in s.keys()
    with pytest.raises(KeyError, match='fake_img'):
        s.pop('fake_img')


@pytest.mark.parametrize('value', [3, [3], np.array([3]), torch.tensor(3), np.int64(3)])
def test_set_gt_label_formats(value):
    s = DataSample().set_gt_label(value)
    assert s.gt_label.dtype == torch.long and s.gt_label.tolist() == [3]


def test_scores_and_num_classes_check():
    s = DataSample(metainfo=dict(num_classes=3)).set_gt_score([0.1, 0.2, 0.7])
    assert s.gt_score.dtype == torch.float32
    with pytest.raises(ValueError, match='num_classes=3'):
        s.set_gt_label(5)
    s.set_pred_score(torch.tensor([0.2, 0.8])).set_pred_label(1)
    assert s.pred_label.tolist() == [1] and s.pred_score.argmax().item() == 1


def test_stack_split_roundtrip():
    samples = [_sample(i) for i in range(3)]
    batch = DataSample.stack(samples)
    assert len(batch) == 3 and batch.gt_img.shape == (3, 3, 4, 4)
    assert batch.gt_label.tolist() == [0, 1, 2]  # concatenated to (N,)
    assert batch.metainfo == {'img_path': ['0.png', '1.png', '2.png']}
    for orig, back in zip(samples, batch.split()):
        assert torch.equal(orig.gt_img, back.gt_img)
        assert torch.equal(orig.gt_label, back.gt_label) and back.img_path == orig.img_path
    assert torch.equal(batch[-1].gt_img, samples[2].gt_img)
    assert batch[0:2].gt_label.tolist() == [0, 1]
    with pytest.raises(IndexError, match='batch of 3'):
        batch[3]
    with pytest.raises(ValueError, match='same fields'):
        DataSample.stack([_sample(0), DataSample(gt_img=torch.zeros(3, 4, 4))])


def test_len_of_unstacked_batch_tensor_and_nonseq_split():
    s = DataSample(fake_img=torch.zeros(5, 3, 2, 2), sample_model='ema')
    assert len(s) == 5
    with pytest.raises(TypeError, match='sample_model'):
        s.split()
    parts = s.split(allow_nonseq_value=True)
    assert len(parts) == 5 and parts[0].sample_model == 'ema' and parts[0].fake_img.shape == (3, 2, 2)


def test_to_numpy_clone_do_not_touch_original():
    s = _sample(2)
    c = s.clone()
    c.gt_img.add_(1)
    assert s.gt_img[0, 0, 0] == 2 and c.gt_img[0, 0, 0] == 3
    n = s.numpy()
    assert isinstance(n.gt_img, np.ndarray) and n.metainfo == s.metainfo
    assert s.to('cpu').gt_img.device.type == 'cpu'
    assert s.to(torch.float64).gt_img.dtype == torch.float64


def test_set_predefined_data_maps_keys():
    s = DataSample()
    s.set_predefined_data(dict(gt=np.zeros((4, 5, 3), np.uint8), img_path='a.png', other=1))
    assert s.gt_img.shape == (3, 4, 5) and s.img_path == 'a.png' and 'other' not in s
