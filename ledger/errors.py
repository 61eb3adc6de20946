"""The typed errors of taonet's ledger: one tree, each leaf with typed fields and a message a user can act on.

Every error the project raises on purpose derives from :class:`TaonetError`. Each concrete error has a stable
``CODE`` so it can cross a socket (the node's RPC sends ``{code, fields}``) and be rebuilt on the other side with
:func:`error_from_wire`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

__all__ = [
    "StorageFailed",
    "NonCanonical",
    "BelowExistentialDeposit",
    "ZeroTransfer",
    "AlreadyRegistered",
    "BadHotkeySignature",
    "BadSignature",
    "ChainBroken",
    "CodecError",
    "CorruptLog",
    "ExtrinsicRejected",
    "FutureNonce",
    "HotkeyNotRegistered",
    "HotkeyOwnedByOther",
    "InsufficientBalance",
    "InsufficientStake",
    "InvalidAddress",
    "InvalidBlock",
    "InvalidCall",
    "InvalidField",
    "InvalidGenesis",
    "InvalidHyperparameter",
    "InvalidKey",
    "InvalidWeights",
    "LedgerError",
    "MalformedMessage",
    "MessageTooLarge",
    "MessageTooDense",
    "NoValidatorPermit",
    "NotDelegate",
    "NotSubnetOwner",
    "ProofOfWorkInvalid",
    "RateLimited",
    "NoBlockLog",
    "EmptyBlockLog",
    "NotARegularFile",
    "ReadOnlyStore",
    "RegistrationClosed",
    "StaleNonce",
    "StaleVersionKey",
    "StorageError",
    "SubnetLimitReached",
    "SubnetNotFound",
    "SystemCallRejected",
    "TaonetError",
    "UnknownHotkey",
    "UnknownType",
    "WrongGenesis",
    "WrongHeight",
    "error_from_wire",
    "error_leaves",
    "error_text",
    "error_to_wire",
    "CommitRevealDisabled",
    "CommitRevealRequired",
    "RevealTooEarly",
    "RevealTooLate",
    "TooManyWeightCommits",
    "WeightCommitNotFound",
]

_BY_CODE: dict[str, type[TaonetError]] = {}


class TaonetError(Exception):
    """Base for every error taonet raises on purpose.

    Its attrs subclasses are ``attrs.define(..., slots=False)``: a slotted attrs class is a second class object
    built from the first, and the first stays among its base's ``__subclasses__()`` (same name, same CODE) until
    a full garbage collection, so a walk of the tree would meet some errors twice. An exception has a
    ``__dict__`` anyway, so slots save nothing here.
    """

    CODE: ClassVar[str] = "taonet_error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("CODE")
        if code is not None:
            _BY_CODE[code] = cls

    def fields(self) -> dict[str, Any]:
        """The typed payload of this error (attrs fields, or the message for plain ones)."""
        if attrs.has(type(self)):
            return attrs.asdict(self, recurse=False)
        return {"message": str(self)}


def error_text(template: str) -> Any:
    """A ``__str__`` for an attrs error class: ``template`` formatted with the error's fields."""

    def __str__(self: Any) -> str:
        return template.format(**{f.name: getattr(self, f.name) for f in attrs.fields(type(self))})

    return __str__


_msg = error_text


def error_leaves(e: BaseException) -> list[BaseException]:
    """The errors inside ``e``, in order: ``[e]`` itself, or the leaves of an ExceptionGroup (nested groups
    flattened), which is how a task group reports what went wrong in it."""
    if not isinstance(e, BaseExceptionGroup):
        return [e]
    return [leaf for inner in e.exceptions for leaf in error_leaves(inner)]


def error_to_wire(err: TaonetError) -> dict[str, Any]:
    """A plain dict ``{code, fields}`` for sending an error over a socket."""
    return {"code": err.CODE, "fields": err.fields()}


def error_from_wire(data: Any) -> TaonetError:
    """Rebuild a typed error from :func:`error_to_wire` output; unknown codes (or missing fields) become a plain
    TaonetError, fields this version does not have are ignored."""
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        return TaonetError(f"malformed error from peer: {data!r:.200}")
    cls = _BY_CODE.get(data["code"])
    fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
    if cls is None:
        return TaonetError(f"{data['code']}: {fields}")
    try:
        if attrs.has(cls):  # fields this version does not know (a newer peer's additions) are left out
            known = attrs.fields_dict(cls)
            return cls(**{k: v for k, v in fields.items() if k in known})
        return cls(str(fields.get("message", "")))
    except (TypeError, ValueError):
        return TaonetError(f"{data['code']}: {fields}")


class LedgerError(TaonetError):
    """Base for errors of the chain as data: codec, keys, runtime rules, storage."""

    CODE = "ledger_error"


# --- codec -------------------------------------------------------------------------------------------------


class CodecError(LedgerError, ValueError):
    """Raised when bytes cannot become a message; the only family the decoder raises."""

    CODE = "codec_error"


class MalformedMessage(CodecError):
    """Raised when bytes are not well-formed CBOR or not shaped as a taonet message."""

    CODE = "malformed_message"


class UnknownType(CodecError, LookupError):
    """Raised when a message carries a type tag (or a version) this codec does not know."""

    CODE = "unknown_type"


class InvalidField(CodecError):
    """Raised when a message's fields are missing, extra, of the wrong type, or out of range."""

    CODE = "invalid_field"


@attrs.define(auto_exc=True, str=False, slots=False)
class NonCanonical(CodecError):
    """Raised when bytes decode but are not the one canonical encoding of what they carry (so not its identity)."""

    CODE = "non_canonical"
    what: str
    __str__ = _msg("{what} is not in canonical form; encode it with taonet's codec (taonet.ledger.encode)")


@attrs.define(auto_exc=True, str=False, slots=False)
class MessageTooLarge(CodecError):
    """Raised when a message exceeds the size limit before any parsing is done."""

    CODE = "message_too_large"
    size: int
    limit: int
    __str__ = _msg("message of {size} bytes exceeds the limit of {limit} bytes")


@attrs.define(auto_exc=True, str=False, slots=False)
class MessageTooDense(CodecError):
    """Raised when a peer's message would decode to more memory than its size allows (checked before decoding)."""

    CODE = "message_too_dense"
    size: int
    limit: int
    reason: str = "its items would take more memory than that"
    __str__ = _msg("message of {size} bytes refused: it may decode to at most {limit} bytes of objects and {reason}; "
                   "send large data as one byte or text string, or numbers as packed bytes, or split it")


# --- keys ---------------------------------------------------------------------------------------------------


class InvalidKey(LedgerError, ValueError):
    """Raised for a malformed seed, mnemonic, derivation path or key."""

    CODE = "invalid_key"


class InvalidAddress(InvalidKey):
    """Raised when an SS58 address has a bad length, prefix or checksum."""

    CODE = "invalid_address"


# --- extrinsic rejections (runtime) -------------------------------------------------------------------------


class ExtrinsicRejected(LedgerError):
    """Base for the reasons the runtime refuses an extrinsic; the state is untouched when one is raised."""

    CODE = "rejected"


@attrs.define(auto_exc=True, str=False, slots=False)
class BadSignature(ExtrinsicRejected):
    """Raised when a signature does not verify under the key that must have made it."""

    CODE = "bad_signature"
    what: str = "extrinsic"
    __str__ = _msg("the {what} signature does not verify")


@attrs.define(auto_exc=True, str=False, slots=False)
class WrongGenesis(ExtrinsicRejected):
    """Raised when an extrinsic was signed for another chain (its genesis hash differs)."""

    CODE = "wrong_genesis"
    expected: bytes
    got: bytes

    def __str__(self) -> str:
        return f"signed for chain {self.got.hex()[:16]}..., this chain is {self.expected.hex()[:16]}..."


@attrs.define(auto_exc=True, str=False, slots=False)
class StaleNonce(ExtrinsicRejected):
    """Raised when an extrinsic's nonce was already used by its signer."""

    CODE = "stale_nonce"
    expected: int
    got: int
    __str__ = _msg("nonce {got} was already used; the next nonce is {expected}")


@attrs.define(auto_exc=True, str=False, slots=False)
class FutureNonce(ExtrinsicRejected):
    """Raised when an extrinsic's nonce skips ahead of its signer's next nonce."""

    CODE = "future_nonce"
    expected: int
    got: int
    __str__ = _msg("nonce {got} is ahead of the next nonce {expected}")


@attrs.define(auto_exc=True, str=False, slots=False)
class BelowExistentialDeposit(ExtrinsicRejected):
    """Raised when a transfer is below the existential deposit, or would leave a new account holding less."""

    CODE = "below_existential_deposit"
    amount: int
    minimum: int
    __str__ = _msg("{amount} RAO is below the existential deposit of {minimum} RAO; send at least {minimum} RAO")


@attrs.define(auto_exc=True, str=False, slots=False)
class ZeroTransfer(ExtrinsicRejected):
    """Raised when a transfer of 0 RAO is sent on a chain with an existential deposit."""

    CODE = "zero_transfer"
    dest: str
    __str__ = _msg("a transfer of 0 RAO to {dest} moves nothing and is refused; send at least 1 RAO")


@attrs.define(auto_exc=True, str=False, slots=False)
class InsufficientBalance(ExtrinsicRejected):
    """Raised when the free balance cannot cover an amount plus the fee."""

    CODE = "insufficient_balance"
    needed: int
    available: int
    __str__ = _msg("needs {needed} RAO but only {available} RAO is free: have a funded wallet send τ to this coldkey "
                   "(taonet wallet transfer), take some from the faucet on a development chain (taonet wallet faucet), "
                   "or ask for less")


@attrs.define(auto_exc=True, str=False, slots=False)
class InsufficientStake(ExtrinsicRejected):
    """Raised when removing more stake than a coldkey holds on a hotkey."""

    CODE = "insufficient_stake"
    needed: int
    available: int
    __str__ = _msg("needs {needed} RAO of stake but only {available} RAO is staked")


@attrs.define(auto_exc=True, str=False, slots=False)
class UnknownHotkey(ExtrinsicRejected):
    """Raised when a hotkey has no owner on the chain (never registered or staked to)."""

    CODE = "unknown_hotkey"
    hotkey: str
    __str__ = _msg("hotkey {hotkey} is not known to the chain (never registered or staked to): check the address, "
                   "or register it first (taonet subnet register)")


@attrs.define(auto_exc=True, str=False, slots=False)
class HotkeyNotRegistered(ExtrinsicRejected):
    """Raised when a hotkey acts on a subnet where it holds no UID."""

    CODE = "hotkey_not_registered"
    hotkey: str
    netuid: int
    __str__ = _msg("hotkey {hotkey} is not registered on subnet {netuid}: register it first (taonet subnet register "
                   "{netuid}), or check the hotkey and the subnet")


@attrs.define(auto_exc=True, str=False, slots=False)
class AlreadyRegistered(ExtrinsicRejected):
    """Raised when a hotkey asks for a UID on a subnet where it already has one (or a pending request)."""

    CODE = "already_registered"
    hotkey: str
    netuid: int
    __str__ = _msg("hotkey {hotkey} is already registered (or waiting) on subnet {netuid}")


@attrs.define(auto_exc=True, str=False, slots=False)
class HotkeyOwnedByOther(ExtrinsicRejected):
    """Raised when a coldkey acts for a hotkey another coldkey owns."""

    CODE = "hotkey_owned_by_other"
    hotkey: str
    owner: str
    __str__ = _msg("hotkey {hotkey} belongs to coldkey {owner}: sign with that coldkey, or use a hotkey of your "
                   "own")


@attrs.define(auto_exc=True, str=False, slots=False)
class BadHotkeySignature(ExtrinsicRejected):
    """Raised when a registration's hotkey signature over the coldkey does not verify."""

    CODE = "bad_hotkey_signature"
    hotkey: str
    __str__ = _msg("the registration lacks a valid signature of hotkey {hotkey} over the coldkey")


@attrs.define(auto_exc=True, str=False, slots=False)
class NotSubnetOwner(ExtrinsicRejected):
    """Raised when someone other than the owner's coldkey changes a subnet."""

    CODE = "not_subnet_owner"
    netuid: int
    __str__ = _msg("only the owner of subnet {netuid} may do this: sign with its owner's coldkey (taonet subnet "
                   "show {netuid} names it)")


@attrs.define(auto_exc=True, str=False, slots=False)
class NotDelegate(ExtrinsicRejected):
    """Raised when a delegate-only action targets a hotkey that never nominated."""

    CODE = "not_delegate"
    hotkey: str
    __str__ = _msg("hotkey {hotkey} is not a delegate; its owner must nominate it first")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoValidatorPermit(ExtrinsicRejected):
    """Raised when a UID without a validator permit sets weights on others."""

    CODE = "no_validator_permit"
    netuid: int
    uid: int
    __str__ = _msg("UID {uid} on subnet {netuid} has no validator permit; stake more to get one")


@attrs.define(auto_exc=True, str=False, slots=False)
class RateLimited(ExtrinsicRejected):
    """Raised when an action repeats before its rate limit (in blocks) has passed."""

    CODE = "rate_limited"
    what: str
    retry_at: int
    __str__ = _msg("{what} is rate limited; retry at block {retry_at}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidWeights(ExtrinsicRejected):
    """Raised when a weight vector breaks the subnet's rules (count, max weight, duplicate or unknown UIDs)."""

    CODE = "invalid_weights"
    reason: str
    __str__ = _msg("weights rejected: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class StaleVersionKey(ExtrinsicRejected):
    """Raised when set_weights carries a version key below the subnet's weights_version."""

    CODE = "stale_version_key"
    required: int
    got: int
    __str__ = _msg("version key {got} is below the subnet's required {required}; upgrade your validator")


@attrs.define(auto_exc=True, str=False, slots=False)
class SubnetNotFound(ExtrinsicRejected):
    """Raised when a call names a netuid that does not exist (a read of a past block or range says which)."""

    CODE = "subnet_not_found"
    netuid: int
    block: int | None = None
    """The block asked about (None: the head), or the first of a range."""
    last: int | None = None
    """The last block of a range asked about."""

    def __str__(self) -> str:
        if self.block is None:
            return f"subnet {self.netuid} does not exist"
        if self.last is None or self.last == self.block:
            return f"subnet {self.netuid} does not exist at block {self.block}"
        return f"subnet {self.netuid} does not exist in blocks {self.block}..{self.last}"


@attrs.define(auto_exc=True, str=False, slots=False)
class SubnetLimitReached(ExtrinsicRejected):
    """Raised when no netuid is free for a new subnet."""

    CODE = "subnet_limit"
    limit: int
    __str__ = _msg("the chain already holds its limit of {limit} subnets")


@attrs.define(auto_exc=True, str=False, slots=False)
class RegistrationClosed(ExtrinsicRejected):
    """Raised when a subnet accepts no more registrations in this block or interval."""

    CODE = "registration_closed"
    netuid: int
    reason: str
    __str__ = _msg("registration on subnet {netuid} is closed: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class ProofOfWorkInvalid(ExtrinsicRejected):
    """Raised when a proof-of-work registration's work does not meet the difficulty or is too old."""

    CODE = "pow_invalid"
    reason: str
    __str__ = _msg("proof of work rejected: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidHyperparameter(ExtrinsicRejected):
    """Raised when a hyperparameter name is unknown or its value is outside its bounds."""

    CODE = "invalid_hyperparameter"
    name: str
    reason: str
    __str__ = _msg("hyperparameter {name}: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidCall(ExtrinsicRejected):
    """Raised for a call whose arguments break a rule not covered by a more specific error."""

    CODE = "invalid_call"
    reason: str
    __str__ = _msg("{reason}")


# --- commit-reveal weights --------------------------------------------------------------------------------------


@attrs.define(auto_exc=True, str=False, slots=False)
class CommitRevealRequired(ExtrinsicRejected):
    """Raised when set_weights is sent to a subnet whose weights must be committed and revealed."""

    CODE = "commit_reveal_required"
    netuid: int
    __str__ = _msg("subnet {netuid} uses commit-reveal: commit your weights' hash (commit_weights, `taonet weights "
                   "commit`) and reveal them in the window; the client's set_weights does both")


@attrs.define(auto_exc=True, str=False, slots=False)
class CommitRevealDisabled(ExtrinsicRejected):
    """Raised when a weight commit or reveal is sent to a subnet that does not use commit-reveal."""

    CODE = "commit_reveal_disabled"
    netuid: int
    __str__ = _msg("commit-reveal is off on subnet {netuid}; set weights directly (set_weights, `taonet weights "
                   "set`)")


@attrs.define(auto_exc=True, str=False, slots=False)
class TooManyWeightCommits(ExtrinsicRejected):
    """Raised when a hotkey already holds the most pending weight commits a subnet allows."""

    CODE = "too_many_weight_commits"
    netuid: int
    limit: int
    __str__ = _msg("you already hold {limit} pending weight commits on subnet {netuid}; reveal one or let one "
                   "expire first")


@attrs.define(auto_exc=True, str=False, slots=False)
class WeightCommitNotFound(ExtrinsicRejected):
    """Raised when a reveal matches no pending commit of its hotkey on its subnet."""

    CODE = "weight_commit_not_found"
    netuid: int
    hotkey: str
    __str__ = _msg("no pending weight commit of {hotkey} on subnet {netuid} matches this reveal; reveal the same "
                   "uids, values, salt and version key, from the hotkey and on the subnet that committed")


@attrs.define(auto_exc=True, str=False, slots=False)
class RevealTooEarly(ExtrinsicRejected):
    """Raised when a reveal comes before its commit's window opens."""

    CODE = "reveal_too_early"
    netuid: int
    reveal_from: int
    __str__ = _msg("too early to reveal on subnet {netuid}: the commit's window opens at block {reveal_from}")


@attrs.define(auto_exc=True, str=False, slots=False)
class RevealTooLate(ExtrinsicRejected):
    """Raised when a reveal comes after its commit's window closed."""

    CODE = "reveal_too_late"
    netuid: int
    reveal_until: int
    __str__ = _msg("too late to reveal on subnet {netuid}: the commit's window closed at block {reveal_until}; "
                   "commit again")


@attrs.define(auto_exc=True, str=False, slots=False)
class SystemCallRejected(ExtrinsicRejected):
    """Raised when a system call (an actor's answer) breaks the runtime's rules; the node halts on it."""

    CODE = "system_call_rejected"
    reason: str
    __str__ = _msg("system call rejected: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidGenesis(LedgerError, ValueError):
    """Raised when a genesis file cannot be read or does not describe a valid genesis."""

    CODE = "invalid_genesis"
    path: str
    reason: str
    __str__ = _msg("genesis file {path}: {reason}")


# --- blocks and storage -------------------------------------------------------------------------------------


@attrs.define(auto_exc=True, str=False, slots=False)
class InvalidBlock(LedgerError):
    """Raised when a block does not follow from its parent (link, signature, roots, digest or a call)."""

    CODE = "invalid_block"
    number: int
    reason: str
    __str__ = _msg("block {number} is invalid: {reason}")


@attrs.define(auto_exc=True, str=False, slots=False)
class ChainBroken(InvalidBlock):
    """Raised when a block's parent hash does not match the previous block's hash."""

    CODE = "chain_broken"


class StorageError(LedgerError, OSError):
    """Base for errors of the block log on disk."""

    CODE = "storage_error"


@attrs.define(auto_exc=True, str=False, slots=False)
class WrongHeight(StorageError):
    """Raised when appending a block at a height other than the log's next one (a second writer, or a gap)."""

    CODE = "wrong_height"
    expected: int
    got: int
    __str__ = _msg("the log expects block {expected} next, got {got}")


@attrs.define(auto_exc=True, str=False, slots=False)
class CorruptLog(StorageError):
    """Raised by verification when a complete record inside the log (not a torn tail) is damaged."""

    CODE = "corrupt_log"
    path: str
    offset: int
    reason: str
    block: int | None = None
    """The number of the block whose record is damaged or missing, when the store knows it (None when the problem
    is a file, not a block: e.g. a segment whose name does not fit the blocks before it)."""

    def __str__(self) -> str:
        block = "" if self.block is None else f" (block {self.block})"
        return f"{self.path} at byte {self.offset}{block}: {self.reason}"

    @property
    def where(self) -> str:
        """The message without the block's number: for a caller that names the block itself."""
        return f"{self.path} at byte {self.offset}: {self.reason}"


@attrs.define(auto_exc=True, str=False, slots=False)
class NotARegularFile(StorageError):
    """Raised when a file of the block log (a segment file, the index) is a folder, a FIFO, a device or a socket:
    the store reads only regular files (a FIFO would block it forever)."""

    CODE = "not_a_regular_file"
    path: str
    kind: str
    """What it is instead: "a folder", "a FIFO (named pipe)", "a socket", "a device"."""
    __str__ = _msg("{path} is {kind}, not a regular file: the block log keeps only regular files there; restore the "
                   "data directory from a copy")


@attrs.define(auto_exc=True, str=False, slots=False)
class StorageFailed(StorageError):
    """Raised when the disk refuses a write or a sync (full, read-only, I/O error): nothing after it is acknowledged."""

    CODE = "storage_failed"
    path: str
    operation: str
    reason: str
    __str__ = _msg("{operation} on {path} failed: {reason}; free space or fix the disk, then restart")


@attrs.define(auto_exc=True, str=False, slots=False)
class ReadOnlyStore(StorageError):
    """Raised when something tries to write to a store opened with ``read_only=True``."""

    CODE = "read_only_store"
    path: str
    __str__ = _msg("{path} was opened read-only; only the node that holds its data directory writes to it")


@attrs.define(auto_exc=True, str=False, slots=False)
class NoBlockLog(StorageError):
    """Raised when a directory given as a chain's data directory holds no block log."""

    CODE = "no_block_log"
    path: str
    __str__ = _msg("{path} holds no block log (no chain/blocks/ in it): give the data directory of a node (its "
                   "--data-dir), of a replica, or a localnet's directory")


@attrs.define(auto_exc=True, str=False, slots=False)
class EmptyBlockLog(StorageError):
    """Raised when a reader opens a block log that holds no block (not even genesis)."""

    CODE = "empty_block_log"
    path: str
    __str__ = _msg("{path} holds no block (its segment files are empty or gone): restore the data directory from a "
                   "copy, or give the data directory of a node that has sealed its genesis")
