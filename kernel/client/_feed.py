"""Waiting for blocks on a node's block feed: one shared watcher per feed address and event loop.

Every :class:`~taonet.kernel.client.Subtensor` of a process (on one event loop) that waits on the same node shares
one :class:`FeedWatcher`, so a process with 250 clients costs the node one feed subscriber and no request at all
while they wait. The watcher holds one Sub0 socket; it reads only the number of each block (from the block's
header, without decoding its extrinsics or events) and wakes the waiters whose block came.

No background task: the first waiter becomes the reader (it receives feed messages until its own block came or it
is cancelled, then hands over to another waiter). A feed quiet for ``quiet`` seconds (a few block times), or not
reachable, sends the reader to a short ``head`` request instead, so waiting works without the feed, only slower.
A feed whose connection closed (the node went away) sends it there within :data:`LOST_CHECK` seconds, without
waiting for the quiet time: the request then ends the wait as any call to a node that is gone does.

The head follows the node at the address, not the highest number ever heard: a node replaced by another chain at
the same address (a fresh data dir: a lower head) is noticed when a head request answers lower than the head held,
and the watcher takes the new chain's head. A head request is made before trusting a head already at the target when
the feed's connection closed or opened again since the last one (a restarted node), when the feed gave a lower number,
when the client saw another ``instance`` of the node (:meth:`FeedWatcher.note_instance`), or when the head is older
than ``quiet``; so a wait is for the block of the chain the node holds now.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pynng
import sniffio

from taonet.ledger import loads_bounded

from ..wire import NngContext, OpenPipes

__all__ = ["FeedWatcher", "block_number_of"]

_DRAIN_MAX = 1024
"""At most this many queued feed messages are read in one go (nng's receive queue holds fewer)."""

_QUEUED = 16
"""Feed messages nng keeps for this socket while no one reads (the oldest dropped first; nng's default is 128)."""

LOST_CHECK = 0.5
"""While the reader waits on the feed, it checks this often whether the feed's connection (once open) closed."""

_WATCHERS: weakref.WeakKeyDictionary[Any, dict[str, FeedWatcher]] = weakref.WeakKeyDictionary()


def _loop_token() -> Any:
    """The running event loop (asyncio) or run (trio): watchers are never shared across loops."""
    if sniffio.current_async_library() == "trio":
        import trio

        return trio.lowlevel.current_trio_token()
    import asyncio

    return asyncio.get_running_loop()


def block_number_of(raw: bytes) -> int:
    """The number of an encoded block, read from its header alone (ValueError if ``raw`` is not a block)."""
    try:
        msg = loads_bounded(raw, max_size=len(raw) + 1)  # a replica's feed may be anyone's
        number = msg[2]["header"][2]["number"]
    except Exception as e:
        raise ValueError(f"not a block: {e}") from None
    if type(number) is not int:
        raise ValueError("not a block: its number is not an integer")
    return number


class FeedWatcher:
    """The head of one node as its feed tells it; ``await w.wait_for(n, poll)`` returns once the head is >= n."""

    def __init__(self, feed: str, quiet: float) -> None:
        self.feed = feed
        self.quiet = quiet
        self.head = -1
        self.refs = 0
        self.instance: str | None = None
        """The run of the node the head belongs to (its ``info()["instance"]``, as a client last saw it)."""
        self._doubt = False  # the head may be another chain's: ask the node before trusting it
        self._opens = 0  # feed connections that opened (in nng's threads): a new one may be another node's
        self._opens_seen = 0  # ... as counted when the node's head was last asked
        self._closes = self._closes_seen = 0  # the same for feed connections that closed
        self._heard = 0.0  # monotonic time the head was last learned
        self.asked: tuple[float, float | None] | None = None
        """The reader's request for the node's head that has had no reply: when it was sent and when the reader
        stopped waiting for it (its deadline; None while it waits), both anyio.current_time(); None once the node
        was heard from. The other waiters' deadlines read it."""
        self._reading = False
        self._heard_feed = False  # a block came on the feed (so it was connected)
        self._connected = False  # the feed's connection was seen open
        self._changed = anyio.Event()
        self._sub: pynng.Sub0 | None = None
        self._pipes: OpenPipes | None = None  # its open connections
        self._ctx: NngContext | None = None
        self._token: weakref.ref[Any] | None = None

    @classmethod
    def acquire(cls, feed: str, *, quiet: float) -> FeedWatcher:
        """The watcher of ``feed`` on this event loop (made on first use); :meth:`release` it when done."""
        token = _loop_token()
        per_loop = _WATCHERS.setdefault(token, {})
        w = per_loop.get(feed)
        if w is None:
            w = per_loop[feed] = cls(feed, quiet)
            w._token = weakref.ref(token)
        w.refs += 1
        return w

    def on_this_loop(self) -> bool:
        """Whether this watcher belongs to the running event loop (a client may outlive one anyio.run)."""
        token = self._token() if self._token is not None else None
        return token is not None and token is _loop_token()

    def release(self) -> None:
        """Drop one reference; the last one closes the socket."""
        self.refs -= 1
        if self.refs > 0:
            return
        try:
            per_loop = _WATCHERS.get(_loop_token(), {})
        except (RuntimeError, sniffio.AsyncLibraryNotFoundError):
            per_loop = {}
        if per_loop.get(self.feed) is self:
            del per_loop[self.feed]
        if not self._reading:  # a reader still in recv closes it when it is done
            self._close()

    def drop(self) -> None:
        """Drop one reference from outside this watcher's event loop (which has ended); the last closes the socket."""
        self.refs -= 1
        if self.refs <= 0 and not self._reading:
            self._close()

    def _open(self) -> NngContext:
        if self._ctx is None:
            # The chain's own block bound (256 MiB); only the newest number matters here, so few are queued:
            # nng's default of 128 a context could hold 128 of the largest blocks while no one reads.
            self._sub = pynng.Sub0(recv_max_size=256 << 20, recv_buffer_size=_QUEUED)
            self._pipes = OpenPipes(self._sub, on_up=self._opened, on_gone=self._gone)
            self._sub.dial(self.feed, block=False)
            self._ctx = NngContext(self._sub)
            self._ctx.subscribe()
        return self._ctx

    def _opened(self, _pipe: pynng.Pipe) -> None:  # an nng thread
        self._opens += 1

    def _gone(self, _pipe: pynng.Pipe, _opened: bool) -> None:  # an nng thread
        self._closes += 1

    def note_instance(self, instance: object) -> None:
        """A client heard from the node that it is run ``instance``: another run than before (a restart, maybe on
        another chain) makes the next wait ask the node's head before trusting the one held."""
        if type(instance) is not str:
            return
        if self.instance is not None and instance != self.instance:
            self._doubt = True
        self.instance = instance

    def _doubtful(self) -> bool:
        """Whether the head held must be checked with the node before a wait trusts it."""
        return (self._doubt or self._reconnected()
                or (self.head >= 0 and time.monotonic() - self._heard > self.quiet))

    def _reconnected(self) -> bool:
        """Whether the feed's connection closed, or opened again, since the node's head was last asked."""
        return self._closes > self._closes_seen or self._opens > max(1, self._opens_seen)

    def _close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()
        if self._sub is not None:
            self._sub.close()
        self._ctx = self._sub = self._pipes = None
        self._connected = False

    def _feed_lost(self) -> bool:
        """Whether the feed's connection was open and closed (no connection now, and one was seen open or blocks were
        heard from it: a client that came between two blocks of a slow chain has heard none yet)."""
        if self._pipes is None:
            return False
        if self._pipes.count:
            self._connected = True
            return False
        return self._heard_feed or self._connected

    def _learn(self, number: int, *, asked: bool = False) -> None:
        """Take ``number``, the node's head: from the feed, or ``asked`` (a head request's answer, current when it
        came, and sent after the head held was learned: lower only if the node holds another chain now)."""
        self._heard = time.monotonic()
        self.asked = None  # the node was heard from
        if number > self.head or (asked and number < self.head):
            self.head = number
            self._changed.set()
            self._changed = anyio.Event()
        elif number < self.head:  # the feed's blocks may be queued, older than an answer: ask before believing it
            self._doubt = True

    async def wait_for(self, target: int, poll: Callable[[], Awaitable[int]]) -> int:
        """The head once it is at least ``target``; ``poll`` asks the node its head when the feed is quiet.

        Bound it from outside (``anyio.fail_after``): it waits as long as the chain takes.
        """
        while self.head < target or self._doubtful():
            if self._reading:
                changed = self._changed
                with anyio.move_on_after(self.quiet):  # the reader may be stuck in a slow poll: check again
                    await changed.wait()
                continue
            self._reading = True
            try:
                await self._read(poll)
            finally:
                self._reading = False
                if self.asked is not None and self.asked[1] is None:  # cut off with no reply: no longer waited on
                    self.asked = (self.asked[0], anyio.current_time())
                if self.refs <= 0:
                    self._close()
                # hand the reading over: wake the others, one of them takes it
                self._changed.set()
                self._changed = anyio.Event()
        return self.head

    async def _ask(self, poll: Callable[[], Awaitable[int]]) -> int:
        """``poll()``, with :attr:`asked` set while it has no reply; the doubts it answers are cleared first."""
        self._doubt, self._opens_seen, self._closes_seen = False, self._opens, self._closes
        self.asked = (anyio.current_time(), None)
        try:
            head = await poll()
        except BaseException:
            self._doubt = True  # not answered: still to be asked
            raise
        self.asked = None
        return head

    async def _read(self, poll: Callable[[], Awaitable[int]]) -> None:
        """Learn a newer head: from one feed message, or from ``poll`` when the feed is quiet or stale."""
        if self.head < 0 or self._doubtful():
            self._open()
            self._learn(await self._ask(poll), asked=True)
            return
        ctx = self._open()
        ends = time.monotonic() + self.quiet
        while True:
            # a Sub0 receive that times out loses nothing: wait in short spans, to see the feed's connection close
            left = ends - time.monotonic()
            try:
                raw, _ = await ctx.recv(max(1, int(min(left, LOST_CHECK) * 1000)))
                break
            except pynng.Timeout:
                if left <= LOST_CHECK or self._feed_lost() or self._doubt or self._reconnected():
                    self._learn(await self._ask(poll), asked=True)
                    return
        newest = -1
        for _ in range(_DRAIN_MAX):
            with contextlib.suppress(ValueError):  # not a block: ignore it (the quiet timer still guards the wait)
                newest = max(newest, block_number_of(raw))
            # Blocks queue in the socket while nobody reads (all waiters busy elsewhere): take every one already
            # there before answering, or a waiter that was away is told an old head, one queued block at a time.
            try:
                raw, _ = await ctx.recv(0)
            except pynng.Timeout:
                break
        if newest >= 0:
            self._heard_feed = True
            self._learn(newest)
