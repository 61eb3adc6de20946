"""A node's data directory: one writer at a time (an flock on the directory itself and on ``LOCK``)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from ..errors import DataDirLocked, DataDirNotADirectory, DataDirUnusable

__all__ = ["DataDirLock", "hold_data_dir", "lock_data_dir", "missing_dirs", "remove_new_data_dir"]

LOCK_NAME = "LOCK"
FIRST_START = frozenset({LOCK_NAME, "chain"})
"""What a node's first start writes in a new data directory before its first block (the lock, the chain's genesis)."""


class DataDirLock:
    """An exclusive lock on a data directory, held until :meth:`release` (or until the process dies)."""

    def __init__(self, path: Path, fd: int, dir_fd: int | None = None) -> None:
        self.path = path
        self._fds = [f for f in (fd, dir_fd) if f is not None]

    def release(self) -> None:
        """Give the directory up (the ``LOCK`` file stays; only the locks go)."""
        fds, self._fds = self._fds, []
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def lock_data_dir(path: Path) -> DataDirLock:
    """Take ``path`` for this process (creating it), or raise :class:`DataDirLocked` naming the holder's pid.

    The lock is ``flock(LOCK_EX | LOCK_NB)`` on the directory itself and on ``path/LOCK``, which holds the holder's
    pid for the message: it is never waited for, and the kernel drops it when the holding process dies, so a crash
    leaves nothing to clean. The directory's own lock fences a second node out even when ``LOCK`` was deleted (an
    operator taking it for a stale lock): two writers would fork the log. A directory that cannot be created or
    opened raises :class:`DataDirUnusable` (a :class:`StorageFailed`).
    """
    if path.exists() and not path.is_dir():
        raise DataDirNotADirectory(path=str(path))
    try:
        path.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as e:
        raise DataDirUnusable(path=str(path), operation="open", reason=(e.strerror or str(e)).lower()) from e
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except BlockingIOError:
        os.close(dir_fd)
        raise DataDirLocked(path=str(path), pid=_holder_of(path)) from None
    except OSError as e:
        os.close(dir_fd)
        what = f"{path / LOCK_NAME}: " if e.filename is not None and LOCK_NAME in str(e.filename) else ""
        raise DataDirUnusable(path=str(path), operation="open", reason=what + (e.strerror or str(e)).lower()) from e
    except BaseException:
        os.close(dir_fd)
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # an older taonet holds LOCK only
        pid = _holder(fd)
        os.close(fd)
        os.close(dir_fd)
        raise DataDirLocked(path=str(path), pid=pid) from None
    except BaseException:
        os.close(fd)
        os.close(dir_fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is only for the message another process shows; the lock itself is held
    return DataDirLock(path, fd, dir_fd)


def _holder_of(path: Path) -> int:
    """The pid the holder of ``path`` wrote in its LOCK (-1 if there is none to read: not yet written, or deleted)."""
    try:
        fd = os.open(path / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return -1
    try:
        return _holder(fd)
    finally:
        os.close(fd)


def _holder(fd: int) -> int:
    """The pid the holder wrote (-1 if it has not written it yet or the file is unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return -1


@contextlib.asynccontextmanager
async def hold_data_dir(path: Path) -> AsyncIterator[DataDirLock]:
    """``async with hold_data_dir(path):`` holds the directory's lock for the block (see :func:`lock_data_dir`)."""
    lock = lock_data_dir(path)
    try:
        yield lock
    finally:
        lock.release()


def missing_dirs(path: Path) -> list[Path]:
    """The folders of ``path`` that do not exist yet, ``path`` first, then its parents: what :func:`lock_data_dir`
    would create. Taken before a node starts, for :func:`remove_new_data_dir`."""
    out = []
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            break
        out.append(p)
    return out


def remove_new_data_dir(created: Sequence[Path]) -> bool:
    """Remove what a node's first start made when it failed before its first block (it could not listen):
    ``created`` is :func:`missing_dirs` taken before that start. The data directory goes only when it holds nothing but
    :data:`FIRST_START`; then each of its new parent folders, while empty. Nothing that existed before is touched.
    Whether the directory was removed."""
    if not created:
        return False
    path = created[0]
    try:
        if path.is_symlink() or not path.is_dir() or any(e.name not in FIRST_START for e in path.iterdir()):
            return False
        shutil.rmtree(path)
    except OSError:
        return False
    for parent in created[1:]:
        try:
            parent.rmdir()  # only an empty folder: one that something else wrote into meanwhile stays
        except OSError:
            break
    return True
