"""A priority gate: ``slots`` forwards run at once; the rest wait in a bounded queue, highest priority first."""

from __future__ import annotations

import heapq
import itertools
from typing import final

import anyio

from ..errors import Overloaded

__all__ = ["PriorityGate"]

_WAITING, _GRANTED, _GONE = 0, 1, 2


@final
class PriorityGate:
    """Admits up to ``slots`` holders; later arrivals wait (at most ``queue`` of them) and are admitted by priority.

    Equal priorities are admitted first come, first served. When the queue is full, :meth:`acquire` raises
    :class:`~taonet.kernel.errors.Overloaded` at once. A waiter that is cancelled leaves the queue.
    """

    __slots__ = ("_free", "_heap", "_queue", "_seq", "_waiting")

    def __init__(self, slots: int, queue: int) -> None:
        if slots < 1 or queue < 0:
            raise ValueError("a gate needs at least one slot and a queue of size >= 0")
        self._free = slots
        self._queue = queue
        self._heap: list[list] = []
        self._seq = itertools.count()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many holders are queued."""
        return self._waiting

    @property
    def free(self) -> int:
        """How many slots are free."""
        return self._free

    def try_acquire(self) -> bool:
        """Take a free slot without waiting (only when nobody is queued); False if there is none."""
        if self._free > 0 and self._waiting == 0:
            self._free -= 1
            return True
        return False

    async def acquire(self, priority: float = 0.0) -> None:
        """Take a slot, waiting in the queue if none is free; raise Overloaded if the queue is full."""
        if self._free > 0 and self._waiting == 0:
            self._free -= 1
            return
        if self._waiting >= self._queue:
            raise Overloaded(f"the axon is busy and its queue of {self._queue} is full; retry later")
        entry = [-priority, next(self._seq), anyio.Event(), _WAITING]
        heapq.heappush(self._heap, entry)
        self._waiting += 1
        try:
            await entry[2].wait()
        except BaseException:
            if entry[3] == _GRANTED:
                self.release()
            else:
                entry[3] = _GONE
                self._waiting -= 1
            raise

    def release(self) -> None:
        """Give a slot back, handing it to the highest-priority waiter if there is one."""
        heap = self._heap
        while heap:
            entry = heapq.heappop(heap)
            if entry[3] == _WAITING:
                entry[3] = _GRANTED
                self._waiting -= 1
                entry[2].set()
                return
        self._free += 1
