"""The chain's state: tables of frozen values, forked copy-on-write, with a digest maintained incrementally.

A :class:`State` is a set of named tables (dicts). :meth:`State.fork` is O(number of tables): the child shares every
table with its parent and copies one only when it first writes to it, so a block applied to a fork never disturbs
the state it came from. Digested tables feed the state digest: the sum, modulo 2^256, of blake2b-256 hashes of
every (table, key, value) entry, updated from the entries a block touched (a multiset hash: order-free, so two
replays that reach the same entries agree without sorting anything). Derived tables (indexes such as the total
stake per hotkey) are rebuilt from the digested ones and are not part of the digest.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from typing import Any, Final

import numpy as np

from ._codec import (
    ByIdentity,
    Message,
    decode,
    decode_value,
    dumps,
    dumps_wire,
    encode,
    evolve,
    field_b32,
    field_bool,
    field_int,
    field_msg,
    field_msgs,
    field_text,
    loads,
    message,
    packed,
    share_encoding,
    to_wire,
)
from ._params import ChainParams, ChainStatus, Hyperparameters
from .errors import MalformedMessage

__all__ = ["Account", "AxonEndpoint", "Neuron", "PendingRegistration", "State", "Subnet", "SubnetIdentity",
           "WeightCommit", "WeightCommits"]

U16 = 0xFFFF
_MOD: Final = 1 << 256
_MISSING: Final = object()


@message("state.account")
class Account(Message):
    """An account's free balance (RAO) and the nonce its next extrinsic must carry."""

    free: int = field_int(default=0)
    nonce: int = field_int(default=0)


@message("state.axon")
class AxonEndpoint(Message):
    """Where a neuron's axon listens, as served on the chain at ``block``."""

    ip: str = field_text(max_len=64)
    port: int = field_int(hi=U16)
    protocol: int = field_int(hi=255, default=4)
    version: int = field_int(hi=0xFFFFFFFF, default=0)
    block: int = field_int(default=0)


@message("state.pending_registration")
class PendingRegistration(Message):
    """A registration request waiting for the registrar's answer, holding ``paid`` RAO of burn."""

    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    paid: int = field_int()
    method: str = field_text(max_len=8)
    block: int = field_int()


@message("state.neuron")
class Neuron(Message):
    """A UID on a subnet: its hotkey, axon, weights and bonds, and the outputs of the last epoch (u16 ratios)."""

    uid: int = field_int(hi=U16)
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    registered_at: int = field_int()
    last_update: int = field_int()
    weights_block: int = field_int(default=0)
    axon: AxonEndpoint | None = field_msg(AxonEndpoint, optional=True)
    weight_uids: bytes = packed("u16", max_len=4096, default=b"")
    weight_values: bytes = packed("u16", max_len=4096, default=b"")
    bond_uids: bytes = packed("u16", max_len=4096, default=b"")
    bond_values: bytes = packed("u16", max_len=4096, default=b"")
    rank: int = field_int(hi=U16, default=0)
    trust: int = field_int(hi=U16, default=0)
    consensus: int = field_int(hi=U16, default=0)
    incentive: int = field_int(hi=U16, default=0)
    dividends: int = field_int(hi=U16, default=0)
    vtrust: int = field_int(hi=U16, default=0)  # validator trust (named so attrs does not clash with `trust`)
    validator_permit: bool = field_bool(default=False)
    emission: int = field_int(default=0)

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """(uids, u16 values) of the weights this neuron set, as numpy arrays (sorted by UID, max-upscaled)."""
        return np.frombuffer(self.weight_uids, "<u2"), np.frombuffer(self.weight_values, "<u2")

    def bonds(self) -> tuple[np.ndarray, np.ndarray]:
        """(uids, u16 values) of this neuron's bonds, as numpy arrays."""
        return np.frombuffer(self.bond_uids, "<u2"), np.frombuffer(self.bond_values, "<u2")


@message("state.subnet_identity")
class SubnetIdentity(Message):
    """Which plugin a subnet runs, as its owner recorded it at ``block``, with a description and a URL."""

    plugin: str = field_text(max_len=64)
    description: str = field_text(max_len=256, default="")
    url: str = field_text(max_len=256, default="")
    block: int = field_int(default=0)


@message("state.subnet")
class Subnet(Message):
    """A subnet: owner, hyperparameters, registration terms, the emission pot waiting for its epoch."""

    netuid: int = field_int(hi=U16)
    owner: bytes = field_b32()
    owner_hotkey: bytes = field_b32()
    created_at: int = field_int()
    lock: int = field_int(default=0)
    hyper: Hyperparameters = field_msg(Hyperparameters)
    n: int = field_int(hi=4096, default=0)
    pending_emission: int = field_int(default=0)
    burn: int = field_int(default=0)
    burn_block: int = field_int(default=0)
    difficulty: int = field_int(lo=1, default=10_000_000)
    registrations_this_interval: int = field_int(default=0)
    last_adjustment: int = field_int(default=0)
    last_epoch: int = field_int(default=0)
    pending: tuple[PendingRegistration, ...] = field_msgs(PendingRegistration, max_len=4096, default=())


# every block rewrites every subnet (its emission pot), carrying the same hyperparameters object from block to block
share_encoding(Hyperparameters, inside=[(Subnet, "hyper")])


@message("state.commitment")
class Commitment(Message):
    """What a hotkey committed on a subnet, and the block it did so in."""

    block: int = field_int()
    data: str = field_text(max_len=1024)


@message("state.weight_commit")
class WeightCommit(Message):
    """One pending weight commit: its hash, the block it was made in, and its reveal window (blocks, inclusive)."""

    commit_hash: bytes = field_b32()
    block: int = field_int()
    reveal_from: int = field_int()
    reveal_until: int = field_int()


@message("state.weight_commits")
class WeightCommits(Message):
    """A hotkey's pending weight commits on one subnet, oldest first (bounded: see ``MAX_WEIGHT_COMMITS``)."""

    commits: tuple[WeightCommit, ...] = field_msgs(WeightCommit, max_len=64)


# --- tables ------------------------------------------------------------------------------------------------------

# name -> (one-byte domain tag for the digest, whether it is digested)
TABLES: Final[dict[str, tuple[bytes, bool]]] = {
    "chain": (b"c", True),  # "params" -> ChainParams, "status" -> ChainStatus
    "acct": (b"a", True),  # coldkey -> Account
    "owner": (b"o", True),  # hotkey -> coldkey
    "stake": (b"s", True),  # (coldkey, hotkey) -> RAO
    "deleg": (b"d", True),  # hotkey -> take (u16)
    "subnet": (b"n", True),  # netuid -> Subnet
    "neuron": (b"u", True),  # (netuid, uid) -> Neuron
    "hash": (b"h", True),  # block number -> block hash (a window, for proof of work)
    "ident": (b"i", True),  # netuid -> SubnetIdentity (empty in logs made before it existed: same digest)
    "commit": (b"m", True),  # (netuid, hotkey) -> Commitment
    "wcommit": (b"w", True),  # (netuid, hotkey) -> WeightCommits (pending weight commits; absent when none)
    # derived, rebuilt from the tables above
    "hkstake": (b"", False),  # hotkey -> total RAO staked on it
    "stakers": (b"", False),  # hotkey -> frozenset of coldkeys staked on it
    "coldstake": (b"", False),  # coldkey -> how many hotkeys it has stake on (absent when none)
    "uid": (b"", False),  # (netuid, hotkey) -> uid
}
DIGESTED: Final = tuple(name for name, (_, d) in TABLES.items() if d)
OPTIONAL_IN_SNAPSHOT: Final = frozenset({"ident", "commit", "wcommit"})
"""Tables newer than the first snapshots: a snapshot leaves them out while they are empty (so a chain that never
used them snapshots byte for byte as before) and a snapshot without them loads them empty."""


def _key_bytes(key: Any) -> bytes:
    t = type(key)
    if t is bytes:
        return key
    if t is int:
        return key.to_bytes(8, "little", signed=True)
    if t is tuple and len(key) == 2:  # (netuid, uid), (coldkey, hotkey), (netuid, hotkey): the same bytes, inline
        a, b = key
        ta, tb = type(a), type(b)
        if ta is int and tb is int:
            return a.to_bytes(8, "little", signed=True) + b.to_bytes(8, "little", signed=True)
        if ta is bytes and tb is bytes:
            return a + b
        if ta is int and tb is bytes:
            return a.to_bytes(8, "little", signed=True) + b
    if t is str:
        return key.encode()
    if t is tuple:
        return b"".join(_key_bytes(k) for k in key)
    raise TypeError(f"unsupported key type {type(key).__name__}")


_QQ = struct.Struct("<QQ")
_NEURON = struct.Struct("<HQQQ7HBQ4I")


_AXON_RAW_MAX = 8192
_AXON_RAW = ByIdentity(_AXON_RAW_MAX)
"""Axon encodings: a neuron rewritten by an epoch (or by its weights) carries the same axon object."""
_axon_bytes = _AXON_RAW.encoded


def _neuron_bytes(n: Neuron) -> bytes:
    # A fixed layout instead of CBOR: an epoch rewrites every neuron of a subnet, and this is 5x faster.
    axon = n.axon
    return b"".join((
        _NEURON.pack(n.uid, n.registered_at, n.last_update, n.weights_block, n.rank, n.trust, n.consensus,
                     n.incentive, n.dividends, n.vtrust, 0, n.validator_permit, n.emission, len(n.weight_uids),
                     len(n.weight_values), len(n.bond_uids), len(n.bond_values)),
        n.hotkey, n.coldkey, n.weight_uids, n.weight_values, n.bond_uids, n.bond_values,
        b"" if axon is None else _axon_bytes(axon),
    ))


def neuron_from_bytes(data: bytes) -> Neuron:
    """The neuron :func:`_neuron_bytes` laid out (the digest's fixed layout; the epoch index keeps neurons in it):
    MalformedMessage (a ValueError) when ``data`` is not such a layout, the Neuron's own checks for its values."""
    try:
        (uid, registered_at, last_update, weights_block, rank, trust, consensus, incentive, dividends, vtrust, spare,
         permit, emission, wu, wv, bu, bv) = _NEURON.unpack_from(data)
    except struct.error as e:
        raise MalformedMessage(f"not a neuron's fixed layout ({e})") from None
    o = _NEURON.size
    end = o + 64 + wu + wv + bu + bv
    if spare != 0 or permit > 1 or len(data) < end:
        raise MalformedMessage("not a neuron's fixed layout (lengths or flags out of range)")
    hotkey, coldkey = data[o:o + 32], data[o + 32:o + 64]
    o += 64
    weight_uids, weight_values = data[o:o + wu], data[o + wu:o + wu + wv]
    o += wu + wv
    bond_uids, bond_values = data[o:o + bu], data[o + bu:end]
    axon = decode(data[end:], AxonEndpoint) if len(data) > end else None
    return Neuron(uid=uid, hotkey=hotkey, coldkey=coldkey, registered_at=registered_at, last_update=last_update,
                  weights_block=weights_block, axon=axon, weight_uids=weight_uids, weight_values=weight_values,
                  bond_uids=bond_uids, bond_values=bond_values, rank=rank, trust=trust, consensus=consensus,
                  incentive=incentive, dividends=dividends, vtrust=vtrust, validator_permit=bool(permit),
                  emission=emission)


def neuron_bytes(n: Neuron) -> bytes:
    """``n`` in the digest's fixed layout (what :func:`neuron_from_bytes` reads back)."""
    return _neuron_bytes(n)


_NEURON_RAW: dict[Any, tuple[Neuron, bytes]] = {}
"""Neuron table key -> (the neuron the digest last laid out there, its bytes): an epoch's inputs are packed from
neurons the digest laid out when they were written (``replay verify`` checks every epoch index record so). Keyed by
the table's key, so it holds about one entry per neuron slot; an entry is used only for the very neuron it holds.
Emptied when it would pass ``_NEURON_RAW_MAX`` entries or ``_NEURON_RAW_BYTES`` bytes (a neuron with 4,096 weights
and bonds lays out in ~16 kB)."""
_NEURON_RAW_MAX = 1 << 16
_NEURON_RAW_BYTES = 64 << 20
_neuron_raw_size = [0]  # the bytes _NEURON_RAW holds


def neuron_bytes_at(key: Any, n: Neuron) -> bytes:
    """:func:`neuron_bytes` of ``n``, the neuron at ``key`` of the neuron table: kept for the object itself."""
    hit = _NEURON_RAW.get(key)
    if hit is not None:
        if hit[0] is n:
            return hit[1]
        _neuron_raw_size[0] -= len(hit[1])  # replaced below
    raw = _neuron_bytes(n)
    if len(_NEURON_RAW) >= _NEURON_RAW_MAX or _neuron_raw_size[0] + len(raw) > _NEURON_RAW_BYTES:
        _NEURON_RAW.clear()
        _neuron_raw_size[0] = 0
    _NEURON_RAW[key] = (n, raw)
    _neuron_raw_size[0] += len(raw)
    return raw


# Every block rewrites every subnet (its emission pot, and nothing else when no call touched it): the new subnet's
# bytes are the old one's with the pot's value replaced, spliced here instead of encoded again. Canonical order puts
# pending_emission and registrations_this_interval last, so the splice is checked by the old bytes' known end.
_SUBNET_RAW_MAX = 256
_SUBNET_RAW = ByIdentity(_SUBNET_RAW_MAX)
"""Subnet encodings (for the digest)."""
_subnet_bytes = _SUBNET_RAW.encoded
_POT_KEY: Final = dumps_wire("pending_emission")
_REGS_KEY: Final = dumps_wire("registrations_this_interval")


def with_pot(sn: Subnet, pot: int) -> Subnet:
    """``evolve(sn, pending_emission=pot)``, its encoding (for the digest) spliced from ``sn``'s when known."""
    new = evolve(sn, pending_emission=pot)
    raw = _SUBNET_RAW.get(sn)
    if raw is not None:
        regs = dumps_wire(sn.registrations_this_interval)
        tail = b"".join((_POT_KEY, dumps_wire(sn.pending_emission), _REGS_KEY, regs))
        if raw.endswith(tail):
            _SUBNET_RAW.put(new, b"".join((raw[: len(raw) - len(tail)], _POT_KEY, dumps_wire(pot), _REGS_KEY, regs)))
    return new


def _value_bytes(value: Any) -> bytes:
    t = type(value)
    if t is Account:
        return _QQ.pack(value.free, value.nonce)
    if t is Neuron:
        return _neuron_bytes(value)
    if t is Subnet:
        return _subnet_bytes(value)
    if t is int:
        return value.to_bytes(8, "little")
    if t is bytes:
        return value
    return encode(value)


def entry_hash(tag: bytes, key: Any, value: Any) -> int:
    """The digest contribution of one table entry."""
    kb = _key_bytes(key)
    vb = neuron_bytes_at(key, value) if type(value) is Neuron else _value_bytes(value)
    h = _blake2b(b"".join((tag, len(kb).to_bytes(2, "little"), kb, vb)), digest_size=32)
    return int.from_bytes(h.digest(), "little")


_blake2b: Final = hashlib.blake2b


_NO_STAKERS: Final = frozenset()


class State:
    """The chain state as tables; fork before changing it (``apply`` does), read it freely."""

    __slots__ = ("_acc", "_dirty", "_h", "_own", "_t")

    def __init__(self) -> None:
        self._t: dict[str, dict[Any, Any]] = {name: {} for name in TABLES}
        self._h: dict[str, dict[Any, int]] = {name: {} for name in DIGESTED}
        self._own: set[str] = set(TABLES) | {"#" + n for n in DIGESTED}
        self._dirty: dict[str, set[Any]] = {name: set() for name in DIGESTED}
        self._acc = 0

    # --- copy on write ---------------------------------------------------------------------------------------
    def fork(self) -> State:
        """A state equal to this one that may be changed without changing this one (O(tables))."""
        child = State.__new__(State)
        child._t = dict(self._t)
        child._h = dict(self._h)
        child._own = set()
        self._own = set()  # the parent no longer owns shared tables either
        child._dirty = {name: set(keys) for name, keys in self._dirty.items()}
        child._acc = self._acc
        return child

    def view(self, tables: tuple[str, ...]) -> State:
        """A read-only state holding only ``tables`` as they are now (reading another is a KeyError); this state
        copies each of them before it next writes to it (what :meth:`fork` does, for a few tables instead of all)."""
        view = State.__new__(State)
        view._t = {name: self._t[name] for name in tables}
        view._h = {}
        view._own = set()
        view._dirty = {}
        view._acc = 0
        self._own.difference_update(tables)
        return view

    def _writable(self, table: str) -> dict[Any, Any]:
        if table not in self._own:
            self._t[table] = self._t[table].copy()  # .copy() keeps the fast path after deletions
            self._own.add(table)
        return self._t[table]

    # --- generic access --------------------------------------------------------------------------------------
    def get(self, table: str, key: Any, default: Any = None) -> Any:
        """The value at ``key`` in ``table``, or ``default``."""
        return self._t[table].get(key, default)

    def put(self, table: str, key: Any, value: Any) -> None:
        """Set ``key`` in ``table`` to ``value``."""
        t = self._t[table] if table in self._own else self._writable(table)
        t[key] = value
        d = self._dirty.get(table)
        if d is not None:
            d.add(key)

    def delete(self, table: str, key: Any) -> None:
        """Remove ``key`` from ``table`` (no error if absent)."""
        t = self._t[table] if table in self._own else self._writable(table)
        if t.pop(key, _MISSING) is not _MISSING:
            d = self._dirty.get(table)
            if d is not None:
                d.add(key)

    def rows(self, table: str, keys: Iterable[Any]) -> list[Any]:
        """The values at ``keys`` in ``table``, in their order (None where a key is absent)."""
        return list(map(self._t[table].get, keys))

    def items(self, table: str) -> Iterator[tuple[Any, Any]]:
        """The entries of ``table`` (do not change the state while iterating)."""
        return iter(self._t[table].items())

    # --- digest ----------------------------------------------------------------------------------------------
    def digest(self) -> bytes:
        """The canonical state digest, folding in the entries changed since the last call."""
        acc = self._acc
        for table, keys in self._dirty.items():
            if not keys:
                continue
            hname = "#" + table
            if hname not in self._own:
                self._h[table] = self._h[table].copy()
                self._own.add(hname)
            hashes = self._h[table]
            values = self._t[table]
            tag = TABLES[table][0]
            for key in keys:
                acc -= hashes.pop(key, 0)
                value = values.get(key, _MISSING)
                if value is not _MISSING:
                    h = entry_hash(tag, key, value)
                    hashes[key] = h
                    acc += h
            keys.clear()
        self._acc = acc % _MOD
        return self._acc.to_bytes(32, "little")

    def cold_digest(self) -> bytes:
        """The digest recomputed from every entry (what :meth:`digest` maintains incrementally)."""
        acc = 0
        for table in DIGESTED:
            tag = TABLES[table][0]
            for key, value in self._t[table].items():
                acc += entry_hash(tag, key, value)
        return (acc % _MOD).to_bytes(32, "little")

    # --- typed accessors -------------------------------------------------------------------------------------
    @property
    def params(self) -> ChainParams:
        """The chain parameters fixed at genesis."""
        return self._t["chain"]["params"]

    @property
    def status(self) -> ChainStatus:
        """Height, head hash, issuance and lock price."""
        return self._t["chain"]["status"]

    @property
    def height(self) -> int:
        """The number of the last applied block (-1 before genesis)."""
        s = self._t["chain"].get("status")
        return -1 if s is None else s.height

    def account(self, who: bytes) -> Account:
        """The account of ``who`` (a zero account if it never held anything)."""
        return self._t["acct"].get(who) or _ZERO_ACCOUNT

    def free(self, who: bytes) -> int:
        """Free balance of ``who`` in RAO."""
        a = self._t["acct"].get(who)
        return 0 if a is None else a.free

    def stake(self, coldkey: bytes, hotkey: bytes) -> int:
        """RAO that ``coldkey`` has staked on ``hotkey``."""
        return self._t["stake"].get((coldkey, hotkey), 0)

    def hotkey_stake(self, hotkey: bytes) -> int:
        """Total RAO staked on ``hotkey`` by everyone."""
        return self._t["hkstake"].get(hotkey, 0)

    def stakers(self, hotkey: bytes) -> frozenset[bytes]:
        """The coldkeys with stake on ``hotkey``."""
        return self._t["stakers"].get(hotkey, frozenset())

    def account_exists(self, who: bytes) -> bool:
        """True when ``who`` has a free balance, has signed an extrinsic (nonce > 0), or holds stake as a coldkey.

        What the existential deposit protects: an account that does not exist may only be created by a transfer of
        at least the deposit (docs/ledger.md).
        """
        a = self._t["acct"].get(who)
        return (a is not None and (a.free > 0 or a.nonce > 0)) or who in self._t["coldstake"]

    def owner_of(self, hotkey: bytes) -> bytes | None:
        """The coldkey owning ``hotkey``, or None if the chain does not know it."""
        return self._t["owner"].get(hotkey)

    def commitment(self, netuid: int, hotkey: bytes) -> Commitment | None:
        """What ``hotkey`` last committed on ``netuid``, or None."""
        return self._t["commit"].get((netuid, hotkey))

    def weight_commits(self, netuid: int, hotkey: bytes) -> tuple[WeightCommit, ...]:
        """The weight commits ``hotkey`` has pending on ``netuid``, oldest first (empty when none)."""
        wc = self._t["wcommit"].get((netuid, hotkey))
        return () if wc is None else wc.commits

    def weight_commits_of(self, netuid: int) -> dict[bytes, tuple[WeightCommit, ...]]:
        """Every hotkey's pending weight commits on ``netuid``."""
        return {hk: wc.commits for (nu, hk), wc in self._t["wcommit"].items() if nu == netuid}

    def take_of(self, hotkey: bytes) -> int | None:
        """The delegate take (u16) of ``hotkey``, or None if it never nominated."""
        return self._t["deleg"].get(hotkey)

    def subnet(self, netuid: int) -> Subnet | None:
        """Subnet ``netuid`` or None."""
        return self._t["subnet"].get(netuid)

    def identity(self, netuid: int) -> SubnetIdentity | None:
        """The identity (plugin, description, URL) the owner of ``netuid`` recorded, or None."""
        return self._t["ident"].get(netuid)

    def subnets(self) -> list[Subnet]:
        """Every subnet, by netuid."""
        return [self._t["subnet"][k] for k in sorted(self._t["subnet"])]

    def neuron(self, netuid: int, uid: int) -> Neuron | None:
        """The neuron at ``uid`` on ``netuid`` or None."""
        return self._t["neuron"].get((netuid, uid))

    def neurons(self, netuid: int) -> list[Neuron]:
        """The neurons of ``netuid`` by UID."""
        sn = self._t["subnet"].get(netuid)
        if sn is None:
            return []
        t = self._t["neuron"]
        return [t[(netuid, uid)] for uid in range(sn.n)]

    def uid_of(self, netuid: int, hotkey: bytes) -> int | None:
        """The UID of ``hotkey`` on ``netuid`` or None."""
        return self._t["uid"].get((netuid, hotkey))

    def issuance_check(self) -> tuple[int, int]:
        """(total issuance, what the state holds: free + stake + pots + locks + held burns); equal when sound."""
        held = sum(a.free for a in self._t["acct"].values()) + sum(self._t["stake"].values())
        for sn in self._t["subnet"].values():
            held += sn.pending_emission + sn.lock + sum(p.paid for p in sn.pending)
        return self.status.issuance, held

    # --- mutation helpers used by the runtime ----------------------------------------------------------------
    def set_account(self, who: bytes, free: int, nonce: int) -> None:
        """Set an account's balance and nonce."""
        self.put("acct", who, Account(free=free, nonce=nonce))

    def add_stake(self, coldkey: bytes, hotkey: bytes, amount: int) -> None:
        """Change ``coldkey``'s stake on ``hotkey`` by ``amount`` (may be negative), keeping the indexes."""
        if amount == 0:
            return
        key = (coldkey, hotkey)
        new = self._t["stake"].get(key, 0) + amount
        if new < 0:
            raise ValueError("stake would go negative")
        stakers = self._t["stakers"].get(hotkey, frozenset())
        held = self._t["coldstake"].get(coldkey, 0)
        if new:
            self.put("stake", key, new)
            if coldkey not in stakers:
                self.put("stakers", hotkey, stakers | {coldkey})
                self.put("coldstake", coldkey, held + 1)
        else:
            self.delete("stake", key)
            self.put("stakers", hotkey, stakers - {coldkey})
            if held > 1:
                self.put("coldstake", coldkey, held - 1)
            else:
                self.delete("coldstake", coldkey)
        self.put("hkstake", hotkey, self._t["hkstake"].get(hotkey, 0) + amount)

    def credit_stakes(self, credits: Iterable[tuple[bytes, bytes, int]]) -> None:
        """:meth:`add_stake` of each ``(coldkey, hotkey, amount)`` in turn (an epoch's credits), with the stake tables
        taken once for all: the same writes, in the same order."""
        t = self._t
        stake = hkstake = None
        for coldkey, hotkey, amount in credits:
            key = (coldkey, hotkey)
            if stake is None:
                stake = t["stake"]
            old = stake.get(key, 0)
            if type(amount) is not int or amount <= 0 or type(old) is not int:
                self.add_stake(coldkey, hotkey, amount)  # nothing, a debit or an odd value: the general rule
                stake = hkstake = None  # its writes may have made the tables the state's own copies
                continue
            if hkstake is None:
                stake = t["stake"] if "stake" in self._own else self._writable("stake")
                hkstake = t["hkstake"] if "hkstake" in self._own else self._writable("hkstake")
                dirty_stake = self._dirty.get("stake")
                dirty_hkstake = self._dirty.get("hkstake")
            stake[key] = old + amount  # above zero: a credit never empties a stake
            if dirty_stake is not None:
                dirty_stake.add(key)
            stakers = t["stakers"].get(hotkey, _NO_STAKERS)
            if coldkey not in stakers:
                held = t["coldstake"].get(coldkey, 0)
                self.put("stakers", hotkey, stakers | {coldkey})
                self.put("coldstake", coldkey, held + 1)
            hkstake[hotkey] = hkstake.get(hotkey, 0) + amount
            if dirty_hkstake is not None:
                dirty_hkstake.add(hotkey)

    def put_neuron(self, netuid: int, neuron: Neuron) -> None:
        """Store ``neuron`` at its UID, keeping the hotkey -> UID index."""
        old = self._t["neuron"].get((netuid, neuron.uid))
        if old is not None and old.hotkey != neuron.hotkey:
            self.delete("uid", (netuid, old.hotkey))
        self.put("neuron", (netuid, neuron.uid), neuron)
        if old is None or old.hotkey != neuron.hotkey:  # the index changes only when the hotkey does
            self.put("uid", (netuid, neuron.hotkey), neuron.uid)

    def rebuild_indexes(self) -> None:
        """Recompute the derived tables from the digested ones (after loading a snapshot)."""
        hk: dict[bytes, int] = {}
        stakers: dict[bytes, set[bytes]] = {}
        coldstake: dict[bytes, int] = {}
        for (cold, hot), amount in self._t["stake"].items():
            hk[hot] = hk.get(hot, 0) + amount
            stakers.setdefault(hot, set()).add(cold)
            coldstake[cold] = coldstake.get(cold, 0) + 1
        self._t["hkstake"] = hk
        self._t["stakers"] = {h: frozenset(c) for h, c in stakers.items()}
        self._t["coldstake"] = coldstake
        self._t["uid"] = {(netuid, n.hotkey): uid for (netuid, uid), n in self._t["neuron"].items()}
        self._own |= {"hkstake", "stakers", "coldstake", "uid"}

    # --- snapshots -------------------------------------------------------------------------------------------
    def to_snapshot(self) -> bytes:
        """Canonical CBOR of every digested table (derived tables are rebuilt on load)."""
        out: dict[str, list[Any]] = {}
        for table in DIGESTED:
            if table in OPTIONAL_IN_SNAPSHOT and not self._t[table]:
                continue
            rows = []
            for key, value in self._t[table].items():
                rows.append([_key_to_wire(key), _value_to_wire(value)])
            out[table] = rows
        return dumps(out)

    @classmethod
    def from_snapshot(cls, raw: bytes) -> State:
        """Rebuild a state from :meth:`to_snapshot` bytes (codec errors if they are damaged)."""
        data = loads(raw, max_size=1 << 34)
        if type(data) is not dict or not set(DIGESTED) - OPTIONAL_IN_SNAPSHOT <= set(data) <= set(DIGESTED):
            raise MalformedMessage("a snapshot maps every digested table to its rows")
        s = cls()
        for table, rows in data.items():
            t = s._t[table]
            for key, value in rows:
                t[_key_from_wire(key)] = _value_from_wire(value)
            s._dirty[table] = set(t)
        s.rebuild_indexes()
        s.digest()
        return s


_ZERO_ACCOUNT: Final = Account()


def _key_to_wire(key: Any) -> Any:
    return list(key) if type(key) is tuple else key


def _key_from_wire(key: Any) -> Any:
    return tuple(key) if type(key) is list else key


def _value_to_wire(value: Any) -> Any:
    return to_wire(value) if isinstance(value, Message) else value


def _value_from_wire(value: Any) -> Any:
    return decode_value(value) if type(value) is list else value


def genesis_subnet(netuid: int, owner: bytes, hotkey: bytes, block: int, hyper: Hyperparameters, *,
                   lock: int, burn: int, difficulty: int) -> Subnet:
    """A new subnet record (its owner's hotkey is registered at UID 0 by the runtime)."""
    return Subnet(netuid=netuid, owner=owner, owner_hotkey=hotkey, created_at=block, lock=lock, hyper=hyper,
                  burn=burn, burn_block=block, difficulty=max(1, difficulty), last_adjustment=block,
                  last_epoch=block)

