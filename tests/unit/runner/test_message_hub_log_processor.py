"""MessageHub/HistoryBuffer statistics and state, LogProcessor lines."""
import types

import numpy as np
import pytest
import torch

from genforge.message_hub import HistoryBuffer
from genforge.runner import LogProcessor, MessageHub


def test_history_buffer_matches_numpy():
    rng = np.random.RandomState(0)
    vals = rng.randn(25)
    buf = HistoryBuffer()
    for i, v in enumerate(vals):
        buf.update(torch.tensor(v) if i % 2 else float(v))   # tensors are converted lazily
    assert len(buf) == 25
    assert buf.mean(10) == pytest.approx(vals[-10:].mean())
    assert buf.max(5) == pytest.approx(vals[-5:].max())
    assert buf.min() == pytest.approx(vals.min())
    assert buf.current() == pytest.approx(vals[-1])
    assert buf.statistics('mean') == pytest.approx(vals.mean())
    with pytest.raises(KeyError, match='median'):
        buf.statistics('median')


def test_message_hub_instances_and_weights_only_state(tmp_path):
    hub = MessageHub.get_instance('test-hub-a')
    assert MessageHub.get_current_instance() is hub
    hub.update_scalar('train/loss', torch.tensor(2.0))
    hub.update_scalar('train/loss', 4.0)
    hub.update_info('iter', 7)
    hub.update_info('not_saved', object())
    torch.save(hub.state_dict(), tmp_path / 'hub.pth')
    other = MessageHub.get_instance('test-hub-b')
    other.load_state_dict(torch.load(tmp_path / 'hub.pth', weights_only=True))
    assert other.get_scalar('train/loss').mean() == 3.0 and other.get_info('iter') == 7
    assert other.get_info('not_saved') is None
    with pytest.raises(KeyError, match='train/los'):
        other.get_scalar('train/los')


def _fake_runner(hub, by_epoch):
    loader = list(range(5))
    return types.SimpleNamespace(message_hub=hub, iter=9, epoch=1, max_iters=20,
                                 train_dataloader=loader, val_dataloader=loader)


def test_log_processor_window_and_format():
    hub = MessageHub.get_instance('test-hub-log')
    for i in range(12):
        hub.update_scalar('train/loss_gen', float(i))
        hub.update_scalar('train/lr', 0.1 * (i + 1))
        hub.update_scalar('train/time', 0.5)
        hub.update_scalar('train/data_time', 0.25)
    hub.update_info('eta', 125)
    proc = LogProcessor(window_size=4, by_epoch=False,
                        custom_cfg=[dict(data_src='loss_gen', method_name='max',
                                         window_size='global', log_name='loss_gen_max')])
    tag, line = proc.get_log_after_iter(_fake_runner(hub, False), 9, 'train')
    assert tag['iter'] == 10 and tag['loss_gen'] == pytest.approx(np.mean([8, 9, 10, 11]))
    assert tag['lr'] == pytest.approx(1.2) and tag['loss_gen_max'] == 11.0
    assert line.startswith('Iter(train) [10/20]  lr: 1.2000e+00  eta: 0:02:05  time: 0.5000')
    assert 'loss_gen: 9.5000' in line
    proc = LogProcessor(window_size=4, by_epoch=True)
    tag, line = proc.get_log_after_iter(_fake_runner(hub, True), 2, 'train')
    assert line.startswith('Epoch(train) [2][3/5]') and tag['epoch'] == 2
