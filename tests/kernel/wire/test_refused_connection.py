"""A call to an address where nothing listens (a stopped axon's port) fails at once with 503 "connection refused",
as Bittensor's HTTP client does, instead of waiting its whole timeout for a connection; the endpoint is dialed afresh
by the next call, so an axon back on that address is answered. Real axons and sockets on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

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


class _SlowProxy:
    """A TCP proxy on 127.0.0.1 that relays to ``port`` only ``delay`` s after accepting a connection (a far or
    slow axon: a connection that takes longer to set up than a call's timeout)."""

    def __init__(self, port: int, delay: float) -> None:
        self.port, self.delay = port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.threads: list[threading.Thread] = []
        self.sockets: list[socket.socket] = [self.listener]
        self.closed = False

    def __enter__(self) -> int:
        self._start(self._accept)
        return self.listener.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.closed = True
        for _ in range(2):  # again after the threads end: a relay still waiting its delay may have dialed meanwhile
            for s in list(self.sockets):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            for t in list(self.threads):
                t.join(timeout=5)

    def _start(self, target: Any, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(t)
        t.start()

    def _accept(self) -> None:
        for _ in range(64):  # bounded: the test makes a few connections
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed at the end
                return
            self.sockets.append(conn)
            self._start(self._relay, conn)

    def _relay(self, conn: socket.socket) -> None:
        time.sleep(self.delay)
        if self.closed:
            return
        try:
            up = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        except OSError:
            return
        self.sockets.append(up)
        self._start(_pipe, conn, up)
        _pipe(up, conn)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := a.recv(65536):
            b.sendall(data)


async def test_an_axon_slower_to_connect_than_a_calls_timeout_is_answered_once_connected() -> None:
    """A connection that takes 0.6 s to set up, asked by calls of 0.25 s every 0.3 s: the first calls time out, and
    once the connection is made the next ones are answered (the dial is left to finish, not made afresh by each
    call: a first version of the refused-connection path closed it every time, and no call was ever answered)."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as axon:
        with _SlowProxy(axon.info().port, 0.6) as port:
            info = AxonInfo(ip="127.0.0.1", port=port, hotkey=BOB.ss58_address)
            codes = []
            async with Dendrite(ALICE) as d:
                with anyio.fail_after(30):
                    for _ in range(10):
                        got = await d(info, Dummy(input=1), timeout=0.25)
                        codes.append(got.dendrite.status_code)
                        if codes[-1] == 200:
                            break
                        await anyio.sleep(0.05)
    assert codes[-1] == 200, codes
