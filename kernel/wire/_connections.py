"""How many connections a listening nng socket keeps: in all, and from one remote address.

A socket given a :class:`ConnectionLimit` (:func:`limit_connections`, before it listens) closes a new connection at
once when the socket already holds ``total`` connections, when the connection's remote address already holds
``per_address`` of them, or when the address's network already holds ``per_network``; the dialer retries later, as
nng dialers do. The check runs in nng's pipe callback (an nng
thread, before the pipe joins the socket), so a refusal costs a dict lookup and a close under the interpreter lock: it
never waits for, nor wakes, the event loop that receives requests or seals blocks. Sockets may also share a
:class:`PendingBudget`, the bytes their connections may hold in unfinished messages in all (a neuron host's axons):
a connection the bounds admit is closed as well when its socket's receive limit does not fit what is left of it.

What "one address" is: an IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4 address); for IPv6, the
address's /64 prefix (one host is usually given a whole /64, so counting single IPv6 addresses would bound nothing).
What "one network" is: an IPv6 /48 (one site: it holds 65,536 /64s, and one is cheap to get, so a /48 alone could
otherwise fill ``total`` within its per-/64 shares) and an IPv4 /24 (the smallest block routed between networks, as a
hosting provider hands out neighbouring addresses: eight IPv4 addresses would otherwise fill ``total``). Loopback is
not special: 127.0.0.1 and 127.0.0.2 are two addresses of one /24, ::1 is one /64 of ::/48. Connections that have no
IP address (ipc, inproc) count only toward ``total``.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any, Final, final

import pynng
from pynng import ffi, lib

from ._pipes import OpenPipes

__all__ = ["MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_ADDRESS", "NETWORK_SHARES", "PENDING_NETWORK_PART",
           "ConnectionLimit", "PendingBudget", "address_of", "address_source", "connection_bounds", "limit_connections",
           "names_of", "network_of"]

MAX_CONNECTIONS: Final = 4096
"""Connections a listening socket (the node's RPC and feed, an axon) accepts at once; one more is closed as it
comes (its dialer retries later). Each costs a file descriptor and nng's buffers: without a bound, a crowd holding
connections open could use up the process's descriptors, and a node that cannot open a file cannot store a block.
4096 is room for every neuron host of a large localnet (a host shares one client among 8 neurons)."""

MAX_CONNECTIONS_PER_ADDRESS: Final = 512
"""Connections one remote address (an IPv4 address, an IPv6 /64) may hold on a listening socket at once: an eighth of
:data:`MAX_CONNECTIONS`, so one host cannot shut every other new client out. A localnet dials everything from
127.0.0.1; measured with 64 miners and 8 validators in one process each (73 processes with the launcher), the node's
RPC and its feed held 73 connections each (one per process; sampled each second from the start, never more) and a
miner's axon 8 (one per validator): 512 is seven times the node's figure, room for a localnet of ~500 processes."""

NETWORK_SHARES: Final = 4
"""A network (IPv6 /48, IPv4 /24) may hold this many addresses' shares at once by default (``per_network`` defaults to
``NETWORK_SHARES * per_address``, at most ``total``): 2,048 of the default 4,096, so one site takes at most half of a
socket's connections however many addresses it dials from, and four busy hosts of one site are not refused."""

PENDING_NETWORK_PART: Final = 0.75
"""The part of a :class:`PendingBudget` one remote network (an IPv4 /24, an IPv6 /48; so also one address, which lies
in its network) may hold: a crowd from one network cannot take all of it, and a localnet, which dials every axon
from 127.0.0.1, has room (64 miners and 8 validators in one host: 512 connections, 2,080 MiB at 4 MiB requests, of
the 3,072 MiB a host's default 4,096 MiB leaves it)."""

_V4_MAPPED: Final = b"\x00" * 10 + b"\xff\xff"


def _remote(pipe: Any) -> tuple[str | None, str | None]:
    """The (address, network) ``pipe`` counts under (see the module docs), or (None, None) without an IP address."""
    sa = ffi.new("nng_sockaddr *")
    if lib.nng_pipe_get_addr(pipe, b"remote-address", sa) != 0:
        return None, None
    family = sa.s_family
    if family == lib.NNG_AF_INET:
        return names_of(ffi.buffer(ffi.addressof(sa.s_in, "sa_addr"), 4)[:])
    if family == lib.NNG_AF_INET6:
        return names_of(ffi.buffer(sa.s_in6.sa_addr, 16)[:])
    return None, None


def names_of(raw: bytes) -> tuple[str, str]:
    """The (address, network) an IP address (4 or 16 bytes, network order) counts under: an IPv4 address and its
    /24; an IPv6 address's /64 and /48 (an IPv4-mapped one as its IPv4 address)."""
    if len(raw) == 16 and raw[:12] != _V4_MAPPED:
        return (socket.inet_ntop(socket.AF_INET6, raw[:8] + bytes(8)) + "/64",
                socket.inet_ntop(socket.AF_INET6, raw[:6] + bytes(10)) + "/48")
    raw = raw[-4:]
    return socket.inet_ntop(socket.AF_INET, raw), socket.inet_ntop(socket.AF_INET, raw[:3] + b"\0") + "/24"


def address_source(ip: str | None) -> str:
    """The address a caller known by its IP text counts under, as :func:`names_of` names it (an IPv4 address, an
    IPv6 /64; an IPv4-mapped one as its IPv4 address); what is not an IP address (none, an ipc path) as itself."""
    try:
        packed = ipaddress.ip_address(ip or "").packed
    except ValueError:
        return ip or ""
    return names_of(packed)[0]


def address_of(pipe: Any) -> str | None:
    """The remote address ``pipe`` counts under (see the module docs), or None if it has no IP address."""
    return _remote(pipe)[0]


def network_of(pipe: Any) -> str | None:
    """The remote network ``pipe`` counts under (an IPv4 /24, an IPv6 /48), or None if it has no IP address."""
    return _remote(pipe)[1]


def connection_bounds(total: int | None = None, per_address: int | None = None,
                      per_network: int | None = None) -> tuple[int, int, int]:
    """The bounds a user asked for, checked, with what was not given filled in: ``total`` :data:`MAX_CONNECTIONS`,
    ``per_address`` :data:`MAX_CONNECTIONS_PER_ADDRESS` (at most ``total`` and ``per_network``), ``per_network``
    :data:`NETWORK_SHARES` times ``per_address`` (at most ``total``); ValueError naming the setting and the fix for a
    bound below 1, a share above ``total``, or a network's share below its address's (both given)."""
    for name, value in (("max_connections", total), ("max_connections_per_address", per_address),
                        ("max_connections_per_network", per_network)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, not {value} (a bound of 0 refuses every connection)")
    total = MAX_CONNECTIONS if total is None else total
    if per_address is not None and per_address > total:
        raise ValueError(f"max_connections_per_address ({per_address}) is above max_connections ({total}): raise "
                         "max_connections, or lower the share")
    if per_network is not None and per_network > total:
        raise ValueError(f"max_connections_per_network ({per_network}) is above max_connections ({total}): raise "
                         "max_connections, or lower the share")
    if per_address is None:
        per_address = min(MAX_CONNECTIONS_PER_ADDRESS, total, per_network or total)
    elif per_network is not None and per_network < per_address:
        raise ValueError(f"max_connections_per_network ({per_network}) is below max_connections_per_address "
                         f"({per_address}): a network holds at least one address's share; raise it, or lower the "
                         "address's")
    return total, per_address, min(NETWORK_SHARES * per_address, total) if per_network is None else per_network


@final
class PendingBudget:
    """Bytes that the connections of several listening sockets (the axons of one process: a neuron host's) may hold
    in unfinished messages, in all: each socket reserves its receive limit for every connection it admits and gives
    it back when the connection closes; a connection whose reservation does not fit is closed as it comes. One remote
    network (so also one address) may hold at most :data:`PENDING_NETWORK_PART` of it; connections without an IP
    address count only toward the whole.

    :meth:`reserve` and :meth:`give_back` run in nng's pipe callbacks, on nng's threads (several sockets' at once),
    under a lock of its own; the figures may be read from any thread.
    """

    __slots__ = ("_by_network", "_lock", "connections", "held", "per_network", "refused", "refused_per_network",
                 "total")

    def __init__(self, mb: int) -> None:
        if mb < 1:
            raise ValueError(f"a pending budget must be at least 1 MiB, not {mb}")
        self.total = mb << 20
        """Bytes the connections may hold in all."""
        self.per_network = int(self.total * PENDING_NETWORK_PART)
        """Bytes one remote network's connections may hold."""
        self.held = 0
        """Bytes reserved by the connections open now."""
        self.connections = 0
        """Connections holding a reservation now."""
        self.refused = 0
        """Connections closed as they came because their reservation did not fit (in all, or their network's part)."""
        self.refused_per_network = 0
        """Of :attr:`refused`, those whose network held its part already (the whole had room)."""
        self._by_network: dict[str, int] = {}  # network -> bytes its open connections reserve (> 0)
        self._lock = threading.Lock()

    @property
    def mb(self) -> int:
        """The budget, in MiB."""
        return self.total >> 20

    def held_by_network(self, network: str) -> int:
        """Bytes ``network`` (as :func:`network_of` names it) holds now."""
        return self._by_network.get(network, 0)

    def reserve(self, nbytes: int, network: str | None) -> bool:
        """Reserve ``nbytes`` for one connection from ``network`` (None: no IP address) if the whole and the
        network's part have room; whether it did (a refusal is counted)."""
        with self._lock:
            if self.held + nbytes > self.total:
                self.refused += 1
                return False
            if network is not None:
                mine = self._by_network.get(network, 0) + nbytes
                if mine > self.per_network:
                    self.refused += 1
                    self.refused_per_network += 1
                    return False
                self._by_network[network] = mine
            self.held += nbytes
            self.connections += 1
            return True

    def give_back(self, nbytes: int, network: str | None) -> None:
        """Give back what :meth:`reserve` took for a connection that has closed."""
        with self._lock:
            self.held -= nbytes
            self.connections -= 1
            if network is not None:
                left = self._by_network.get(network, 0) - nbytes
                if left > 0:
                    self._by_network[network] = left
                else:
                    self._by_network.pop(network, None)

    def stats(self) -> dict[str, int]:
        """The figures: the budget and the bytes held, in bytes; connections holding them; refusals (in all, and for
        a network's part)."""
        return {"pending_budget": self.total, "pending_held": self.held, "pending_connections": self.connections,
                "pending_refused": self.refused, "pending_refused_per_network": self.refused_per_network}


@final
class ConnectionLimit:
    """The connections of one listening socket: at most ``total`` at once, at most ``per_address`` from one remote
    address and at most ``per_network`` from one network (None: :data:`NETWORK_SHARES` x ``per_address``, at most
    ``total``); counts what it refused, by cause. Its tables hold only open connections (an address or network whose
    count drops to 0 is removed), so they never hold more than ``total`` entries. Given a :class:`PendingBudget`
    shared with other sockets, it reserves ``cost`` bytes of it for each connection it would admit, and closes the
    connection if they do not fit.

    :meth:`admit` and :meth:`release` run in nng's pipe callbacks (pynng calls them one at a time for a socket);
    the figures may be read from any thread.
    """

    __slots__ = ("_by_address", "_by_network", "_by_pipe", "_cost", "_lock", "_pending", "per_address", "per_network",
                 "refused", "refused_pending", "refused_per_address", "refused_per_network", "total")

    def __init__(self, total: int = MAX_CONNECTIONS, per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
                 per_network: int | None = None, *, pending: PendingBudget | None = None, cost: int = 0) -> None:
        if total < 1 or per_address < 1 or (per_network is not None and per_network < 1):
            raise ValueError(f"connection bounds must be at least 1 (total {total}, per address {per_address}, "
                             f"per network {per_network})")
        if pending is not None and not 0 < cost <= pending.total:
            raise ValueError(f"a connection's reservation of {cost} bytes does not fit a pending budget of "
                             f"{pending.total} bytes")
        self._pending = pending
        self._cost = cost
        self.total = total
        self.per_address = per_address
        self.per_network = min(NETWORK_SHARES * per_address, total) if per_network is None else per_network
        self.refused = 0
        """Connections closed as they came, for any bound."""
        self.refused_per_address = 0
        """Of :attr:`refused`, those closed because their address held its share already."""
        self.refused_per_network = 0
        """Of :attr:`refused`, those closed because their network held its share already (their address did not)."""
        self.refused_pending = 0
        """Of :attr:`refused`, those closed because the shared :class:`PendingBudget` had no room (these bounds did)."""
        self._by_pipe: dict[int, tuple[str | None, str | None]] = {}  # pipe id -> (address, network), if admitted
        self._by_address: dict[str, int] = {}  # address -> its open connections (> 0)
        self._by_network: dict[str, int] = {}  # network -> its open connections (> 0)
        self._lock = threading.Lock()

    @property
    def connections(self) -> int:
        """Connections admitted and still open."""
        return len(self._by_pipe)

    @property
    def addresses(self) -> int:
        """Remote addresses holding at least one connection."""
        return len(self._by_address)

    @property
    def networks(self) -> int:
        """Remote networks holding at least one connection."""
        return len(self._by_network)

    def held_by(self, address: str) -> int:
        """Connections ``address`` (as :func:`address_of` names it) holds now."""
        return self._by_address.get(address, 0)

    def held_by_network(self, network: str) -> int:
        """Connections ``network`` (as :func:`network_of` names it) holds now."""
        return self._by_network.get(network, 0)

    def holds(self, pid: int) -> bool:
        """Whether connection ``pid`` is open (admitted, and not closed since)."""
        return pid in self._by_pipe

    def address_of(self, pid: int) -> str | None:
        """The remote address of open connection ``pid`` (None for ipc and inproc, or once it has closed)."""
        keys = self._by_pipe.get(pid)
        return None if keys is None else keys[0]

    def stats(self) -> dict[str, int]:
        """The figures: open connections, addresses, networks, refusals (in all, for each share, and, given a shared
        pending budget, for it)."""
        out = {"connections": self.connections, "addresses": self.addresses, "networks": self.networks,
               "connections_refused": self.refused, "connections_refused_per_address": self.refused_per_address,
               "connections_refused_per_network": self.refused_per_network}
        if self._pending is not None:
            out["connections_refused_pending"] = self.refused_pending
        return out

    def take(self, pid: int, address: str | None, network: str | None = None) -> bool:
        """Count connection ``pid`` from ``address`` in ``network`` if every bound allows it; whether it was (a
        refusal is counted by cause)."""
        with self._lock:
            if pid in self._by_pipe:  # an id reused without our seeing its connection end: forget the old one
                self._forget(pid)
            if len(self._by_pipe) >= self.total:
                pass
            elif address is not None and self._by_address.get(address, 0) >= self.per_address:
                self.refused_per_address += 1
            elif network is not None and self._by_network.get(network, 0) >= self.per_network:
                self.refused_per_network += 1
            elif self._pending is not None and not self._pending.reserve(self._cost, network):
                self.refused_pending += 1
            else:
                self._by_pipe[pid] = (address, network)
                if address is not None:
                    self._by_address[address] = self._by_address.get(address, 0) + 1
                if network is not None:
                    self._by_network[network] = self._by_network.get(network, 0) + 1
                return True
            self.refused += 1
            return False

    def forget(self, pid: int) -> None:
        """Stop counting connection ``pid`` (it has closed); nothing if it was not counted."""
        with self._lock:
            self._forget(pid)

    def admit(self, pipe: pynng.Pipe) -> None:
        """Keep ``pipe`` if every bound allows it, else close it (an nng pre-connect callback)."""
        if not self.take(pipe.id, *_remote(pipe.pipe)):
            pipe.close()

    def release(self, pipe: pynng.Pipe) -> None:
        """Forget ``pipe``, which has closed (an nng post-remove callback)."""
        self.forget(pipe.id)

    def _forget(self, pid: int) -> None:
        keys = self._by_pipe.pop(pid, None)
        if keys is None:
            return
        if self._pending is not None:
            self._pending.give_back(self._cost, keys[1])
        for key, table in zip(keys, (self._by_address, self._by_network), strict=True):
            if key is None:
                continue
            left = table[key] - 1
            if left:
                table[key] = left
            else:
                del table[key]


def limit_connections(sock: pynng.Socket, limit: int = MAX_CONNECTIONS,
                      per_address: int = MAX_CONNECTIONS_PER_ADDRESS,
                      per_network: int | None = None, *, pending: PendingBudget | None = None,
                      cost: int = 0) -> ConnectionLimit:
    """Make ``sock`` close each connection beyond ``limit`` in all, beyond ``per_address`` from one remote address
    or beyond ``per_network`` from one network, or whose ``cost`` bytes do not fit the shared ``pending`` budget, as it
    comes (call before it listens); the :class:`ConnectionLimit` returned keeps the figures."""
    bound = ConnectionLimit(limit, per_address, per_network, pending=pending, cost=cost)
    sock.add_pre_pipe_connect_cb(bound.admit)
    sock.add_post_pipe_remove_cb(bound.release)
    OpenPipes(sock)  # drops the ghosts nng's out-of-order events leave in pynng's table (bounded under churn)
    return bound
