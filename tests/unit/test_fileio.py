"""genforge.fileio atomic writes: permissions follow the umask, file and folder are fsynced."""
import os
import stat

import pytest
import torch

from genforge.checkpoint import save_checkpoint
from genforge.fileio import atomic_open, atomic_write_text


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask):
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize('mask,expected', [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_file_mode_follows_the_umask_like_open(tmp_path, umask, mask, expected):
    umask(mask)
    with open(tmp_path / 'plain.txt', 'w') as f:  # what open() gives: the reference
        f.write('x')
    atomic_write_text(tmp_path / 'a.txt', 'hello')
    save_checkpoint(dict(w=torch.ones(2)), str(tmp_path / 'c.pth'))
    for name in ('a.txt', 'c.pth'):
        mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
        assert mode == expected == stat.S_IMODE(os.stat(tmp_path / 'plain.txt').st_mode), name
    # a replaced file takes the new mode too (not the 0600 of mkstemp)
    umask(0o022)
    atomic_write_text(tmp_path / 'a.txt', 'again')
    assert stat.S_IMODE(os.stat(tmp_path / 'a.txt').st_mode) == 0o644


def test_temp_file_then_folder_are_fsynced_around_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        target = os.readlink(f'/proc/self/fd/{fd}')
        kind = 'dir' if os.path.isdir(target) else 'file'
        events.append(('fsync', kind, os.path.basename(target)))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(('replace', os.path.basename(src), os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, 'fsync', fsync)
    monkeypatch.setattr(os, 'replace', replace)
    target = tmp_path / 'sub' / 'ckpt.pth'
    save_checkpoint(dict(w=torch.zeros(3)), str(target))
    assert [e[0] for e in events] == ['fsync', 'replace', 'fsync']
    tmp_name = events[1][1]
    assert events[0] == ('fsync', 'file', tmp_name) and tmp_name.endswith('.tmp')
    assert events[1][2] == 'ckpt.pth'
    assert events[2] == ('fsync', 'dir', 'sub')  # the rename itself made durable
    assert torch.equal(torch.load(target)['w'], torch.zeros(3))


def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / 'keep.txt'
    atomic_write_text(path, 'old')
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_open(path, 'w') as f:
            f.write('half')
            raise RuntimeError('boom')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['keep.txt']
