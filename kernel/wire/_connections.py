"""How many connections a listening nng socket keeps: in all, and from one remote address.

A socket given a :class:`ConnectionLimit` (:func:`limit_connections`, before it listens) closes a new connection at
once when the socket already holds ``total`` connections, or when the connection's remote address already holds
``per_address`` of them; the dialer retries later, as nng dialers do. The check runs in nng's pipe callback (an nng
thread, before the pipe joins the socket), so a refusal costs a dict lookup and a close under the interpreter lock: it
never waits for, nor wakes, the event loop that receives requests or seals blocks.

What "one address" is: an IPv4 address (an IPv4-mapped IPv6 address counts as its IPv4 address); for IPv6, the
address's /64 prefix (one host is usually given a whole /64, so counting single IPv6 addresses would bound nothing).
Connections that have no IP address (ipc, inproc) count only toward ``total``.
"""

from __future__ import annotations

import socket
import threading
from typing import Any, Final, final

import pynng
from pynng import ffi, lib

__all__ = ["MAX_CONNECTIONS", "MAX_CONNECTIONS_PER_ADDRESS", "ConnectionLimit", "address_of", "limit_connections"]

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

_V4_MAPPED: Final = b"\x00" * 10 + b"\xff\xff"
_ABSENT: Final[Any] = object()


def address_of(pipe: Any) -> str | None:
    """The remote address ``pipe`` counts under (see the module docs), or None if it has no IP address."""
    sa = ffi.new("nng_sockaddr *")
    if lib.nng_pipe_get_addr(pipe, b"remote-address", sa) != 0:
        return None
    family = sa.s_family
    if family == lib.NNG_AF_INET:
        return socket.inet_ntop(socket.AF_INET, ffi.buffer(ffi.addressof(sa.s_in, "sa_addr"), 4)[:])
    if family == lib.NNG_AF_INET6:
        raw = ffi.buffer(sa.s_in6.sa_addr, 16)[:]
        if raw[:12] == _V4_MAPPED:
            return socket.inet_ntop(socket.AF_INET, raw[12:])
        return socket.inet_ntop(socket.AF_INET6, raw[:8] + bytes(8)) + "/64"
    return None


@final
class ConnectionLimit:
    """The connections of one listening socket: at most ``total`` at once, and at most ``per_address`` from one
    remote address; counts what it refused. Its tables hold only open connections (an address whose count drops to
    0 is removed), so they never hold more than ``total`` entries.

    :meth:`admit` and :meth:`release` run in nng's pipe callbacks (pynng calls them one at a time for a socket);
    the figures may be read from any thread.
    """

    __slots__ = ("_by_address", "_by_pipe", "_lock", "per_address", "refused", "refused_per_address", "total")

    def __init__(self, total: int = MAX_CONNECTIONS, per_address: int = MAX_CONNECTIONS_PER_ADDRESS) -> None:
        if total < 1 or per_address < 1:
            raise ValueError(f"connection bounds must be at least 1 (total {total}, per address {per_address})")
        self.total = total
        self.per_address = per_address
        self.refused = 0
        """Connections closed as they came, for either bound."""
        self.refused_per_address = 0
        """Of :attr:`refused`, those closed because their address held its share already."""
        self._by_pipe: dict[int, str | None] = {}  # pipe id -> its address, for every connection admitted
        self._by_address: dict[str, int] = {}  # address -> its open connections (> 0)
        self._lock = threading.Lock()

    @property
    def connections(self) -> int:
        """Connections admitted and still open."""
        return len(self._by_pipe)

    @property
    def addresses(self) -> int:
        """Remote addresses holding at least one connection."""
        return len(self._by_address)

    def held_by(self, address: str) -> int:
        """Connections ``address`` (as :func:`address_of` names it) holds now."""
        return self._by_address.get(address, 0)

    def stats(self) -> dict[str, int]:
        """The figures: open connections, addresses, refusals (in all and for the per-address share)."""
        return {"connections": self.connections, "addresses": self.addresses,
                "connections_refused": self.refused, "connections_refused_per_address": self.refused_per_address}

    def take(self, pid: int, address: str | None) -> bool:
        """Count connection ``pid`` from ``address`` if both bounds allow it; whether it was (a refusal is counted)."""
        with self._lock:
            if pid in self._by_pipe:  # an id reused without our seeing its connection end: forget the old one
                self._forget(pid)
            if len(self._by_pipe) >= self.total:
                over_share = False
            elif address is not None and self._by_address.get(address, 0) >= self.per_address:
                over_share = True
            else:
                self._by_pipe[pid] = address
                if address is not None:
                    self._by_address[address] = self._by_address.get(address, 0) + 1
                return True
            self.refused += 1
            self.refused_per_address += over_share
            return False

    def forget(self, pid: int) -> None:
        """Stop counting connection ``pid`` (it has closed); nothing if it was not counted."""
        with self._lock:
            self._forget(pid)

    def admit(self, pipe: pynng.Pipe) -> None:
        """Keep ``pipe`` if both bounds allow it, else close it (an nng pre-connect callback)."""
        if not self.take(pipe.id, address_of(pipe.pipe)):
            pipe.close()

    def release(self, pipe: pynng.Pipe) -> None:
        """Forget ``pipe``, which has closed (an nng post-remove callback)."""
        self.forget(pipe.id)

    def _forget(self, pid: int) -> None:
        address = self._by_pipe.pop(pid, _ABSENT)
        if address is _ABSENT or address is None:
            return
        left = self._by_address[address] - 1
        if left:
            self._by_address[address] = left
        else:
            del self._by_address[address]


def limit_connections(sock: pynng.Socket, limit: int = MAX_CONNECTIONS,
                      per_address: int = MAX_CONNECTIONS_PER_ADDRESS) -> ConnectionLimit:
    """Make ``sock`` close each connection beyond ``limit`` in all, or beyond ``per_address`` from one remote
    address, as it comes (call before it listens); the :class:`ConnectionLimit` returned keeps the figures."""
    bound = ConnectionLimit(limit, per_address)
    sock.add_pre_pipe_connect_cb(bound.admit)
    sock.add_post_pipe_remove_cb(bound.release)
    return bound
