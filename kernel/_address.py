"""Addresses a node announces (its feed, its actors' channel), made dialable by a client on another machine."""

from __future__ import annotations

__all__ = ["dialable"]

WILDCARD_HOSTS = frozenset({"0.0.0.0", "*", "", "[::]"})
"""Hosts that mean "every interface" to a listener: no one can dial them."""


def dialable(address: str, endpoint: str) -> str:
    """``address`` with a wildcard host (a node listening on every interface) replaced by ``endpoint``'s host: the
    host the client dialled to reach that node."""
    scheme, sep, rest = address.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or not colon or host not in WILDCARD_HOSTS:
        return address
    ep_rest = endpoint.partition("://")[2]
    ep_host = ep_rest.rpartition(":")[0] or "127.0.0.1"
    return f"{scheme}://{ep_host}:{port}"
