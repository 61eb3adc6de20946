"""What a sequencer and a replica share: a chain on disk, its head state, recent states, the feed and waiting.

A :class:`ChainHost` holds the open store and the state after its head, remembers every ``history_every``-th state
of the last ``history_blocks`` blocks (so reads at a recent block cost little), publishes each new block on its
Pub0 feed and to in-process subscribers, and serves the state at any block. The sequencer (:class:`Node`) adds
sealing; the :class:`Replica` adds following a leader. Neither is a kind of the other.

A state at a past block may need a fold of up to ``snapshot_every`` blocks: RPC reads get it through
:meth:`ChainHost.past_state`, which folds in worker threads (at most ``read_threads`` at a time), shares one fold
among concurrent readers of the same block, and keeps the last few such states, so that no read stalls the event
loop that seals blocks.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.abc
import pynng

from taonet.ledger import FileStore, SignedBlock, State, fold
from taonet.ledger.errors import StorageFailed

from ..errors import BlockNotFound, RpcBadRequest
from ..wire import get_logger
from ._config import NodeConfig
from ._reads import ReadGate

__all__ = ["ChainHost"]

T = TypeVar("T")


class ChainHost:
    """A chain's store and head state, with its feed, subscribers and recent history."""

    role = "host"

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.log = get_logger(__name__, actor=self.role)
        self.store: FileStore | None = None
        self.state: State | None = None
        self.genesis_hash = b""
        self.addresses: dict[str, str] = {}
        self.instance = os.urandom(8).hex()
        """This run of the host (new at each start; ``info`` and a node's ``submit`` and ``receipt`` say it): a client
        that sees it change knows the node restarted, and that what waited in its mempool was dropped."""
        self.started_at = time.time()
        self._failures: dict[str, int] = {}  # writes of a cache refused so far, by kind (snapshot, epoch index)
        self._new_block = anyio.Event()
        self._history: OrderedDict[int, State] = OrderedDict()
        self._subscribers: list[anyio.abc.ObjectSendStream[tuple[SignedBlock, State]]] = []
        self._feed: pynng.Pub0 | None = None
        self._read_limiter = anyio.CapacityLimiter(config.read_threads)
        self.reads = ReadGate(config.read_threads)
        """Turns for the reads done in worker threads: round robin by the requester's address (see ``_reads``)."""
        self._chain_limiter = anyio.CapacityLimiter(1)
        """The worker thread that seals (or verifies) and stores blocks: its own, so that no crowd of readers (nor
        anything else holding anyio's shared default threads) makes a seal wait for a thread."""
        self._past: OrderedDict[int, State] = OrderedDict()  # the last few states folded for readers
        self._folding: dict[int, anyio.Event] = {}

    def _adopt(self, store: FileStore, state: State, genesis_hash: bytes) -> None:
        """Take an opened and checked chain as this host's (store, head state, genesis); log refused snapshots."""
        for path, reason in store.refused_snapshots.items():
            self.log.warning(f"{self.role}.snapshot_refused", path=path, reason=reason)
        if store.recovered_bytes:
            segment = store.location(store.height)[0] if store.height >= 0 else str(store.path / "blocks")
            self.log.warning(f"{self.role}.torn_tail_cut", bytes=store.recovered_bytes, segment=segment,
                             after_block=store.height,
                             note="the end of the last segment held an unfinished block, which is what a crash "
                                  "while writing a block leaves; it was never acknowledged, so nothing reported "
                                  "is lost, and the log goes on from the last complete block")
        self.store, self.state, self.genesis_hash = store, state, genesis_hash
        self._remember(state)

    def _failed_again(self, kind: str) -> int | None:
        """Count one more refused write of a cache (``kind``); its count when it is to be said: the 1st, then the
        10th, 100th... (a full disk refuses every one)."""
        n = self._failures[kind] = self._failures.get(kind, 0) + 1
        return n if str(n).rstrip("0") == "1" else None

    def _snapshot_if_due(self, block: SignedBlock, state: State, note: str) -> None:
        """Save the snapshot of ``state`` if ``block`` is due one; a refused write is a warning (the 1st, 10th,
        100th... time; ``note`` says what goes on), never the end of sealing or following: snapshots are a cache."""
        assert self.store is not None
        if not self.config.snapshot_every or block.number % self.config.snapshot_every:
            return
        try:
            self.store.save_snapshot(state)
        except StorageFailed as e:
            if (n := self._failed_again("snapshot")) is not None:
                self.log.warning("snapshot.not_written", block=block.number, path=e.path, reason=e.reason,
                                 failures=n, note=note)

    def _remember(self, state: State) -> None:
        h = self.config.history_every
        if h and state.height % h == 0:
            self._history[state.height] = state
            while self._history and next(iter(self._history)) < state.height - self.config.history_blocks:
                self._history.popitem(last=False)

    def _publish(self, block: SignedBlock, state: State) -> None:
        self._remember(state)
        if self._feed is not None:
            self._feed.send(block.to_bytes())
        for s in list(self._subscribers):
            try:
                s.send_nowait((block, state))
            except anyio.WouldBlock:
                self.log.warning("node.subscriber_lagging")
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._subscribers.remove(s)
                s.close()
        self._new_block.set()
        self._new_block = anyio.Event()

    def _close_subscribers(self) -> None:
        for s in self._subscribers:
            s.close()

    async def wait_past(self, after: int, wait: float) -> int:
        """The head once it is past block ``after``, or after ``wait`` seconds (at most ``rpc_wait_max``)."""
        assert self.state is not None
        with anyio.move_on_after(min(wait, self.config.rpc_wait_max)):
            while self.state.height <= after:
                await self._new_block.wait()
        return self.state.height

    def subscribe(self, buffer: int = 1024) -> anyio.abc.ObjectReceiveStream[tuple[SignedBlock, State]]:
        """A stream of (block, state after it) for in-process followers (the local actors)."""
        send, recv = anyio.create_memory_object_stream[tuple[SignedBlock, State]](buffer)
        self._subscribers.append(send)
        return recv

    async def past_state(self, number: int | None) -> State:
        """The state after block ``number`` (the head when None), folded off the event loop when it must be."""
        assert self.state is not None
        while True:
            if self._is_head(number):
                return self.state
            assert number is not None
            base = self._history_base(number)
            if base is not None and base.height == number:
                return base
            cached = self._past.get(number)
            if cached is not None:
                self._past.move_to_end(number)
                return cached
            folding = self._folding.get(number)
            if folding is not None:  # another reader folds this block: share its result
                await folding.wait()
                continue
            done = self._folding[number] = anyio.Event()
            try:
                async with self.reads.slot():
                    # shielded: a fold that outlives its requester's budget still lands in the cache for the retry
                    with anyio.CancelScope(shield=True):
                        state = await anyio.to_thread.run_sync(self._fold_to, number, base,
                                                               limiter=self._read_limiter)
                self._past[number] = state
                while len(self._past) > 8:
                    self._past.popitem(last=False)
                return state
            finally:
                del self._folding[number]
                done.set()

    async def off_loop(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a reader's worker thread (bounded like the folds, in the requester's turn), off the event loop
        that seals."""
        return await self.reads.run(fn, limiter=self._read_limiter)

    async def on_chain_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the chain's own worker thread (sealing, storing): never queued behind readers."""
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._chain_limiter)

    def _history_base(self, number: int) -> State | None:
        """The newest remembered state at or below ``number`` (on the event loop: the history changes there)."""
        for h in reversed(self._history):
            if h <= number:
                return self._history[h]
        return None

    def state_at(self, number: int | None) -> State:
        """The state after block ``number`` (the head when None): from memory, a snapshot, or a replay."""
        assert self.state is not None and self.store is not None
        if self._is_head(number):
            return self.state
        assert number is not None
        return self._fold_to(number, self._history_base(number))

    def _is_head(self, number: int | None) -> bool:
        """Whether ``number`` asks for the head; a block beyond it or below 0 is refused with a typed error."""
        assert self.state is not None
        if number is None or number == self.state.height:
            return True
        if number > self.state.height:
            raise BlockNotFound(number=number, head=self.state.height)
        if number < 0:
            raise RpcBadRequest(method="state_at", reason=f"block {number} is not in 0..{self.state.height}")
        return False

    def _fold_to(self, number: int, base: State | None) -> State:
        """Fold the store from ``base`` (or a closer snapshot) up to block ``number`` (safe in a worker thread)."""
        assert self.store is not None
        if base is None or number - base.height > self.config.history_every:
            snap = self.store.latest_snapshot(number)
            if snap is not None and (base is None or snap.height > base.height):
                base = snap
        if base is not None and base.height == number:
            return base
        state = base
        for _, state in fold(self.store, start=base, stop=number, verify_signatures=False):  # noqa: B007
            pass
        assert state is not None
        return state
