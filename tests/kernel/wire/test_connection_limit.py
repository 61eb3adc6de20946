"""ConnectionLimit, the per-socket connection table: its counting against a model under any order of connections
opening and closing (hypothesis), the address and network a real connection counts under (IPv4 address and /24;
IPv6 /64 and /48), the bounds a user may give (connection_bounds), and a real network held to its share."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable

import pynng
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.kernel.wire import ConnectionLimit, connection_bounds, limit_connections
from taonet.kernel.wire._connections import names_of

# (address, network) as address_of/network_of name them; (None, None): a connection without an IP address
REMOTES = [("10.0.0.1", "10.0.0.0/24"), ("10.0.0.2", "10.0.0.0/24"), ("10.0.0.3", "10.0.0.0/24"),
           ("10.0.1.1", "10.0.1.0/24"), ("2001:db8:0:1::/64", "2001:db8::/48"), ("2001:db8:0:2::/64", "2001:db8::/48"),
           ("2001:db9::/64", "2001:db9::/48"), (None, None)]

steps = st.lists(st.one_of(st.tuples(st.just("open"), st.integers(0, 40), st.sampled_from(REMOTES)),
                           st.tuples(st.just("close"), st.integers(0, 40), st.none())), max_size=300)


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        if v is not None:
            out[v] = out.get(v, 0) + 1
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.one_of(st.none(), st.integers(1, 12)), steps)
def test_the_table_admits_exactly_what_every_bound_allows_and_forgets_addresses_and_networks_at_zero(
        total: int, per_address: int, per_network: int | None,
        ops: list[tuple[str, int, tuple[str | None, str | None] | None]]) -> None:
    """Any sequence of connections opening (a pipe id from an address of a network) and closing: a connection is
    admitted exactly when the socket holds fewer than ``total``, its address fewer than ``per_address`` and its
    network fewer than ``per_network`` (default 4 x ``per_address``, at most ``total``); refusals are counted by
    cause (total first, then the address's share, then the network's); the tables hold only addresses and networks
    with open connections, never more entries than ``total``."""
    limit = ConnectionLimit(total, per_address, per_network)
    net_bound = min(4 * per_address, total) if per_network is None else per_network
    assert limit.per_network == net_bound
    open_: dict[int, tuple[str | None, str | None]] = {}  # the model: admitted pipe id -> (address, network)
    refused = refused_address = refused_network = 0
    for op, pid, remote in ops:
        if op == "close":
            limit.forget(pid)
            open_.pop(pid, None)
            continue
        assert remote is not None
        address, network = remote
        open_.pop(pid, None)  # nng reuses an id only after its connection ended
        by_address = _counts(a for a, _ in open_.values())
        by_network = _counts(n for _, n in open_.values())
        room = len(open_) < total
        address_room = address is None or by_address.get(address, 0) < per_address
        network_room = network is None or by_network.get(network, 0) < net_bound
        expect = room and address_room and network_room
        assert limit.take(pid, address, network) is expect
        if expect:
            open_[pid] = remote
        else:
            refused += 1
            refused_address += room and not address_room
            refused_network += room and address_room and not network_room
        by_address = _counts(a for a, _ in open_.values())
        by_network = _counts(n for _, n in open_.values())
        assert limit.connections == len(open_) <= total
        assert limit.addresses == len(by_address) <= total
        assert limit.networks == len(by_network) <= total
        assert all(limit.held_by(a) == n <= per_address for a, n in by_address.items())
        assert all(limit.held_by_network(k) == n <= net_bound for k, n in by_network.items())
        assert (limit.refused, limit.refused_per_address, limit.refused_per_network) == (
            refused, refused_address, refused_network)
    for pid in list(open_):
        limit.forget(pid)
    assert limit.connections == limit.addresses == limit.networks == 0


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_an_address_counts_under_its_ipv4_address_and_24_or_its_ipv6_64_and_48(
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Any IP address: an IPv4 one (also written IPv4-mapped in IPv6) counts as itself and its /24; an IPv6 one as
    its /64 and its /48, written as ``ipaddress`` writes those networks."""
    address, network = names_of(ip.packed)
    v4 = ip if ip.version == 4 else ip.ipv4_mapped
    if v4 is not None:
        assert (address, network) == (str(v4), str(ipaddress.ip_network(f"{v4}/24", strict=False)))
        assert names_of(ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + v4.packed).packed) == (address, network)
    else:
        assert (address, network) == (str(ipaddress.ip_network(f"{ip}/64", strict=False)),
                                      str(ipaddress.ip_network(f"{ip}/48", strict=False)))


def test_bounds_below_one_are_refused_with_a_message() -> None:
    """A bound of 0 would refuse every connection: it is a configuration error, said as such."""
    with pytest.raises(ValueError, match="at least 1"):
        ConnectionLimit(16, 0)


@pytest.mark.parametrize(("listen", "dial", "counted_as", "network"), [
    ("tcp://127.0.0.1:0", "tcp://127.0.0.2;127.0.0.1:{port}", "127.0.0.2", "127.0.0.0/24"),
    ("tcp6://[::1]:0", "tcp6://[::1]:{port}", "::/64", "::/48"),
    ("tcp://[::]:0", "tcp://127.0.0.2;127.0.0.1:{port}", "127.0.0.2", "127.0.0.0/24"),  # dual stack: ::ffff:127.0.0.2
])
def test_a_real_connection_counts_under_its_remote_address(listen: str, dial: str, counted_as: str,
                                                           network: str) -> None:
    """A connection from 127.0.0.2 counts under 127.0.0.2 and its /24 (also on an IPv6 socket, which sees it as an
    IPv4-mapped address); one from ::1 under its /64 and /48 prefixes; when it closes, it leaves the tables."""
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
            assert limit.held_by_network(network) == 2 and limit.networks == 1
        finally:
            for client in clients:
                client.close()
        deadline = time.monotonic() + 5
        while limit.connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert limit.connections == limit.addresses == limit.networks == 0


def _wait(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_network_dialing_from_many_addresses_is_held_to_its_share_while_another_network_is_served() -> None:
    """Twelve dialers from four addresses of 127.0.0.0/24 (3 each, 2 allowed an address) hold only the network's
    share, 4 of them, the rest refused for the network (none for the total, 16); a dialer from 127.0.1.1, another
    /24, is admitted and answered meanwhile."""
    with pynng.Rep0(recv_timeout=5000, send_timeout=5000) as server:
        limit = limit_connections(server, 16, 2, 4)
        server.listen("tcp://127.0.0.1:0")
        port = socket.ntohs(server.listeners[-1].local_address.port)
        crowd = [pynng.Req0() for _ in range(12)]
        try:
            for n, client in enumerate(crowd):
                client.dial(f"tcp://127.0.0.{2 + n % 4};127.0.0.1:{port}", block=False)
            _wait(lambda: limit.held_by_network("127.0.0.0/24") == 4 and limit.refused_per_network >= 4)
            assert limit.held_by_network("127.0.0.0/24") == 4 and limit.refused_per_network >= 4
            assert all(limit.held_by(f"127.0.0.{k}") <= 2 for k in range(2, 6))
            with pynng.Req0(recv_timeout=5000, send_timeout=5000) as other:
                other.dial(f"tcp://127.0.1.1;127.0.0.1:{port}", block=True)
                other.send(b"ping")
                assert server.recv() == b"ping"
                server.send(b"pong")
                assert other.recv() == b"pong"
                assert limit.held_by_network("127.0.1.0/24") == 1 and limit.held_by("127.0.1.1") == 1
            assert limit.connections <= 5 and limit.held_by_network("127.0.0.0/24") == 4
            assert limit.refused == limit.refused_per_address + limit.refused_per_network  # none for the total
        finally:
            for client in crowd:
                client.close()
        _wait(lambda: limit.connections == 0)
        assert limit.connections == limit.networks == 0


@pytest.mark.parametrize(("given", "expected"), [
    ((None, None, None), (4096, 512, 2048)),
    ((100, None, None), (100, 100, 100)),
    ((4096, 8, None), (4096, 8, 32)),
    ((64, 8, 8), (64, 8, 8)),
    ((None, 4096, 4096), (4096, 4096, 4096)),  # behind a proxy: every client is one address
    ((None, 4096, None), (4096, 4096, 4096)),  # the network's share follows
    ((None, None, 100), (4096, 100, 100)),  # the address's share follows its network's
])
def test_connection_bounds_fill_in_defaults_below_what_was_given(
        given: tuple[int | None, int | None, int | None], expected: tuple[int, int, int]) -> None:
    """What a user leaves out follows what they gave: a total of 100 takes every share down to 100; a per-address
    share of 8 gives its network 32; a network's share of 100 takes the address's down to 100."""
    assert connection_bounds(*given) == expected


@pytest.mark.parametrize(("given", "says"), [
    ((0, None, None), "max_connections must be at least 1, not 0"),
    ((None, -1, None), "max_connections_per_address must be at least 1, not -1"),
    ((None, None, 0), "max_connections_per_network must be at least 1, not 0"),
    ((100, 200, None), r"max_connections_per_address \(200\) is above max_connections \(100\)"),
    ((100, 10, 200), r"max_connections_per_network \(200\) is above max_connections \(100\)"),
    ((None, 64, 32), r"max_connections_per_network \(32\) is below max_connections_per_address \(64\)"),
])
def test_connection_bounds_refuse_a_bound_that_would_refuse_everything_or_mean_nothing(
        given: tuple[int | None, int | None, int | None], says: str) -> None:
    """0 or less, a share above the total, or a network's share below its address's: a ValueError naming it."""
    with pytest.raises(ValueError, match=says):
        connection_bounds(*given)
