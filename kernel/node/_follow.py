"""Following a chain from another process: a node's block feed, with catch-up over its RPC when blocks were missed.

One piece for every follower (an out-of-process actor, a replica): the feed (Pub0/Sub0) is fast but may drop
messages, so a gap in the numbers, or a feed quiet for longer than a few block times, sends the follower to the
node's ``blocks`` RPC for what it missed. The follower only orders and fetches; what a block means (fold it, verify
and store it) is the caller's business.

A block the caller refuses (its head did not move past it) or one that does not decode stalls the follower at that
number: it backs off before asking again (``retry_initial`` seconds, doubling up to ``retry_max``), logs the stall
once and its end once, and shows it in :attr:`BlockFollower.stalled_at` and :attr:`BlockFollower.retries`. An
upstream that keeps serving a bad block therefore costs a handful of requests a minute, not thousands a second.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from types import TracebackType
from typing import Any

import anyio
import pynng

from taonet.ledger import SignedBlock
from taonet.ledger.errors import CodecError

from ..client import RpcClient
from ..wire import NngContext, OpenPipes, get_logger

__all__ = ["BlockFollower"]

log = get_logger(__name__)


class BlockFollower:
    """Blocks after the caller's head, in order: ``async with BlockFollower(...) as f: async for b, tip in ...``.

    ``head()`` is the caller's own head, read before every fetch, so a block the caller refused is fetched again.
    Each block comes with ``at_tip``: True for the last block known when it is yielded (the end of a catch-up, or a
    feed block that followed the head), so a caller that only cares about the newest state can skip the others.
    ``feed`` is the node's feed address (from its ``info``); ``quiet`` seconds without a feed message send the
    follower to ask the node's head; ``head_timeout`` bounds that ask (None: the client's timeout), so a node that
    stopped answering (a frozen process keeps its connections open) is noticed in seconds. ``logger`` (a structlog
    logger with the caller's context) logs stalls.
    """

    def __init__(self, rpc: RpcClient, feed: str, head: Callable[[], int], *, quiet: float, batch: int = 500,
                 on_undecodable: Callable[[CodecError], None] | None = None, retry_initial: float = 0.1,
                 retry_max: float = 10.0, head_timeout: float | None = None, logger: Any = None,
                 on_behind: Callable[[int], Awaitable[None]] | None = None,
                 on_quiet: Callable[[], Awaitable[None]] | None = None) -> None:
        self.rpc, self.feed, self.head, self.quiet, self.batch = rpc, feed, head, quiet, batch
        self.head_timeout = head_timeout
        self.on_behind = on_behind
        """Awaited with the node's head when it is below the caller's (it lost blocks, or was replaced by another
        chain): the caller may raise to stop following."""
        self.on_quiet = on_quiet
        """Awaited at each quiet spell, before asking the node's head: the caller may check the node is the one it
        followed (a node restarted within the client's redial grace shows no outage) and raise to stop following."""
        self.on_undecodable = on_undecodable
        self.retry_initial, self.retry_max = retry_initial, retry_max
        self.stalled_at: int | None = None
        """The block number the caller keeps refusing (None while blocks are accepted)."""
        self.retries = 0
        """How many times the block at :attr:`stalled_at` was refused (0 when not stalled)."""
        self.log = (log if logger is None else logger).bind(feed=feed)
        self._delay = retry_initial
        self._sub: pynng.Sub0 | None = None
        self._ctx: NngContext | None = None
        self._pipes: OpenPipes | None = None
        self.feed_ever_connected = False
        """Whether the feed has had a connection (False: blocks came only by asking the node's head)."""
        self._feed_warned = False  # the warning that the feed never connected is logged once

    def _connected(self, _pipe: pynng.Pipe) -> None:  # an nng thread
        self.feed_ever_connected = True

    async def __aenter__(self) -> BlockFollower:
        self._sub = pynng.Sub0(recv_max_size=256 << 20)
        # pynng's table keeps only open connections across the node's restarts (OpenPipes)
        self._pipes = OpenPipes(self._sub, on_up=self._connected)
        self._sub.dial(self.feed, block=False)  # before the first catch-up, so nothing published meanwhile is lost
        self._ctx = NngContext(self._sub)
        self._ctx.subscribe()
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._ctx is not None:
            self._ctx.close()
        if self._sub is not None:
            self._sub.close()
        self._ctx = self._sub = None

    def _warn_unconnected(self) -> None:
        """Say once that the feed has no connection (a wrong or unreachable address): blocks then come late, each
        only when a quiet spell sends the follower to ask the node's head."""
        if self._feed_warned or self.feed_ever_connected:
            return
        self._feed_warned = True
        self.log.warning("follow.feed_not_connected", polling_every_s=self.quiet,
                         note=f"nothing connected to the feed at {self.feed}: following by asking the node's head "
                              f"every {self.quiet:g} s instead (blocks arrive late); check that this address reaches "
                              "the node's feed from here (taonet node status shows it)")

    async def catch_up(self, upto: int | None = None) -> AsyncIterator[tuple[SignedBlock, bool]]:
        """The blocks after the caller's head up to ``upto`` (the node's head when None), over RPC."""
        if upto is None:
            upto = (await self.rpc.call("head", timeout=self.head_timeout))["number"]
            if upto < self.head() and self.on_behind is not None:
                await self.on_behind(upto)
        while (nxt := self.head() + 1) <= upto:
            raws = await self.rpc.call("blocks", start=nxt, stop=min(upto + 1, nxt + self.batch))
            if not raws:
                return
            for raw in raws:
                try:
                    block = SignedBlock.from_bytes(raw)
                except CodecError as e:
                    if self.on_undecodable is None:
                        raise
                    self.on_undecodable(e)
                    await self._refused(self.head() + 1)
                    return
                yield block, block.number == upto
                if self.head() < block.number:  # refused: back off, then try again (next feed message or quiet)
                    await self._refused(block.number)
                    return
                self._accepted()

    async def _refused(self, number: int) -> None:
        """The caller refused block ``number`` (or it did not decode): note the stall and back off."""
        if self.stalled_at != number:
            if self.stalled_at is not None:
                self.log.info("follow.resumed", block=self.stalled_at, retries=self.retries)
            self.stalled_at, self.retries, self._delay = number, 0, self.retry_initial
            self.log.warning("follow.stalled", block=number, retry_in=self._delay)
        self.retries += 1
        delay, self._delay = self._delay, min(self.retry_max, 2 * self._delay)
        await anyio.sleep(delay)

    def _accepted(self) -> None:
        """The caller took a block: a stall, if any, is over."""
        if self.stalled_at is not None and self.head() >= self.stalled_at:
            self.log.info("follow.resumed", block=self.stalled_at, retries=self.retries)
            self.stalled_at, self.retries, self._delay = None, 0, self.retry_initial

    async def follow(self) -> AsyncIterator[tuple[SignedBlock, bool]]:
        """Every new block from the feed, catching up whenever blocks were missed, until cancelled."""
        assert self._ctx is not None, "use BlockFollower as an async context manager"
        quiet_ms = max(1, int(1000 * self.quiet))
        while True:
            try:
                raw, _ = await self._ctx.recv(quiet_ms)
            except pynng.Timeout:  # a quiet feed: did we miss blocks?
                self._warn_unconnected()
                if self.on_quiet is not None:
                    await self.on_quiet()
                async with aclosing(self.catch_up()) as items:  # closed when the caller stops mid catch-up
                    async for item in items:
                        yield item
                continue
            try:
                block = SignedBlock.from_bytes(raw)
            except CodecError as e:
                if self.on_undecodable is not None:
                    self.on_undecodable(e)
                await self._refused(self.head() + 1)
                continue
            if block.number <= self.head():
                continue
            if block.number > self.head() + 1:
                async with aclosing(self.catch_up(block.number - 1)) as items:
                    async for b, _ in items:
                        yield b, False
                if self.head() + 1 != block.number:
                    continue
            yield block, True
            if self.head() < block.number:
                await self._refused(block.number)
            else:
                self._accepted()
