"""Addresses a node announces (its feed, its actors' channel), made dialable by a client on another machine."""

from __future__ import annotations

__all__ = ["dialable", "unspecified_host"]

WILDCARD_HOSTS = frozenset({"0.0.0.0", "*", "", "[::]"})
"""Hosts that mean "every interface" to a listener: no one can dial them."""


def unspecified_host(host: str) -> bool:
    """Whether ``host`` names no machine a client could dial: a wildcard, "every interface" to a listener (0.0.0.0,
    ::, and their other spellings; ``*``, ``0`` and an empty host too)."""
    import ipaddress

    if host in ("", "*", "0"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


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
