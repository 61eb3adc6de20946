"""Commit-reveal weights on the client side: what a commit must remember until its reveal, and the reads of pending
commits (docs/consensus.md "Commit-reveal" gives the chain's rules and the hash)."""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence
from typing import Any

import attrs

from taonet.ledger import ss58_decode, ss58_encode, weight_commit_hash

__all__ = ["PendingReveal", "WeightCommitInfo", "u16_uids", "u16_weights"]

SALT_BYTES = 16


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
                   salt=os.urandom(SALT_BYTES) if salt is None else bytes(salt), version_key=version_key)

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
    def from_json(cls, d: dict[str, Any]) -> PendingReveal:
        """The inverse of :meth:`to_json` (ValueError/KeyError/TypeError on a damaged record)."""
        return cls(**{**d, "salt": bytes.fromhex(d["salt"])})
