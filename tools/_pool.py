"""How the replay tools start their worker processes: ``fork`` where that is safe, else ``spawn``; and a pool of
them that stops its workers at once when it is left by an exception (Ctrl-C)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["worker_context", "worker_pool"]


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

    Left by an exception (Ctrl-C in the parent, or a job that failed), the workers still running are stopped at once
    instead of waited for: a worker ignores Ctrl-C (its parent owns it), and a job is a whole segment of the log, so
    waiting would keep a Ctrl-C'd ``replay verify`` running to its end.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context or worker_context(), initializer=initializer,
                               initargs=initargs)
    try:
        yield pool
    except BaseException:
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
