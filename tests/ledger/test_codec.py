"""The codec: canonical CBOR, packed vectors, and typed errors on anything malformed."""

from __future__ import annotations

import contextlib
import random

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import (
    AddStake,
    BurnedRegister,
    Extrinsic,
    Keypair,
    SetWeights,
    SignedBlock,
    Transfer,
    decode,
    encode,
)
from taonet.ledger._codec import dumps, loads, registered
from taonet.ledger.errors import CodecError, InvalidField, MalformedMessage, MessageTooLarge, UnknownType

ALICE = Keypair.from_uri("//Alice")
GENESIS = bytes(range(32))

keys32 = st.binary(min_size=32, max_size=32)
u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)
u16 = st.integers(min_value=0, max_value=0xFFFF)


@st.composite
def calls(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["transfer", "stake", "weights", "register"]))
    if kind == "transfer":
        return Transfer(dest=draw(keys32), amount=draw(u64))
    if kind == "stake":
        return AddStake(hotkey=draw(keys32), amount=draw(st.integers(1, (1 << 64) - 1)))
    if kind == "weights":
        n = draw(st.integers(0, 40))
        return SetWeights(netuid=draw(u16), uids=draw(st.lists(u16, min_size=n, max_size=n)),
                          weights=draw(st.lists(u16, min_size=n, max_size=n)), version_key=draw(u64))
    return BurnedRegister(netuid=draw(u16), hotkey=draw(keys32), hotkey_signature=draw(st.binary(min_size=64,
                                                                                              max_size=64)))


@given(call=calls(), nonce=u64)
def test_codec_round_trips_and_is_byte_stable(call: object, nonce: int) -> None:
    """decode(encode(x)) == x, and re-encoding gives the same bytes (property)."""
    ext = Extrinsic.sign(call, ALICE, nonce=nonce, genesis=GENESIS)
    raw = encode(ext)
    back = decode(raw, Extrinsic)
    assert back == ext
    assert encode(back) == raw
    assert back.signed_bytes() == ext.signed_bytes()


def test_vectors_travel_packed_little_endian() -> None:
    """A weight vector is a byte string of u16 LE values on the wire, not a CBOR list."""
    call = SetWeights(netuid=1, uids=[1, 2, 513], weights=[65535, 1, 0])
    tag, version, body = cbor2.loads(encode(call))
    assert (tag, version) == ("call.set_weights", 1)
    assert body["uids"] == bytes([1, 0, 2, 0, 1, 2])
    assert body["weights"] == bytes([255, 255, 1, 0, 0, 0])
    assert call.uids == (1, 2, 513)


def test_oversized_message_is_refused_before_parsing() -> None:
    """Bytes over the size limit raise MessageTooLarge with the sizes."""
    with pytest.raises(MessageTooLarge) as info:
        decode(b"\x00" * 101, max_size=100)
    assert (info.value.size, info.value.limit) == (101, 100)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", MalformedMessage),
        (b"\xff\xff", MalformedMessage),
        (dumps({"t": 1}), MalformedMessage),
        (dumps(["no.such.type", 1, {}]), UnknownType),
        (dumps(["call.transfer", 9, {}]), UnknownType),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": 1, "extra": 2}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 31, "amount": 1}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": True}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": -1}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": 1.5}]), InvalidField),
        (dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": 1 << 64}]), MalformedMessage),  # a bignum tag
        (dumps(["call.set_weights", 1, {"netuid": 1, "uids": b"\x01", "weights": b"", "version_key": 0}]),
         InvalidField),
        (cbor2.dumps(cbor2.CBORTag(1, 0)), MalformedMessage),
        (cbor2.dumps(["call.transfer", 1, {"dest": b"x" * 32, "amount": cbor2.CBORTag(2, b"\x01")}]),
         MalformedMessage),
        (b"\x9f\x01\xff", MalformedMessage),  # indefinite-length array
        (b"\xa2\x61a\x01\x61a\x02", MalformedMessage),  # duplicate map key
    ],
)
def test_malformed_inputs_raise_the_codec_errors(raw: bytes, error: type[CodecError]) -> None:
    """Each kind of bad input raises its specific codec error."""
    with pytest.raises(error):
        decode(raw)


def test_a_call_where_an_extrinsic_is_expected_is_refused() -> None:
    """Decoding checks the message's class against the expected base."""
    with pytest.raises(InvalidField):
        decode(encode(Transfer(dest=bytes(32), amount=1)), Extrinsic)


def _valid_messages() -> list[bytes]:
    from taonet.ledger import Chain, dev_genesis

    config, authority = dev_genesis()
    chain = Chain.create(config, authority)
    chain.call(ALICE, Transfer(dest=Keypair.from_uri("//Bob").public_key, amount=5))
    chain.call(ALICE, SetWeights(netuid=3, uids=[0, 1], weights=[1, 2]))
    result = chain.seal()
    return [result.block.to_bytes(), *(x.to_bytes() for x in result.block.extrinsics), chain.store.get_raw(0)]


def test_ten_thousand_random_and_mutated_inputs_raise_only_codec_errors() -> None:
    """Random bytes and single/multi-byte mutations of valid messages never raise anything but CodecError."""
    rng = random.Random(20261121)
    valid = _valid_messages()
    outcomes = {"ok": 0, "error": 0}
    for i in range(10_000):
        if i % 2:
            raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
        else:
            raw = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 4)):
                pos = rng.randrange(len(raw))
                op = rng.random()
                if op < 0.6:
                    raw[pos] = rng.getrandbits(8)
                elif op < 0.8:
                    del raw[pos:pos + rng.randint(1, 8)]
                else:
                    raw[pos:pos] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 8)))
            raw = bytes(raw)
        try:
            obj = decode(raw)
            if isinstance(obj, SignedBlock):
                list(obj.events)  # events decode lazily: touch them so their validation runs too
            for base in (Extrinsic, SignedBlock):
                with contextlib.suppress(CodecError):
                    decode(raw, base)
        except CodecError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
    assert outcomes["error"] > 9_000  # nearly everything is rejected; nothing raised another exception type


def test_every_registered_type_has_a_unique_stable_tag() -> None:
    """Tags are unique and each class round-trips its own tag."""
    reg = registered()
    assert len(reg) == len(set(reg))
    for tag, cls in reg.items():
        assert cls.TAG == tag and cls.VERSION >= 1


def test_loads_rejects_deep_nesting() -> None:
    """Nesting beyond the codec's depth limit is malformed, not a RecursionError."""
    raw = b"\x81" * 100 + b"\x01"
    with pytest.raises(MalformedMessage):
        loads(raw)


@given(call=calls(), nonce=u64)
def test_fast_encoding_equals_cbor2_canonical_encoding(call: object, nonce: int) -> None:
    """encode() skips cbor2's sorting pass; its bytes must equal canonical CBOR exactly (property)."""
    ext = Extrinsic.sign(call, ALICE, nonce=nonce, genesis=GENESIS)
    from taonet.ledger._codec import to_wire

    assert encode(ext) == cbor2.dumps(to_wire(ext), canonical=True)
    assert ext.signed_bytes() == cbor2.dumps([GENESIS, ALICE.public_key, nonce, to_wire(call)], canonical=True)


def test_every_registered_type_encodes_canonically() -> None:
    """For a sealed block with every kind of event, encode() equals cbor2's canonical encoding."""
    from taonet.ledger._codec import to_wire

    for raw in _valid_messages():
        obj = decode(raw)
        assert encode(obj) == cbor2.dumps(to_wire(obj), canonical=True) == raw


def test_an_old_version_is_upcast_through_the_registered_steps() -> None:
    """Bytes written by version 1 of a message decode as the current version, through its upcaster."""
    from taonet.ledger._codec import Message, field_int, field_text, message, upcaster

    @message("test.widget", version=2)
    class Widget(Message):
        size: int = field_int()
        unit: str = field_text(max_len=8)

    @upcaster("test.widget", 1)
    def _v1_to_v2(body: dict) -> dict:
        return {"size": body["size_mm"], "unit": "mm"}

    old = dumps(["test.widget", 1, {"size_mm": 7}])
    assert decode(old) == Widget(size=7, unit="mm")
    assert encode(decode(old)) == dumps(["test.widget", 2, {"size": 7, "unit": "mm"}])
    with pytest.raises(UnknownType):
        decode(dumps(["test.widget", 3, {"size": 1, "unit": "mm"}]))
    with pytest.raises(InvalidField):
        decode(dumps(["test.widget", 1, {"wrong": 7}]))


@given(call=calls(), nonce=u64)
def test_signed_bytes_sliced_from_the_wire_equal_a_fresh_encoding(call: object, nonce: int) -> None:
    """An extrinsic read from canonical bytes signs exactly the payload a fresh encoding gives (property)."""
    ext = Extrinsic.sign(call, ALICE, nonce=nonce, genesis=GENESIS)
    back = Extrinsic.from_bytes(ext.to_bytes())
    assert back._signed_from_raw() == Extrinsic.payload(GENESIS, ALICE.public_key, nonce, call)
    assert back.signed_bytes() == ext.signed_bytes()
