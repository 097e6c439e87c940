"""One training run per work dir: ``work_dir/.genforge.lock`` holds the owner's pid and host.

Two runs writing into one folder overwrite each other's ``iter_N.pth`` and ``last_checkpoint``.
The lock is an exclusive ``flock`` on that file, which the kernel drops when its process dies
(even by SIGKILL), so a lock left by a dead run is stale by construction and taken over with a
warning. Where ``flock`` is not supported (some network file systems), a lock of this host whose
pid is gone is stale; a lock of another host must be removed by hand.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time

logger = logging.getLogger('genforge.runner')

LOCK_NAME = '.genforge.lock'


class WorkDirLockedError(RuntimeError):
    """Another live run holds the work dir."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_owner(path: str) -> dict:
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            owner = json.loads(f.read() or '{}')
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


class WorkDirLock:
    """Exclusive lock on a work dir for the lifetime of one training run.

    Example:
        >>> lock = WorkDirLock('work_dirs/dcgan').acquire()   # raises WorkDirLockedError
        >>> ...  # train
        >>> lock.release()
    """

    def __init__(self, work_dir: str):
        self.work_dir = os.path.abspath(work_dir)
        self.path = os.path.join(self.work_dir, LOCK_NAME)
        self._fd: int | None = None

    def acquire(self) -> WorkDirLock:
        os.makedirs(self.work_dir, exist_ok=True)
        for _ in range(10):   # the file may be replaced between open and flock: retry
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not self._lock_fd(fd):
                os.close(fd)
                raise self._locked_error(_read_owner(self.path))
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                self._write_owner(fd)
                return self
            os.close(fd)
        raise WorkDirLockedError(f'could not lock {self.path}: it keeps being replaced')

    def _lock_fd(self, fd: int) -> bool:
        """True when this process now owns the lock (a stale owner is taken over)."""
        previous = _read_owner(self.path)
        try:
            import fcntl
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (OSError, ImportError) as exc:
            if getattr(exc, 'errno', None) in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                return False
            # flock unsupported here: decide from the recorded pid/host
            if previous.get('pid') and not self._stale(previous):
                return False
        if previous.get('pid') and previous.get('pid') != os.getpid():
            logger.warning('work_dir lock %s was left by pid %s on %s, which is no longer '
                           'running; taking it over', self.path, previous.get('pid'),
                           previous.get('host'))
        return True

    @staticmethod
    def _stale(owner: dict) -> bool:
        if owner.get('host') != socket.gethostname():
            return False   # cannot tell for another machine
        return not _pid_alive(int(owner['pid']))

    def _locked_error(self, owner: dict) -> WorkDirLockedError:
        who = f"pid {owner.get('pid', '?')} on host {owner.get('host', '?')}"
        since = f", started {owner['started']}" if owner.get('started') else ''
        return WorkDirLockedError(
            f'work_dir {self.work_dir!r} is in use by another training run ({who}{since}); two '
            f'runs in one folder overwrite each other\'s checkpoints. Wait for it to finish, '
            f'stop it, or choose another --work-dir. If no such run exists, delete {self.path}.')

    def _write_owner(self, fd: int) -> None:
        owner = dict(pid=os.getpid(), host=socket.gethostname(),
                     started=time.strftime('%Y-%m-%d %H:%M:%S'))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.remove(self.path)   # while still holding it: nobody can lock the old inode
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


__all__ = ['WorkDirLock', 'WorkDirLockedError', 'LOCK_NAME']
