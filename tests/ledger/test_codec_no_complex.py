"""No CBOR tags, complex numbers included: cbor2 writes a complex as tag 43000 and read it back itself (the codec's
"no tags" rule let ``loads(dumps({"x": 1j}))`` through while dates, decimals and UUIDs were refused), and a refused
tag is named by its number (the message said "CBOR tag ? is not allowed")."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from taonet.ledger import Transfer, decode, encode
from taonet.ledger._codec import dumps, loads
from taonet.ledger.errors import CodecError, MalformedMessage

# every tag the installed cbor2 decodes itself (its semantic decoders), and some it leaves to the tag hook
SCANNED = [*range(0, 1 << 16), 43000, 55799, 55800, (1 << 32) + 5, (1 << 64) - 1]
PAYLOADS = [0, "a", [0.0, 1.0]]


@pytest.mark.parametrize(("value", "tag"), [
    (1j, 43000), ({"x": 1j}, 43000), ([1, complex(2.5, -3)], 43000), ({"a": {"b": [complex(0, 0)]}}, 43000),
    (decimal.Decimal("1.5"), 4), (uuid.UUID(int=7), 37), (datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC), 0),
    (cbor2.CBORTag(300, 0), 300), (cbor2.CBORTag((1 << 40), "x"), 1 << 40),
])
def test_a_tagged_value_is_refused_naming_its_tag(value: Any, tag: int) -> None:
    """What cbor2 writes with a tag (a complex: 43000) is refused when read, and the message names the tag number."""
    raw = dumps(value)
    with pytest.raises(MalformedMessage, match=rf"CBOR semantic tags are not allowed \(tag {tag}\)"):
        loads(raw)


plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def with_a_complex(draw: st.DrawFn) -> Any:
    """A plain value with a complex number somewhere inside it (or as itself)."""
    z = draw(st.complex_numbers(allow_nan=False))
    path = draw(st.lists(st.tuples(st.booleans(), plain, st.text(max_size=4)), max_size=4))
    value: Any = z
    for as_list, other, key in path:
        value = [other, value] if as_list else {key + "_": other, key: value}
    return value


@given(with_a_complex())
def test_a_complex_anywhere_in_a_plain_value_is_refused(value: Any) -> None:
    """However deep a complex sits in lists and maps, reading its CBOR fails with the codec's typed error."""
    with pytest.raises(MalformedMessage, match=r"tag 43000"):
        loads(dumps(value))


def test_no_tag_is_read_back_whatever_cbor2_decodes_itself() -> None:
    """Every tag number 0..65535 (and a few larger), over a few payloads, is refused: a tag cbor2 decodes itself
    and the codec's list forgets (43000 was) would be read back as a Python object."""
    read_back = []
    for payload in PAYLOADS:
        for tag in SCANNED:
            try:
                loads(cbor2.dumps(cbor2.CBORTag(tag, payload)))
            except MalformedMessage as e:
                if str(e) == f"CBOR semantic tags are not allowed (tag {tag})":
                    continue
            read_back.append(tag)
    assert not read_back, f"tags not refused as tags: {sorted(set(read_back))[:10]}"


def test_a_message_holding_a_complex_is_still_refused() -> None:
    """A chain message whose typed field holds a complex was refused (by its validator) and still is."""
    good = cbor2.loads(encode(Transfer(dest=bytes(32), amount=5)))
    good[2]["amount"] = 5j
    with pytest.raises(CodecError):
        decode(cbor2.dumps(good, canonical=True))


@pytest.mark.parametrize("tag", [0, 23, 24, 300, 43000, 1 << 40])
def test_the_density_pre_check_names_a_refused_tag_too(tag: int) -> None:
    """A peer's message meets the density pre-check before the codec: a tag it refuses is named as the codec names it
    (the pre-check said only "CBOR semantic tags are not allowed")."""
    from taonet.ledger import check_density

    raw = cbor2.dumps([1, {"k": cbor2.CBORTag(tag, "x")}])
    with pytest.raises(MalformedMessage, match=rf"^CBOR semantic tags are not allowed \(tag {tag}\)$"):
        check_density(raw)


def test_a_tag_head_cut_short_is_refused_without_a_number() -> None:
    """A tag whose number is cut off by the end of the message is still refused (no number to name)."""
    from taonet.ledger import check_density

    with pytest.raises(MalformedMessage, match=r"^CBOR semantic tags are not allowed$"):
        check_density(b"\x81\xd9\x01")
