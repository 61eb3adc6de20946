"""Events: the facts a block's calls produced, as frozen values with stable type tags."""

from __future__ import annotations

import attrs

from ._codec import (
    Message,
    cache_field,
    dumps_wire,
    encode_with,
    field_b32,
    field_int,
    field_msg,
    field_text,
    message,
    registered,
    to_wire,
)

__all__ = [
    "AxonServed",
    "CommitmentSet",
    "WeightCommitExpired",
    "WeightsCommitted",
    "WeightsRevealed",
    "DelegateNominated",
    "DifficultyAdjusted",
    "EmissionPaid",
    "EpochCompleted",
    "EmissionAccrued",
    "Endowed",
    "Event",
    "EventRecord",
    "FeePaid",
    "HyperparameterSet",
    "NeuronRegistered",
    "NeuronReplaced",
    "RegistrationRefused",
    "RegistrationRequested",
    "StakeAdded",
    "StakeCredited",
    "StakeRemoved",
    "SubnetCreated",
    "SubnetIdentitySet",
    "TempoElapsed",
    "Transferred",
    "WeightsSet",
]

FINALIZE = -1
"""The phase of events produced by the block's own bookkeeping (after its extrinsics)."""


class Event(Message):
    """Base of every event."""

    __slots__ = ()


@message("ev.record")
class EventRecord(Message):
    """An event with its phase: the index of the extrinsic that produced it, or -1 for block bookkeeping."""

    phase: int = field_int(lo=FINALIZE, hi=1 << 32)
    event: Event = field_msg(Event)
    _raw: bytes | None = cache_field()


@message("ev.endowed")
class Endowed(Event):
    """Genesis gave ``account`` a free balance of ``amount`` RAO."""

    account: bytes = field_b32()
    amount: int = field_int()


@message("ev.transferred")
class Transferred(Event):
    """``amount`` RAO moved from ``src`` to ``dest``."""

    src: bytes = field_b32()
    dest: bytes = field_b32()
    amount: int = field_int()


@message("ev.fee_paid")
class FeePaid(Event):
    """``who`` paid the flat extrinsic fee of ``amount`` RAO, which was burned."""

    who: bytes = field_b32()
    amount: int = field_int()


@message("ev.subnet_created")
class SubnetCreated(Event):
    """Subnet ``netuid`` was created by ``owner``, whose ``hotkey`` holds UID 0; ``lock`` RAO are locked."""

    netuid: int = field_int()
    owner: bytes = field_b32()
    hotkey: bytes = field_b32()
    lock: int = field_int()


@message("ev.hyperparameter_set")
class HyperparameterSet(Event):
    """The owner of ``netuid`` set hyperparameter ``name`` to ``value``."""

    netuid: int = field_int()
    name: str = field_text(max_len=64)
    value: int = field_int(lo=-(1 << 63))


@message("ev.subnet_identity_set")
class SubnetIdentitySet(Event):
    """The owner of ``netuid`` recorded that it runs ``plugin`` (empty: no plugin recorded)."""

    netuid: int = field_int()
    plugin: str = field_text(max_len=64)
    description: str = field_text(max_len=256)
    url: str = field_text(max_len=256)


@message("ev.registration_requested")
class RegistrationRequested(Event):
    """``hotkey`` (owned by ``coldkey``) asked for a UID on ``netuid``, holding ``paid`` RAO of burn."""

    netuid: int = field_int()
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    paid: int = field_int()
    method: str = field_text(max_len=8)


@message("ev.neuron_registered")
class NeuronRegistered(Event):
    """``hotkey`` took the free ``uid`` on ``netuid``; its held burn was burned."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    burned: int = field_int()


@message("ev.neuron_replaced")
class NeuronReplaced(Event):
    """``hotkey`` took ``uid`` on ``netuid`` from the pruned ``old_hotkey``; its held burn was burned."""

    netuid: int = field_int()
    uid: int = field_int()
    old_hotkey: bytes = field_b32()
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    burned: int = field_int()


@message("ev.registration_refused")
class RegistrationRefused(Event):
    """A registration of ``hotkey`` on ``netuid`` was refused and ``refund`` RAO returned to ``coldkey``."""

    netuid: int = field_int()
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    refund: int = field_int()
    reason: str = field_text(max_len=128)


@message("ev.difficulty_adjusted")
class DifficultyAdjusted(Event):
    """The proof-of-work difficulty of ``netuid`` is now ``difficulty``."""

    netuid: int = field_int()
    difficulty: int = field_int()


@message("ev.stake_added")
class StakeAdded(Event):
    """``coldkey`` staked ``amount`` RAO on ``hotkey``."""

    coldkey: bytes = field_b32()
    hotkey: bytes = field_b32()
    amount: int = field_int()


@message("ev.stake_removed")
class StakeRemoved(Event):
    """``coldkey`` unstaked ``amount`` RAO from ``hotkey``."""

    coldkey: bytes = field_b32()
    hotkey: bytes = field_b32()
    amount: int = field_int()


@message("ev.delegate_nominated")
class DelegateNominated(Event):
    """``hotkey`` became (or stays) a delegate keeping ``take``/65535 of its earnings."""

    hotkey: bytes = field_b32()
    take: int = field_int()


@message("ev.weights_set")
class WeightsSet(Event):
    """UID ``uid`` (``hotkey``) on ``netuid`` set ``count`` weights."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    count: int = field_int()


@message("ev.axon_served")
class AxonServed(Event):
    """UID ``uid`` on ``netuid`` published its axon at ``ip``:``port``."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    ip: str = field_text(max_len=64)
    port: int = field_int()
    protocol: int = field_int()
    version: int = field_int()


@message("ev.commitment_set")
class CommitmentSet(Event):
    """``hotkey`` (UID ``uid`` on ``netuid``) published a commitment of ``data``."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    data: str = field_text(max_len=1024)


@message("ev.emission_accrued")
class EmissionAccrued(Event):
    """``amount`` RAO was minted this block into the pending pots of ``subnets`` subnets."""

    amount: int = field_int()
    subnets: int = field_int()


@message("ev.tempo_elapsed")
class TempoElapsed(Event):
    """Subnet ``netuid``'s tempo elapsed at ``block``; its epoch ran on the state after that block."""

    netuid: int = field_int()
    block: int = field_int()


@message("ev.epoch_completed")
class EpochCompleted(Event):
    """The epoch of ``netuid`` at ``block`` paid its pot of ``pot`` RAO (``owner_cut`` to the owner)."""

    netuid: int = field_int()
    block: int = field_int()
    pot: int = field_int()
    owner_cut: int = field_int()


@message("ev.emission_paid")
class EmissionPaid(Event):
    """UID ``uid`` (``hotkey``) on ``netuid`` earned ``amount`` RAO at the epoch."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    amount: int = field_int()


@message("ev.stake_credited")
class StakeCredited(Event):
    """``amount`` RAO of emission became ``coldkey``'s stake on ``hotkey``."""

    coldkey: bytes = field_b32()
    hotkey: bytes = field_b32()
    amount: int = field_int()


@message("ev.weights_committed")
class WeightsCommitted(Event):
    """UID ``uid`` (``hotkey``) on ``netuid`` committed to weights by ``commit_hash``, to reveal in blocks
    ``reveal_from`` to ``reveal_until`` (inclusive)."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    commit_hash: bytes = field_b32()
    reveal_from: int = field_int()
    reveal_until: int = field_int()


@message("ev.weights_revealed")
class WeightsRevealed(Event):
    """UID ``uid`` (``hotkey``) on ``netuid`` revealed the ``count`` weights it committed by ``commit_hash``."""

    netuid: int = field_int()
    uid: int = field_int()
    hotkey: bytes = field_b32()
    commit_hash: bytes = field_b32()
    count: int = field_int()


@message("ev.weight_commit_expired")
class WeightCommitExpired(Event):
    """A commit of ``hotkey`` on ``netuid`` (made at ``block``) was dropped unrevealed: its window closed."""

    netuid: int = field_int()
    hotkey: bytes = field_b32()
    commit_hash: bytes = field_b32()
    block: int = field_int()


# --- the bytes of the epoch's event records, without the generic encoder -------------------------------------------
# An epoch pays most UIDs of its subnet: hundreds of EmissionPaid and StakeCredited records a block, each encoded once
# for the events root. Their canonical CBOR is laid out here directly from the values (CBOR is compositional: a map's
# bytes are its head and then each key's and value's bytes); every other record goes through the generic encoder.

_SMALL = tuple(dumps_wire(i) for i in range(256))


def _uint(v: object) -> bytes:
    """The CBOR of ``v``: the shortest head for an int (not a bool) in 0..2^64-1, the generic encoder for anything
    else (a phase of -1, an int beyond u64, a value of another type)."""
    if type(v) is int:
        if 0 <= v < 256:
            return _SMALL[v]
        if 256 <= v < 0x10000:
            return b"\x19" + v.to_bytes(2, "big")
        if 0x10000 <= v < 0x100000000:
            return b"\x1a" + v.to_bytes(4, "big")
        if 0x100000000 <= v < 0x10000000000000000:
            return b"\x1b" + v.to_bytes(8, "big")
    return dumps_wire(v)


def _key32(v: object) -> bytes:
    """The CBOR of ``v``: laid out for a 32-byte string (a key or hash), the generic encoder for anything else."""
    return b"\x58\x20" + v if type(v) is bytes and len(v) == 32 else dumps_wire(v)


def _head(cls: type, first: str) -> bytes:
    """The bytes of a message of ``cls`` up to its first field's value: [TAG, VERSION, {first: ..."""
    n = len(cls._PLAN.names)  # type: ignore[attr-defined]
    return b"\x83" + dumps_wire(cls.TAG) + dumps_wire(cls.VERSION) + bytes((0xA0 + n,)) + dumps_wire(first)


if (EmissionPaid._PLAN.names != ("uid", "amount", "hotkey", "netuid")  # type: ignore[attr-defined]
        or StakeCredited._PLAN.names != ("amount", "hotkey", "coldkey")  # type: ignore[attr-defined]
        or EventRecord._PLAN.names != ("event", "phase")):  # type: ignore[attr-defined]
    raise TypeError("the laid-out event records follow the fields' canonical order: update them with the fields")
_K_AMOUNT, _K_HOTKEY, _K_NETUID, _K_COLDKEY = (dumps_wire(k) for k in ("amount", "hotkey", "netuid", "coldkey"))
_K_PHASE = dumps_wire("phase")
_RECORD_EMISSION_PAID = _head(EventRecord, "event") + _head(EmissionPaid, "uid")
_RECORD_STAKE_CREDITED = _head(EventRecord, "event") + _head(StakeCredited, "amount")


def _encode_record(record: EventRecord) -> bytes:
    """``encode(record)``: laid out directly for the epoch's events, the generic encoder for the others."""
    e = record.event
    kind = type(e)
    phase = record.phase
    if kind is EmissionPaid:
        return b"".join((_RECORD_EMISSION_PAID, _uint(e.uid), _K_AMOUNT, _uint(e.amount), _K_HOTKEY,
                         _key32(e.hotkey), _K_NETUID, _uint(e.netuid), _K_PHASE, _uint(phase)))
    if kind is StakeCredited:
        return b"".join((_RECORD_STAKE_CREDITED, _uint(e.amount), _K_HOTKEY, _key32(e.hotkey), _K_COLDKEY,
                         _key32(e.coldkey), _K_PHASE, _uint(phase)))
    fn = _LAID_OUT.get(kind)
    if fn is None:
        fn = _laid_out(kind)
    return fn(record)


# Every other event class that is a flat map of ints, keys and texts (every one the ledger defines) gets a record
# encoder of its own, written as straight-line code when it is first met (as to_wire's are): each field's bytes from a
# writer that is exact for any value (laid out for an int or a key, the generic encoder otherwise).


_WRITERS = {"int": "uint", "bytes": "key32"}  # by the field's annotation; any other: the generic encoder
_LAID_OUT: dict[type, object] = {}
"""Event class -> the encoder of a record holding one (only registered event classes: bounded by the registry)."""


def _generic_record(record: EventRecord) -> bytes:
    return dumps_wire(to_wire(record))


def _laid_out(kind: type) -> object:
    """The record encoder for events of ``kind``: generated for a registered event class of plain fields, else the
    generic encoder (not kept, unless ``kind`` is a registered event class)."""
    if not (issubclass(kind, Event) and registered().get(getattr(kind, "TAG", None)) is kind):
        return _generic_record
    plan = kind._PLAN  # type: ignore[attr-defined]
    fn: object = _generic_record
    if 0 < len(plan.names) < 24 and all(k == "plain" for k in plan.kinds):
        types = {f.name: f.type for f in attrs.fields(kind)}
        names = {"HEAD": _head(EventRecord, "event") + _head(kind, plan.names[0]), "K_PHASE": _K_PHASE,
                 "uint": _uint, "key32": _key32, "dumps": dumps_wire}
        parts = ["HEAD"]
        for i, name in enumerate(plan.names):
            if i:
                names[f"K{i}"] = dumps_wire(name)
                parts.append(f"K{i}")
            parts.append(f"{_WRITERS.get(str(types[name]), 'dumps')}(e.{name})")
        parts += ["K_PHASE", "uint(record.phase)"]
        src = f"def encode(record):\n    e = record.event\n    return b''.join(({', '.join(parts)}))"
        exec(compile(src, f"<encode record of {kind.__name__}>", "exec"), names)
        fn = names["encode"]
    _LAID_OUT[kind] = fn
    return fn


encode_with(EventRecord, _encode_record)  # what encode() (and raw_bytes, for the events root) calls for a record
