"""Frames are written as canonical CBOR, and docs/wire.md says what a reader does with one that is not: it is read
like the canonical one (refusing it cost 2-5% of `taonet bench wire`, and no frame's bytes are an identity). The
page said "every frame is canonical CBOR" while the axon answered such frames 200: the page now says so, and this
holds the axon and the dendrite's decoding to it."""

from __future__ import annotations

import struct
from pathlib import Path

import cbor2
import pytest

from taonet.kernel.wire._format import decode_reply, encode_reply

from .wire_helpers import BOB, Dummy, RawClient, request

pytestmark = pytest.mark.anyio

DOC = Path(__file__).resolve().parents[3] / "docs" / "wire.md"


def _keys_reversed(frame: bytes) -> bytes:
    d = cbor2.loads(frame)
    return cbor2.dumps(dict(reversed(list(d.items()))))


def _headers_reversed(frame: bytes) -> bytes:
    d = cbor2.loads(frame)
    return cbor2.dumps({"body": d["body"], "name": d["name"], "headers": dict(reversed(list(d["headers"].items())))})


def _long_timeout(frame: bytes) -> bytes:
    """The timeout header (5000) written as an 8-byte integer instead of its 3-byte shortest form."""
    short = b"gtimeout" + cbor2.dumps(5000)
    assert frame.count(short) == 1
    return frame.replace(short, b"gtimeout\x1b" + struct.pack(">Q", 5000))


def test_the_page_says_readers_do_not_require_canonical_frames() -> None:
    """docs/wire.md's Frames section says what the code does with a non-canonical frame, and why."""
    text = " ".join(DOC.read_text().split())
    assert "A reader does not require canonical form" in text
    assert "is read like the canonical one" in text
    assert "Every frame is canonical CBOR" not in text


@pytest.mark.parametrize("bend", [_keys_reversed, _headers_reversed, _long_timeout])
async def test_a_non_canonical_request_is_read_like_the_canonical_one(axon, bend) -> None:
    """The same signed request, bent three ways (frame keys reversed, header keys reversed, a long integer), is
    answered 200 as the page says."""
    async with RawClient(axon.address) as c:
        frame = request(Dummy(input=2), timeout_ms=5000)
        bent = bend(frame)
        assert bent != frame
        reply = await c.reply(bent)
        assert reply.status == 200 and cbor2.loads(reply.body) == {"output": 4}, reply.message


def test_a_non_canonical_reply_decodes_like_the_canonical_one() -> None:
    """The dendrite's decoding reads a reply with its headers out of order as the canonical one."""
    reply = encode_reply("Dummy", hotkey=BOB.public_key, status=200, message="Success", version=1,
                         body_hash=bytes(32), signature=bytes(64), process_time_ns=1, body=b"\xa0")
    assert decode_reply(_headers_reversed(reply), max_size=1 << 20) == decode_reply(reply, max_size=1 << 20)
