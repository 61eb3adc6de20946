"""A peer's CBOR costs at most DENSITY bytes of objects per byte (+ the slack) once decoded: loads_bounded checks it
before decoding (the same values as loads when it accepts; MessageTooDense, at once, for dense shapes), and what the
check accepts decodes within what it counted (tracemalloc)."""

from __future__ import annotations

import gc
import random
import tracemalloc
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taonet.ledger import check_density, density_limit, loads, loads_bounded
from taonet.ledger._density import DENSITY, DENSITY_SLACK, DENSITY_THRESHOLD
from taonet.ledger.errors import CodecError, MalformedMessage, MessageTooDense

KIB = 1024
MIB = 1 << 20

scalars = (st.none() | st.booleans() | st.integers(-(1 << 64), (1 << 64) - 1) | st.floats(allow_nan=False)
           | st.binary(max_size=40) | st.text(max_size=20))
# map keys are text or byte strings (loads refuses others)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(st.binary(max_size=4) | st.text(max_size=6), inner,
                                                                 max_size=12),
    max_leaves=400,
)


def _encodings(value: Any) -> list[bytes]:
    return [cbor2.dumps(value), cbor2.dumps(value, canonical=True)]


def _peak_of_loads(raw: bytes) -> int:
    """The bytes cbor2 allocates (tracemalloc peak) to decode ``raw``, the result kept alive."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        value = loads(raw, max_size=len(raw))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    del value
    return peak


_DECODER = 4 * KIB  # what decoding costs besides the values (the decoder object, its buffers)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_property_under_the_threshold_loads_bounded_decodes_as_loads(value: Any) -> None:
    """Any well-formed CBOR under the threshold decodes to the same values as before (nothing is checked)."""
    for raw in _encodings(value):
        assert len(raw) < DENSITY_THRESHOLD
        assert loads_bounded(raw, max_size=len(raw)) == loads(raw, max_size=len(raw))


# 40 examples: each traces one decode's allocations after a full collection (~0.4 s a case); the fixed seeds of the
# large-message test below and the 200 cases of the others cover the shapes more cheaply
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_property_what_the_check_counts_bounds_what_decoding_allocates(value: Any) -> None:
    """For any message, the bytes the check counts are at least what cbor2 allocates to decode it (tracemalloc
    peak, less a fixed few KiB for the decoder itself): what it accepts decodes within the bound."""
    for raw in _encodings(value):
        counted = check_density(raw, limit=1 << 40)
        assert _peak_of_loads(raw) <= counted + _DECODER


@pytest.mark.parametrize("seed", range(3))
def test_property_large_random_messages_accepted_decode_within_the_bound(seed: int) -> None:
    """Random messages over the threshold (lists of random shapes): each one the check accepts decodes within its
    counted bytes; the ones it refuses are refused with MessageTooDense."""
    rng = random.Random(seed)
    makers = [lambda: rng.random(), lambda: rng.randrange(1 << 40), lambda: rng.randrange(300),
              lambda: [rng.random(), rng.random()], lambda: {"k": rng.randrange(9)}, lambda: rng.randbytes(30),
              lambda: "é" * rng.randrange(1, 9), lambda: None, lambda: -rng.randrange(30)]
    for _ in range(4):
        picks = rng.sample(makers, 3)
        value = [rng.choice(picks)() for _ in range(100_000)]
        raw = cbor2.dumps(value, canonical=rng.random() < 0.5)
        assert len(raw) >= DENSITY_THRESHOLD
        try:
            counted = check_density(raw)
        except MessageTooDense:
            with pytest.raises(MessageTooDense):
                loads_bounded(raw, max_size=len(raw))
            continue
        assert counted <= density_limit(len(raw))
        assert _peak_of_loads(raw) <= counted + _DECODER


def _array(count: int, items: bytes) -> bytes:
    return b"\x9a" + count.to_bytes(4, "big") + items


ADVERSARIAL = {
    "empty maps": _array(MIB, b"\xa0" * MIB),
    "empty arrays": _array(MIB, b"\x80" * MIB),
    "one-item arrays": _array(MIB // 2, b"\x81\x00" * (MIB // 2)),
    "one-pair maps": _array(MIB // 3, b"\xa1\x60\x00" * (MIB // 3)),
    "small negative ints": _array(MIB, b"\x37" * MIB),
    "nested small maps": _array(MIB // 5, b"\xa1\x60\xa1\x60\xa0" * (MIB // 5)),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_dense_shapes_are_refused_with_message_too_dense_before_decoding(name: str) -> None:
    """A 1 MiB array of tiny containers (or uncached ints) would decode to 28..112 MiB: it is refused with
    MessageTooDense, a CodecError whose message says what was refused and what to do instead."""
    raw = ADVERSARIAL[name]
    gc.collect()
    tracemalloc.start()
    try:
        with pytest.raises(MessageTooDense) as info:
            loads_bounded(raw, max_size=len(raw))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MIB  # refused by the walk: nothing of the message was built
    err = info.value
    assert isinstance(err, CodecError) and err.size == len(raw) and err.limit == density_limit(len(raw))
    assert f"message of {len(raw)} bytes refused" in str(err) and "packed bytes" in str(err)


def test_many_tiny_items_are_refused_even_within_the_memory_bound() -> None:
    """One-byte strings cost little once decoded (CPython caches them) but a step of the walk each: more than one
    step per 8 bytes is refused, so the check never costs much more than a decode."""
    raw = _array(MIB // 2, b"\x41\x00" * (MIB // 2))
    with pytest.raises(MessageTooDense, match="too many small items"):
        check_density(raw, limit=1 << 40)


HONEST = {
    "one bytes field": lambda rng: {"data": rng.randbytes(4 * MIB)},
    "one text field": lambda rng: {"text": "taonet " * (MIB // 7) + "😀"},
    "floats": lambda rng: {"x": [rng.random() for _ in range(200_000)]},
    "canonical floats": lambda rng: {"x": [rng.choice([0.0, 0.5, 1.0, rng.random()]) for _ in range(200_000)]},
    "token ids": lambda rng: {"tokens": [rng.randrange(50_000) for _ in range(200_000)]},
    "small ints": lambda rng: {"flags": [rng.randrange(2) for _ in range(500_000)]},
    "points": lambda rng: {"xy": [[rng.random(), rng.random()] for _ in range(50_000)]},
    "half floats": lambda rng: {"x": [0.5] * 300_000},
    "short words": lambda rng: {"words": ["".join(rng.choice("abcdefgh") for _ in range(rng.randrange(3, 9)))
                                          for _ in range(150_000)]},
    "a map of short keys": lambda rng: {f"k{i}": rng.random() for i in range(100_000)},
    "byte strings of 1 KiB": lambda rng: {"blobs": [rng.randbytes(1024) for _ in range(2048)]},
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_honest_large_payloads_are_accepted_and_decode_within_the_bound(name: str) -> None:
    """Large honest payloads (one bytes or text field, lists of floats, ints, words or byte strings, 2-D points, a map
    of many short keys) pass the check and decode to the same values, within the bound."""
    value = HONEST[name](random.Random(7))
    raw = cbor2.dumps(value, canonical=True)
    assert len(raw) >= DENSITY_THRESHOLD
    counted = check_density(raw)
    assert counted <= DENSITY * len(raw) + DENSITY_SLACK
    assert loads_bounded(raw, max_size=len(raw)) == loads(raw, max_size=len(raw))
    assert _peak_of_loads(raw) <= counted + _DECODER


@pytest.mark.parametrize(("raw", "what"), [
    (_array(100_000, b"\x00" * 99_999), "truncated"),
    (b"\x82" + b"\x5a\x00\x10\x00\x00" + b"\x00" * 70_000, "truncated"),
    (b"\x81\xc1" + b"\x00" * 70_000, "tag"),
    (b"\x9f" + b"\x00" * 70_000 + b"\xff", "indefinite"),
    (_array(1 << 31, b"\x00" * 70_000), "truncated"),
])
def test_malformed_large_messages_are_malformed_not_too_dense(raw: bytes, what: str) -> None:
    """Over the threshold, bytes that are not one well-formed item (cut short, a tag, an indefinite length, a count
    larger than the bytes left) are MalformedMessage, as loads would say, not MessageTooDense."""
    with pytest.raises(MalformedMessage, match=what):
        loads_bounded(raw, max_size=len(raw))


def test_the_size_limit_is_checked_before_the_density() -> None:
    """A message over max_size is MessageTooLarge, whatever it holds (nothing of it is walked)."""
    from taonet.ledger.errors import MessageTooLarge

    raw = ADVERSARIAL["empty maps"]
    with pytest.raises(MessageTooLarge):
        loads_bounded(raw, max_size=len(raw) - 1)


_PAD = b"\x00" * DENSITY_THRESHOLD


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values, st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4), st.booleans())
def test_property_over_the_threshold_the_walk_agrees_with_loads(value: Any, flips: list[tuple[int, int]],
                                                                   pad_first: bool) -> None:
    """Any value beside 64 KiB of bytes (so the walk runs), intact or with a few bytes changed: loads_bounded
    returns what loads returns, or raises a CodecError (never another exception); intact, it is never refused
    (such a message is far under the bound)."""
    parts = [_PAD, value] if pad_first else [value, _PAD]
    raw = cbor2.dumps(parts)
    assert loads_bounded(raw, max_size=len(raw)) == loads(raw, max_size=len(raw))
    mutated = bytearray(raw)
    for at, byte in flips:
        mutated[at % len(mutated)] = byte
    changed = bytes(mutated)
    try:
        got = loads_bounded(changed, max_size=len(changed))
    except CodecError:
        return
    assert got == loads(changed, max_size=len(changed))
