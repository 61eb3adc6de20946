"""AxonInfo: where an axon listens and whose it is, as the chain records it for a neuron."""

from __future__ import annotations

import functools
from typing import Any, Self

import attrs

from taonet.ledger import ss58_decode, ss58_encode

__all__ = ["AxonInfo", "public_key_of", "ss58_of"]


@functools.lru_cache(maxsize=1 << 14)
def public_key_of(ss58: str) -> bytes:
    """The 32-byte public key of an SS58 address (cached: the wire needs it on every request)."""
    return ss58_decode(ss58)


@functools.lru_cache(maxsize=1 << 14)
def ss58_of(public_key: bytes) -> str:
    """The SS58 address of a 32-byte public key (cached: the wire needs it on every request)."""
    return ss58_encode(public_key)


@attrs.frozen(kw_only=True)
class AxonInfo:
    """An axon's endpoint and keys: (ip, port, protocol, hotkey, coldkey, version), with SS58 addresses.

    ``url`` is an explicit nng address for axons that are not on TCP (``ipc://...``, ``inproc://...``); the chain
    never records it. Otherwise the axon is reached at ``tcp://ip:port``.
    """

    ip: str
    port: int
    hotkey: str
    coldkey: str = ""
    protocol: int = 4
    version: int = 0
    url: str | None = None

    @property
    def is_serving(self) -> bool:
        """True when the axon has a reachable address (bittensor: the ip is not 0.0.0.0)."""
        if self.url:
            return True
        return self.ip not in ("", "0.0.0.0", "::") and 0 < self.port < 65536

    @property
    def address(self) -> str:
        """The nng address a dendrite dials."""
        if self.url:
            return self.url
        if ":" in self.ip:  # IPv6 (host names and IPv4 addresses have no colon)
            return f"tcp://[{self.ip}]:{self.port}"
        return f"tcp://{self.ip}:{self.port}"

    def ip_str(self) -> str:
        """The address as the Bittensor SDK writes it: ``/ipv4/1.2.3.4:8091`` (``/ipv6/...`` for IPv6; the nng
        ``url`` of an axon that is not on TCP)."""
        if self.url:
            return self.url
        return f"/ipv{6 if ':' in self.ip else 4}/{self.ip}:{self.port}"

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key of the axon's hotkey."""
        return public_key_of(self.hotkey)

    @classmethod
    def from_neuron(cls, neuron: Any) -> Self:
        """The AxonInfo of a chain neuron (``taonet.ledger.Neuron``); not serving when it never served an axon."""
        axon = neuron.axon
        hotkey, coldkey = ss58_of(neuron.hotkey), ss58_of(neuron.coldkey)
        if axon is None:
            return cls(ip="0.0.0.0", port=0, hotkey=hotkey, coldkey=coldkey)
        return cls(ip=axon.ip, port=axon.port, protocol=axon.protocol, version=axon.version, hotkey=hotkey,
                   coldkey=coldkey)

    def __str__(self) -> str:
        return f"AxonInfo({self.address}, {self.hotkey})"
