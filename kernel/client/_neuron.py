"""Typed read results of the SDK's v10 names: NeuronInfo (``neurons``, ``neurons_lite``,
``get_neuron_for_pubkey_and_subnet``) and DelegateInfo (``get_delegates``).

Neurons are unpacked from the node's ``metagraph`` payload with :mod:`struct` (no numpy), so a script or a command
that lists neurons stays light.
"""

from __future__ import annotations

import struct
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
    return [_neuron(p, i, NeuronInfo) for i in range(p["n"])]


def neuron_from_payload(p: dict[str, Any], uid: int) -> NeuronReply:
    """UID ``uid`` of a ``metagraph`` RPC payload, as :meth:`Subtensor.neuron` returns it."""
    return _neuron(p, uid, NeuronReply)


def _neuron(p: dict[str, Any], i: int, cls: type[N]) -> N:
    def one(key: str, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        return struct.unpack_from(f"<{fmt}", p[key], i * size)[0]

    netuid, block = p["netuid"], p["block"]
    hot_raw, cold_raw = p["hotkeys"][32 * i:32 * i + 32], p["coldkeys"][32 * i:32 * i + 32]
    hot, cold = ss58_encode(hot_raw), ss58_encode(cold_raw)
    u16 = {k: one(k, "H") for k in ("rank", "trust", "consensus", "incentive", "dividends", "vtrust")}
    weights, bonds = (_sparse_row(p.get(k), i) for k in ("weights", "bonds"))
    a = p["axons"][i] or ("0.0.0.0", 0, 4, 0)
    fields = dict(
        netuid=netuid, uid=i, hotkey=hot, coldkey=cold, stake=Balance(one("stake", "Q")),
        rank=u16["rank"] / U16, trust=u16["trust"] / U16, consensus=u16["consensus"] / U16,
        incentive=u16["incentive"] / U16, dividends=u16["dividends"] / U16,
        validator_trust=u16["vtrust"] / U16, emission=Balance(one("emission", "Q")),
        validator_permit=bool(one("permit", "B")), active=bool(one("active", "B")),
        last_update=one("last_update", "Q"), block_at_registration=one("registered_at", "Q"),
        axon_info=AxonInfo(ip=a[0], port=a[1], protocol=a[2], version=a[3], hotkey=hot, coldkey=cold),
        weights=weights, bonds=bonds, block=block)
    if cls is NeuronReply:
        ax = p["axons"][i]
        fields["raw"] = {
            "netuid": netuid, "uid": i, "hotkey": hot_raw, "coldkey": cold_raw, "stake": one("stake", "Q"),
            "registered_at": fields["block_at_registration"], "last_update": fields["last_update"],
            "axon": None if ax is None else {"ip": ax[0], "port": ax[1], "protocol": ax[2], "version": ax[3]},
            "rank": u16["rank"], "trust": u16["trust"], "consensus": u16["consensus"],
            "incentive": u16["incentive"], "dividends": u16["dividends"], "vtrust": u16["vtrust"],
            "validator_permit": fields["validator_permit"], "emission": one("emission", "Q"),
            "weights": [[u for u, _ in weights], [v for _, v in weights]],
            "bonds": [[u for u, _ in bonds], [v for _, v in bonds]]}
    return cls(**fields)


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
