"""Calls (what an extrinsic asks the chain to do) and the signed Extrinsic that carries one.

User calls are signed by the key the call needs: the coldkey for money and subnet ownership, the hotkey for neuron
work (set_weights, serve_axon). System calls answer the chain's own pipeline (registrations, tempo, epochs) and are
signed by the node's authority key. A registration also carries the hotkey's signature over the coldkey
(:func:`hotkey_binding_payload`), so nobody can register someone else's hotkey.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from ._codec import (
    Message,
    cache_field,
    decode,
    dumps,
    dumps_wire,
    encode,
    field_b32,
    field_bytes,
    field_int,
    field_msg,
    field_msgs,
    field_sig,
    field_text,
    message,
    packed,
    to_wire,
    unpack,
    vec,
)
from .errors import InvalidWeights

__all__ = [
    "AddStake",
    "BurnedRegister",
    "Call",
    "CommitWeights",
    "CreateSubnet",
    "Extrinsic",
    "Nominate",
    "PowRegister",
    "RemoveStake",
    "RevealWeights",
    "ServeAxon",
    "SetCommitment",
    "SetHyperparameter",
    "SetSubnetIdentity",
    "SetWeights",
    "SystemCall",
    "Transfer",
    "UserCall",
    "hotkey_binding_payload",
    "weight_commit_hash",
]

U16 = 0xFFFF
MAX_NETUID = 0xFFFF


class Call(Message):
    """Base of every call; ``SIGNER`` names the key that must sign it ('coldkey', 'hotkey' or 'authority')."""

    __slots__ = ()
    SIGNER: ClassVar[str] = "coldkey"


class UserCall(Call):
    """A call a user submits."""

    __slots__ = ()


class SystemCall(Call):
    """A call only the node's authority may sign: an answer of the block pipeline's actors."""

    __slots__ = ()
    SIGNER: ClassVar[str] = "authority"
    ORDER: ClassVar[int] = 0
    """Where this call sits in a block: scheduler (1), consensus (2), registrar (3)."""

    def answer_key(self) -> tuple[object, ...]:
        """What this call answers; a block holds at most one call per key."""
        return (self.TAG,)


def hotkey_binding_payload(genesis_hash: bytes, coldkey: bytes) -> bytes:
    """The bytes a hotkey signs to consent to being owned by ``coldkey`` on this chain."""
    return dumps(["taonet.hotkey_binding", genesis_hash, coldkey])


def _valid_ip(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if type(value) is not str:
        raise TypeError(f"{attr.name} must be a str")
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r:.60} is not an IPv4 or IPv6 address") from None


@message("call.transfer")
class Transfer(UserCall):
    """Move ``amount`` RAO of free balance from the signer's coldkey to ``dest``."""

    dest: bytes = field_b32()
    amount: int = field_int()


@message("call.create_subnet")
class CreateSubnet(UserCall):
    """Create a subnet owned by the signer; ``hotkey`` takes UID 0. Fails if the lock exceeds ``max_lock``."""

    hotkey: bytes = field_b32()
    hotkey_signature: bytes = field_sig()
    max_lock: int = field_int(default=(1 << 64) - 1)


@message("call.set_hyperparameter")
class SetHyperparameter(UserCall):
    """Set one of a subnet's hyperparameters by name (owner's coldkey only)."""

    netuid: int = field_int(hi=MAX_NETUID)
    name: str = field_text(max_len=64)
    value: int = field_int(lo=-(1 << 63))


@message("call.burned_register")
class BurnedRegister(UserCall):
    """Ask for a UID on ``netuid`` for ``hotkey``, paying the current burn (refused if above ``max_burn``)."""

    netuid: int = field_int(hi=MAX_NETUID)
    hotkey: bytes = field_b32()
    hotkey_signature: bytes = field_sig()
    max_burn: int = field_int(default=(1 << 64) - 1)


@message("call.pow_register")
class PowRegister(UserCall):
    """Ask for a UID on ``netuid`` for ``hotkey`` with proof of work over a recent block's hash."""

    netuid: int = field_int(hi=MAX_NETUID)
    hotkey: bytes = field_b32()
    hotkey_signature: bytes = field_sig()
    block_number: int = field_int()
    nonce: int = field_int()


@message("call.add_stake")
class AddStake(UserCall):
    """Stake ``amount`` RAO of the signer's free balance on ``hotkey``."""

    hotkey: bytes = field_b32()
    amount: int = field_int(lo=1)


@message("call.remove_stake")
class RemoveStake(UserCall):
    """Unstake ``amount`` RAO from ``hotkey`` back to the signer's free balance."""

    hotkey: bytes = field_b32()
    amount: int = field_int(lo=1)


@message("call.nominate")
class Nominate(UserCall):
    """Make the signer's ``hotkey`` a delegate others may stake to, keeping ``take``/65535 of what it earns."""

    hotkey: bytes = field_b32()
    take: int = field_int(hi=U16)


@message("call.set_weights")
class SetWeights(UserCall):
    """A validator's weights on ``netuid``: parallel vectors of UIDs and u16 weights (signed by the hotkey)."""

    SIGNER: ClassVar[str] = "hotkey"
    netuid: int = field_int(hi=MAX_NETUID)
    uids: tuple[int, ...] = vec("u16", max_len=4096)
    weights: tuple[int, ...] = vec("u16", max_len=4096)
    version_key: int = field_int(default=0)


@message("call.serve_axon")
class ServeAxon(UserCall):
    """Publish the signer hotkey's axon endpoint on ``netuid``."""

    SIGNER: ClassVar[str] = "hotkey"
    netuid: int = field_int(hi=MAX_NETUID)
    ip: str = attrs.field(validator=_valid_ip)
    port: int = field_int(hi=U16)
    protocol: int = field_int(hi=255, default=4)
    version: int = field_int(hi=0xFFFFFFFF, default=0)


_PLUGIN_NAME = re.compile(r"^([a-z0-9][a-z0-9_.-]{0,63})?$")


def _plugin_name(_inst: Any, attr: attrs.Attribute, value: Any) -> None:
    if type(value) is not str or not _PLUGIN_NAME.match(value):
        raise ValueError(f"{attr.name} must be empty or 1-64 of a-z 0-9 _ . - (a plugin's entry-point name)")


@message("call.set_subnet_identity")
class SetSubnetIdentity(UserCall):
    """Record which plugin subnet ``netuid`` runs, with a description and a URL (owner's coldkey only)."""

    netuid: int = field_int(hi=MAX_NETUID)
    plugin: str = attrs.field(validator=_plugin_name)
    description: str = field_text(max_len=256, default="")
    url: str = field_text(max_len=256, default="")
@message("call.set_commitment")
class SetCommitment(UserCall):
    """Publish ``data`` (up to 1,024 characters) for the signer hotkey on ``netuid``, where it holds a UID:
    what the SDK's ``set_commitment`` stores (an endpoint, a model's hash, ...); the latest one counts."""

    SIGNER: ClassVar[str] = "hotkey"
    netuid: int = field_int(hi=MAX_NETUID)
    data: str = field_text(max_len=1024)


# --- commit-reveal weights (docs/consensus.md "Commit-reveal") ---------------------------------------------------


def weight_commit_hash(hotkey: bytes, netuid: int, uids: Any, values: Any, salt: bytes, version_key: int) -> bytes:
    """The hash a :class:`CommitWeights` carries: blake2b-256 of the canonical CBOR array
    ``["taonet.weight_commit", hotkey, netuid, [uids...], [values...], salt, version_key]``.

    ``hotkey`` is the committing hotkey's 32-byte public key; ``uids`` and ``values`` are taken in the order they will
    be revealed (the reveal must repeat them exactly).
    """
    body = ["taonet.weight_commit", bytes(hotkey), int(netuid), [int(u) for u in uids], [int(v) for v in values],
            bytes(salt), int(version_key)]
    return hashlib.blake2b(dumps(body), digest_size=32).digest()


def check_weight_shape(uids: Sequence[int], weights: Sequence[int], n: int | None) -> None:
    """SetWeights' vectors against a subnet of ``n`` UIDs: InvalidWeights for lengths that differ, more weights than
    UIDs, duplicate or unknown UIDs (in that order); ``n`` None (the subnet not read): the lengths and duplicates."""
    if len(uids) != len(weights):
        raise InvalidWeights(reason=f"{len(uids)} uids but {len(weights)} weights")
    if n is not None and len(uids) > n:
        raise InvalidWeights(reason=f"too many: {len(uids)} weights for a subnet of {n} UIDs")
    if len(set(uids)) != len(uids):
        raise InvalidWeights(reason="duplicate uids")
    if n is not None and uids and max(uids) >= n:
        unknown = [u for u in uids if u >= n]
        raise InvalidWeights(reason=f"unknown uids {unknown[:5]} (the subnet has {n} UIDs)")


def check_weight_counts(uids: Sequence[int], weights: Sequence[int], *, n: int, self_only: bool,
                        min_allowed_weights: int, max_weights_limit: int) -> None:
    """SetWeights' vectors against the subnet's rules: InvalidWeights for fewer than ``min_allowed_weights`` (at most
    ``n``; a weight on the validator itself alone, ``self_only``, passes), or a weight above ``max_weights_limit``."""
    need = min(min_allowed_weights, n)
    if len(uids) < need and not self_only:
        raise InvalidWeights(reason=f"too few: {len(uids)} weights, the subnet requires at least {need}")
    total = sum(weights)
    if max_weights_limit < 0xFFFF and total and len(uids) > 1:
        top = max(weights) * 0xFFFF // total
        if top > max_weights_limit:
            raise InvalidWeights(reason=f"a weight of {top}/65535 is above the max weight {max_weights_limit}/65535")


@message("call.commit_weights")
class CommitWeights(UserCall):
    """Commit to weights on ``netuid`` by their hash (:func:`weight_commit_hash`), to reveal them later (hotkey)."""

    SIGNER: ClassVar[str] = "hotkey"
    netuid: int = field_int(hi=MAX_NETUID)
    commit_hash: bytes = field_b32()


@message("call.reveal_weights")
class RevealWeights(UserCall):
    """Reveal weights committed earlier on ``netuid``: the same vectors, salt and version key as hashed (hotkey)."""

    SIGNER: ClassVar[str] = "hotkey"
    netuid: int = field_int(hi=MAX_NETUID)
    uids: tuple[int, ...] = vec("u16", max_len=4096)
    values: tuple[int, ...] = vec("u16", max_len=4096)
    salt: bytes = field_bytes(lo=8, hi=64)
    version_key: int = field_int(default=0)


# --- the extrinsic ----------------------------------------------------------------------------------------------


@message("extrinsic")
class Extrinsic(Message):
    """A call with its signer, nonce and the genesis hash of the chain it is for, signed by the signer."""

    call: Call = field_msg(Call)
    signer: bytes = field_b32()
    nonce: int = field_int()
    genesis: bytes = field_b32()
    signature: bytes = field_sig()
    _raw: bytes | None = cache_field()
    _hash: bytes | None = cache_field()
    _signed: bytes | None = cache_field()

    @staticmethod
    def payload(genesis: bytes, signer: bytes, nonce: int, call: Call) -> bytes:
        """The bytes the signer signs: canonical CBOR of [genesis hash, signer public key, nonce, call]."""
        return dumps_wire([genesis, signer, nonce, to_wire(call)])

    @classmethod
    def sign(cls, call: Call, keypair: Any, *, nonce: int, genesis: bytes) -> Extrinsic:
        """Build and sign an extrinsic with ``keypair`` (a :class:`~taonet.ledger.Keypair`)."""
        sig = keypair.sign(cls.payload(genesis, keypair.public_key, nonce, call))
        return cls(call=call, signer=keypair.public_key, nonce=nonce, genesis=genesis, signature=sig)

    def signed_bytes(self) -> bytes:
        """The payload this extrinsic's signature covers (cached)."""
        signed = self._signed
        if signed is None:
            signed = self._signed_from_raw() or self.payload(self.genesis, self.signer, self.nonce, self.call)
            object.__setattr__(self, "_signed", signed)
        return signed

    def _signed_from_raw(self) -> bytes | None:
        """The payload, built around the call's bytes sliced out of a canonical encoding (no re-encoding).

        A canonical extrinsic is ``[tag, version, {call, nonce, signer, genesis, signature}]`` in that key order:
        everything but the call has a known encoding, so the call is the middle, checked by its fixed edges. A
        non-canonical encoding gives None (and the payload is re-encoded).
        """
        raw = self._raw
        if raw is None or not raw.startswith(_EXT_PREFIX):
            return None
        nonce = _cbor_uint(self.nonce)
        tail = b"".join((b"\x65nonce", nonce, b"\x66signer\x58\x20", self.signer, b"\x67genesis\x58\x20", self.genesis,
                         b"\x69signature\x58\x40", self.signature))
        if len(raw) <= len(_EXT_PREFIX) + len(tail) or not raw.endswith(tail):
            return None
        return b"".join((b"\x84\x58\x20", self.genesis, b"\x58\x20", self.signer, nonce,
                         raw[len(_EXT_PREFIX) : len(raw) - len(tail)]))

    def to_bytes(self) -> bytes:
        """The canonical encoding (cached)."""
        raw = self._raw
        if raw is None:
            raw = encode(self)
            object.__setattr__(self, "_raw", raw)
        return raw

    @property
    def hash(self) -> bytes:
        """blake2b-256 of the canonical encoding: the extrinsic's identity."""
        h = self._hash
        if h is None:
            h = hashlib.blake2b(self.to_bytes(), digest_size=32).digest()
            object.__setattr__(self, "_hash", h)
        return h

    @classmethod
    def from_bytes(cls, raw: bytes, *, max_size: int = 1 << 20) -> Extrinsic:
        """Decode an extrinsic from its canonical encoding, kept as its bytes (so its hash is of canonical bytes).

        Codec errors on bad bytes; :class:`~taonet.ledger.errors.NonCanonical` for any other encoding of a valid
        extrinsic (reordered keys, non-minimal integers or lengths, trailing bytes), which would otherwise verify
        under a second hash.
        """
        ext = decode(raw, cls, max_size=max_size, canonical=True)
        object.__setattr__(ext, "_raw", bytes(raw))
        return ext


_EXT_PREFIX = b"\x83" + dumps_wire("extrinsic") + b"\x01\xa5" + dumps_wire("call")


def _cbor_uint(n: int) -> bytes:
    """The canonical CBOR encoding of an unsigned integer below 2^64."""
    if n < 24:
        return bytes((n,))
    if n < 0x100:
        return b"\x18" + n.to_bytes(1, "big")
    if n < 0x10000:
        return b"\x19" + n.to_bytes(2, "big")
    if n < 0x100000000:
        return b"\x1a" + n.to_bytes(4, "big")
    return b"\x1b" + n.to_bytes(8, "big")


# --- system calls: answers of the pipeline's actors -------------------------------------------------------------


@message("sys.assignment")
class UidAssignment(Message):
    """One registration answered: ``hotkey`` takes ``uid`` on ``netuid`` (replacing whoever held it)."""

    netuid: int = field_int(hi=MAX_NETUID)
    hotkey: bytes = field_b32()
    uid: int = field_int(hi=U16)


@message("sys.refusal")
class RegistrationRefusal(Message):
    """One registration refused, its burn refunded to ``coldkey``."""

    netuid: int = field_int(hi=MAX_NETUID)
    hotkey: bytes = field_b32()
    coldkey: bytes = field_b32()
    refund: int = field_int()
    reason: str = field_text(max_len=128)


@message("sys.difficulty")
class DifficultyAdjustment(Message):
    """A subnet's proof-of-work difficulty after an adjustment interval."""

    netuid: int = field_int(hi=MAX_NETUID)
    difficulty: int = field_int(lo=1)


@message("sys.registrar_answer")
class RegistrarAnswer(SystemCall):
    """The registrar's answer to block ``block``: UID assignments, refusals, and price adjustments (may be empty)."""

    ORDER: ClassVar[int] = 3

    block: int = field_int()
    assignments: tuple[UidAssignment, ...] = field_msgs(UidAssignment)
    refusals: tuple[RegistrationRefusal, ...] = field_msgs(RegistrationRefusal)
    difficulties: tuple[DifficultyAdjustment, ...] = field_msgs(DifficultyAdjustment, default=())

    @property
    def is_empty(self) -> bool:
        """True when the answer changes nothing."""
        return not (self.assignments or self.refusals or self.difficulties)


@message("sys.tempo_elapsed")
class TempoElapsed(SystemCall):
    """The scheduler's answer: subnet ``netuid``'s tempo elapsed at block ``block`` (its epoch is due)."""

    ORDER: ClassVar[int] = 1
    netuid: int = field_int(hi=MAX_NETUID)
    block: int = field_int()

    def answer_key(self) -> tuple[object, ...]:
        """One per subnet and block."""
        return (self.TAG, self.netuid)


@message("sys.stake_credit")
class StakeCredit(Message):
    """Emission credited as stake: ``amount`` RAO to ``coldkey``'s stake on ``hotkey``."""

    coldkey: bytes = field_b32()
    hotkey: bytes = field_b32()
    amount: int = field_int()


@message("sys.epoch_result")
class EpochResult(SystemCall):
    """The consensus actor's answer: the epoch of ``netuid`` at ``block``, as integers.

    Per UID (``n`` of them): the u16 outputs, validator permits (0/1) and the RAO each UID earned (``emission``).
    Bonds: the rows of ``bond_rows`` are replaced; row k holds ``bond_uids/bond_values[bond_ptr[k]:bond_ptr[k+1]]``.
    The pot is paid exactly: ``owner_cut`` to the owner's coldkey, ``credits`` as stake.
    """

    ORDER: ClassVar[int] = 2
    netuid: int = field_int(hi=MAX_NETUID)
    block: int = field_int()
    pot: int = field_int()
    owner_cut: int = field_int()
    rank: bytes = packed("u16", max_len=4096)
    trust: bytes = packed("u16", max_len=4096)
    consensus: bytes = packed("u16", max_len=4096)
    incentive: bytes = packed("u16", max_len=4096)
    dividends: bytes = packed("u16", max_len=4096)
    vtrust: bytes = packed("u16", max_len=4096)
    permits: bytes = packed("u8", max_len=4096)
    emission: bytes = packed("u64", max_len=4096)
    bond_rows: bytes = packed("u16", max_len=4096)
    bond_ptr: bytes = packed("u32", max_len=4097)
    bond_uids: bytes = packed("u16", max_len=1 << 24)
    bond_values: bytes = packed("u16", max_len=1 << 24)
    credits: tuple[StakeCredit, ...] = field_msgs(StakeCredit, max_len=1 << 20)

    def answer_key(self) -> tuple[object, ...]:
        """One per subnet and block."""
        return (self.TAG, self.netuid)

    def vectors(self) -> dict[str, list[int]]:
        """Every packed vector of this result as a list of ints, by field name."""
        return {name: unpack(getattr(self, name), dtype) for name, dtype in _EPOCH_VECTORS.items()}


_EPOCH_VECTORS = {"rank": "u16", "trust": "u16", "consensus": "u16", "incentive": "u16", "dividends": "u16",
                  "vtrust": "u16", "permits": "u8", "emission": "u64", "bond_rows": "u16", "bond_ptr": "u32",
                  "bond_uids": "u16", "bond_values": "u16"}


@message("sys.genesis")
class Genesis(SystemCall):
    """Block 0's only call: the genesis configuration, encoded (see :mod:`taonet.ledger._genesis`)."""

    config: bytes = field_bytes(hi=64 << 20)


__all__ += ["check_weight_counts", "check_weight_shape"]
__all__ += ["DifficultyAdjustment", "EpochResult", "Genesis", "RegistrarAnswer", "RegistrationRefusal", "StakeCredit",
            "TempoElapsed", "UidAssignment"]
