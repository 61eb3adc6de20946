"""A priority gate: ``slots`` forwards run at once; the rest wait in a bounded queue, highest priority first."""

from __future__ import annotations

import heapq
import itertools
from typing import final

import anyio

from ..errors import Overloaded

__all__ = ["PriorityGate"]

_WAITING, _GRANTED, _GONE, _EVICTED = 0, 1, 2, 3


@final
class PriorityGate:
    """Admits up to ``slots`` holders; later arrivals wait (at most ``queue`` of them) and are admitted by priority.

    Equal priorities are admitted first come, first served. When the queue is full, a newcomer of higher priority
    than the lowest waiter takes its place (that waiter, the last come of the lowest priority, gets
    :class:`~taonet.kernel.errors.Overloaded` at once); any other newcomer gets it at once (a tie refuses the
    newcomer). A waiter that is cancelled leaves the queue.
    """

    __slots__ = ("_free", "_gone", "_heap", "_queue", "_seq", "_waiting")

    def __init__(self, slots: int, queue: int) -> None:
        if slots < 1 or queue < 0:
            raise ValueError("a gate needs at least one slot and a queue of size >= 0")
        self._free = slots
        self._queue = queue
        self._heap: list[list] = []
        self._seq = itertools.count()
        self._waiting = 0
        self._gone = 0  # cancelled waiters still in the heap

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
        """Take a slot, waiting in the queue if none is free; raise Overloaded if the queue is full of waiters of this
        priority or higher, or if a higher-priority newcomer evicts this one from the queue."""
        if self._free > 0 and self._waiting == 0:
            self._free -= 1
            return
        if self._waiting >= self._queue:
            self._evict_below(priority)
        entry = [-priority, next(self._seq), anyio.Event(), _WAITING]
        heapq.heappush(self._heap, entry)
        self._waiting += 1
        try:
            await entry[2].wait()
        except BaseException:
            if entry[3] == _GRANTED:
                self.release()
            elif entry[3] == _WAITING:
                entry[3] = _GONE
                self._waiting -= 1
                self._gone += 1
                if self._gone > self._queue + 16:  # a crowd giving up (short timeouts): the heap stays O(queue)
                    self._heap = [e for e in self._heap if e[3] == _WAITING]
                    heapq.heapify(self._heap)
                    self._gone = 0
            raise
        if entry[3] == _EVICTED:
            raise Overloaded(f"the axon is busy: a request of higher priority took this one's place in its queue of "
                             f"{self._queue}; retry later")

    def _evict_below(self, priority: float) -> None:
        """Make room in the full queue by evicting its lowest-priority waiter (the last come among equals) if it is
        below ``priority``; else raise Overloaded (an empty queue, or a tie, refuses the newcomer)."""
        live = [e for e in self._heap if e[3] == _WAITING]
        victim = max(live, key=lambda e: (e[0], e[1]), default=None)  # lowest priority, then last come
        if victim is None or not -victim[0] < priority:
            raise Overloaded(f"the axon is busy and its queue of {self._queue} is full; retry later")
        victim[3] = _EVICTED
        self._waiting -= 1
        victim[2].set()
        live.remove(victim)
        heapq.heapify(live)  # the evicted and the cancelled leave the heap now (it stays within the queue's size)
        self._heap = live
        self._gone = 0

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
            if entry[3] == _GONE:
                self._gone -= 1
        self._free += 1
