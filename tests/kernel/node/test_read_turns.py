"""Crowds against the node's reads (a QA pass): 4 connections that sent whole-chain `events` reads, hung up after
0.5 s and sent them again kept every read of everyone else timing out (each abandoned read still ran, in turn), and
120 connections sending 32 MiB requests took the node to 2.5 GB. Now reads done in worker threads take turns by remote
address, a read whose requester has hung up is dropped when its turn comes, and the bytes of requests held at once
are bounded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pynng
import pytest

from taonet.kernel.client import RpcClient
from taonet.kernel.errors import Busy
from taonet.kernel.node import ReadGate, RpcServer
from taonet.ledger import dumps

from .nodes import running_node

pytestmark = pytest.mark.anyio


async def _serving(tg: anyio.abc.TaskGroup, handlers: dict[str, Any], ipc: str, **options: Any) -> RpcServer:
    server = RpcServer("tcp://127.0.0.1:0", handlers, also=(ipc,), **options)
    server.address = await tg.start(server.serve)
    return server


async def _until(condition: Any, seconds: float = 10.0) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_read_from_another_address_waits_for_one_read_not_for_a_crowds(tmp_path: Path) -> None:
    """Six reads from one address (six connections) hold or wait for the one slot; a read from another address
    (here ipc) sent after them runs after at most one more of theirs (the crowd's turn came first), not seventh."""
    gate = ReadGate(1)
    order: list[str] = []

    async def slow(p: dict[str, Any]) -> str:
        return await gate.run(lambda: (order.append(p["tag"]), time.sleep(0.1))[0] or p["tag"])

    ipc = f"ipc://{tmp_path}/rpc.ipc"
    async with anyio.create_task_group() as tg:
        server = await _serving(tg, {"slow": slow}, ipc)
        clients = [RpcClient(server.address, timeout=20.0) for _ in range(6)] + [RpcClient(ipc, timeout=20.0)]
        try:
            async with anyio.create_task_group() as calls:
                for k, c in enumerate(clients[:6]):
                    calls.start_soon(c.call_raw, "slow", {"tag": f"crowd{k}"})
                await _until(lambda: server.stats()["in_flight"] == 6 and gate.waiting == 5)
                calls.start_soon(clients[6].call_raw, "slow", {"tag": "other"})
        finally:
            for c in clients:
                c.close()
        tg.cancel_scope.cancel()
    assert len(order) == 7 and order.index("other") <= 2, order


async def test_reads_of_requesters_that_hung_up_are_not_run(tmp_path: Path) -> None:
    """Ten connections each send a read and close while the read waits for the node's read threads: none of the
    ten is run (the node counts them dropped), and a read of a connected client is answered right after."""
    async with running_node(tmp_path) as (node, sub):
        await sub.wait_for_block(3)
        held = anyio.Event()
        release = anyio.Event()

        async def hold() -> None:
            async with node.reads.turn("test"):
                held.set()
                await release.wait()

        async with anyio.create_task_group() as tg:
            for _ in range(node.config.read_threads):  # every read slot held: the reads below wait
                held = anyio.Event()
                tg.start_soon(hold)
                await held.wait()
            server = node._rpc_server
            assert server is not None
            socks = []
            for _ in range(10):
                s = pynng.Req0(send_timeout=5000)
                s.dial(sub.endpoint, block=True)
                s.send(dumps({"m": "events", "p": {"start": 0, "stop": 1000}}))
                socks.append(s)
            await _until(lambda: node.reads.waiting == 10)
            for s in socks:
                s.close()
            await _until(lambda: server.stats()["connections"] <= 1)  # only the test's client is left
            release.set()
        await _until(lambda: node.reads.waiting == 0)
        assert node.reads.dropped == 10
        with anyio.fail_after(5):
            assert isinstance(await sub.call("events", start=0, stop=3), list)
            assert (await sub.get_block(1)).header.number == 1


async def test_requests_over_the_bytes_held_at_once_are_refused_at_once(tmp_path: Path) -> None:
    """With 1 MiB of requests allowed in flight and two 400 kB requests waiting, a third is Busy at once (its bytes
    let go), and is served once the others are done."""
    go = anyio.Event()

    async def wait(p: dict[str, Any]) -> int:
        await go.wait()
        return len(p["x"])

    ipc = f"ipc://{tmp_path}/rpc.ipc"
    async with anyio.create_task_group() as tg:
        server = await _serving(tg, {"wait": wait}, ipc, max_request=512 << 10, max_bytes_in_flight=1 << 20)
        clients = [RpcClient(server.address, timeout=20.0) for _ in range(3)]
        blob = b"\0" * (400 << 10)
        try:
            async with anyio.create_task_group() as calls:
                for c in clients[:2]:
                    calls.start_soon(c.call_raw, "wait", {"x": blob})
                await _until(lambda: server.stats()["bytes_in_flight"] > 800 << 10)
                with anyio.fail_after(5), pytest.raises(Busy, match="1 MiB of requests"):
                    await clients[2].call("wait", x=blob)
                go.set()
            assert await clients[2].call("wait", x=blob) == len(blob)
            assert server.stats()["bytes_in_flight"] == 0
        finally:
            for c in clients:
                c.close()
        tg.cancel_scope.cancel()


async def test_reads_whose_callers_stopped_waiting_are_not_run(tmp_path: Path) -> None:
    """Eight reads sent with a 0.3 s timeout over connections that stay open, while the read slot is held: each
    caller gives up (RpcTimeout), and the node drops each request at its caller's wait (each said how long it waits)
    instead of running it when the slot is free; a read with time to wait, sent after them, is run and answered."""
    from taonet.kernel.errors import Busy, RpcTimeout

    gate = ReadGate(1)
    ran: list[str] = []

    async def read(p: dict[str, Any]) -> str:
        return await gate.run(lambda: (ran.append(p["tag"]), p["tag"])[1])

    ipc = f"ipc://{tmp_path}/rpc.ipc"
    release = anyio.Event()

    async def hold(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with gate.turn("test"):
            task_status.started()
            await release.wait()

    async with anyio.create_task_group() as tg:
        server = await _serving(tg, {"read": read}, ipc)
        await tg.start(hold)
        clients = [RpcClient(server.address, timeout=0.3) for _ in range(8)]
        patient = RpcClient(ipc, timeout=20.0)
        try:
            async def impatient(c: RpcClient, k: int) -> None:
                # the caller's own timeout, or the node's Busy sent as that wait ends (on a loaded machine the
                # answer can come first): either way the caller has stopped waiting, and the read is not run
                with pytest.raises((RpcTimeout, Busy)):
                    await c.call("read", tag=f"gave-up{k}")

            async with anyio.create_task_group() as calls:
                for k, c in enumerate(clients):
                    calls.start_soon(impatient, c, k)
            assert all(c._sock is not None for c in clients)  # their connections are still open
            await _until(lambda: gate.waiting == 0 and server.stats()["in_flight"] == 0, 5.0)  # budget: 10 s
            assert server.stats()["over_budget"] == 8
            async with anyio.create_task_group() as calls:
                calls.start_soon(lambda: patient.call("read", tag="patient"))
                await _until(lambda: gate.waiting == 1)
                release.set()
        finally:
            for c in [*clients, patient]:
                c.close()
        tg.cancel_scope.cancel()
    assert ran == ["patient"]


async def test_a_read_whose_turn_comes_after_its_callers_wait_or_connection_is_dropped() -> None:
    """The gate's own check, when the slot frees: a request whose caller's wait has ended, or whose connection has
    closed, is Busy and counted dropped; one still waited for runs."""
    from taonet.kernel.node import Origin, serving

    gate = ReadGate(1)
    now = anyio.current_time()
    for origin, runs in ((Origin("a", lambda: True, deadline=now - 1), False), (Origin("a", lambda: False), False),
                         (Origin("a", lambda: True, deadline=now + 60), True)):
        with serving(origin):
            if runs:
                assert await gate.run(lambda: 7) == 7
            else:
                with pytest.raises(Busy, match="before its turn came"):
                    await gate.run(lambda: 7)
    assert gate.dropped == 2
