"""A read replica: follows a leader's feed, verifies every block, keeps its own log, serves reads, forwards writes."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
import pynng

from taonet.ledger import FileStore, SignedBlock, apply, replay
from taonet.ledger._genesis import state_from_genesis_block
from taonet.ledger.errors import ChainBroken, CodecError, InvalidBlock

from ._nng import NngContext
from ._node import Node, NodeConfig
from ._queries import handlers
from ._rpc import RpcClient, RpcServer, bound_address

__all__ = ["Replica"]


class Replica(Node):
    """A node that does not seal: it follows ``leader`` (an RPC address) and verifies what it is given."""

    def __init__(self, config: NodeConfig, leader: str) -> None:
        super().__init__(config)
        self.leader = leader
        self.log = self.log.bind(actor="replica", leader=leader)
        self.rejected_blocks = 0

    def _open_replica(self, genesis_raw: bytes) -> None:
        store = FileStore(self.config.data_dir / "chain", fsync=self.config.fsync)
        genesis = SignedBlock.from_bytes(genesis_raw)
        if store.height < 0:
            state_from_genesis_block(genesis)  # verifies it before anything is stored
            store.append(genesis, expected_height=0)
            state = replay(store, to=0)
        else:
            if store.get(0).hash != genesis.hash:
                store.close()
                raise InvalidBlock(number=0, reason="this data directory holds another chain than the leader's")
            state = replay(store, verify_signatures=False)
        self.store, self.state, self.genesis_hash = store, state, genesis.hash
        self._remember(state)

    def ingest(self, block: SignedBlock) -> bool:
        """Verify ``block`` against the head (link, authority signature, re-execution) and append it.

        Returns False for a block at or below the head; raises :class:`InvalidBlock` for one that does not follow.
        """
        assert self.state is not None and self.store is not None
        if block.number <= self.state.height:
            return False
        if block.number != self.state.height + 1:
            raise InvalidBlock(number=block.number, reason=f"expected block {self.state.height + 1}")
        if block.header.parent != self.store.head_hash:
            raise ChainBroken(number=block.number, reason="its parent hash is not the head's hash")
        if not block.signature_ok():
            raise InvalidBlock(number=block.number, reason="the authority's signature does not verify")
        state, _ = apply(self.state, block, parent=self.store.head_hash, verify_signatures=False)
        self.store.append(block, expected_height=block.number)
        if self.config.snapshot_every and block.number % self.config.snapshot_every == 0:
            self.store.save_snapshot(state)
        self.state = state
        self._publish(block, state)
        return True

    async def run(self, *, task_status: anyio.abc.TaskStatus[dict[str, str]] = anyio.TASK_STATUS_IGNORED) -> None:
        """Sync from the leader, then follow its feed and serve RPC until cancelled."""
        async with RpcClient(self.leader, timeout=60.0) as leader:
            info = await leader.call("info")
            genesis_raw = await leader.call("block", number=0)
            await anyio.to_thread.run_sync(self._open_replica, genesis_raw)
            assert self.store is not None
            try:
                with pynng.Pub0() as feed, pynng.Sub0(recv_max_size=256 << 20) as sub:
                    feed.listen(self.config.feed)
                    self._feed = feed
                    self.addresses["feed"] = bound_address(feed, self.config.feed)
                    sub.dial(info["feed"], block=False)
                    await self._catch_up(leader)
                    async with anyio.create_task_group() as tg:
                        server = RpcServer(self.config.rpc, self._replica_handlers(leader), name="replica.rpc")
                        self.addresses["rpc"] = await tg.start(server.serve)
                        task_status.started(dict(self.addresses))
                        self.log.info("replica.started", **self.addresses, height=self.state.height)  # type: ignore
                        await self._follow(leader, sub, float(info.get("block_time", 1.0)))
            finally:
                self._feed = None
                self.store.close()

    async def _catch_up(self, leader: RpcClient) -> None:
        assert self.state is not None
        head = (await leader.call("head"))["number"]
        while self.state.height < head:
            raws = await leader.call("blocks", start=self.state.height + 1, stop=head + 1)
            for raw in raws:
                self._ingest_raw(raw)

    def _ingest_raw(self, raw: bytes) -> None:
        try:
            self.ingest(SignedBlock.from_bytes(raw))
        except (InvalidBlock, CodecError) as e:
            self.rejected_blocks += 1
            self.log.error("replica.block_rejected", reason=str(e))

    async def _follow(self, leader: RpcClient, sub: pynng.Sub0, block_time: float) -> None:
        assert self.state is not None
        quiet_ms = int(1000 * max(2.0, 3 * block_time))
        feed = NngContext(sub)
        feed.subscribe()
        try:
            while True:
                try:
                    raw, _ = await feed.recv(quiet_ms)
                except pynng.Timeout:  # a quiet feed: ask the leader whether blocks were missed
                    await self._catch_up(leader)
                    continue
                try:
                    number = SignedBlock.from_bytes(raw).number
                except CodecError:
                    self.rejected_blocks += 1
                    continue
                if number > self.state.height + 1:
                    await self._catch_up(leader)
                self._ingest_raw(raw)
        finally:
            feed.close()

    def _replica_handlers(self, leader: RpcClient) -> dict[str, Any]:
        table = handlers(self)

        def forward(method: str) -> Any:
            async def call(p: dict[str, Any]) -> Any:
                wait = float(p.get("wait", 0.0)) if isinstance(p.get("wait"), int | float) else 0.0
                return await leader.call_raw(method, p, timeout=leader.timeout + wait)

            return call

        for method in ("submit", "submit_batch", "submit_wait", "next_nonce"):
            table[method] = forward(method)
        for method in ("actor_answer", "actor_post", "actor_inbox"):
            table.pop(method, None)
        base_info = table["info"]

        async def info(p: dict[str, Any]) -> dict[str, Any]:
            out = await base_info(p)
            out["role"] = "replica"
            out["leader"] = self.leader
            return out

        table["info"] = info
        return table

