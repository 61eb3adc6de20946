"""Sync hooks in worker threads, with a bound on the threads their callers gave up on.

A thread cannot be interrupted: when a caller's deadline passes while a plain-def forward (or blacklist, verify,
priority, or a sync streaming forward) runs, the axon answers 408 and its slot is free again, but the thread runs on.
Without a bound, a crowd of requests with short timeouts against a hook that is slow (or blocks for ever) would start
thread after thread. :class:`LateThreads` counts them, and once ``limit`` still run, refuses new sync calls with
:class:`~taonet.kernel.errors.Overloaded` (503, at once, no thread started) until some end. Calls already running
when the bound is reached may still overrun, so the late threads are at most ``limit`` plus the sync calls in flight
(the axon's ``max_concurrency`` slots, and hooks running before a slot: blacklists, at most its receivers).

The threads come from a limiter of the axon's own, not the event loop's shared one: under trio an abandoned thread
keeps its limiter token until it ends, so a hanging hook would otherwise take every worker thread of the process (its
other axons, the neuron's file writes, anything else using ``anyio.to_thread``) once 40 of its calls overran.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar, final

import anyio

from ..errors import Overloaded

__all__ = ["MAX_LATE_THREADS", "WORKING_THREADS", "LateThreads"]

T = TypeVar("T")

MAX_LATE_THREADS: Final = 64
"""Worker threads an axon lets run on after their callers gave up (their deadline passed). A few honest timeouts
at once stay far below it (a forward that overruns now and then); a hook that hangs stops costing threads (a stack
and whatever the hook holds, each) after this many, and the axon answers 503 until they end."""

WORKING_THREADS: Final = 40
"""Threads beside the late ones for calls whose callers still wait (anyio's default for a whole process)."""


@final
class LateThreads:
    """Runs sync calls in anyio worker threads; counts those still running after their awaiter was cancelled."""

    __slots__ = ("_limiter", "_lock", "late", "limit")

    def __init__(self, limit: int = MAX_LATE_THREADS) -> None:
        self.limit = limit
        self.late = 0
        """Threads running now whose caller no longer waits for them."""
        self._lock = threading.Lock()
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, at the first call

    @property
    def capacity(self) -> int:
        """Worker threads these calls may use at once: the late ones and as many again for waiting callers."""
        return self.limit + WORKING_THREADS

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, awaited; Overloaded at once while ``limit`` abandoned calls still run.

        On cancellation the call is abandoned (left to finish, counted until it does); a call abandoned before its
        thread started is not run at all."""
        if self.late >= self.limit:
            raise Overloaded(f"{self.late} earlier calls of this axon's sync hooks still run after their callers' "
                             "deadlines; retry later")
        box: dict[str, bool] = {}
        lock = self._lock

        def work() -> T | None:
            with lock:
                if box.get("gave_up"):
                    return None  # nobody waits any more: do not start it
                box["started"] = True
            try:
                return fn(*args)
            finally:
                with lock:
                    box["finished"] = True
                    if box.get("counted"):
                        self.late -= 1

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.capacity)
        try:
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True,  # type: ignore[return-value]
                                                  limiter=self._limiter)
        except BaseException:
            with lock:
                box["gave_up"] = True
                if box.get("started") and not box.get("finished"):
                    box["counted"] = True
                    self.late += 1
            raise
