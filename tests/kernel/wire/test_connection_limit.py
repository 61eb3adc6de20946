"""ConnectionLimit, the per-socket connection table: its counting against a model under any order of connections
opening and closing (hypothesis), and the address a real connection counts under (IPv4 address; IPv6 /64)."""

from __future__ import annotations

import socket
import time

import pynng
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.kernel.wire import ConnectionLimit, limit_connections

ADDRESSES = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::/64", None]  # None: a connection without an IP address

steps = st.lists(st.one_of(st.tuples(st.just("open"), st.integers(0, 40), st.sampled_from(ADDRESSES)),
                           st.tuples(st.just("close"), st.integers(0, 40), st.none())), max_size=300)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), steps)
def test_the_table_admits_exactly_what_both_bounds_allow_and_forgets_addresses_at_zero(
        total: int, per_address: int, ops: list[tuple[str, int, str | None]]) -> None:
    """Any sequence of connections opening (a pipe id from an address) and closing: a connection is admitted exactly
    when the socket holds fewer than ``total`` and its address fewer than ``per_address``; refusals are counted by
    cause; the per-address table holds only addresses with open connections, never more entries than ``total``."""
    limit = ConnectionLimit(total, per_address)
    open_: dict[int, str | None] = {}  # the model: admitted pipe id -> address
    refused = refused_share = 0
    for op, pid, address in ops:
        if op == "close":
            limit.forget(pid)
            open_.pop(pid, None)
            continue
        open_.pop(pid, None)  # nng reuses an id only after its connection ended
        held = sum(1 for a in open_.values() if a == address) if address is not None else 0
        expect = len(open_) < total and (address is None or held < per_address)
        assert limit.take(pid, address) is expect
        if expect:
            open_[pid] = address
        else:
            refused += 1
            refused_share += len(open_) < total
        by_address = {a: sum(1 for b in open_.values() if b == a) for a in set(open_.values()) if a is not None}
        assert limit.connections == len(open_) <= total
        assert limit.addresses == len(by_address) <= total
        assert all(limit.held_by(a) == n <= per_address for a, n in by_address.items())
        assert (limit.refused, limit.refused_per_address) == (refused, refused_share)
    for pid in list(open_):
        limit.forget(pid)
    assert limit.connections == 0 and limit.addresses == 0


def test_bounds_below_one_are_refused_with_a_message() -> None:
    """A bound of 0 would refuse every connection: it is a configuration error, said as such."""
    with pytest.raises(ValueError, match="at least 1"):
        ConnectionLimit(16, 0)


@pytest.mark.parametrize(("listen", "dial", "counted_as"), [
    ("tcp://127.0.0.1:0", "tcp://127.0.0.2;127.0.0.1:{port}", "127.0.0.2"),
    ("tcp6://[::1]:0", "tcp6://[::1]:{port}", "::/64"),
    ("tcp://[::]:0", "tcp://127.0.0.2;127.0.0.1:{port}", "127.0.0.2"),  # dual stack: ::ffff:127.0.0.2
])
def test_a_real_connection_counts_under_its_remote_address(listen: str, dial: str, counted_as: str) -> None:
    """A connection from 127.0.0.2 counts under 127.0.0.2 (also on an IPv6 socket, which sees it as an IPv4-mapped
    address); one from ::1 under its /64 prefix; when it closes, its address leaves the table."""
    if listen.startswith("tcp6") and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with pynng.Rep0() as server:
        limit = limit_connections(server, 8, 2)
        try:
            server.listen(listen)
        except pynng.NNGException as e:
            pytest.skip(f"cannot listen on {listen}: {e}")
        port = socket.ntohs(server.listeners[-1].local_address.port)
        clients = [pynng.Req0() for _ in range(3)]
        try:
            for client in clients:
                client.dial(dial.format(port=port), block=False)
            deadline = time.monotonic() + 5
            while (limit.held_by(counted_as) < 2 or limit.refused_per_address == 0) and time.monotonic() < deadline:
                time.sleep(0.01)
            if listen.startswith("tcp://[") and limit.connections == limit.refused == 0:
                pytest.skip("this machine's IPv6 sockets do not take IPv4 connections (bindv6only)")
            assert limit.held_by(counted_as) == 2 and limit.addresses == 1 and limit.refused_per_address > 0
        finally:
            for client in clients:
                client.close()
        deadline = time.monotonic() + 5
        while limit.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert limit.connections == 0 and limit.addresses == 0
