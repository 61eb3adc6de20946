"""Following a chain from another process: a node's block feed, with catch-up over its RPC when blocks were missed.

One piece for every follower (an out-of-process actor, a replica): the feed (Pub0/Sub0) is fast but may drop
messages, so a gap in the numbers, or a feed quiet for longer than a few block times, sends the follower to the
node's ``blocks`` RPC for what it missed. The follower only orders and fetches; what a block means (fold it, verify
and store it) is the caller's business.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import TracebackType

import pynng

from taonet.ledger import SignedBlock
from taonet.ledger.errors import CodecError

from ..client import RpcClient
from ..wire import NngContext

__all__ = ["BlockFollower"]


class BlockFollower:
    """Blocks after the caller's head, in order: ``async with BlockFollower(...) as f: async for b, tip in ...``.

    ``head()`` is the caller's own head, read before every fetch, so a block the caller refused is fetched again.
    Each block comes with ``at_tip``: True for the last block known when it is yielded (the end of a catch-up, or a
    feed block that followed the head), so a caller that only cares about the newest state can skip the others.
    ``feed`` is the node's feed address (from its ``info``); ``quiet`` seconds without a feed message send the
    follower to ask the node's head.
    """

    def __init__(self, rpc: RpcClient, feed: str, head: Callable[[], int], *, quiet: float, batch: int = 500,
                 on_undecodable: Callable[[CodecError], None] | None = None) -> None:
        self.rpc, self.feed, self.head, self.quiet, self.batch = rpc, feed, head, quiet, batch
        self.on_undecodable = on_undecodable
        self._sub: pynng.Sub0 | None = None
        self._ctx: NngContext | None = None

    async def __aenter__(self) -> BlockFollower:
        self._sub = pynng.Sub0(recv_max_size=256 << 20)
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

    async def catch_up(self, upto: int | None = None) -> AsyncIterator[tuple[SignedBlock, bool]]:
        """The blocks after the caller's head up to ``upto`` (the node's head when None), over RPC."""
        if upto is None:
            upto = (await self.rpc.call("head"))["number"]
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
                    return
                yield block, block.number == upto
            if self.head() < nxt:  # the caller refused the run: try again on the next feed message or quiet spell
                return

    async def follow(self) -> AsyncIterator[tuple[SignedBlock, bool]]:
        """Every new block from the feed, catching up whenever blocks were missed, until cancelled."""
        assert self._ctx is not None, "use BlockFollower as an async context manager"
        quiet_ms = max(1, int(1000 * self.quiet))
        while True:
            try:
                raw, _ = await self._ctx.recv(quiet_ms)
            except pynng.Timeout:  # a quiet feed: did we miss blocks?
                async for item in self.catch_up():
                    yield item
                continue
            try:
                block = SignedBlock.from_bytes(raw)
            except CodecError as e:
                if self.on_undecodable is not None:
                    self.on_undecodable(e)
                continue
            if block.number <= self.head():
                continue
            if block.number > self.head() + 1:
                async for b, _ in self.catch_up(block.number - 1):
                    yield b, False
                if self.head() + 1 != block.number:
                    continue
            yield block, True
