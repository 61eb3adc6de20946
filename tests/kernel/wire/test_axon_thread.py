"""axon.start()/stop() (the Bittensor SDK's) serve from a background thread for synchronous code."""

from __future__ import annotations

import anyio
import pynng
import pytest

from taonet.kernel import Axon, Dendrite

from .wire_helpers import ALICE, BOB, Dummy, double


def ask(axon: Axon, n: int) -> int | None:
    """One call from a fresh event loop, as a synchronous script makes it."""

    async def go() -> int | None:
        return (await Dendrite(ALICE)(axon.info(), Dummy(input=n), timeout=5)).output

    return anyio.run(go)


def test_start_serves_until_stop_and_refuses_a_second_start() -> None:
    """start() returns once the socket listens; a second start() while serving is refused; stop() closes the socket
    so nothing answers there."""
    axon = Axon(BOB, "tcp://127.0.0.1:0").attach(double).start()
    try:
        assert ask(axon, 4) == 8
        with pytest.raises(RuntimeError, match="already serving"):
            axon.start()
    finally:
        axon.stop()
    with pynng.Req0() as probe, pytest.raises(pynng.ConnectionRefused):
        probe.dial(axon.info().address, block=True)
    axon.stop()  # stopping twice is nothing


def test_start_on_a_taken_port_raises_the_listen_error_itself() -> None:
    """The error that kept the axon from listening comes out of start(), not a group, naming the address."""
    holder = Axon(BOB, "tcp://127.0.0.1:0").attach(double).start()
    try:
        with pytest.raises(pynng.AddressInUse, match="cannot listen on"):
            Axon(BOB, holder.info().address).attach(double).start()
    finally:
        holder.stop()
