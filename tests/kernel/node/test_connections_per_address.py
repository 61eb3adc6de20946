"""Connections are bounded per remote address as well as in all: one host dialing far more than its share at the
node's RPC and feed is held to ``max_connections_per_address`` while a client from another address (127.0.0.2, a
second "host" on the loopback network) still connects and is served; crowds from several addresses still stop at
``max_connections``; and a localnet's worth of processes, all on 127.0.0.1, is not refused under the defaults.

nng dials from a chosen local address with ``tcp://LOCAL;HOST:PORT``."""

from __future__ import annotations

from pathlib import Path

import anyio
import attrs
import pynng
import pytest

from taonet.kernel.client import RpcClient
from taonet.kernel.node import NodeConfig, Replica
from taonet.ledger import Keypair, dumps, loads

from .nodes import running_node

pytestmark = pytest.mark.anyio

LOCALNET_PROCESSES = 73
"""`taonet bench localnet`'s one-process-per-neuron layout: 64 miners, 8 validators and the launcher, each holding
one RPC and one feed connection to the node (measured with `ss`; docs/node.md)."""


def _from(local: str, address: str) -> str:
    """``address`` (tcp://HOST:PORT) dialed from the local address ``local``."""
    return address.replace("tcp://", f"tcp://{local};", 1)


def _dial_crowd(count: int, address: str, local: str, kind: type[pynng.Socket]) -> list[pynng.Socket]:
    crowd: list[pynng.Socket] = []
    for _ in range(count):
        sock = kind()
        crowd.append(sock)
        sock.dial(_from(local, address), block=False)  # a refused dialer redials, as a crowd would
    return crowd


async def test_one_address_is_held_to_its_share_while_a_client_from_another_address_is_served(
        tmp_path: Path) -> None:
    """40 connections from 127.0.0.1 at the RPC and 40 at the feed of a node taking 16 in all and 8 per address (with
    the total bound alone, the crowd took all 16 and a new client from anywhere was shut out): a client dialing from
    127.0.0.2 connects to both and is served (a request answered, a block received from the feed); each socket kept
    at most 8 from 127.0.0.1 (the test's own client is one of them), the rest were closed as they came and counted
    as refusals in ``metrics``; blocks went on."""
    async with running_node(tmp_path, max_connections=16, max_connections_per_address=8) as (node, sub):
        await sub.wait_for_block(2)
        crowd: list[pynng.Socket] = []
        try:
            crowd += _dial_crowd(40, sub.endpoint, "127.0.0.1", pynng.Req0)
            crowd += _dial_crowd(40, node.addresses["feed"], "127.0.0.1", pynng.Sub0)
            head = node.state.height  # type: ignore[union-attr]
            peak_rpc = peak_feed = 0
            with anyio.fail_after(10):
                while True:
                    m = await sub.call("metrics")
                    peak_rpc = max(peak_rpc, m["rpc"]["connections"])
                    peak_feed = max(peak_feed, m["feed"]["connections"])
                    if (m["rpc"]["connections_refused"] >= 40 and m["feed"]["connections_refused"] >= 40
                            and node.state.height >= head + 10):  # type: ignore[union-attr]
                        break
                    await anyio.sleep(0.05)

            other = RpcClient(_from("127.0.0.2", sub.endpoint), timeout=5.0)
            with pynng.Sub0(recv_timeout=5000) as feed:
                feed.subscribe(b"")
                feed.dial(_from("127.0.0.2", node.addresses["feed"]), block=False)
                try:
                    with anyio.fail_after(10):
                        assert (await other.call("head"))["number"] >= head + 10
                        assert await feed.arecv()  # a block published after it connected
                    m = await sub.call("metrics")
                    assert m["rpc"]["connections"] == 9 and m["rpc"]["addresses"] == 2, m["rpc"]
                    assert m["feed"]["connections"] == 9 and m["feed"]["addresses"] == 2, m["feed"]
                finally:
                    other.close()
            assert peak_rpc == 8 and peak_feed == 8, (peak_rpc, peak_feed)
            assert m["rpc"]["connections_refused"] == m["rpc"]["connections_refused_per_address"], m["rpc"]
            assert m["feed"]["connections_refused"] == m["feed"]["connections_refused_per_address"], m["feed"]
        finally:
            for sock in crowd:
                sock.close()


async def test_crowds_from_many_addresses_still_stop_at_max_connections(tmp_path: Path) -> None:
    """6 connections from each of 127.0.0.2 ... 127.0.0.9 at a node taking 4 per address and 16 in all: the RPC
    holds 16 (the test's client from 127.0.0.1 and 15 of the crowd), no address more than 4; the others are refused,
    some for the total bound, some for their address's share."""
    async with running_node(tmp_path, max_connections=16, max_connections_per_address=4) as (node, sub):
        await sub.wait_for_block(2)
        crowd: list[pynng.Socket] = []
        server = node._rpc_server
        assert server is not None
        try:
            crowd += _dial_crowd(6, sub.endpoint, "127.0.0.2", pynng.Req0)
            with anyio.fail_after(10):  # first one address over its share, while the total has room
                while server.stats()["connections_refused_per_address"] == 0:
                    await anyio.sleep(0.02)
            for host in range(3, 10):
                crowd += _dial_crowd(6, sub.endpoint, f"127.0.0.{host}", pynng.Req0)
            peak = 0
            with anyio.fail_after(10):
                while True:
                    stats = server.stats()
                    peak = max(peak, stats["connections"])
                    over_share = stats["connections_refused_per_address"]
                    if stats["connections"] == 16 and over_share > 0 and stats["connections_refused"] > over_share:
                        break
                    await anyio.sleep(0.02)
            held = [server._limit.held_by(f"127.0.0.{host}") for host in range(2, 10)]
            assert peak == 16 and sum(held) == 15 and max(held) <= 4, (peak, held)
            assert (await sub.call("head"))["number"] >= 2  # the client connected before the crowd is served
        finally:
            for sock in crowd:
                sock.close()


async def test_a_localnets_crowd_from_loopback_is_not_refused_under_the_defaults(tmp_path: Path) -> None:
    """Twice a 73-process localnet's connections, all from 127.0.0.1 (2 RPC and 2 feed connections a process) at
    a node with the default bounds: every one is admitted, none refused, and each RPC connection is answered."""
    assert attrs.fields(NodeConfig).max_connections_per_address.default >= 2 * LOCALNET_PROCESSES  # what runs here
    count = 2 * LOCALNET_PROCESSES
    async with running_node(tmp_path) as (node, sub):
        await sub.wait_for_block(1)
        m = await sub.call("metrics")
        base = m["rpc"]["connections"], m["feed"]["connections"]  # the test's own client
        crowd: list[pynng.Socket] = []
        try:
            rpc = _dial_crowd(count, sub.endpoint, "127.0.0.1", pynng.Req0)
            crowd += rpc
            crowd += _dial_crowd(count, node.addresses["feed"], "127.0.0.1", pynng.Sub0)
            with anyio.fail_after(20):
                while True:
                    m = await sub.call("metrics")
                    if m["rpc"]["connections"] == base[0] + count and m["feed"]["connections"] == base[1] + count:
                        break
                    await anyio.sleep(0.05)
                answered = 0
                for sock in rpc:
                    await sock.asend(dumps({"m": "head", "p": {}}))
                    answered += "ok" in loads(await sock.arecv())
            m = await sub.call("metrics")
            assert answered == count
            assert m["rpc"]["connections_refused"] == 0 and m["feed"]["connections_refused"] == 0, m
        finally:
            for sock in crowd:
                sock.close()


async def test_a_replica_holds_one_address_to_its_share_and_shows_the_refusals_in_its_metrics(tmp_path: Path) -> None:
    """A replica following a node, taking 4 connections per address: 12 dialers from 127.0.0.1 at its RPC and 12 at
    its feed are held to 4 each, its ``metrics`` count the refusals, and a client from 127.0.0.2 is answered."""
    async with running_node(tmp_path / "leader") as (_node, sub):
        config = NodeConfig(data_dir=tmp_path / "replica", authority=Keypair.generate(), rpc="tcp://127.0.0.1:0",
                            feed="tcp://127.0.0.1:0", fsync=False, max_connections_per_address=4)
        async with anyio.create_task_group() as tg:
            addresses = await tg.start(Replica(config, sub.endpoint).run)
            crowd: list[pynng.Socket] = []
            probe = RpcClient(_from("127.0.0.2", addresses["rpc"]), timeout=5.0)
            try:
                crowd += _dial_crowd(12, addresses["rpc"], "127.0.0.1", pynng.Req0)
                crowd += _dial_crowd(12, addresses["feed"], "127.0.0.1", pynng.Sub0)
                with anyio.fail_after(10):
                    while True:
                        m = await probe.call("metrics")
                        if m["rpc"]["connections_refused_per_address"] and m["feed"]["connections_refused_per_address"]:
                            break
                        await anyio.sleep(0.05)
                assert m["rpc"]["connections"] == 5 and m["rpc"]["addresses"] == 2, m["rpc"]  # 4 + the probe
                assert m["feed"]["connections"] == 4 and m["feed"]["addresses"] == 1, m["feed"]
            finally:
                probe.close()
                for sock in crowd:
                    sock.close()
                tg.cancel_scope.cancel()
