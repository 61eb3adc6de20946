"""Typed read results of the SDK's v10 names: NeuronInfo (``neurons``, ``neurons_lite``,
``get_neuron_for_pubkey_and_subnet``) and DelegateInfo (``get_delegates``).

Neurons are unpacked from the node's ``metagraph`` payload with :mod:`struct` (no numpy), so a script or a command
that lists neurons stays light.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from taonet.ledger import ss58_encode

from ..wire import AxonInfo
from ._balance import Balance

__all__ = ["DelegateInfo", "NeuronInfo", "neurons_from_payload"]

U16 = 0xFFFF


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


def _sparse(parts: list[bytes] | None, n: int) -> list[tuple[tuple[int, int], ...]]:
    if not parts:
        return [() for _ in range(n)]
    ptr, uids, vals = _unpack("I", parts[0]), _unpack("H", parts[1]), _unpack("H", parts[2])
    return [tuple(zip(uids[ptr[i]:ptr[i + 1]], vals[ptr[i]:ptr[i + 1]], strict=True)) for i in range(n)]


def neurons_from_payload(p: dict[str, Any]) -> list[NeuronInfo]:
    """Every neuron of a ``metagraph`` RPC payload (with weights and bonds when the payload has them)."""
    n, netuid, block = p["n"], p["netuid"], p["block"]
    hot = [ss58_encode(p["hotkeys"][32 * i:32 * i + 32]) for i in range(n)]
    cold = [ss58_encode(p["coldkeys"][32 * i:32 * i + 32]) for i in range(n)]
    u16 = {k: _unpack("H", p[k]) for k in ("rank", "trust", "consensus", "incentive", "dividends", "vtrust")}
    stake, emission = _unpack("Q", p["stake"]), _unpack("Q", p["emission"])
    permit, active = _unpack("B", p["permit"]), _unpack("B", p["active"])
    last, reg = _unpack("Q", p["last_update"]), _unpack("Q", p["registered_at"])
    weights, bonds = _sparse(p.get("weights"), n), _sparse(p.get("bonds"), n)
    out = []
    for i in range(n):
        a = p["axons"][i] or ("0.0.0.0", 0, 4, 0)
        out.append(NeuronInfo(
            netuid=netuid, uid=i, hotkey=hot[i], coldkey=cold[i], stake=Balance(stake[i]),
            rank=u16["rank"][i] / U16, trust=u16["trust"][i] / U16, consensus=u16["consensus"][i] / U16,
            incentive=u16["incentive"][i] / U16, dividends=u16["dividends"][i] / U16,
            validator_trust=u16["vtrust"][i] / U16, emission=Balance(emission[i]), validator_permit=bool(permit[i]),
            active=bool(active[i]), last_update=last[i], block_at_registration=reg[i],
            axon_info=AxonInfo(ip=a[0], port=a[1], protocol=a[2], version=a[3], hotkey=hot[i], coldkey=cold[i]),
            weights=weights[i], bonds=bonds[i], block=block))
    return out
