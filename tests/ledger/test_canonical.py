"""Extrinsics have one byte form: any other encoding of a valid extrinsic is refused, never taken under a new hash."""

from __future__ import annotations

import random
import struct
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import Extrinsic, FileStore, SetWeights, SignedBlock, Transfer, decode, encode, replay
from taonet.ledger._codec import to_wire
from taonet.ledger.errors import CodecError, NonCanonical

from .chains import ALICE, BOB, chain_with_subnet, new_chain
from .test_codec import GENESIS, calls, u64

# --- a CBOR writer that can break canonical form in one chosen place ------------------------------------------------

MUTATIONS = ("wide", "indefinite", "reorder", "float", "duplicate", "trailing", "tag")


def _head(major: int, n: int, width: int = 0) -> bytes:
    """A CBOR head; ``width`` forces 1, 2, 4 or 8 argument bytes (0: the minimal form)."""
    if not width:
        width = 0 if n < 24 else 1 if n < 0x100 else 2 if n < 0x10000 else 4 if n < 1 << 32 else 8
    if width == 0:
        return bytes((major << 5 | n,))
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes((major << 5 | info,)) + n.to_bytes(width, "big")


def _min_width(n: int) -> int:
    return 0 if n < 24 else 1 if n < 0x100 else 2 if n < 0x10000 else 4 if n < 1 << 32 else 8


class Writer:
    """Encodes plain wire values canonically except at the ``target``-th node eligible for ``mutation``."""

    def __init__(self, mutation: str, target: int, choice: int) -> None:
        self.mutation, self.target, self.choice = mutation, target, choice
        self.seen = 0  # eligible nodes met so far
        self.applied = False

    def _hit(self, eligible: bool) -> bool:
        if not eligible:
            return False
        hit = self.seen == self.target
        self.seen += 1
        self.applied |= hit
        return hit

    def write(self, v: Any) -> bytes:
        if type(v) is bool or v is None:
            return cbor2.dumps(v)
        if type(v) is int:
            major, n = (0, v) if v >= 0 else (1, -1 - v)
            if self.mutation == "wide" and self._hit(_min_width(n) < 8):
                wider = [w for w in (1, 2, 4, 8) if w > _min_width(n)]
                return _head(major, n, wider[self.choice % len(wider)])
            if self.mutation == "float" and self._hit(True):
                return b"\xfb" + struct.pack(">d", float(v))
            if self.mutation == "tag" and self._hit(True):
                return b"\xd8\x18" + _head(major, n)  # tag 24 wrapped around the integer
            return _head(major, n)
        if type(v) in (bytes, str):
            major, data = (2, v) if type(v) is bytes else (3, v.encode())
            if self.mutation == "wide" and self._hit(_min_width(len(data)) < 8):
                wider = [w for w in (1, 2, 4, 8) if w > _min_width(len(data))]
                return _head(major, len(data), wider[self.choice % len(wider)]) + data
            if self.mutation == "indefinite" and self._hit(True):
                cut = self.choice % (len(data) + 1)
                chunks = [c for c in (data[:cut], data[cut:]) if c] or [b""]
                return bytes((major << 5 | 31,)) + b"".join(_head(major, len(c)) + c for c in chunks) + b"\xff"
            return _head(major, len(data)) + data
        if type(v) is list:
            inner = [self.write(x) for x in v]
            if self.mutation == "wide" and self._hit(True):
                return _head(4, len(v), (1, 2, 4, 8)[self.choice % 4]) + b"".join(inner)
            if self.mutation == "indefinite" and self._hit(True):
                return b"\x9f" + b"".join(inner) + b"\xff"
            return _head(4, len(v)) + b"".join(inner)
        if type(v) is dict:
            pairs = [(self.write(k), self.write(x)) for k, x in v.items()]
            if self.mutation == "reorder" and self._hit(len(pairs) > 1):
                k = 1 + self.choice % (len(pairs) - 1)
                pairs = pairs[k:] + pairs[:k]  # a non-trivial rotation
            elif self.mutation == "duplicate" and self._hit(True):
                pairs = [*pairs, pairs[self.choice % len(pairs)]]
            elif self.mutation == "wide" and self._hit(True):
                return _head(5, len(pairs), (1, 2, 4, 8)[self.choice % 4]) + b"".join(a + b for a, b in pairs)
            elif self.mutation == "indefinite" and self._hit(True):
                return b"\xbf" + b"".join(a + b for a, b in pairs) + b"\xff"
            return _head(5, len(pairs)) + b"".join(a + b for a, b in pairs)
        raise TypeError(type(v))


def variant(ext: Extrinsic, mutation: str, target: int, choice: int) -> bytes | None:
    """A non-canonical encoding of ``ext`` (None when the mutation found nothing to change)."""
    plain = to_wire(ext)
    plain[2]["call"] = to_wire(ext.call)
    if mutation == "trailing":
        return ext.to_bytes() + bytes((choice % 256,))
    if mutation == "tag" and choice % 2:
        return b"\xd9\xd9\xf7" + ext.to_bytes()  # the self-described CBOR tag in front
    w = Writer(mutation, target, choice)
    raw = w.write(plain)
    if not w.applied:
        w = Writer(mutation, target % max(w.seen, 1), choice)
        raw = w.write(plain)
    return raw if w.applied and raw != ext.to_bytes() else None


def _swap_into_block(block: SignedBlock, index: int, raw: bytes) -> bytes:
    """The bytes of ``block`` with extrinsic ``index`` replaced by ``raw`` (header and signature untouched)."""
    plain = to_wire(block)
    plain[2]["extrinsics"][index] = raw
    return cbor2.dumps(plain)


# --- properties ------------------------------------------------------------------------------------------------------


def test_the_writer_writes_canonical_bytes_when_it_mutates_nothing() -> None:
    """The test's own CBOR writer agrees with the codec, so a variant differs only by its mutation."""
    ext = Extrinsic.sign(Transfer(dest=bytes(32), amount=10**12), ALICE, nonce=70000, genesis=GENESIS)
    plain = to_wire(ext)
    plain[2]["call"] = to_wire(ext.call)
    assert Writer("none", 0, 0).write(plain) == ext.to_bytes()


@given(call=calls(), nonce=u64)
def test_canonical_extrinsics_round_trip_with_the_same_bytes_and_hash(call: object, nonce: int) -> None:
    """from_bytes(to_bytes(x)) == x, keeps the bytes, and the hash is of those bytes (property)."""
    ext = Extrinsic.sign(call, ALICE, nonce=nonce, genesis=GENESIS)
    back = Extrinsic.from_bytes(ext.to_bytes())
    assert back == ext
    assert back.to_bytes() == ext.to_bytes()
    assert back.hash == ext.hash
    assert back.signed_bytes() == ext.signed_bytes()


@given(call=calls(), nonce=u64, mutation=st.sampled_from(MUTATIONS), target=st.integers(0, 200),
       choice=st.integers(0, 1000))
def test_every_non_canonical_variant_is_refused(call: object, nonce: int, mutation: str, target: int,
                                                choice: int) -> None:
    """Reordered keys, wide heads, indefinite lengths, floats, duplicate keys, tags, trailing bytes: a codec error
    from Extrinsic.from_bytes and from a block carrying the variant, never an extrinsic under another hash."""
    ext = Extrinsic.sign(call, ALICE, nonce=nonce, genesis=GENESIS)
    raw = variant(ext, mutation, target, choice)
    if raw is None:
        return
    with pytest.raises(CodecError):
        Extrinsic.from_bytes(raw)
    block_raw = cbor2.dumps(["block", 1, {"header": to_wire(_HEADER), "events": [], "signature": bytes(64),
                                          "extrinsics": [raw]}])
    with pytest.raises(CodecError):
        SignedBlock.from_bytes(block_raw)


_HEADER = new_chain().store.get(0).header


@pytest.mark.parametrize("mutation", ["wide", "reorder"])
def test_non_minimal_heads_and_reordered_keys_are_refused_as_non_canonical(mutation: str) -> None:
    """The two forms a well-formed CBOR writer may produce are named for what they are: NonCanonical."""
    ext = Extrinsic.sign(Transfer(dest=bytes(32), amount=9), ALICE, nonce=3, genesis=GENESIS)
    for target in range(40):
        raw = variant(ext, mutation, target, target)
        if raw is None:
            continue
        with pytest.raises(NonCanonical):
            Extrinsic.from_bytes(raw)


def test_random_damage_is_refused_or_is_the_same_canonical_extrinsic() -> None:
    """Flipped, inserted and deleted bytes: Extrinsic.from_bytes raises only codec errors, and whatever it accepts
    re-encodes to exactly the bytes it was given (so it has no second hash)."""
    rng = random.Random(7)
    ext = Extrinsic.sign(SetWeights(netuid=3, uids=[0, 1, 300], weights=[5, 65535, 1]), ALICE, nonce=1 << 40,
                         genesis=GENESIS)
    good = ext.to_bytes()
    accepted = 0
    for _ in range(5000):
        raw = bytearray(good)
        for _ in range(rng.randint(1, 3)):
            op, i = rng.randrange(3), rng.randrange(len(raw))
            if op == 0:
                raw[i] = rng.randrange(256)
            elif op == 1:
                raw.insert(i, rng.randrange(256))
            elif len(raw) > 1:
                del raw[i]
        try:
            back = Extrinsic.from_bytes(bytes(raw))
        except CodecError:
            continue
        accepted += 1
        assert encode(back) == bytes(raw)
    assert accepted < 5000


# --- a forged copy of a real signed transfer -------------------------------------------------------------------------


def test_a_forged_re_encoding_of_a_signed_transfer_verifies_but_is_refused() -> None:
    """Reordering the keys keeps the signature valid (the attack is real) yet the copy is refused."""
    chain = chain_with_subnet()
    ext = chain.sign(ALICE, Transfer(dest=BOB.public_key, amount=12345))
    tag, version, body = to_wire(ext)
    forged = cbor2.dumps([tag, version, dict(reversed(list(body.items())))])
    lenient = decode(forged, Extrinsic)  # what the codec accepted before extrinsics had one byte form
    assert lenient == ext and ALICE.verify(lenient.signed_bytes(), lenient.signature)
    with pytest.raises(NonCanonical) as info:
        Extrinsic.from_bytes(forged)
    assert info.value.CODE == "non_canonical"
    assert Extrinsic.from_bytes(ext.to_bytes()).hash == ext.hash


def test_a_block_carrying_a_forged_copy_is_refused_when_read(tmp_path: Any) -> None:
    """A block whose extrinsic bytes are a re-encoding does not decode, so neither a follower nor replay takes it."""
    with FileStore(tmp_path / "chain", fsync=False) as store:
        chain = chain_with_subnet(store)
        chain.call(ALICE, Transfer(dest=BOB.public_key, amount=5000))
        block = chain.seal().block
        index = next(i for i, x in enumerate(block.extrinsics) if isinstance(x.call, Transfer))
        good = block.extrinsics[index]
        forged = Writer("wide", 0, 3).write([*to_wire(good)[:2], {**to_wire(good)[2], "call": to_wire(good.call)}])
        assert forged != good.to_bytes()
        assert SignedBlock.from_bytes(block.to_bytes()) == block
        with pytest.raises(NonCanonical):
            SignedBlock.from_bytes(_swap_into_block(block, index, forged))
        assert replay(store, use_snapshots=False).digest() == chain.state.digest()
