"""A read replica: follows a leader's feed, verifies every block, keeps its own log, serves reads, forwards writes.

Verified means: every block links to the head, carries the authority's signature, and re-executes on the replica's
own state with every extrinsic's signature checked, to the same extrinsics root, events root and state digest as its
header says. A block that fails is refused with :class:`InvalidBlock` (its number and the reason) and nothing of it
is stored; the follower backs off before asking for it again, and the stall shows in :meth:`Replica.status`.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio
import anyio.abc
import pynng

from taonet.ledger import FileStore, SignedBlock, State, apply, index_epochs, replay, state_from_genesis_block
from taonet.ledger.errors import ChainBroken, CodecError, InvalidBlock, StorageFailed

from ..client import RpcClient
from ..wire import ConnectionLimit, bound_address, limit_connections
from ._chain_host import ChainHost
from ._config import NodeConfig
from ._datadir import hold_data_dir
from ._follow import BlockFollower
from ._queries import read_handlers
from ._rpc_server import RpcServer, connection_figures

__all__ = ["Replica"]


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
        self._follower: BlockFollower | None = None
        self._rpc_server: RpcServer | None = None
        self._feed_limit: ConnectionLimit | None = None

    def _open_replica(self, genesis_raw: bytes) -> None:
        store = FileStore(self.config.data_dir / "chain", fsync=self.config.fsync)
        try:
            genesis = SignedBlock.from_bytes(genesis_raw)
            if store.height < 0:
                state_from_genesis_block(genesis)  # verifies it before anything is stored
                store.append(genesis, expected_height=0)
                state = replay(store, to=0)
            else:
                if store.get(0).hash != genesis.hash:
                    raise InvalidBlock(number=0, reason="this data directory holds another chain than the leader's")
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

    def status(self) -> dict[str, Any]:
        """Head, stall and refusals: what the ``metrics`` RPC answers."""
        assert self.state is not None
        return {"head": self.state.height, "stalled_at": self.stalled_at, "retries": self.retries,
                "rejected_blocks": self.rejected_blocks, "last_error": self.last_error}

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
        if self.config.snapshot_every and block.number % self.config.snapshot_every == 0:
            self.store.save_snapshot(state)
        if self.config.epoch_index:  # the same records as the leader's (the same blocks, the same states)
            try:
                index_epochs(self.store, head, block)
            except StorageFailed as e:
                self.log.warning("epoch_index.not_written", block=block.number, reason=str(e))
        return state

    def _advance(self, block: SignedBlock, state: State) -> None:
        self.state = state
        self._publish(block, state)

    async def run(self, *, task_status: anyio.abc.TaskStatus[dict[str, str]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Sync from the leader, then follow its feed and serve RPC until cancelled.

        Raises :class:`DataDirLocked` (before contacting the leader) if another process writes the data directory.
        """
        async with hold_data_dir(self.config.data_dir), RpcClient(self.leader, timeout=60.0) as leader:
            info = await leader.call("info")
            genesis_raw = await leader.call("block", number=0)
            await anyio.to_thread.run_sync(self._open_replica, genesis_raw)
            assert self.store is not None and self.state is not None
            try:
                with pynng.Pub0() as feed:
                    self._feed_limit = limit_connections(feed, self.config.max_connections,
                                                         self.config.max_connections_per_address,
                                                         self.config.max_connections_per_network)
                    feed.listen(self.config.feed)
                    self._feed = feed
                    self.addresses["feed"] = bound_address(feed, self.config.feed)
                    quiet = max(2.0, 3 * float(info.get("block_time", 1.0)))
                    follower = BlockFollower(leader, info["feed"], lambda: self.state.height,  # type: ignore
                                             quiet=quiet, on_undecodable=self._undecodable, logger=self.log)
                    self._follower = follower
                    async with follower, anyio.create_task_group() as tg:
                        async with aclosing(follower.catch_up()) as blocks:
                            async for block, _ in blocks:
                                await self._ingest_checked(block)
                        server = RpcServer(self.config.rpc, self._handlers(leader), name="replica.rpc",
                                           max_connections=self.config.max_connections,
                                           max_connections_per_address=self.config.max_connections_per_address,
                                           max_connections_per_network=self.config.max_connections_per_network)
                        self._rpc_server = server
                        self.addresses["rpc"] = await tg.start(server.serve)
                        task_status.started(dict(self.addresses))
                        self.log.info("replica.started", **self.addresses, height=self.state.height)
                        async with aclosing(follower.follow()) as blocks:
                            async for block, _ in blocks:
                                await self._ingest_checked(block)
            finally:
                self._feed = None
                self._close_subscribers()
                self.store.close()

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
            return
        if state is not None:
            self._advance(block, state)

    def _handlers(self, leader: RpcClient) -> dict[str, Any]:
        table: dict[str, Any] = read_handlers(self)

        def forward(method: str) -> Any:
            async def call(p: dict[str, Any]) -> Any:
                wait = float(p.get("wait", 0.0)) if isinstance(p.get("wait"), int | float) else 0.0
                return await leader.call_raw(method, p, timeout=leader.timeout + wait)

            return call

        for method in ("submit", "submit_batch", "submit_wait", "receipt", "next_nonce"):
            table[method] = forward(method)
        base_info = table["info"]

        async def info(p: dict[str, Any]) -> dict[str, Any]:
            out = await base_info(p)
            out["leader"] = self.leader
            return out

        async def metrics(_p: dict[str, Any]) -> dict[str, Any]:
            assert self.state is not None
            return {**self.status(), "rpc": {} if self._rpc_server is None else self._rpc_server.stats(),
                    "feed": connection_figures(self._feed_limit)}

        table["info"] = info
        table["metrics"] = metrics
        return table
