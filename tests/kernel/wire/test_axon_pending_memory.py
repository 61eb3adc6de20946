"""Unfinished requests cannot fill an axon's memory: nng allocates a message's declared length as its header arrives
and never times out the rest, so each connection may hold one message of up to the axon's receive limit for as long
as it stays open. The axon takes at most ``max_pending_mb`` over that limit connections.

The crowd is the QA pass's: raw connections that do the SP handshake, declare a large message, send all of it but its
last byte, and idle (no key needed), from many addresses in many /24 networks (127.0.N.2). The axon runs in a child
process so that its memory (RSS) is measured alone."""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import ClassVar

import anyio
import pytest

from taonet.kernel import Axon, AxonConfig, AxonInfo, Dendrite, Synapse

from .wire_helpers import ALICE, BOB, double

pytestmark = pytest.mark.anyio

MIB = 1 << 20
BUDGET_MB = 32
SIZE = MIB  # the synapse's MAX_SIZE: the largest request the child's axon takes
NETWORKS, PER_ADDRESS = 20, 5  # 100 connections, each holding SIZE - 1 bytes of a message

CHILD = r"""
import sys, anyio
from typing import ClassVar
from taonet.kernel import Axon, AxonConfig, Synapse
from taonet.ledger import Keypair

class Big(Synapse):
    MAX_SIZE: ClassVar[int | None] = 1 << 20
    data: bytes = b""
    size: int | None = None

async def forward(s: Big) -> Big:
    return s.replace(size=len(s.data))

async def main():
    cfg = AxonConfig(max_request_size=1024, max_pending_mb=int(sys.argv[1]))
    async with Axon(Keypair.from_uri("//Bob"), "tcp://127.0.0.1:0", config=cfg).attach(forward) as ax:
        print(ax.address, ax.receive_limit, *ax.connection_bounds, flush=True)
        while await anyio.to_thread.run_sync(sys.stdin.readline):  # each line asks for the connections held
            print(ax.connections, flush=True)

anyio.run(main)
"""


class Big(Synapse):
    """The child's synapse: a request of up to 1 MiB."""

    MAX_SIZE: ClassVar[int | None] = SIZE
    data: bytes = b""
    size: int | None = None


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def _line(stream: anyio.abc.ByteReceiveStream, buf: bytearray) -> list[str]:
    """The child's next output line, split into words (``buf`` keeps what came after it)."""
    with anyio.fail_after(20):
        while b"\n" not in buf:
            buf += await stream.receive()
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line.decode().split()


def _attack(port: int) -> list[socket.socket]:
    """PER_ADDRESS connections from each of NETWORKS addresses (127.0.N.2, one a /24), each declaring a SIZE-byte
    message and sending all of it but the last byte; the ones the axon closed are dropped."""
    held: list[socket.socket] = []
    payload = struct.pack(">QI", SIZE, 0x80000001) + bytes(SIZE - 5)  # 8-byte length, request id, all but 1 byte
    for net in range(1, NETWORKS + 1):
        for _ in range(PER_ADDRESS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.bind((f"127.0.{net}.2", 0))
                s.connect(("127.0.0.1", port))
                s.sendall(b"\x00SP\x00\x00\x30\x00\x00" + payload)  # SP header: REQ0
            except OSError:  # closed as it came (over a bound)
                s.close()
                continue
            held.append(s)
    return held


async def test_a_crowd_of_unfinished_requests_stays_within_max_pending_mb() -> None:
    """100 connections from 20 networks, each holding 1 MiB of an unfinished message, at an axon in a child process
    whose budget is 32 MiB: the axon holds at most 32 MiB / its receive limit of them (before: every one, ~100 MiB
    more RSS; the receive limit was twice the largest request), its memory grows by less than the budget and a slack,
    and a validator connected before the crowd is still answered."""
    async with await anyio.open_process([sys.executable, "-c", CHILD, str(BUDGET_MB)]) as child:
        assert child.stdout is not None and child.stdin is not None
        out = bytearray()
        line = await _line(child.stdout, out)
        address, recv_max, total = line[0], int(line[1]), int(line[2])
        assert total * recv_max <= BUDGET_MB * MIB, line
        port = int(address.rsplit(":", 1)[1])
        info = AxonInfo(ip="127.0.0.1", port=port, hotkey=BOB.ss58_address)
        async with Dendrite(ALICE) as d:
            r = await d(info, Big(data=b"x" * 1000), timeout=10)
            assert r.size == 1000, r.dendrite
            before = _rss_mib(child.pid)
            held = await anyio.to_thread.run_sync(_attack, port)
            try:
                rss, t = before, time.monotonic()
                while time.monotonic() - t < 2.0:  # let the bytes arrive; keep the peak
                    await anyio.sleep(0.1)
                    rss = max(rss, _rss_mib(child.pid))
                await child.stdin.send(b"?\n")
                connections = int((await _line(child.stdout, out))[0])
                assert connections * recv_max <= BUDGET_MB * MIB, (connections, recv_max)
                assert rss - before < BUDGET_MB + 16, (before, rss, connections, len(held))
                r = await d(info, Big(data=b"y" * 10), timeout=10)
                assert r.size == 10, r.dendrite
            finally:
                for s in held:
                    s.close()
        await child.stdin.aclose()
        with anyio.fail_after(20):
            await child.wait()


async def test_the_default_budget_bounds_a_miners_connections() -> None:
    """Under the defaults (4 MiB requests, a 1 GiB budget) an axon takes 252 connections, 63 from one address and
    126 from one network; a plugin's explicit bounds (4096, 512, 2048) are lowered the same way."""
    for config in (AxonConfig(), AxonConfig(max_connections=4096, max_connections_per_address=512,
                                            max_connections_per_network=2048)):
        async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as ax:
            assert ax.receive_limit == 4 * MIB + 65536
            assert ax.connection_bounds == (252, 63, 126)
            assert ax.connection_bounds[0] * ax.receive_limit <= 1024 * MIB


async def test_a_budget_too_small_for_one_request_says_so() -> None:
    """A budget that cannot hold one request of the axon's limit refuses to serve, naming the figure to raise."""
    with pytest.raises(ValueError, match=r"max_pending_mb=4 cannot hold one request .* raise it to 5"):
        async with Axon(BOB, "tcp://127.0.0.1:0", config=AxonConfig(max_pending_mb=4)).attach(double):
            pass
