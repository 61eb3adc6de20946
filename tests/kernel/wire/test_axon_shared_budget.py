"""Axons of one process sharing one :class:`PendingBudget` (a neuron host's) hold at most that budget in all: each
connection an axon admits reserves its receive limit from the shared budget until it closes, and one that does not
fit is closed as it comes, however much room the axon's own bounds (``max_pending_mb``) leave it. One network holds
at most three quarters of the budget. Callers connected before a crowd are still answered by every axon.

The memory test's crowd is the QA pass's (tests/kernel/wire/test_axon_pending_memory.py): raw connections that do the
SP handshake, declare a large message, send all of it but its last byte, and idle, from many /24 networks; the two
axons run in a child process so that its memory (RSS) is measured alone."""

from __future__ import annotations

import sys
import time

import anyio
import attrs
import pynng
import pytest

from taonet.kernel import Axon, AxonConfig, AxonInfo, Dendrite
from taonet.kernel.wire import PENDING_NETWORK_PART, PendingBudget

from .test_axon_pending_memory import MIB, Big, _attack, _line, _rss_mib
from .wire_helpers import ALICE, BOB, CAROL, Dummy, double

pytestmark = pytest.mark.anyio

SHARED_MB = 32
RECV_MAX = 4 * MIB + 65536  # the axons' receive limit at the default 4 MiB requests

CHILD = r"""
import sys, anyio
from typing import ClassVar
from taonet.kernel import Axon, AxonConfig, Synapse
from taonet.kernel.wire import PendingBudget
from taonet.ledger import Keypair

class Big(Synapse):
    MAX_SIZE: ClassVar[int | None] = 1 << 20
    data: bytes = b""
    size: int | None = None

async def forward(s: Big) -> Big:
    return s.replace(size=len(s.data))

async def main():
    budget = PendingBudget(int(sys.argv[1]))
    cfg = AxonConfig(max_request_size=1024, max_pending_mb=int(sys.argv[1]), pending_budget=budget)
    async with Axon(Keypair.from_uri("//Bob"), "tcp://127.0.0.1:0", config=cfg).attach(forward) as a, \
            Axon(Keypair.from_uri("//Carol"), "tcp://127.0.0.1:0", config=cfg).attach(forward) as b:
        print(a.address, b.address, a.receive_limit, *a.connection_bounds, flush=True)
        while await anyio.to_thread.run_sync(sys.stdin.readline):  # each line asks for the connections held
            print(a.connections, b.connections, budget.held, flush=True)

anyio.run(main)
"""


async def test_two_axons_sharing_a_budget_hold_at_most_it_against_a_crowd_and_still_answer() -> None:
    """Two axons in a child process share a 32 MiB budget, each with its own 32 MiB bounds (30 connections of 1 MiB
    + 64 KiB). 100 connections from 20 networks at each, every one holding 1 MiB of an unfinished message: both
    axons together hold at most 32 MiB / the receive limit of them (each with its own budget: 30 each, 60 in all,
    ~60 MiB more RSS), the child's memory grows by less than the budget and a slack, and a validator connected to
    both before the crowd is still answered by both."""
    async with await anyio.open_process([sys.executable, "-c", CHILD, str(SHARED_MB)]) as child:
        assert child.stdout is not None and child.stdin is not None
        out = bytearray()
        line = await _line(child.stdout, out)
        addresses, recv_max, each = line[:2], int(line[2]), int(line[3])
        assert 2 * each * recv_max > SHARED_MB * MIB, line  # each axon's own bounds would let them hold twice it
        infos = [AxonInfo(ip="127.0.0.1", port=int(a.rsplit(":", 1)[1]), hotkey=k.ss58_address)
                 for a, k in zip(addresses, (BOB, CAROL), strict=True)]
        async with Dendrite(ALICE) as d:
            for info in infos:
                r = await d(info, Big(data=b"x" * 1000), timeout=10)
                assert r.size == 1000, r.dendrite
            before = _rss_mib(child.pid)
            held = [s for info in infos for s in await anyio.to_thread.run_sync(_attack, info.port)]
            try:
                rss, t = before, time.monotonic()
                while time.monotonic() - t < 2.0:  # let the bytes arrive; keep the peak
                    await anyio.sleep(0.1)
                    rss = max(rss, _rss_mib(child.pid))
                await child.stdin.send(b"?\n")
                a, b, reserved = (int(w) for w in await _line(child.stdout, out))
                assert (a + b) * recv_max == reserved <= SHARED_MB * MIB, (a, b, recv_max)
                assert a + b == SHARED_MB * MIB // recv_max and b >= 1, (a, b)  # the crowd at the first took the rest
                assert rss - before < SHARED_MB + 16, (before, rss, a, b, len(held))
                for info in infos:
                    r = await d(info, Big(data=b"y" * 10), timeout=10)
                    assert r.size == 10, r.dendrite
            finally:
                for s in held:
                    s.close()
        await child.stdin.aclose()
        with anyio.fail_after(20):
            await child.wait()


def _from(local: str, address: str) -> str:
    """``address`` (tcp://HOST:PORT) dialed from the local address ``local``."""
    return address.replace("tcp://", f"tcp://{local};", 1)


async def _settle(*axons: Axon, seconds: float = 10.0) -> None:
    """At least 1 s, until the axons' open connections have not moved for 0.5 s (bounded; refused dialers redial,
    so the refusals keep counting)."""
    with anyio.fail_after(seconds):
        last, still, t0 = None, 0, time.monotonic()
        while still < 5 or time.monotonic() - t0 < 1.0:
            now = [ax.connections for ax in axons]
            still = still + 1 if now == last else 0
            last = now
            await anyio.sleep(0.1)


async def test_a_shared_budget_closes_what_does_not_fit_and_gives_back_what_closes() -> None:
    """Two axons with the default bounds (252 connections each) share a 17 MiB budget: 4 connections of 4 MiB + 64 KiB
    in all. A validator connects to both, then 12 dialers from 12 networks dial each axon: 4 connections stay open in
    all, the rest are closed as they came and counted as ``connections_pending``; the validator is answered by both;
    once the crowd hangs up its reservations come back and a new dialer is admitted."""
    budget = PendingBudget(17)
    config = AxonConfig(pending_budget=budget)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as a, \
            Axon(CAROL, "tcp://127.0.0.1:0", config=config).attach(double) as b, Dendrite(ALICE) as d:
        assert a.connection_bounds == b.connection_bounds == (252, 63, 126)
        for ax in (a, b):
            assert (await d(ax.info(), Dummy(input=1), timeout=5)).output == 2
        assert budget.held == 2 * RECV_MAX and budget.connections == 2
        crowd: list[pynng.Socket] = []
        try:
            for net in range(1, 13):
                for ax in (a, b):
                    sock = pynng.Req0(resend_time=-1)
                    crowd.append(sock)
                    sock.dial(_from(f"127.0.{net}.2", ax.address), block=False)  # a refused dialer redials
            await _settle(a, b)
            assert a.connections + b.connections == 4 == budget.connections, (a.connections, b.connections)
            assert budget.held == 4 * RECV_MAX <= budget.total
            assert a.connections_refused_pending + b.connections_refused_pending >= 20
            assert a.refusals().get("connections_pending", 0) == a.connections_refused_pending
            assert "connections_total" not in a.refusals() and "connections_per_address" not in a.refusals()
            for ax in (a, b):
                assert (await d(ax.info(), Dummy(input=3), timeout=5)).output == 6
        finally:
            for sock in crowd:
                sock.close()
        with anyio.fail_after(10):
            while budget.connections > 2:
                await anyio.sleep(0.05)
        assert budget.held == 2 * RECV_MAX
        with pynng.Req0(resend_time=-1) as late:
            late.dial(_from("127.0.99.2", a.address), block=False)
            with anyio.fail_after(10):
                while a.connections < 2:
                    await anyio.sleep(0.05)
            assert budget.connections == 3


async def test_one_network_holds_at_most_its_part_of_a_shared_budget() -> None:
    """A 25 MiB budget (6 connections of 4 MiB + 64 KiB) shared by two axons: one /24 (127.0.7.x, from 4 addresses)
    dialing both is held to three quarters of it, 4 connections, and a dialer from another network is still
    admitted."""
    budget = PendingBudget(25)
    assert budget.per_network == int(25 * MIB * PENDING_NETWORK_PART)
    config = AxonConfig(pending_budget=budget)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as a, \
            Axon(CAROL, "tcp://127.0.0.1:0", config=config).attach(double) as b:
        crowd: list[pynng.Socket] = []
        try:
            for host in range(2, 6):
                for ax in (a, b):
                    for _ in range(2):
                        sock = pynng.Req0(resend_time=-1)
                        crowd.append(sock)
                        sock.dial(_from(f"127.0.7.{host}", ax.address), block=False)
            await _settle(a, b)
            assert a.connections + b.connections == 4 == budget.per_network // RECV_MAX
            assert budget.held_by_network("127.0.7.0/24") == 4 * RECV_MAX
            assert budget.refused_per_network > 0 and budget.refused == budget.refused_per_network
            other = pynng.Req0(resend_time=-1)
            crowd.append(other)
            other.dial(_from("127.0.8.2", b.address), block=False)
            with anyio.fail_after(10):
                while budget.connections < 5:
                    await anyio.sleep(0.05)
            assert budget.held_by_network("127.0.8.0/24") == RECV_MAX
        finally:
            for sock in crowd:
                sock.close()


async def test_an_axon_that_stops_gives_back_what_its_open_connections_reserved() -> None:
    """An axon stopping while callers still hold connections to it (a hosted miner restarting) gives their
    reservations back: three serve-and-stop rounds, each with 5 callers that never hang up, leave the budget empty."""
    budget = PendingBudget(64)
    callers: list[pynng.Socket] = []
    try:
        for _ in range(3):
            async with Axon(BOB, "tcp://127.0.0.1:0", config=AxonConfig(pending_budget=budget)).attach(double) as ax:
                for _ in range(5):
                    sock = pynng.Req0(resend_time=-1)
                    callers.append(sock)
                    sock.dial(ax.address, block=False)
                with anyio.fail_after(10):
                    while ax.connections < 5:
                        await anyio.sleep(0.02)
                assert budget.connections == 5 and budget.held == 5 * RECV_MAX
            assert budget.connections == 0 and budget.held == 0
    finally:
        for sock in callers:
            sock.close()


async def test_a_shared_budget_too_small_for_one_request_says_so() -> None:
    """A shared budget that cannot hold one request of the axon's limit refuses to serve, naming the figure."""
    config = AxonConfig(pending_budget=PendingBudget(4))
    with pytest.raises(ValueError, match=r"shared pending budget of 4 MiB cannot hold one request .* to 5 or more"):
        async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double):
            pass


def test_an_axon_without_a_shared_budget_keeps_its_own_bounds() -> None:
    """The default: no shared budget, and an AxonConfig given one compares by that budget's identity."""
    assert AxonConfig().pending_budget is None
    one = PendingBudget(64)
    assert attrs.evolve(AxonConfig(), pending_budget=one) == AxonConfig(pending_budget=one)
    assert AxonConfig(pending_budget=one) != AxonConfig(pending_budget=PendingBudget(64))
    with pytest.raises(ValueError, match="at least 1 MiB"):
        PendingBudget(0)
