"""A node's data directory: one writer at a time (an flock on ``LOCK``), and the checks on reopening its chain."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from taonet.ledger import FileStore, State
from taonet.ledger.errors import CorruptLog, StorageFailed

from ..errors import DataDirLocked

__all__ = ["DataDirLock", "check_head", "hold_data_dir", "lock_data_dir"]

LOCK_NAME = "LOCK"


class DataDirLock:
    """An exclusive lock on a data directory, held until :meth:`release` (or until the process dies)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the directory up (the ``LOCK`` file stays; only the lock on it goes)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        """True until released."""
        return self._fd is not None


def lock_data_dir(path: Path) -> DataDirLock:
    """Take ``path`` for this process (creating it), or raise :class:`DataDirLocked` naming the holder's pid.

    The lock is ``flock(LOCK_EX | LOCK_NB)`` on ``path/LOCK``, which holds the holder's pid for the message: it is
    never waited for, and the kernel drops it when the holding process dies, so a crash leaves nothing to clean.
    A directory that cannot be created or opened raises :class:`StorageFailed`.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StorageFailed(path=str(path / LOCK_NAME), operation="open", reason=e.strerror or str(e)) from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _holder(fd)
        os.close(fd)
        raise DataDirLocked(path=str(path), pid=pid) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the pid is only for the message another process shows; the lock itself is held
    return DataDirLock(path, fd)


def _holder(fd: int) -> int:
    """The pid the holder wrote (-1 if it has not written it yet or the file is unreadable)."""
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return -1


def check_head(store: FileStore, state: State) -> None:
    """Raise :class:`CorruptLog` unless the log's last block is signed by its author, the chain's authority, and
    its header's state digest is the digest of ``state`` (the fold of the log)."""
    if store.height < 0:
        return
    last = store.get(store.height)
    path, offset = store.location(store.height)
    advice = "; restore the data directory from a copy, or start a new one"
    if state.height != last.number:
        raise CorruptLog(path=path, offset=offset,
                         reason=f"the log folds to block {state.height}, but its last block is {last.number}{advice}")
    if last.header.author != state.params.authority or not last.signature_ok():
        raise CorruptLog(path=path, offset=offset,
                         reason=f"block {last.number}'s authority signature does not verify{advice}")
    if state.digest() != last.header.state_digest:
        raise CorruptLog(path=path, offset=offset,
                         reason=f"the state folded to block {last.number} differs from its header's digest{advice}")


@contextlib.asynccontextmanager
async def hold_data_dir(path: Path) -> AsyncIterator[DataDirLock]:
    """``async with hold_data_dir(path):`` holds the directory's lock for the block (see :func:`lock_data_dir`)."""
    lock = lock_data_dir(path)
    try:
        yield lock
    finally:
        lock.release()
