"""How the replay tools start their worker processes: ``fork`` where that is safe, else ``spawn``; and a pool of
them that stops its workers at once when it is left by an exception (Ctrl-C, SIGTERM), and whose workers end with
their parent however it ends (SIGKILL too)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["PARENT_POLL", "worker_context", "worker_pool"]

PARENT_POLL = 0.5
"""Seconds between two looks of a worker at its parent, where the system does not end it with its parent (not
Linux)."""
_PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal the kernel sends this process when the thread that started it ends."""


def worker_context() -> BaseContext:
    """The multiprocessing context for a pool of replay workers started now.

    A forked worker starts with this process's modules already imported (and may use what it has open, such as a
    read-only log): on a 2-core machine a pool of two is ready about half a second sooner than with ``spawn``, which
    starts a new interpreter, runs the main module again and imports the ledger in each worker. Fork is used only on
    Linux (elsewhere the system libraries are not fork-safe) and only while this process runs no other Python thread
    (one could hold a lock, of a stream or of logging, that the child would then wait on forever); else ``spawn``.
    """
    forks = sys.platform.startswith("linux") and threading.active_count() == 1
    return get_context("fork" if forks else "spawn")


@contextlib.contextmanager
def worker_pool(workers: int, *, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                context: BaseContext | None = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of ``workers`` processes (``context``, by default :func:`worker_context`), shut down when the block
    ends.

    Left by an exception (Ctrl-C in the parent, the SIGTERM the `taonet` command takes as one, or a job that failed),
    the workers still running are stopped at once instead of waited for: a worker ignores Ctrl-C (its parent owns
    it), and a job is a whole segment of the log, so waiting would keep a Ctrl-C'd ``replay verify`` running to its
    end. A parent that ends without leaving the block (SIGKILL, the out-of-memory killer, a SIGTERM it does not
    handle) takes its workers with it: each ends with its parent (:func:`_end_with`) rather than finishing its job
    for no one and then waiting for work forever. The pool is entered and its jobs submitted from one thread (it
    starts the workers, and on Linux they end with it).
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context or worker_context(), initializer=_worker_start,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    except BaseException:
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """A worker's first code (its entry point, where it may set process-wide state): SIGTERM ends it, as by default
    (a forked worker inherits the handler of the `taonet` command, which raises there); it ends with ``parent``; then
    the pool's own ``initializer``."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with(parent)
    if initializer is not None:
        initializer(*initargs)


def _end_with(parent: int) -> None:
    """End this process when ``parent``, the process that started it, ends, however it ends.

    On Linux the kernel sends it SIGKILL then (``PR_SET_PDEATHSIG``: when the thread that started it ends, which is
    why the pool is used from one thread); elsewhere, or where that cannot be set, a daemon thread looks every
    :data:`PARENT_POLL` seconds whether it is still ``parent``'s child. A parent gone already, before either took
    hold, ends it here."""
    if not _death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), name="taonet-pool-parent", daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _death_signal() -> bool:
    """Ask the kernel to send this process SIGKILL when its parent ends; whether it took it (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no C library to load, or no prctl in it
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate ``pool``'s worker processes and reap them (their results are not wanted)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14 has it public
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        p.terminate()
    for p in processes:
        p.join(timeout=5)
