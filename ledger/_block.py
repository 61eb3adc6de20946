"""Blocks: a header hash-chained to its parent, the extrinsics and events, signed by the node's authority key."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ._calls import Extrinsic
from ._codec import (
    Message,
    cache_field,
    decode,
    embedded_raws,
    encode,
    field_b32,
    field_embedded,
    field_int,
    field_msg,
    field_sig,
    message,
)
from ._events import EventRecord
from ._keys import verify

__all__ = ["ZERO_HASH", "BlockHeader", "SignedBlock", "items_root"]

ZERO_HASH = bytes(32)


def items_root(items: Iterable[bytes]) -> bytes:
    """blake2b-256 over the length-prefixed encodings of a block's items (its extrinsics or its events)."""
    h = hashlib.blake2b(digest_size=32)
    for raw in items:
        h.update(len(raw).to_bytes(4, "little"))
        h.update(raw)
    return h.digest()


@message("block.header")
class BlockHeader(Message):
    """A block's header; its blake2b-256 is the block hash the next block links to."""

    number: int = field_int()
    parent: bytes = field_b32()
    timestamp: int = field_int()
    extrinsics_root: bytes = field_b32()
    events_root: bytes = field_b32()
    state_digest: bytes = field_b32()
    author: bytes = field_b32()

    @property
    def hash(self) -> bytes:
        """The block hash: blake2b-256 of the canonical header encoding."""
        return hashlib.blake2b(encode(self), digest_size=32).digest()


@message("block")
class SignedBlock(Message):
    """A header, its extrinsics (system calls first) and events, and the author's signature of the block hash.

    Each extrinsic travels as its own bytes and must be canonical, as :meth:`Extrinsic.from_bytes` requires.
    """

    header: BlockHeader = field_msg(BlockHeader)
    extrinsics: tuple[Extrinsic, ...] = field_embedded(Extrinsic, canonical=True)
    events: tuple[EventRecord, ...] = field_embedded(EventRecord, lazy=True)
    signature: bytes = field_sig()
    _hash: bytes | None = cache_field()
    _extrinsics_root: bytes | None = cache_field()
    _events_root: bytes | None = cache_field()

    @property
    def number(self) -> int:
        """The block number."""
        return self.header.number

    @property
    def hash(self) -> bytes:
        """The block hash (cached)."""
        h = self._hash
        if h is None:
            h = self.header.hash
            object.__setattr__(self, "_hash", h)
        return h

    def signature_ok(self) -> bool:
        """True when the signature is the header author's over the block hash."""
        return verify(self.header.author, self.hash, self.signature)

    @property
    def extrinsics_root(self) -> bytes:
        """The root of the extrinsics the block carries, from their bytes (cached; the header may say another)."""
        root = self._extrinsics_root
        if root is None:
            root = items_root(x.to_bytes() for x in self.extrinsics)
            object.__setattr__(self, "_extrinsics_root", root)
        return root

    @property
    def events_root(self) -> bytes:
        """The root of the event records the block carries, from their bytes (cached; the header may say another)."""
        root = self._events_root
        if root is None:
            root = items_root(embedded_raws(self.events))
            object.__setattr__(self, "_events_root", root)
        return root

    def roots_ok(self) -> bool:
        """True when the header's roots match the extrinsics and events the block carries."""
        return self.extrinsics_root == self.header.extrinsics_root and self.events_root == self.header.events_root

    def to_bytes(self) -> bytes:
        """The canonical encoding."""
        return encode(self)

    @classmethod
    def from_bytes(cls, raw: bytes, *, max_size: int = 256 << 20) -> SignedBlock:
        """Decode a block (codec errors on bad bytes)."""
        return decode(raw, cls, max_size=max_size)
