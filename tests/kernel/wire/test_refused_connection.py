"""A call to an address where nothing listens (a stopped axon's port) fails at once with 503 "connection refused",
as Bittensor's HTTP client does, instead of waiting its whole timeout for a connection; the endpoint is dialed afresh
by the next call, so an axon back on that address is answered. Real axons and sockets on 127.0.0.1."""

from __future__ import annotations

import socket

import anyio
import pytest

from taonet.kernel import Axon, AxonInfo, Dendrite, StreamingSynapse

from .wire_helpers import ALICE, BOB, Dummy, double

pytestmark = pytest.mark.anyio

TIMEOUT = 10.0
"""Each call's timeout: a refused call must end well before it."""


class Words(StreamingSynapse):
    """A stream of words."""

    CHUNK = str
    text: str = ""


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_calls_queries_and_streams_to_a_closed_port_are_refused_at_once() -> None:
    """A call (bare and held-open dendrites), a fan-out beside live axons and a stream to a closed port each end
    with 503 saying the connection was refused, long before their timeout; the live axons answer 200."""
    dead = AxonInfo(ip="127.0.0.1", port=closed_port(), hotkey=BOB.ss58_address)
    started = anyio.current_time()
    bare = await Dendrite(ALICE)(dead, Dummy(input=1), timeout=TIMEOUT)
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as live, Dendrite(ALICE) as d:
        fan = await d([live, dead, live], Dummy(input=1), timeout=TIMEOUT)
        async with d.stream(dead, Words(), timeout=TIMEOUT) as stream:
            chunks = [c async for c in stream]
    assert anyio.current_time() - started < TIMEOUT / 2  # all four calls: none waited for its timeout
    assert [r.dendrite.status_code for r in fan] == [200, 503, 200]
    for r in (bare, fan[1], stream.result):
        assert r.dendrite.status_code == 503
        assert r.dendrite.status_message == f"connection refused: nothing listens at {dead.address} (is the axon " \
                                            f"running?)"
    assert chunks == []


async def test_an_axon_back_on_a_refused_address_answers_the_next_call() -> None:
    """A held-open dendrite is refused by a closed port; an axon then listens there: the next call is answered
    (the endpoint is dialed again at once, not at nng's next redial, which backs off to seconds)."""
    port = closed_port()
    dead = AxonInfo(ip="127.0.0.1", port=port, hotkey=BOB.ss58_address)
    async with Dendrite(ALICE) as d:
        for _ in range(3):  # a few refusals: nng's redial delay has grown
            refused = await d(dead, Dummy(input=1), timeout=TIMEOUT)
            assert refused.dendrite.status_code == 503
            assert "connection refused" in (refused.dendrite.status_message or "")
        async with Axon(BOB, f"tcp://127.0.0.1:{port}").attach(double) as back:
            started = anyio.current_time()
            r = await d(back.info(), Dummy(input=2), timeout=TIMEOUT)
            assert anyio.current_time() - started < TIMEOUT / 2
    assert (r.dendrite.status_code, r.output) == (200, 4)
