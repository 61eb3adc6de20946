"""Bittensor's WebSocket form of a node's address (ws://HOST:PORT, wss://...) is a BadAddress at once, saying to
use tcp://HOST:PORT; it was dialed as an nng ws URL and the client waited out its timeout to say 'no node at ...'
even with a taonet node on that port (real node on 127.0.0.1)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from taonet.kernel import subtensor
from taonet.kernel.client import resolve_endpoint
from taonet.kernel.errors import BadAddress

from ..node.nodes import node_process


@pytest.mark.parametrize(("given", "use"), [
    ("ws://127.0.0.1:9944", "tcp://127.0.0.1:9944"), ("ws://127.0.0.1:9944/", "tcp://127.0.0.1:9944"),
    ("ws6://[::1]:9944", "tcp://[::1]:9944"), ("wss://entrypoint-finney.opentensor.ai:443", "tcp://HOST:PORT"),
    ("wss://h:443/rpc", "tcp://HOST:PORT"),
])
def test_a_websocket_address_is_a_bad_address_naming_the_tcp_one(given: str, use: str) -> None:
    """ws://HOST:PORT and any wss:// address: BadAddress saying taonet nodes speak nng over tcp, and what to use."""
    with pytest.raises(BadAddress, match=re.escape(f"taonet nodes speak nng over tcp: use {use}")) as e:
        resolve_endpoint(given)
    assert e.value.address == given


def test_an_nng_websocket_url_with_a_path_is_dialed_as_given() -> None:
    """nng's own ws transport (ws://HOST:PORT/PATH) is still an address a node may listen on."""
    assert resolve_endpoint("ws://h:80/rpc") == "ws://h:80/rpc"


@pytest.fixture(scope="module")
def node_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A dev node process's tcp address."""
    with node_process(tmp_path_factory.mktemp("node")) as (_proc, addresses):
        yield addresses["rpc"]


def test_subtensor_at_a_websocket_address_fails_at_once_with_a_node_on_that_port(node_endpoint: str) -> None:
    """subtensor("ws://127.0.0.1:PORT") with a node serving tcp on PORT: BadAddress within a second, naming the tcp
    address, which reaches the node."""
    port = node_endpoint.rpartition(":")[2]
    t0 = time.monotonic()
    with pytest.raises(BadAddress, match=f"use tcp://127.0.0.1:{port}"):
        subtensor(f"ws://127.0.0.1:{port}")
    assert time.monotonic() - t0 < 1.0
    with subtensor(f"tcp://127.0.0.1:{port}", timeout=20) as sub:
        assert sub.get_current_block() >= 0
