"""An axon bounds connections per remote address as well as in all: one host dialing far more than its share is held
to ``max_connections_per_address`` while a dendrite from another address (127.0.0.2, a second "host" on the
loopback network) connects and is answered; crowds from several addresses still stop at ``max_connections``; and a
localnet's worth of processes, all on 127.0.0.1, is not refused under the defaults.

nng dials from a chosen local address with ``tcp://LOCAL;HOST:PORT``."""

from __future__ import annotations

import anyio
import attrs
import pynng
import pytest

from taonet.kernel import Axon, AxonConfig, Dendrite
from taonet.kernel.wire._format import decode_reply

from .wire_helpers import ALICE, BOB, Dummy, double, request

pytestmark = pytest.mark.anyio

LOCALNET_VALIDATORS = 8
LOCALNET_PROCESSES = 73
"""`taonet bench localnet`'s one-process-per-neuron layout (64 miners, 8 validators, the launcher). A miner's axon
had 8 connections there, one per validator (measured with `ss`); the test offers twice the processes."""


def _from(local: str, address: str) -> str:
    """``address`` (tcp://HOST:PORT) dialed from the local address ``local``."""
    return address.replace("tcp://", f"tcp://{local};", 1)


def _dial_crowd(count: int, address: str, local: str) -> list[pynng.Socket]:
    crowd: list[pynng.Socket] = []
    for _ in range(count):
        sock = pynng.Req0(resend_time=-1)
        crowd.append(sock)
        sock.dial(_from(local, address), block=False)  # a refused dialer redials, as a crowd would
    return crowd


async def test_one_address_is_held_to_its_share_while_a_caller_from_another_address_is_answered() -> None:
    """40 connections from 127.0.0.1 at an axon taking 16 in all and 8 per address (with the total bound alone, the
    crowd took all 16 and every new caller was shut out): a dendrite dialing from 127.0.0.2 is answered, 127.0.0.1
    kept at most 8, and the rest were closed as they came and counted as per-address refusals."""
    config = AxonConfig(max_connections=16, max_connections_per_address=8)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as ax, Dendrite(ALICE) as d:
        crowd = _dial_crowd(40, ax.address, "127.0.0.1")
        try:
            peak = 0
            with anyio.fail_after(10):
                while ax.connections_refused < 40:
                    peak = max(peak, ax.connections)
                    await anyio.sleep(0.02)
            other = attrs.evolve(ax.info(), url=_from("127.0.0.2", ax.address))
            with anyio.fail_after(10):
                for i in range(5):
                    r = await d(other, Dummy(input=i), timeout=5)
                    assert r.output == 2 * i, r.dendrite
            assert ax.connections == 9 and ax._limit is not None and ax._limit.addresses == 2
            assert peak == 8 and ax._limit.held_by("127.0.0.1") == 8, peak
            assert ax.connections_refused == ax.connections_refused_per_address
        finally:
            for sock in crowd:
                sock.close()


async def test_crowds_from_many_addresses_still_stop_at_max_connections() -> None:
    """6 connections from each of 127.0.0.2 ... 127.0.0.9 at an axon taking 4 per address and 16 in all: it holds
    16 (a dendrite connected before the crowd, from 127.0.0.1, and 15 of the crowd), no address more than 4; the
    others are refused, some for the total bound, some for their address's share; the dendrite is answered."""
    config = AxonConfig(max_connections=16, max_connections_per_address=4)
    async with Axon(BOB, "tcp://127.0.0.1:0", config=config).attach(double) as ax, Dendrite(ALICE) as d:
        assert (await d(ax, Dummy(input=1), timeout=5)).output == 2
        crowd = _dial_crowd(6, ax.address, "127.0.0.2")
        try:
            with anyio.fail_after(10):  # first one address over its share, while the total has room
                while ax.connections_refused_per_address == 0:
                    await anyio.sleep(0.02)
            for host in range(3, 10):
                crowd += _dial_crowd(6, ax.address, f"127.0.0.{host}")
            peak = 0
            with anyio.fail_after(10):
                while not (ax.connections == 16 and ax.connections_refused > ax.connections_refused_per_address):
                    peak = max(peak, ax.connections)
                    await anyio.sleep(0.02)
            assert ax._limit is not None
            held = [ax._limit.held_by(f"127.0.0.{host}") for host in range(2, 10)]
            assert max(peak, ax.connections) == 16 and sum(held) == 15 and max(held) <= 4, (peak, held)
            assert (await d(ax, Dummy(input=3), timeout=5)).output == 6
        finally:
            for sock in crowd:
                sock.close()


async def test_a_localnets_crowd_from_loopback_is_not_refused_under_the_defaults() -> None:
    """An axon's share for one address under the defaults (63: ``max_pending_mb`` holds 252 connections of 4 MiB
    requests, a quarter of them per address), all from 127.0.0.1: every one is admitted, none refused, and a signed
    request on each is answered. A localnet's miner axon has one connection per validator (8 of 73 processes), so
    the share is room for seven times a localnet's validators; a bigger one raises ``max_pending_mb``."""
    assert attrs.fields(AxonConfig).max_connections_per_address.default >= 2 * LOCALNET_PROCESSES
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax:
        count = ax.connection_bounds[1]
        assert count >= 7 * LOCALNET_VALIDATORS, ax.connection_bounds
        crowd = _dial_crowd(count, ax.address, "127.0.0.1")
        try:
            with anyio.fail_after(20):
                while ax.connections < count:
                    await anyio.sleep(0.02)
                answered = 0
                for i, sock in enumerate(crowd):
                    await sock.asend(request(Dummy(input=i)))
                    reply = decode_reply(await sock.arecv(), max_size=1 << 20)
                    answered += reply.status == 200
            assert answered == count
            assert ax.connections == count and ax.connections_refused == 0
        finally:
            for sock in crowd:
                sock.close()
