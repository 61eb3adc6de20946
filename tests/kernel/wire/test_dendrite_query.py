"""``dendrite.query(...)``: the Bittensor SDK's blocking form of ``await dendrite(...)``, for synchronous scripts,
against real axons on 127.0.0.1 (served from a background thread with ``axon.start()``, as such a script does)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import anyio
import pytest

from taonet.kernel import Axon, Dendrite

from .wire_helpers import ALICE, BOB, CAROL, Dummy, double


async def slow(synapse: Dummy) -> Dummy:
    """A forward that takes far longer than the callers wait."""
    await anyio.sleep(30)
    return synapse.replace(output=0)


@pytest.fixture
def axons() -> Iterator[tuple[Axon, Axon]]:
    """Bob's axon doubling integers, Carol's never answering in time; both stopped at the end."""
    fast = Axon(BOB, "tcp://127.0.0.1:0").attach(double).start()
    try:
        late = Axon(CAROL, "tcp://127.0.0.1:0").attach(slow).start()
        try:
            yield fast, late
        finally:
            late.stop()
    finally:
        fast.stop()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_query_answers_from_synchronous_code_as_awaiting_does(axons: tuple[Axon, Axon]) -> None:
    """One axon gives one synapse, a list gives a list in order, ``deserialize=True`` each answer's deserialize(),
    as ``await dendrite(...)`` does; a bare dendrite asked again works again."""
    fast, _ = axons
    d = Dendrite(ALICE)
    one = d.query(fast.info(), Dummy(input=4), timeout=5)
    assert one.is_success and one.output == 8 and one.dendrite.hotkey == ALICE.ss58_address
    many = d.query([fast.info(), fast], Dummy(input=5), timeout=5)
    assert [r.output for r in many] == [10, 10]
    assert d.query([fast], Dummy(input=6), 5, deserialize=True) == [Dummy(input=6, output=12).deserialize()]


def test_query_is_bounded_by_its_timeout(axons: tuple[Axon, Axon]) -> None:
    """An axon that does not answer costs the caller its timeout, not more: its slot is a 408 at the deadline and the
    other axon's answer is there."""
    fast, late = axons
    d = Dendrite(ALICE)
    t = time.monotonic()
    answers = d.query([fast.info(), late.info()], Dummy(input=1), timeout=0.5)
    took = time.monotonic() - t
    assert took < 2.5, took  # 0.5 s, with a wide margin for a loaded machine
    assert answers[0].output == 2 and answers[1].dendrite.status_code == 408 and answers[1].output is None


def test_query_leaves_no_thread_or_socket_behind(axons: tuple[Axon, Axon]) -> None:
    """After query returns (answered or timed out) the process has the threads and file descriptors it had before:
    its event loop ended with it and its endpoint sockets are closed."""
    fast, late = axons
    d = Dendrite(ALICE)
    d.query(fast.info(), Dummy(input=1), timeout=5)  # nng's own first-use setup happens here, not in the count
    threads, fds = set(threading.enumerate()), _open_fds()
    for i in range(3):
        assert d.query(fast.info(), Dummy(input=i), timeout=5).output == 2 * i
        assert d.query(late.info(), Dummy(input=i), timeout=0.2).dendrite.status_code == 408
    # Only new threads count: one another test of this worker left may end meanwhile.
    assert set(threading.enumerate()) <= threads
    assert not d._endpoints
    deadline = time.monotonic() + 3  # a closed socket's descriptor is released by nng's own threads, soon after
    while _open_fds() > fds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_fds() <= fds


def test_query_refuses_a_dendrite_held_open_by_async_code(axons: tuple[Axon, Axon]) -> None:
    """A dendrite inside ``async with`` belongs to that code's event loop: query() says so instead of sharing its
    sockets with another loop."""
    fast, _ = axons
    d = Dendrite(ALICE)
    anyio.run(d.__aenter__)
    try:
        with pytest.raises(RuntimeError, match="held open by 'async with'"):
            d.query(fast.info(), Dummy(input=1), timeout=5)
    finally:
        anyio.run(d.aclose)


@pytest.mark.anyio
async def test_query_in_async_code_says_to_await(axons: tuple[Axon, Axon]) -> None:
    """Called where an event loop runs, query() would block it: a RuntimeError that says to await instead."""
    fast, _ = axons
    with pytest.raises(RuntimeError, match=r"await dendrite\(axons, synapse, timeout\) here"):
        Dendrite(ALICE).query(fast.info(), Dummy(input=1), timeout=5)
