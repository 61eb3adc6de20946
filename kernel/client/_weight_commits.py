"""Commit-reveal weights on the client side: what a commit must remember until its reveal, and the reads of pending
commits (docs/consensus.md "Commit-reveal" gives the chain's rules and the hash)."""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Sequence
from typing import Any

import attrs

from taonet.ledger import ss58_decode, ss58_encode, weight_commit_hash
from taonet.ledger.errors import TaonetError

__all__ = ["PendingReveal", "WeightCommitInfo", "check_salt", "u16_uids", "u16_weights"]

SALT_BYTES = 16
SALT_MIN, SALT_MAX = 8, 64
"""The salt lengths a reveal takes (bytes; RevealWeights.salt)."""
MAX_U16, MAX_U64 = 0xFFFF, (1 << 64) - 1
MAX_VECTOR = 4096
"""The most UIDs (and values) a reveal carries (RevealWeights.uids)."""


def _vector(values: Any, what: str) -> Any:
    """``values`` (a list, tuple or numpy array of numbers) as a 1-D float64 array; ValueError saying what is
    wrong otherwise."""
    import numpy as np

    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} must be a list or 1-D array of numbers ({e})") from None
    if v.ndim != 1:
        raise ValueError(f"{what} must be a list or 1-D array of numbers, not an array of shape {v.shape}")
    if not np.isfinite(v).all():
        raise ValueError(f"{what} must be finite numbers (no nan or inf)")
    return v


def u16_uids(uids: Sequence[int] | Any) -> list[int]:
    """UIDs as the chain's u16 integers (from ints, numpy integers, or whole floats); ValueError if one is not a
    whole number in 0..65535 or the vector is not 1-D."""
    # said here: the array of objects they make would be refused as "not finite numbers"
    if isinstance(uids, list | tuple) and any(x is None for x in uids):
        at = [i for i, x in enumerate(uids) if x is None]
        raise ValueError(f"a UID is missing (None at position {at[0]}{' and others' if len(at) > 1 else ''}): "
                         "get_uid_for_hotkey_on_subnet gives None for a hotkey that holds no UID on the subnet (not "
                         "registered there, or replaced since); leave it out, or register it first")
    u = _vector(uids, "uids")
    if ((u < 0) | (u > 0xFFFF) | (u != u.round())).any():
        raise ValueError("uids must be whole numbers in 0..65535")
    return [int(x) for x in u.tolist()]


def u16_weights(weights: Sequence[float] | Any) -> list[int]:
    """Weights max-upscaled to u16 as ``set_weights`` sends them (the largest becomes 65535); ValueError if any is
    negative or not finite. The same floats always give the same integers, so a commit and its reveal agree."""
    import numpy as np

    w = _vector(weights, "weights")
    if w.size and (w < 0).any():
        raise ValueError("weights must be non-negative")
    top = w.max() if w.size else 0.0
    u16 = np.zeros(w.shape, dtype=np.int64) if top <= 0 else np.rint(w / top * 0xFFFF).astype(np.int64)
    return [int(x) for x in u16.tolist()]


def check_salt(salt: Any) -> bytes:
    """``salt`` as bytes if it is 8 to 64 bytes (what a reveal takes); ValueError saying what it is otherwise."""
    if not isinstance(salt, bytes | bytearray | memoryview):
        raise ValueError(f"salt must be {SALT_MIN} to {SALT_MAX} bytes, not {type(salt).__name__}")
    raw = bytes(salt)
    if not SALT_MIN <= len(raw) <= SALT_MAX:
        raise ValueError(f"salt must be {SALT_MIN} to {SALT_MAX} bytes (a reveal takes no other), got {len(raw)}")
    return raw


@attrs.frozen(kw_only=True)
class WeightCommitInfo:
    """One pending weight commit as the chain holds it: whose, its hash, its block and its reveal window."""

    hotkey: str
    commit_hash: bytes
    block: int
    reveal_from: int
    reveal_until: int

    @classmethod
    def from_payload(cls, d: dict[str, Any]) -> WeightCommitInfo:
        """From the node's ``weight_commits`` answer."""
        return cls(hotkey=ss58_encode(d["hotkey"]), commit_hash=bytes(d["commit_hash"]), block=int(d["block"]),
                   reveal_from=int(d["reveal_from"]), reveal_until=int(d["reveal_until"]))


@attrs.frozen(kw_only=True)
class PendingReveal:
    """What a commit must keep to be revealed: the exact u16 vectors, the salt and version key, and (once the commit
    is in a block) the block and the reveal window. :meth:`to_json`/:meth:`from_json` keep it in a file."""

    netuid: int
    hotkey: str
    uids: tuple[int, ...] = attrs.field(converter=lambda v: tuple(int(x) for x in v))
    values: tuple[int, ...] = attrs.field(converter=lambda v: tuple(int(x) for x in v))
    salt: bytes
    version_key: int = 0
    block: int | None = None
    reveal_from: int | None = None
    reveal_until: int | None = None

    @classmethod
    def new(cls, netuid: int, hotkey: str, uids: Sequence[int] | Any, weights: Sequence[float] | Any, *,
            salt: bytes | None = None, version_key: int = 0) -> PendingReveal:
        """A reveal to commit: ``weights`` upscaled to u16, a fresh random salt unless one is given."""
        return cls(netuid=operator.index(netuid), hotkey=hotkey, uids=u16_uids(uids), values=u16_weights(weights),
                   salt=os.urandom(SALT_BYTES) if salt is None else check_salt(salt), version_key=version_key)

    @property
    def commit_hash(self) -> bytes:
        """The hash the chain's commit carries (binds hotkey, netuid, uids, values, salt, version key)."""
        return weight_commit_hash(ss58_decode(self.hotkey), self.netuid, self.uids, self.values, self.salt,
                                  self.version_key)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the salt in hex)."""
        d = attrs.asdict(self)
        d["uids"], d["values"], d["salt"] = list(self.uids), list(self.values), self.salt.hex()
        return d

    @classmethod
    def from_json(cls, d: Any) -> PendingReveal:
        """The inverse of :meth:`to_json`, checked strictly: a ValueError naming the key for anything a commit could
        not have saved (a missing or unknown key, a number that is not an int or out of its range, uids and values
        of different lengths, a salt that is not 8 to 64 bytes of hex, a hotkey that is not an SS58 address)."""
        if isinstance(d, str | bytes | bytearray):
            raise ValueError(f"from_json takes the dict to_json() gives, not its JSON text ({_shown(d)}): "
                             "json.loads the file's text first")
        if not isinstance(d, dict):
            raise ValueError(f"it holds {_shown(d)}, not a JSON object")
        unknown = sorted(set(d) - {f.name for f in attrs.fields(cls)})
        if unknown:
            raise ValueError(f"it has the key {_shown(unknown[0])}, which a saved commit does not")
        netuid = _int_of(d, "netuid", MAX_U16)
        hotkey = _required(d, "hotkey")
        try:
            if not isinstance(hotkey, str):
                raise TypeError
            ss58_decode(hotkey)
        except (TypeError, TaonetError):
            raise ValueError(f'"hotkey" is {_shown(hotkey)}, not an SS58 address') from None
        uids, values = _u16_list(d, "uids"), _u16_list(d, "values")
        if len(uids) != len(values):
            raise ValueError(f'"uids" has {len(uids)} entries but "values" {len(values)}: a commit has one value per '
                             "UID")
        salt = _required(d, "salt")
        try:
            raw = bytes.fromhex(salt) if isinstance(salt, str) else None
        except ValueError:
            raw = None
        if raw is None or not SALT_MIN <= len(raw) <= SALT_MAX:
            raise ValueError(f'"salt" is {_shown(salt)}, not {SALT_MIN} to {SALT_MAX} bytes in hex')
        return cls(netuid=netuid, hotkey=hotkey, uids=uids, values=values, salt=raw,
                   version_key=_int_of(d, "version_key", MAX_U64),
                   **{k: _int_of(d, k, MAX_U64, optional=True) for k in ("block", "reveal_from", "reveal_until")})


def _shown(v: Any) -> str:
    """``v`` as JSON writes it (at most 40 characters), for an error message."""
    try:
        text = json.dumps(v)
    except (TypeError, ValueError):
        text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _required(d: dict[str, Any], key: str) -> Any:
    """``d[key]``, or a ValueError saying it is missing."""
    if key not in d:
        raise ValueError(f'"{key}" is missing')
    return d[key]


def _int_of(d: dict[str, Any], key: str, hi: int, *, optional: bool = False) -> Any:
    """``d[key]`` if it is an int (not a bool, not a float) in 0..``hi`` (or, when ``optional``, null or absent)."""
    if optional and d.get(key) is None:
        return None
    v = _required(d, key)
    if type(v) is not int or not 0 <= v <= hi:
        raise ValueError(f'"{key}" is {_shown(v)}, not an integer in 0..{hi}' + (" or null" if optional else ""))
    return v


def _u16_list(d: dict[str, Any], key: str) -> list[int]:
    """``d[key]`` if it is a list of at most MAX_VECTOR ints in 0..65535."""
    v = _required(d, key)
    if not isinstance(v, list) or len(v) > MAX_VECTOR:
        raise ValueError(f'"{key}" is {_shown(v)}, not a list of at most {MAX_VECTOR} integers')
    for i, x in enumerate(v):
        if type(x) is not int or not 0 <= x <= MAX_U16:
            raise ValueError(f'"{key}"[{i}] is {_shown(x)}, not an integer in 0..{MAX_U16}')
    return v
