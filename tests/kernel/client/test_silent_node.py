"""A client whose node never answers: "no node" when nothing listens at the address, but NodeSilent (a node stopped
or starved: "it may be stopped or too busy") when the address accepts connections and nng's handshake never comes
(a QA pass: a SIGSTOP'd node was reported as "no node at ...: start one with taonet node run --dev")."""

from __future__ import annotations

import socket
import time

import pytest

from taonet.kernel import Subtensor
from taonet.kernel.errors import NodeSilent, NoNode

from .servers import free_address

pytestmark = pytest.mark.anyio


async def test_an_address_that_accepts_but_never_answers_is_a_silent_node_not_no_node() -> None:
    with socket.socket() as listener:  # the system completes connections to it; nothing ever reads or answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(NodeSilent) as caught:
            async with Subtensor(address, timeout=1.0) as sub:
                await sub.get_current_block()
        assert time.monotonic() - started < 5  # the probe is bounded: the connect timeout plus half a second
    said = str(caught.value)
    assert f"the node at {address} accepts connections but did not answer" in said and "stopped or too busy" in said
    assert "taonet node run --dev" not in said


async def test_an_address_nothing_listens_at_is_no_node() -> None:
    address = free_address()
    with pytest.raises(NoNode) as caught:
        async with Subtensor(address, timeout=1.0) as sub:
            await sub.get_current_block()
    assert type(caught.value) is NoNode and "start one with taonet node run --dev" in str(caught.value)
