"""Who asked: the remote end of the RPC request a task serves, and the node's fair gate for work done off the loop.

The RPC server marks each request's task with its :class:`Origin` (the connection it came on and that connection's
remote address). Reads that need a worker thread (a block range, events, a past state, a metagraph) then take turns
through a :class:`ReadGate`: waiting requests are served round robin by remote address, so one address with many
connections and many requests in flight cannot keep another address's read waiting behind all of them; and a request
whose connection has closed, or whose caller has stopped waiting (the request says how long it waits), by the time
its turn comes is not run at all (its reply would reach nobody), so a client that sends expensive reads and hangs up
or times out, again and again, does not queue work for nobody.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from typing import TypeVar

import anyio
import attrs

from ..errors import Busy

__all__ = ["Origin", "ReadGate", "current_origin", "serving"]

T = TypeVar("T")


@attrs.frozen
class Origin:
    """The connection a request came on: its remote address (None for ipc/inproc), whether it is still open, and
    when its caller stops waiting for the reply (``anyio.current_time()``; None when the request did not say)."""

    address: str | None
    is_open: Callable[[], bool] = attrs.field(eq=False, repr=False)
    deadline: float | None = None

    def gone(self) -> str | None:
        """Why a reply would reach nobody now (None while one would be read)."""
        if not self.is_open():
            return "its connection closed before its turn came"
        if self.deadline is not None and anyio.current_time() > self.deadline:
            return "its caller's wait ended before its turn came"
        return None


_ORIGIN: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("taonet_rpc_origin", default=None)


def current_origin() -> Origin | None:
    """The origin of the RPC request this task serves (None outside one)."""
    return _ORIGIN.get()


@contextlib.contextmanager
def serving(origin: Origin) -> Iterator[None]:
    """Mark the code in the block (and the tasks and threads it starts) as serving a request from ``origin``."""
    token = _ORIGIN.set(origin)
    try:
        yield
    finally:
        _ORIGIN.reset(token)


class ReadGate:
    """At most ``slots`` reads at once; waiting reads take turns by remote address, round robin (first come, first
    served within one address); a read whose requester has gone is dropped when its turn comes.

    Bounded by its callers: a waiting read is one request in flight, and the RPC server bounds those.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"a read gate needs at least one slot, got {slots}")
        self._free = slots
        self._waiting: OrderedDict[Hashable, deque[anyio.Event]] = OrderedDict()
        self.dropped = 0
        """Reads not run because their requester's connection had closed when their turn came."""

    @property
    def waiting(self) -> int:
        """Reads waiting for their turn."""
        return sum(len(q) for q in self._waiting.values())

    async def run(self, fn: Callable[[], T], limiter: anyio.CapacityLimiter | None = None) -> T:
        """``fn()`` in a worker thread when this request's turn comes (see :meth:`slot`)."""
        async with self.slot():
            return await anyio.to_thread.run_sync(fn, limiter=limiter)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for the block, in the turn of the current request's address; :class:`Busy` instead if by then
        the request's connection has closed or its caller has stopped waiting."""
        origin = current_origin()
        async with self.turn(None if origin is None else origin.address):
            why = None if origin is None else origin.gone()
            if why is not None:
                self.dropped += 1
                raise Busy(method="?", reason=why, retry_after=0.0)
            yield

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        """Hold one slot for the block, waiting for ``key``'s turn if none is free."""
        if self._free > 0:  # a free slot means nobody waits (a released slot goes straight to a waiter)
            self._free -= 1
        else:
            event = anyio.Event()
            queue = self._waiting.setdefault(key, deque())
            queue.append(event)
            try:
                await event.wait()
            except BaseException:
                if event.is_set():  # handed the slot just as it was cancelled: pass it on
                    self._pass_on()
                else:
                    queue.remove(event)
                    if not queue and self._waiting.get(key) is queue:
                        del self._waiting[key]
                raise
        try:
            yield
        finally:
            self._pass_on()

    def _pass_on(self) -> None:
        """Give a released slot to the first waiter of the next address in turn (which then goes to the back)."""
        if not self._waiting:
            self._free += 1
            return
        key, queue = next(iter(self._waiting.items()))
        event = queue.popleft()
        if queue:
            self._waiting.move_to_end(key)
        else:
            del self._waiting[key]
        event.set()
