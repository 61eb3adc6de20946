"""resolve_endpoint: what a user's --endpoint (or $TAONET_ENDPOINT) becomes, and what it refuses at once."""

from __future__ import annotations

import pytest

from taonet.kernel.client import resolve_endpoint
from taonet.kernel.errors import BadAddress


@pytest.mark.parametrize(("given", "url"), [
    ("local", "tcp://127.0.0.1:9944"), ("host:9944", "tcp://host:9944"), ("tcp://[::1]:1", "tcp://[::1]:1"),
    ("tcp://127.0.0.1:65535", "tcp://127.0.0.1:65535"), ("ws://h:80/rpc", "ws://h:80/rpc"),
    ("ipc:///tmp/node.sock", "ipc:///tmp/node.sock"), ("inproc://x:y", "inproc://x:y"),
])
def test_addresses_become_nng_urls(given: str, url: str) -> None:
    """local, HOST:PORT and nng URLs resolve as before (an ipc path or inproc name has no port to check)."""
    assert resolve_endpoint(given) == url


@pytest.mark.parametrize("given", ["host:99999", "host:0", "host:abc", "host:", "tcp://[::1]:70000", "ws://h:0/x",
                                   "tcp://h:١٢"])
def test_a_port_outside_1_to_65535_is_a_bad_address(given: str) -> None:
    """A port that is no number in 1..65535 is BadAddress at once, naming the port (it was dialed, and the command
    waited out its timeout to say 'no node at tcp://host:99999')."""
    with pytest.raises(BadAddress, match="is not a number from 1 to 65535"):
        resolve_endpoint(given)
