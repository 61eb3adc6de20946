"""The wire format: canonical CBOR frames, the signed bytes, and strict decoding."""

from __future__ import annotations

import cbor2
import pytest

from taonet.kernel.errors import BadRequest
from taonet.kernel.wire._format import (
    EMPTY_BODY,
    decode_frame,
    decode_reply,
    encode_pull,
    encode_reply,
    encode_request,
    reply_signed_bytes,
    request_signed_bytes,
)
from taonet.ledger.errors import MessageTooLarge

PK, SIG, H = b"\x01" * 32, b"\x02" * 64, b"\x03" * 32


def canonical(raw: bytes) -> bytes:
    return cbor2.dumps(cbor2.loads(raw), canonical=True)


def test_frames_are_canonical_cbor() -> None:
    """Request, reply and pull frames re-encode byte for byte under canonical CBOR."""
    frames = [
        encode_request("Dummy", axon=PK, uuid="u", nonce=2**62, hotkey=PK, timeout_ms=12000, version=1,
                       body_hash=H, signature=SIG, body=b"\xa0"),
        encode_reply("Dummy", hotkey=PK, status=200, message="Success", version=1, body_hash=H, signature=SIG,
                     process_time_ns=123, body=b"\xa0"),
        encode_reply("Dummy", hotkey=PK, status=200, message="Streaming", version=1, body_hash=H, signature=SIG,
                     process_time_ns=1, body=b"\xa0", stream=b"\x04" * 16),
        encode_pull("Dummy", uuid="u", seq=3, nonce=5, hotkey=PK, stream=b"\x04" * 16),
        encode_pull("Dummy", uuid="u", seq=3, nonce=5, hotkey=PK, stream=b"\x04" * 16, cancel=True),
    ]
    for f in frames:
        assert canonical(f) == f


def test_signed_bytes_are_the_documented_arrays() -> None:
    """A request signs [nonce, caller, axon, uuid, body hash]; a reply appends its status."""
    assert cbor2.loads(request_signed_bytes(7, PK, b"\x09" * 32, "u", H)) == [7, PK, b"\x09" * 32, "u", H]
    assert cbor2.loads(reply_signed_bytes(7, PK, PK, "u", H, 401)) == [7, PK, PK, "u", H, 401]


def test_request_round_trips_through_decode() -> None:
    """decode_frame reads back every header of a request."""
    raw = encode_request("Dummy", axon=PK, uuid="u", nonce=9, hotkey=PK, timeout_ms=500, version=1,
                         body_hash=H, signature=SIG, body=EMPTY_BODY)
    r = decode_frame(raw, max_size=1024)
    assert (r.name, r.nonce, r.timeout_ms, r.uuid, r.signature, r.body) == ("Dummy", 9, 500, "u", SIG, EMPTY_BODY)


@pytest.mark.parametrize(
    "frame",
    [
        [1, 2, 3],
        {"name": "x", "headers": {}, "body": b""},
        {"name": "", "headers": {}, "body": b""},
        {"name": "x", "headers": [], "body": b""},
        {"name": "x", "headers": {}, "body": "not bytes"},
        {"name": "x", "headers": {"axon": PK}, "body": b""},
    ],
)
def test_misshapen_frames_are_bad_requests(frame: object) -> None:
    """Frames that are not {name, headers, body} with the request headers raise BadRequest."""
    with pytest.raises(BadRequest):
        decode_frame(cbor2.dumps(frame), max_size=1024)


def test_a_frame_over_the_limit_is_refused_before_parsing() -> None:
    """A frame longer than max_size raises MessageTooLarge, whatever it holds."""
    with pytest.raises(MessageTooLarge):
        decode_frame(b"\x00" * 2000, max_size=1000)
    with pytest.raises(MessageTooLarge):
        decode_reply(b"\x00" * 2000, max_size=1000)


def test_cbor_tags_and_indefinite_lengths_are_refused() -> None:
    """Tagged values and indefinite-length items are not part of the wire."""
    with pytest.raises(BadRequest):
        decode_frame(cbor2.dumps(cbor2.CBORTag(1, 5)), max_size=1024)
    with pytest.raises(BadRequest):
        decode_frame(b"\x9f\x01\xff", max_size=1024)
