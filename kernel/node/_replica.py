"""A read replica: follows a leader's feed, verifies every block, keeps its own log, serves reads, forwards writes.

Verified means: every block links to the head, carries the authority's signature, and re-executes on the replica's
own state with every extrinsic's signature checked, to the same extrinsics root, events root and state digest as its
header says. A block that fails is refused with :class:`InvalidBlock` (its number and the reason) and nothing of it
is stored; the follower backs off before asking for it again, and the stall shows in :meth:`Replica.status`.

A replica that has started serving outlives its leader: when the leader stops answering (it stopped, restarted,
crashed) the replica keeps serving what it holds, refuses forwarded writes at once with :class:`NoNode` (nothing is
forwarded), asks the leader's ``info`` again after a backoff (:data:`LEADER_RETRY_INITIAL` seconds doubling to
:data:`LEADER_RETRY_MAX`, with jitter), and once it answers catches up and follows again. A leader that comes back
with another chain (another genesis, or a block at a height both hold that differs) is not followed:
:meth:`Replica.run` ends with :class:`InvalidBlock` (the CLI's exit 7), as a replica started against it does.
A replica started while its leader does not answer serves the chain its data dir holds at once (reads; writes are
refused with :class:`LeaderAway`) and waits for the leader the same way; one whose data dir holds no chain yet ends
at once with :class:`LeaderAway` (the CLI's exit 4), as does one that loses its leader before it started serving.
"""

from __future__ import annotations

import math
import random
import time
from contextlib import aclosing
from typing import Any

import anyio
import anyio.abc
import pynng

from taonet.ledger import FileStore, SignedBlock, State, apply, index_epochs, replay, state_from_genesis_block
from taonet.ledger.errors import ChainBroken, CodecError, InvalidBlock, StorageFailed

from .._address import dialable
from ..client import RpcClient
from ..errors import BlockNotFound, Busy, ConnectionsRefused, LeaderAway, NoNode, RpcTimeout, Unreachable
from ..wire import ConnectionLimit, bound_address, limit_connections
from ._chain_host import ChainHost
from ._config import STOP_REASON, NodeConfig
from ._datadir import hold_data_dir
from ._follow import BlockFollower
from ._process import process_figures
from ._queries import read_handlers
from ._rpc_server import RpcServer, connection_figures

__all__ = ["LEADER_RETRY_INITIAL", "LEADER_RETRY_MAX", "Replica"]

LEADER_RETRY_INITIAL = 0.5
"""Seconds before a replica first asks again a leader that stopped answering (doubling, with jitter)."""
LEADER_RETRY_MAX = 8.0
"""The longest pause between two such asks."""
LEADER_CALL_TIMEOUT = 5.0
"""Seconds each ask (``info``, and a ``block`` to compare) may take."""
LEADER_HEAD_TIMEOUT = LEADER_CALL_TIMEOUT
"""Seconds the ``head`` asked of a leader whose feed went quiet may take (one block time if longer): a frozen leader
(SIGSTOP) keeps its connections open and never answers, and is noticed when this runs out."""
LEADER_REPORT_EVERY = 60.0
"""While the leader stays away, ``replica.leader_still_unreachable`` is logged this often."""
LEADER_WRITE_WAIT = 1.0
"""Seconds a write sent to a replica whose leader is away waits for the ask of the leader it triggers (at once,
not after the backoff): a leader back meanwhile gets the write; else it is refused with :class:`LeaderAway`."""
LEADER_ASK_GAP = 0.25
"""The shortest time between two asks of an away leader (writes arriving together trigger one ask)."""
LEADER_GONE = (Unreachable, RpcTimeout, Busy)
"""What a call to the leader raises when it does not serve (NoNode is an Unreachable): wait for it, do not exit."""


class _Forked(Exception):
    """Carries the error of a leader whose chain is not the replica's (:class:`ChainBroken`: it forked from it;
    :class:`InvalidBlock`: another genesis) out of the follower's loop (its own InvalidBlock errors are refusals,
    counted, not an end)."""

    def __init__(self, error: InvalidBlock) -> None:
        super().__init__(str(error))
        self.error = error


class Replica(ChainHost):
    """A chain host that does not seal: it follows ``leader`` (an RPC address) and verifies what it is given."""

    role = "replica"

    def __init__(self, config: NodeConfig, leader: str) -> None:
        super().__init__(config)
        self.leader = leader
        self.log = self.log.bind(actor="replica", leader=leader)
        self.rejected_blocks = 0
        """Blocks refused so far (each retry of the same bad block counts)."""
        self.last_error: str | None = None
        """Why the last refused block was refused (kept after the replica resumed)."""
        self.block_time = config.block_time
        """The leader's block time (from its ``info``, read at start and at every reconnection)."""
        self.clock = config.clock
        """The leader's clock (wall or logical), read as its block time."""
        self.leader_down_since: float | None = None
        """time.monotonic() when the leader stopped answering; None while it serves."""
        self.leader_error: str | None = None
        """Why the leader last failed to answer (kept after it is back)."""
        self._follower: BlockFollower | None = None
        self._leader_client: RpcClient | None = None
        self._rpc_server: RpcServer | None = None
        self._feed_limit: ConnectionLimit | None = None
        self._following: anyio.CancelScope | None = None  # around the follower's loop while it runs
        self._watched: InvalidBlock | None = None  # what the head's watch found: the error to end with
        self._behind_noted = False  # replica.leader_behind was logged (again once the head moves)
        self._ask_now: anyio.Event | None = None  # set by a write while the leader is away: ask it at once
        self._asked: anyio.Event | None = None  # set when an ask of the away leader ended (answered or not)

    def _open_replica(self, genesis_raw: bytes | None, away: Exception | None = None) -> None:
        """Open the data dir's chain: the leader's (``genesis_raw``: a new dir starts from it, a held one must be
        of it), or, the leader away at start (``away``), the chain held (:class:`LeaderAway` if none is held)."""
        store = FileStore(self.config.data_dir / "chain", fsync=self.config.fsync)
        try:
            if genesis_raw is None:
                if store.height < 0 and type(away) is not NoNode:  # its own words fit (frozen, timed out, ...)
                    raise away  # type: ignore[misc]
                if store.height < 0:
                    why = getattr(away, "reason", away)
                    raise LeaderAway(method="info", address=self.leader, reason=f"{why}; the replica's data dir "
                                     f"{self.config.data_dir} holds no chain yet, so it has nothing to serve until "
                                     "its leader answers once")
                state = replay(store, verify_signatures=False)
                store.check_head(state)
                self._adopt(store, state, store.get(0).hash)
                return
            genesis = SignedBlock.from_bytes(genesis_raw)
            if store.height < 0:
                state_from_genesis_block(genesis)  # verifies it before anything is stored
                store.append(genesis, expected_height=0)
                state = replay(store, to=0)
            else:
                held = store.get(0).hash
                if held != genesis.hash:
                    raise InvalidBlock(number=0, reason=f"{self.config.data_dir} holds another chain (genesis "
                                                        f"{held.hex()[:16]}) than the leader at {self.leader} "
                                                        f"(genesis {genesis.hash.hex()[:16]}): follow that leader "
                                                        "with another --data-dir, or point --from at a leader of "
                                                        "this directory's chain")
                state = replay(store, verify_signatures=False)
                store.check_head(state)
        except BaseException:
            store.close()
            raise
        self._adopt(store, state, genesis.hash)

    @property
    def stalled_at(self) -> int | None:
        """The block number the replica keeps refusing (None while it follows)."""
        return None if self._follower is None else self._follower.stalled_at

    @property
    def retries(self) -> int:
        """How many times the block at :attr:`stalled_at` was refused."""
        return 0 if self._follower is None else self._follower.retries

    @property
    def leader_down_s(self) -> float | None:
        """Seconds the leader has not answered for (None while it serves)."""
        since = self.leader_down_since
        return None if since is None else round(time.monotonic() - since, 1)

    def status(self) -> dict[str, Any]:
        """Head, stall, refusals and the leader's reachability: what the ``metrics`` RPC answers."""
        assert self.state is not None
        return {"head": self.state.height, "stalled_at": self.stalled_at, "retries": self.retries,
                "rejected_blocks": self.rejected_blocks, "last_error": self.last_error,
                "leader_reachable": self.leader_down_since is None, "leader_down_s": self.leader_down_s,
                "leader_error": self.leader_error}

    def ingest(self, block: SignedBlock) -> bool:
        """Verify ``block`` against the head (link, every signature, re-execution to its roots and state digest)
        and append it.

        Returns False for a block at or below the head; raises :class:`InvalidBlock` for one that does not follow.
        """
        state = self._verify_and_store(block)
        if state is None:
            return False
        self._advance(block, state)
        return True

    def _verify_and_store(self, block: SignedBlock) -> State | None:
        """Check ``block`` on the head state and append it to the log: the state after it (None if already held).

        Safe in a worker thread: it reads the head and writes only the log; the event loop takes the new state.
        """
        assert self.state is not None and self.store is not None
        head = self.state
        if block.number <= head.height:
            return None
        if block.number != head.height + 1:
            raise InvalidBlock(number=block.number, reason=f"expected block {head.height + 1}")
        if block.header.parent != self.store.head_hash:
            raise ChainBroken(number=block.number, reason="its parent hash is not the head's hash")
        if not block.signature_ok():
            raise InvalidBlock(number=block.number, reason="the authority's signature does not verify")
        state, _ = apply(head, block, parent=self.store.head_hash, verify_signatures=True)
        self.store.append(block, expected_height=block.number)
        self._snapshot_if_due(block, state, note="snapshots are a cache: the replica follows on")
        if self.config.epoch_index:  # the same records as the leader's (the same blocks, the same states)
            try:
                index_epochs(self.store, head, block)
            except StorageFailed as e:
                if (n := self._failed_again("epoch_index")) is not None:
                    self.log.warning("epoch_index.not_written", block=block.number, reason=str(e), failures=n)
        return state

    def _advance(self, block: SignedBlock, state: State) -> None:
        self.state = state
        self._behind_noted = False
        self._publish(block, state)

    async def run(self, *, task_status: anyio.abc.TaskStatus[dict[str, str]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Sync from the leader, then follow its feed and serve RPC until cancelled.

        Raises :class:`DataDirLocked` (before contacting the leader) if another process writes the data directory;
        :class:`LeaderAway` if the leader does not answer and the data directory holds no chain (one that holds a
        chain is served, and the leader waited for); the leader's errors if it fails during the first catch-up;
        :class:`ChainBroken` if the data directory or, later, the leader holds another chain of the same genesis
        (the two forked); :class:`InvalidBlock` if the leader came back with another genesis.
        """
        async with hold_data_dir(self.config.data_dir), RpcClient(self.leader, timeout=60.0) as leader:
            info: dict[str, Any] | None = None
            away: Exception | None = None
            try:
                info = await leader.call("info")
                self._take_leader_info(info)
                genesis_raw: bytes | None = await leader.call("block", number=0)
            except ConnectionsRefused:  # a wrong port (a feed, an axon) more likely than a leader away: said at once
                raise
            except LEADER_GONE as e:  # a replica restarted while its leader is away serves the chain it holds
                away, genesis_raw = e, None
            await anyio.to_thread.run_sync(self._open_replica, genesis_raw, away)
            assert self.store is not None and self.state is not None
            self._leader_client = leader
            try:
                if info is not None:
                    forked = await self._forked(leader, info)  # a data dir of another chain of the same genesis
                    if forked is not None:
                        raise forked
                with pynng.Pub0() as feed:
                    self._feed_limit = limit_connections(feed, self.config.max_connections,
                                                         self.config.max_connections_per_address,
                                                         self.config.max_connections_per_network)
                    feed.listen(self.config.feed)
                    self._feed = feed
                    self.addresses["feed"] = bound_address(feed, self.config.feed)
                    other_chain: InvalidBlock | None = None
                    async with anyio.create_task_group() as tg:
                        if info is None:  # the leader away at start: serve what is held, wait for it as below
                            assert away is not None
                            self.leader_down_since = time.monotonic()
                            await self._serve(tg, leader, task_status)
                            lost: Exception = away
                        else:
                            follower = self._new_follower(leader, info)
                            async with follower:
                                other_chain = await self._catch_up(follower)  # a failure here ends the replica
                                if other_chain is None:
                                    await self._serve(tg, leader, task_status)
                                    lost = await self._follow(follower)
                        if other_chain is None:
                            other_chain = (lost if isinstance(lost, InvalidBlock)
                                           else await self._follow_across_outages(leader, lost))
                        tg.cancel_scope.cancel()
                    raise other_chain  # out of the task group: the caller gets the error itself, not a group
            except anyio.get_cancelled_exc_class():
                self.log.info("replica.stopped", head=self.state.height, reason=STOP_REASON,
                              leader_reachable=self.leader_down_since is None)
                raise
            finally:
                self._feed = None
                self._close_subscribers()
                self.store.close()

    async def _serve(self, tg: anyio.abc.TaskGroup, leader: RpcClient,
                     task_status: anyio.abc.TaskStatus[dict[str, str]]) -> None:
        """Serve RPC (reads; writes forwarded to the leader) and watch the leader's head: the replica has started."""
        assert self.state is not None
        server = RpcServer(self.config.rpc, self._handlers(leader), name="replica.rpc",
                           max_connections=self.config.max_connections,
                           max_connections_per_address=self.config.max_connections_per_address,
                           max_connections_per_network=self.config.max_connections_per_network)
        self._rpc_server = server
        self.addresses["rpc"] = await tg.start(server.serve)
        task_status.started(dict(self.addresses))
        self.log.info("replica.started", **self.addresses, height=self.state.height,
                      leader_reachable=self.leader_down_since is None)
        tg.start_soon(self._watch_head, leader)

    def _new_follower(self, leader: RpcClient, info: dict[str, Any]) -> BlockFollower:
        quiet = max(2.0, 3 * self.block_time)
        feed = dialable(str(info["feed"]), self.leader)  # a leader on 0.0.0.0: the host it was reached at
        follower = BlockFollower(leader, feed, lambda: self.state.height,  # type: ignore[union-attr]
                                 quiet=quiet, head_timeout=max(LEADER_HEAD_TIMEOUT, self.block_time),
                                 on_undecodable=self._undecodable, logger=self.log, on_behind=self._leader_behind)
        self._follower = follower
        return follower

    def _take_leader_info(self, info: dict[str, Any]) -> None:
        """Keep the leader's block time and clock (the replica's own config knows neither): its ``info`` says them."""
        block_time = info.get("block_time")
        if type(block_time) in (int, float) and math.isfinite(block_time) and 0 < block_time <= 3600:
            self.block_time = float(block_time)
        if info.get("clock") in ("wall", "logical"):
            self.clock = info["clock"]

    async def _catch_up(self, follower: BlockFollower) -> InvalidBlock | None:
        """Take the blocks the leader holds beyond the head; the error to end with if its chain forked from this one
        (the leader's own errors are raised)."""
        try:
            async with aclosing(follower.catch_up()) as blocks:
                async for block, _ in blocks:
                    await self._ingest_checked(block)
        except _Forked as e:
            return e.error
        return None

    async def _follow(self, follower: BlockFollower) -> Exception:
        """Catch up and follow until the leader stops serving (what its last call raised) or its chain turns out to
        have forked from this one (the :class:`ChainBroken` to end with)."""
        try:
            forked = self._watched or await self._catch_up(follower)
            if forked is not None:
                return forked
            with anyio.CancelScope() as self._following:  # cancelled by the head's watch once it finds a fork
                async with aclosing(follower.follow()) as blocks:
                    async for block, _ in blocks:
                        await self._ingest_checked(block)
        except _Forked as e:
            return e.error
        except LEADER_GONE as e:
            return e
        finally:
            self._following = None
        if self._watched is not None:
            return self._watched
        raise AssertionError("the follower ended")

    async def _watch_head(self, leader: RpcClient) -> None:
        """While the replica follows, a head that stood still for a quiet spell (3 block times, at least 2 s) sends it
        to ask the leader's head: one below it is checked as a catch-up's is (:meth:`_leader_behind`). A leader
        replaced on its address too fast for the outage to be noticed keeps the feed busy with blocks below this
        head, which the follower passes over: without this, the replica would sit at its head until the new chain
        passed it. A fork found ends the follower's loop (:meth:`_follow` returns it)."""
        assert self.state is not None
        last = self.state.height
        while True:
            await anyio.sleep(max(2.0, 3 * self.block_time))
            following, head = self._following, self.state.height
            if following is None or head != last or self.leader_down_since is not None:
                last = head
                continue
            try:
                leader_head = (await leader.call("head", timeout=LEADER_CALL_TIMEOUT))["number"]
                if type(leader_head) is int and leader_head < self.state.height:
                    await self._leader_behind(leader_head)
            except _Forked:  # self._watched holds it
                if self._following is not None:
                    self._following.cancel()
                return
            except (*LEADER_GONE, BlockNotFound):  # the follower notices an outage itself
                continue

    async def _follow_across_outages(self, leader: RpcClient, lost: Exception) -> InvalidBlock:
        """Wait for the leader to serve again, then follow it again (a new feed subscription, a catch-up), until it
        comes back with another chain: that error (the replica stops rather than mix two chains)."""
        while True:
            back = await self._await_leader(leader, lost)
            if isinstance(back, InvalidBlock):
                return back
            async with self._new_follower(leader, back) as follower:
                lost = await self._follow(follower)
            if isinstance(lost, InvalidBlock):
                return lost

    async def _await_leader(self, leader: RpcClient, lost: Exception) -> dict[str, Any] | InvalidBlock:
        """The leader's ``info`` once it answers again (asked after a backoff with jitter, every wait bounded), or
        the :class:`InvalidBlock` saying that it serves another chain."""
        assert self.state is not None
        if self.leader_down_since is None:  # else away since the replica started: that time is kept
            self.leader_down_since = time.monotonic()
        since = time.monotonic()
        self.leader_error = str(lost)
        delay, attempts, report_at = LEADER_RETRY_INITIAL, 0, since + LEADER_REPORT_EVERY
        self.log.warning("replica.leader_unreachable", reason=self.leader_error, head=self.state.height,
                         retry_in=delay, serving="reads; writes are refused until the leader is back")
        self._asked = anyio.Event()
        try:
            return await self._ask_leader_until_back(leader, delay, attempts, report_at)
        finally:
            self._ask_now = None
            self._ask_ended()
            self._asked = None

    def _ask_ended(self) -> None:
        """An ask of the away leader ended (answered or not): wake the writes waiting for it."""
        if self._asked is not None:
            self._asked.set()
            self._asked = anyio.Event()

    async def _ask_leader_now(self) -> None:
        """For a write while the leader is away: ask it at once rather than after the backoff, and wait for that ask
        (at most :data:`LEADER_WRITE_WAIT` seconds)."""
        ask, asked = self._ask_now, self._asked
        if ask is None or asked is None:
            return
        ask.set()
        with anyio.move_on_after(LEADER_WRITE_WAIT):
            await asked.wait()

    async def _ask_leader_until_back(self, leader: RpcClient, delay: float, attempts: int,
                                     report_at: float) -> dict[str, Any] | InvalidBlock:
        """:meth:`_await_leader`'s asks: after each backoff (with jitter), or at once when a write arrives."""
        assert self.state is not None
        asked_at = -math.inf
        while True:
            self._ask_now = anyio.Event()
            with anyio.move_on_after(delay * random.uniform(0.5, 1.0)):  # jitter: replicas of one leader spread out
                await self._ask_now.wait()
            await anyio.sleep(max(0.0, asked_at + LEADER_ASK_GAP - time.monotonic()))
            asked_at = time.monotonic()
            attempts += 1
            try:
                info = await leader.call("info", timeout=LEADER_CALL_TIMEOUT)
                other_chain = await self._other_chain(leader, info)
            except (*LEADER_GONE, BlockNotFound) as e:  # BlockNotFound: it restarted again, with fewer blocks
                self._ask_ended()
                self.leader_error = str(e)
                delay = min(LEADER_RETRY_MAX, 2 * delay)
                if time.monotonic() >= report_at:
                    report_at = time.monotonic() + LEADER_REPORT_EVERY
                    self.log.warning("replica.leader_still_unreachable", down_s=self.leader_down_s,
                                     attempts=attempts, reason=self.leader_error, head=self.state.height)
                continue
            if other_chain is not None:
                self.leader_error = str(other_chain)
                self.log.error("replica.leader_other_chain", reason=str(other_chain), head=self.state.height)
                return other_chain
            self._take_leader_info(info)
            self.log.info("replica.leader_back", down_s=self.leader_down_s, attempts=attempts,
                          leader_head=info.get("head"), head=self.state.height)
            self.leader_down_since = None
            return info

    async def _other_chain(self, leader: RpcClient, info: dict[str, Any]) -> InvalidBlock | None:
        """Whether the leader's chain is not the replica's: another genesis, or another block at the highest height
        both hold (the error to end with), else None."""
        assert self.state is not None and self.store is not None
        genesis = info.get("genesis_hash")
        if genesis != self.genesis_hash:
            return self._other_genesis(genesis)
        return await self._forked(leader, info)

    def _other_genesis(self, genesis: Any) -> InvalidBlock:
        theirs = genesis.hex()[:16] if isinstance(genesis, bytes) else repr(genesis)[:40]
        return InvalidBlock(number=0, reason=f"the leader at {self.leader} came back with another chain (genesis "
                                             f"{theirs}) than this replica holds (genesis "
                                             f"{self.genesis_hash.hex()[:16]}); the replica stops rather than mix "
                                             "them: point --from at a leader of this chain, or follow the new "
                                             "one with another --data-dir")

    async def _forked(self, leader: RpcClient, info: dict[str, Any]) -> InvalidBlock | None:
        """Whether the leader (of this genesis) holds another block at the highest height both hold: the error to end
        with, else None."""
        assert self.state is not None and self.store is not None
        leader_head = info.get("head")
        if type(leader_head) is not int:
            return InvalidBlock(number=0, reason=f"the leader at {self.leader} names no head in its info")
        height = min(leader_head, self.state.height)
        if height > 0:
            raw = await leader.call("block", number=height, timeout=LEADER_CALL_TIMEOUT)
            try:
                same = SignedBlock.from_bytes(raw).hash == self.store.get(height).hash
            except CodecError as e:
                return InvalidBlock(number=height, reason=f"the leader at {self.leader} sent a block that does not "
                                                          f"decode: {e}")
            if not same:
                return self._fork(height)
        if leader_head < self.state.height and not self._behind_noted:
            self._behind_noted = True  # once until the head moves: the watch asks again at every quiet spell
            self.log.warning("replica.leader_behind", leader_head=leader_head, head=self.state.height,
                             note="the leader lost blocks this replica holds; it is followed (reads are served "
                                  "from here) while the block at its head is this replica's; once it differs, the "
                                  "replica stops (ChainBroken)")
        return None

    def _fork(self, height: int) -> ChainBroken:
        return ChainBroken(number=height, reason=f"the leader at {self.leader} holds another block {height} than "
                                                 "this replica: its chain forked from this one (it lost blocks, or "
                                                 "was started anew); the replica stops rather than mix them: follow "
                                                 "that leader with another --data-dir")

    async def _forked_at_head(self) -> InvalidBlock | None:
        """Whether the leader holds another chain (another genesis: it was replaced at its address, the outage too
        short to notice) or another block at this replica's head (the error to end with), else None: asked when the
        block after the head does not link to it (one from the feed alone may be forged)."""
        assert self.state is not None and self.store is not None and self._leader_client is not None
        info = await self._leader_client.call("info", timeout=LEADER_CALL_TIMEOUT)
        if info.get("genesis_hash") != self.genesis_hash:
            return self._other_genesis(info.get("genesis_hash"))
        height = self.state.height
        try:
            raw = await self._leader_client.call("block", number=height, timeout=LEADER_CALL_TIMEOUT)
            theirs = SignedBlock.from_bytes(raw).hash
        except (BlockNotFound, CodecError):
            return None
        return None if theirs == self.store.get(height).hash else self._fork(height)

    async def _leader_behind(self, _leader_head: int) -> None:
        """The leader's head is below this replica's: if it holds another genesis or, at its head, another block than
        this replica's (replaced at its address, too fast for the outage to be noticed; started anew on the same dev
        genesis; restored from an older copy, then sealing anew), end with that (a block past this head would say it
        only much later); if that block is the replica's, log ``replica.leader_behind`` once and go on."""
        assert self._leader_client is not None and self.state is not None
        info = await self._leader_client.call("info", timeout=LEADER_CALL_TIMEOUT)
        try:
            other = await self._other_chain(self._leader_client, info)
        except BlockNotFound:  # it lost that block meanwhile (restarted again): asked again at the next quiet spell
            return
        if other is not None:
            if self._watched is None:  # the follower's catch-up and the head's watch may both find it: logged once
                self._watched = other
                event = "replica.leader_forked" if isinstance(other, ChainBroken) else "replica.leader_other_chain"
                self.log.error(event, reason=str(other), head=self.state.height)
            raise _Forked(self._watched)

    def _undecodable(self, error: CodecError) -> None:
        self._refused(f"the leader sent a block that does not decode: {error}")

    def _refused(self, reason: str, **fields: Any) -> None:
        """Count a refusal; log it only when it differs from the last one (the follower retries with backoff)."""
        self.rejected_blocks += 1
        if reason != self.last_error:
            self.log.error("replica.block_rejected", reason=reason, **fields)
        self.last_error = reason

    async def _ingest_checked(self, block: SignedBlock) -> None:
        try:
            state = await self.on_chain_thread(self._verify_and_store, block)
        except InvalidBlock as e:
            self._refused(str(e), block=block.number, code=e.CODE)
            if isinstance(e, ChainBroken) and block.number == self.state.height + 1:
                forked = await self._forked_at_head()
                if forked is not None:
                    event = "replica.leader_forked" if isinstance(forked, ChainBroken) else "replica.leader_other_chain"
                    self.log.error(event, reason=str(forked), head=self.state.height)
                    raise _Forked(forked) from e
            return
        if state is not None:
            self._advance(block, state)

    def _handlers(self, leader: RpcClient) -> dict[str, Any]:
        table: dict[str, Any] = read_handlers(self)

        def forward(method: str) -> Any:
            async def call(p: dict[str, Any]) -> Any:
                if self.leader_down_since is not None:  # known to be away: ask it now rather than after the backoff
                    await self._ask_leader_now()
                down = self.leader_down_s
                if down is not None:  # still away: say so rather than wait for it
                    raise LeaderAway(method=method, address=self.leader,
                                     reason=f"this replica's leader has not answered for {down:.0f} s (asked again "
                                            "just now), so nothing was forwarded; the replica serves reads and "
                                            "retries the leader")
                wait = float(p.get("wait", 0.0)) if isinstance(p.get("wait"), int | float) else 0.0
                return await leader.call_raw(method, p, timeout=leader.timeout + wait)

            return call

        for method in ("submit", "submit_batch", "submit_wait", "receipt", "next_nonce"):
            table[method] = forward(method)
        base_info, base_head = table["info"], table["head"]

        async def info(p: dict[str, Any]) -> dict[str, Any]:
            out = await base_info(p)
            out["leader"] = self.leader
            out["leader_reachable"] = self.leader_down_since is None
            out["block_time"], out["clock"] = self.block_time, self.clock  # the leader's, not this config's
            return out

        async def head(p: dict[str, Any]) -> dict[str, Any]:
            # a waiter polling the head learns, at no extra call, that blocks stopped because the leader is away
            return {**await base_head(p), "leader_reachable": self.leader_down_since is None,
                    "leader_down_s": self.leader_down_s}

        async def metrics(_p: dict[str, Any]) -> dict[str, Any]:
            assert self.state is not None
            return {**self.status(), "rpc": {} if self._rpc_server is None else self._rpc_server.stats(),
                    "feed": connection_figures(self._feed_limit), **process_figures()}

        table["info"] = info
        table["head"] = head
        table["metrics"] = metrics
        return table
