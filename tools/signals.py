"""Stopping the `taonet` processes cleanly: SIGINT (Ctrl-C) and SIGTERM cancel the task group that runs them; a
process the launcher started stops the same way when the launcher is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # anyio is imported when a watcher runs: `taonet --help` need not load it
    import anyio
    import anyio.abc

__all__ = ["PARENT_ENV", "signal_stopped_group", "watch_parent"]

PARENT_ENV = "TAONET_PARENT_PID"
"""Set by the launcher for the processes it starts: the launcher's process id (see :func:`watch_parent`)."""
PARENT_POLL = 0.5
"""Seconds between two looks at the parent process."""
PARENT_GRACE = 30.0
"""Seconds a process whose launcher is gone gets to stop after its SIGTERM before it exits regardless."""


@contextlib.asynccontextmanager
async def signal_stopped_group(on_signal: Callable[[], None] | None = None) -> AsyncIterator[anyio.abc.TaskGroup]:
    """A task group the first SIGINT or SIGTERM cancels (after calling ``on_signal``, if any).

    The signals are taken by this process's receiver until the group has ended: a second Ctrl-C (or the copy that
    `timeout` forwards of the first, a few milliseconds later) is dropped instead of raising KeyboardInterrupt in
    the middle of the clean stop, which has its own deadlines."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_cancel_at_first, signals, tg.cancel_scope, on_signal)
            yield tg


async def _cancel_at_first(signals: AsyncIterator[int], scope: anyio.CancelScope,
                           on_signal: Callable[[], None] | None) -> None:
    async for _ in signals:
        if on_signal is not None:
            on_signal()
        scope.cancel()
        return


def watch_parent(environ: Mapping[str, str] | None = None) -> threading.Thread | None:
    """When ``TAONET_PARENT_PID`` names this process's parent, watch it: once this process is no longer its child (the
    launcher was killed with SIGKILL, or by the out-of-memory killer), send this process SIGTERM, its clean stop.

    So a launcher that dies without stopping its children leaves no node or neuron host behind holding ports and
    keys. Called by the ``taonet`` entry point (the one place that changes process-wide state); returns the daemon
    thread watching, or None when there is nothing to watch (the variable unset, not a number, or naming another
    process than the parent: a grandchild that inherited it).
    """
    raw = (os.environ if environ is None else environ).get(PARENT_ENV, "")
    try:
        parent = int(raw)
    except ValueError:
        return None
    if parent <= 1 or os.getppid() != parent:
        return None
    watcher = threading.Thread(target=_watch_parent, args=(parent,), name="taonet-parent", daemon=True)
    watcher.start()
    return watcher


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(PARENT_GRACE)  # the clean stop ends the process well before this (each has its own deadline)
    os._exit(1)
