"""Typed read results of the SDK's v10 names: NeuronInfo (``neurons``, ``neurons_lite``,
``get_neuron_for_pubkey_and_subnet``) and DelegateInfo (``get_delegates``).

Neurons are unpacked from the node's ``metagraph`` payload with :mod:`struct` (no numpy), so a script or a command
that lists neurons stays light.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, TypeVar

import attrs

from taonet.ledger import ss58_encode

from ..wire import AxonInfo
from ._balance import Balance

__all__ = ["DelegateInfo", "NeuronInfo", "NeuronReply", "neuron_from_payload", "neurons_from_payload"]

U16 = 0xFFFF
N = TypeVar("N", bound="NeuronInfo")


@attrs.frozen(kw_only=True)
class NeuronInfo:
    """One neuron of a subnet at a block, as the SDK's NeuronInfo: keys as SS58, scores in [0, 1], amounts as
    :class:`Balance` (``emission`` is what the last epoch paid it), ``weights``/``bonds`` as ``[(uid, u16)]``
    (empty in a lite neuron)."""

    netuid: int
    uid: int
    hotkey: str
    coldkey: str
    stake: Balance
    rank: float
    trust: float
    consensus: float
    incentive: float
    dividends: float
    validator_trust: float
    emission: Balance
    validator_permit: bool
    active: bool
    last_update: int
    block_at_registration: int
    axon_info: AxonInfo
    weights: tuple[tuple[int, int], ...] = ()
    bonds: tuple[tuple[int, int], ...] = ()
    block: int = 0

    @property
    def total_stake(self) -> Balance:
        """The stake on this hotkey (stake is per hotkey, so the same as ``stake``)."""
        return self.stake

    @property
    def is_null(self) -> bool:
        """Always False: a missing neuron is None here, not a null NeuronInfo."""
        return False

    @property
    def blocks_since_update(self) -> int:
        """Blocks since this neuron last set weights (or registered)."""
        return self.block - self.last_update


@attrs.frozen(kw_only=True)
class DelegateInfo:
    """A delegate: its hotkey, its owner's coldkey, the take it keeps (a fraction), the stake on it, and how many
    coldkeys stake on it."""

    hotkey_ss58: str
    owner_ss58: str
    take: float
    total_stake: Balance
    nominators: int


def _unpack(fmt: str, raw: bytes) -> tuple[Any, ...]:
    return struct.unpack(f"<{len(raw) // struct.calcsize(fmt)}{fmt}", raw)


def neurons_from_payload(p: dict[str, Any]) -> list[NeuronInfo]:
    """Every neuron of a ``metagraph`` RPC payload (with weights and bonds when the payload has them)."""
    return _neurons(p, range(p["n"]), NeuronInfo)


def neuron_from_payload(p: dict[str, Any], uid: int) -> NeuronReply:
    """UID ``uid`` of a ``metagraph`` RPC payload, as :meth:`Subtensor.neuron` returns it."""
    return _neurons(p, [uid], NeuronReply)[0]


_COLUMNS = (("stake", "Q"), ("emission", "Q"), ("permit", "B"), ("active", "B"), ("last_update", "Q"),
            ("registered_at", "Q"), *((k, "H") for k in ("rank", "trust", "consensus", "incentive", "dividends",
                                                         "vtrust")))
"""The payload's packed per-UID columns and their struct formats."""


def _neurons(p: dict[str, Any], uids: Sequence[int], cls: type[N]) -> list[N]:
    """The neurons ``uids`` of payload ``p`` as ``cls`` (a :class:`NeuronReply` with the node's old map too)."""
    n, netuid, block = p["n"], p["netuid"], p["block"]
    c = {k: _unpack(fmt, p[k]) for k, fmt in _COLUMNS}  # each column at once: microseconds at 1,024 UIDs
    every = len(uids) == n
    sparse = {k: _sparse(p.get(k), n) if every else [_sparse_row(p.get(k), i) for i in uids]
              for k in ("weights", "bonds")}
    out = []
    for j, i in enumerate(uids):
        hot_raw, cold_raw = p["hotkeys"][32 * i:32 * i + 32], p["coldkeys"][32 * i:32 * i + 32]
        hot, cold = ss58_encode(hot_raw), ss58_encode(cold_raw)
        weights, bonds = (sparse[k][i if every else j] for k in ("weights", "bonds"))
        a = p["axons"][i] or ("0.0.0.0", 0, 4, 0)
        extra: dict[str, Any] = {}
        if cls is NeuronReply:
            ax = p["axons"][i]
            extra["raw"] = {
                "netuid": netuid, "uid": i, "hotkey": hot_raw, "coldkey": cold_raw, "stake": c["stake"][i],
                "registered_at": c["registered_at"][i], "last_update": c["last_update"][i],
                "axon": None if ax is None else {"ip": ax[0], "port": ax[1], "protocol": ax[2], "version": ax[3]},
                **{k: c[k][i] for k in ("rank", "trust", "consensus", "incentive", "dividends", "vtrust")},
                "validator_permit": bool(c["permit"][i]), "emission": c["emission"][i],
                "weights": [[u for u, _ in weights], [v for _, v in weights]],
                "bonds": [[u for u, _ in bonds], [v for _, v in bonds]]}
        out.append(cls(
            netuid=netuid, uid=i, hotkey=hot, coldkey=cold, stake=Balance(c["stake"][i]),
            rank=c["rank"][i] / U16, trust=c["trust"][i] / U16, consensus=c["consensus"][i] / U16,
            incentive=c["incentive"][i] / U16, dividends=c["dividends"][i] / U16,
            validator_trust=c["vtrust"][i] / U16, emission=Balance(c["emission"][i]),
            validator_permit=bool(c["permit"][i]), active=bool(c["active"][i]), last_update=c["last_update"][i],
            block_at_registration=c["registered_at"][i],
            axon_info=AxonInfo(ip=a[0], port=a[1], protocol=a[2], version=a[3], hotkey=hot, coldkey=cold),
            weights=weights, bonds=bonds, block=block, **extra))
    return out


def _sparse(parts: list[bytes] | None, n: int) -> list[tuple[tuple[int, int], ...]]:
    if not parts:
        return [() for _ in range(n)]
    ptr, uids, vals = _unpack("I", parts[0]), _unpack("H", parts[1]), _unpack("H", parts[2])
    return [tuple(zip(uids[ptr[i]:ptr[i + 1]], vals[ptr[i]:ptr[i + 1]], strict=True)) for i in range(n)]


def _sparse_row(parts: list[bytes] | None, i: int) -> tuple[tuple[int, int], ...]:
    if not parts:
        return ()
    a, b = struct.unpack_from("<2I", parts[0], 4 * i)
    uids, vals = _unpack("H", parts[1][2 * a:2 * b]), _unpack("H", parts[2][2 * a:2 * b])
    return tuple(zip(uids, vals, strict=True))


@attrs.frozen(kw_only=True)
class NeuronReply(NeuronInfo):
    """The :class:`NeuronInfo` :meth:`Subtensor.neuron` returns; ``n["weights"]`` and ``n.get("axon")`` still read the
    node's ``neuron`` map it returned before (raw keys, u16 scores, ``weights`` as ``[uids, values]``)."""

    raw: dict[str, Any] = attrs.field(eq=False, repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``raw[key]``, else ``default``: the node's map, as ``neuron()`` returned it before."""
        return self.raw.get(key, default)
