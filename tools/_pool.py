"""How the replay tools start their worker processes: ``fork`` where that is safe, else ``spawn``."""

from __future__ import annotations

import sys
import threading
from multiprocessing import get_context
from multiprocessing.context import BaseContext

__all__ = ["worker_context"]


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
