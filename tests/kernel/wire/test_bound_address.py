"""The one bound-address helper: tcp port 0 resolves to the port nng chose; other addresses come back as asked."""

from __future__ import annotations

from pathlib import Path

import pynng
import pytest

from taonet.kernel.wire import Axon, Dendrite, bound_address

from .wire_helpers import ALICE, BOB, Dummy, double


@pytest.mark.parametrize("scheme", ["tcp", "tcp4"])
def test_bound_address_resolves_tcp_port_zero_to_a_port_that_answers(scheme: str) -> None:
    """Asked for port 0, the address names the real port (from the socket or the listener), and it can be dialed."""
    with pynng.Pair0(recv_timeout=5000) as server:
        listener = server.listen(f"{scheme}://127.0.0.1:0")
        from_socket = bound_address(server, f"{scheme}://127.0.0.1:0")
        assert bound_address(listener, f"{scheme}://127.0.0.1:0") == from_socket
        host, _, port = from_socket.rpartition(":")
        assert host == f"{scheme}://127.0.0.1"
        assert int(port) > 0
        with pynng.Pair0(dial=from_socket, send_timeout=5000) as client:
            client.send(b"hello")
            assert server.recv() == b"hello"


def test_bound_address_keeps_an_ipv6_host() -> None:
    """A bracketed IPv6 host keeps its brackets; only the port changes."""
    with pynng.Pair0() as server:
        try:
            server.listen("tcp://[::1]:0")
        except pynng.NNGException:
            pytest.skip("no IPv6 loopback here")
        address = bound_address(server, "tcp://[::1]:0")
    assert address.startswith("tcp://[::1]:")
    assert int(address.rpartition(":")[2]) > 0


def test_bound_address_leaves_fixed_ports_ipc_and_inproc_as_asked(tmp_path: Path) -> None:
    """Only port 0 is rewritten: a fixed tcp port, an ipc path and an inproc name come back unchanged."""
    with pynng.Pair0() as server:
        listener = server.listen("tcp://127.0.0.1:0")
        fixed = bound_address(listener, "tcp://127.0.0.1:0")
        assert bound_address(listener, fixed) == fixed
        ipc = f"ipc://{tmp_path}/x.ipc"
        server.listen(ipc)
        assert bound_address(server, ipc) == ipc
        server.listen("inproc://bound-address-test")
        assert bound_address(server, "inproc://bound-address-test") == "inproc://bound-address-test"


@pytest.mark.anyio
async def test_axon_on_port_zero_reports_the_port_it_listens_on() -> None:
    """The axon resolves its address with the same helper: its address and info name a port a dendrite reaches."""
    async with Axon(BOB, "tcp://127.0.0.1:0").attach(double) as ax, Dendrite(ALICE) as d:
        assert not ax.address.endswith(":0")
        assert ax.info().port == int(ax.address.rpartition(":")[2])
        assert (await d(ax.info(), Dummy(input=4), timeout=5)).output == 8
