"""A replica started while its leader is away: with a chain in its data dir it serves it at once and follows the
leader once it is back; with none it ends at once, with advice that fits a replica (not "start a dev node")."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from structlog.testing import capture_logs

from taonet.kernel import Node, NodeConfig
from taonet.kernel.client import RpcClient
from taonet.kernel.errors import LeaderAway
from taonet.ledger import SignedBlock, dev_genesis

from .nodes import replica
from .test_replica_leader_restart import _free_ports, _until

pytestmark = pytest.mark.anyio

GENESIS, AUTHORITY = dev_genesis()


@asynccontextmanager
async def _leader(data_dir: Path, rpc: str, feed: str) -> AsyncIterator[Node]:
    """A dev node on fixed addresses, in this process, stopped at the end."""
    node = Node(NodeConfig(data_dir=data_dir, authority=AUTHORITY, genesis=GENESIS, block_time=0.05, fsync=False,
                           rpc=rpc, feed=feed))
    async with anyio.create_task_group() as tg:
        await tg.start(node.run)
        yield node
        tg.cancel_scope.cancel()


async def test_a_replica_restarted_while_its_leader_is_down_serves_its_chain_and_follows_it_back(
        tmp_path: Path) -> None:
    """A replica holding 10+ blocks, restarted while nothing answers at its leader's address: it starts serving at
    once (reads from its own chain, info says the leader is unreachable, a write refused with LeaderAway), and once
    the leader is back it catches up and follows it."""
    rpc_port, feed_port = _free_ports()
    rpc, feed = f"tcp://127.0.0.1:{rpc_port}", f"tcp://127.0.0.1:{feed_port}"
    first = replica(tmp_path / "replica", rpc)
    with anyio.fail_after(60):
        async with _leader(tmp_path / "leader", rpc, feed), anyio.create_task_group() as tg:
            await tg.start(first.run)
            await _until("blocks", lambda: first.state is not None and first.state.height >= 10, 30)
            tg.cancel_scope.cancel()
    held = first.state.height  # type: ignore[union-attr]
    rep = replica(tmp_path / "replica", rpc)
    with capture_logs() as logs:
        async with anyio.create_task_group() as tg:
            with anyio.fail_after(20):
                addresses = await tg.start(rep.run)
            async with RpcClient(addresses["rpc"], timeout=5.0) as client:
                info = await client.call("info")
                assert info["head"] == held and info["leader_reachable"] is False
                head = await client.call("head")  # what a wait polls: it says why no block comes
                assert head["number"] == held and head["leader_reachable"] is False and head["leader_down_s"] >= 0
                with pytest.raises(LeaderAway, match="leader has not answered"):
                    await client.call("next_nonce", address=info["authority"])
                assert SignedBlock.from_bytes(await client.call("block", number=held)).number == held
                with anyio.fail_after(60):
                    async with _leader(tmp_path / "leader", rpc, feed) as leader:
                        await _until("the leader back", lambda: rep.leader_down_since is None, 30)
                        await _until("following again", lambda: rep.state.height >= held + 5, 20)  # type: ignore
                        assert rep.store is not None and leader.store is not None
                        n = rep.state.height  # type: ignore[union-attr]
                        assert rep.store.get(n).hash == leader.store.get(n).hash
            tg.cancel_scope.cancel()
    started = next(e for e in logs if e["event"] == "replica.started")
    assert started["leader_reachable"] is False and started["height"] == held
    assert [e["event"] for e in logs].count("replica.leader_back") == 1


async def test_a_new_replica_whose_leader_is_away_ends_with_advice_for_a_replica(tmp_path: Path) -> None:
    """An empty data dir and nothing at the leader's address: LeaderAway at once, naming the empty data dir and the
    leader to check, not the dev-node advice of a client's NoNode."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rep = replica(tmp_path / "replica", f"tcp://127.0.0.1:{port}")
    with anyio.fail_after(30), pytest.raises(LeaderAway) as raised:
        await rep.run()
    text = str(raised.value)
    assert "holds no chain yet" in text and f"leader at tcp://127.0.0.1:{port}" in text
    assert "node run --dev" not in text


async def test_a_write_through_a_replica_asks_its_returning_leader_at_once(tmp_path: Path) -> None:
    """The leader away for 5 s (the replica's backoff grown to seconds), then back: the first write sent through the
    replica right after is forwarded (the write makes the replica ask the leader at once), not refused with
    LeaderAway until the backoff runs out; while the leader is still away a write is refused within a few seconds."""
    rpc_port, feed_port = _free_ports()
    rpc, feed = f"tcp://127.0.0.1:{rpc_port}", f"tcp://127.0.0.1:{feed_port}"
    rep = replica(tmp_path / "replica", rpc)
    async with anyio.create_task_group() as tg:
        with anyio.fail_after(30):
            async with _leader(tmp_path / "leader", rpc, feed):
                addresses = await tg.start(rep.run)
                await _until("blocks", lambda: rep.state is not None and rep.state.height >= 5, 20)
        async with RpcClient(addresses["rpc"], timeout=10.0) as client:
            authority = (await client.call("info"))["authority"]
            await _until("the outage noticed", lambda: rep.leader_down_since is not None, 20)
            await anyio.sleep(5.0)
            with anyio.fail_after(20), pytest.raises(LeaderAway, match="has not answered"):
                await client.call("next_nonce", address=authority)
            with anyio.fail_after(60):
                async with _leader(tmp_path / "leader", rpc, feed):
                    assert rep.leader_down_since is not None
                    nonce = await client.call("next_nonce", address=authority)
                    assert isinstance(nonce, int)
        tg.cancel_scope.cancel()
