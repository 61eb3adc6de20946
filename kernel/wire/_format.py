"""The wire format: envelopes, signed bytes, body hashes and status codes (the only module that shapes frames).

A frame is canonical CBOR ``{"body": bstr, "name": text, "headers": map}``. The body travels as a byte string holding
the canonical CBOR map of the synapse's fields, so it is hashed exactly as it arrived and never re-encoded.

Request headers: ``axon`` (32-byte public key of the addressed axon's hotkey), ``uuid`` (the dendrite's uuid),
``nonce`` (ns since the epoch), ``hotkey`` (32-byte public key of the caller's hotkey), ``timeout`` (ms),
``version``, ``body_hash`` (blake2b-256 of the body) and ``signature`` (ed25519, 64 bytes, by the caller's hotkey over
:func:`request_signed_bytes`).

Reply headers: ``hotkey`` (the axon's), ``status``, ``message``, ``version``, ``body_hash``, ``signature`` (by the
axon's hotkey over :func:`reply_signed_bytes`), ``process_time`` (ns spent in the axon) and, when a reply opens a
stream, ``stream`` (16-byte stream id). An error reply's body is the empty map, or a map of typed details
(:func:`encode_error_details`: ``retry_after`` in ms); a key absent means unknown, and a caller ignores keys it does
not know, so details can be added without breaking older peers (which never read an error reply's body).

Stream pulls (see ``docs/wire.md``): headers ``uuid``, ``seq``, ``nonce``, ``hotkey``, ``stream`` and optionally
``cancel``; no body, no signature (the secret stream id is the capability; every frame that answers is signed).

Headers hold only ints, text and byte strings, and we build their maps in canonical key order (shortest key first,
then bytewise), so plain CBOR encoding of them *is* canonical; ``tests/kernel/test_wire_format.py`` checks that.
"""

from __future__ import annotations

import enum
import hashlib
import math
from typing import Any, Final

import attrs
import cbor2

from taonet.ledger import loads_bounded as _strict_loads  # a peer's bytes: refused if they would decode dense
from taonet.ledger.errors import CodecError, MessageTooLarge

from ..errors import BadRequest

__all__ = [
    "EMPTY_BODY",
    "WIRE_VERSION",
    "Reply",
    "Request",
    "Status",
    "body_hash",
    "decode_frame",
    "encode_error_details",
    "encode_pull",
    "encode_reply",
    "encode_request",
    "error_retry_after",
    "reply_signed_bytes",
    "request_signed_bytes",
]

WIRE_VERSION: Final = 1
"""Version of this wire format, sent in every request and reply (``version`` header)."""

EMPTY_BODY: Final = b"\xa0"
"""The canonical CBOR of an empty map: the body of error replies."""

_dumps = cbor2.dumps


class Status(enum.IntEnum):
    """Status codes, numbered as Bittensor users test them."""

    OK = 200
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    TIMEOUT = 408
    TOO_LARGE = 413
    SERVER_ERROR = 500
    OVERLOADED = 503


def body_hash(body: bytes) -> bytes:
    """blake2b-256 of a body's bytes."""
    return hashlib.blake2b(body, digest_size=32).digest()


def request_signed_bytes(nonce: int, caller: bytes, axon: bytes, uuid: str, hash_: bytes) -> bytes:
    """What a dendrite signs: canonical CBOR of ``[nonce, caller hotkey, axon hotkey, dendrite uuid, body hash]``."""
    return _dumps([nonce, caller, axon, uuid, hash_])


def reply_signed_bytes(nonce: int, caller: bytes, axon: bytes, uuid: str, hash_: bytes, status: int) -> bytes:
    """What an axon signs: the request's fields with the reply's body hash, then the status code."""
    return _dumps([nonce, caller, axon, uuid, hash_, status])


# --- encoding (key order is canonical: by length, then bytewise) ---------------------------------------------


def encode_request(
    name: str, *, axon: bytes, uuid: str, nonce: int, hotkey: bytes, timeout_ms: int, version: int,
    body_hash: bytes, signature: bytes, body: bytes,
) -> bytes:
    """A request frame."""
    headers = {"axon": axon, "uuid": uuid, "nonce": nonce, "hotkey": hotkey, "timeout": timeout_ms,
               "version": version, "body_hash": body_hash, "signature": signature}
    return _dumps({"body": body, "name": name, "headers": headers})


def encode_reply(
    name: str, *, hotkey: bytes, status: int, message: str, version: int, body_hash: bytes, signature: bytes,
    process_time_ns: int, body: bytes, stream: bytes | None = None,
) -> bytes:
    """A reply frame (``stream`` is set when the reply opens a stream)."""
    headers: dict[str, Any] = {"hotkey": hotkey, "status": status, "stream": stream, "message": message,
                               "version": version, "body_hash": body_hash, "signature": signature,
                               "process_time": process_time_ns}
    if stream is None:
        del headers["stream"]
    return _dumps({"body": body, "name": name, "headers": headers})


def encode_pull(
    name: str, *, uuid: str, seq: int, nonce: int, hotkey: bytes, stream: bytes, cancel: bool = False
) -> bytes:
    """A stream pull frame: asks for the chunks from ``seq`` on (or, with ``cancel``, ends the stream)."""
    headers: dict[str, Any] = {"seq": seq, "uuid": uuid, "nonce": nonce, "cancel": cancel, "hotkey": hotkey,
                               "stream": stream}
    if not cancel:
        del headers["cancel"]
    return _dumps({"body": EMPTY_BODY, "name": name, "headers": headers})


def encode_error_details(*, retry_after: float | None = None) -> bytes:
    """The body of an error reply: :data:`EMPTY_BODY`, or the canonical CBOR map of the details known
    (``retry_after``: whole milliseconds, rounded up, at most 2^32)."""
    if retry_after is None:
        return EMPTY_BODY
    return _dumps({"retry_after": min(1 << 32, max(0, math.ceil(retry_after * 1000)))})


def error_retry_after(body: bytes) -> float | None:
    """The ``retry_after`` (seconds) an error reply's body carries; None when absent (an axon that says nothing, or
    one older than the field) or malformed (the reply's status stands either way)."""
    if body == EMPTY_BODY:
        return None
    try:
        details = _strict_loads(body, max_size=len(body))
    except CodecError:
        return None
    ms = details.get("retry_after") if type(details) is dict else None
    return ms / 1000 if type(ms) is int and 0 <= ms <= 1 << 32 else None


# --- decoding ------------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Request:
    """A decoded request frame (``stream``/``seq`` are set, and ``signature`` empty, for a stream pull)."""

    name: str
    axon: bytes
    uuid: str
    nonce: int
    hotkey: bytes
    timeout_ms: int
    version: int
    body_hash: bytes
    signature: bytes
    body: bytes
    stream: bytes | None = None
    seq: int = 0
    cancel: bool = False


@attrs.frozen(slots=True)
class Reply:
    """A decoded reply frame."""

    name: str
    hotkey: bytes
    status: int
    message: str
    version: int
    body_hash: bytes
    signature: bytes
    process_time_ns: int
    body: bytes
    stream: bytes | None = None


_MAX_NAME = 128
_MAX_UUID = 64
_MAX_MESSAGE = 1024
_U64 = (1 << 64) - 1


def _frame(raw: bytes, max_size: int) -> tuple[str, dict[str, Any], bytes]:
    try:
        frame = _strict_loads(raw, max_size=max_size)
    except MessageTooLarge:
        raise
    except CodecError as e:
        raise BadRequest(str(e)) from None
    if type(frame) is not dict or len(frame) != 3:
        raise BadRequest("a frame is a map {name, headers, body}")
    name, headers, body = frame.get("name"), frame.get("headers"), frame.get("body")
    if type(name) is not str or not 0 < len(name) <= _MAX_NAME:
        raise BadRequest("name must be a non-empty text of at most 128 characters")
    if type(headers) is not dict:
        raise BadRequest("headers must be a map")
    if type(body) is not bytes:
        raise BadRequest("body must be a byte string")
    return name, headers, body


def _get(headers: dict[str, Any], key: str, kind: type, lo: int = 0, hi: int = _U64) -> Any:
    v = headers.get(key)
    if type(v) is not kind:
        raise BadRequest(f"header {key!r} must be {kind.__name__}")
    n = v if kind is int else len(v)
    if not lo <= n <= hi:
        raise BadRequest(f"header {key!r} is out of range")
    return v


def _request_slow(name: str, h: dict[str, Any], body: bytes) -> Request:
    """The request from headers one by one, saying which header is wrong (the fast path found something off)."""
    if len(h) != 8:
        raise BadRequest("a request carries exactly the headers axon, uuid, nonce, hotkey, timeout, version, "
                         "body_hash, signature")
    return Request(
        name=name,
        axon=_get(h, "axon", bytes, 32, 32),
        uuid=_get(h, "uuid", str, 0, _MAX_UUID),
        nonce=_get(h, "nonce", int),
        hotkey=_get(h, "hotkey", bytes, 32, 32),
        timeout_ms=_get(h, "timeout", int, 1, 1 << 32),
        version=_get(h, "version", int),
        body_hash=_get(h, "body_hash", bytes, 32, 32),
        signature=_get(h, "signature", bytes, 64, 64),
        body=body,
    )


def decode_frame(raw: bytes, *, max_size: int) -> Request:
    """Parse a request or stream pull, checking sizes and header types; raises BadRequest or MessageTooLarge."""
    name, h, body = _frame(raw, max_size)
    stream = h.get("stream")
    if stream is not None:
        if type(stream) is not bytes or len(stream) != 16:
            raise BadRequest("header 'stream' must be 16 bytes")
        cancel = h.get("cancel", False)
        if type(cancel) is not bool:
            raise BadRequest("header 'cancel' must be a bool")
        return Request(name=name, axon=b"", uuid=_get(h, "uuid", str, 0, _MAX_UUID), nonce=_get(h, "nonce", int),
                       hotkey=_get(h, "hotkey", bytes, 32, 32), timeout_ms=0, version=0, body_hash=b"",
                       signature=b"", body=body, stream=stream, seq=_get(h, "seq", int), cancel=cancel)
    g = h.get
    axon, uuid, nonce, hotkey = g("axon"), g("uuid"), g("nonce"), g("hotkey")
    timeout, version, bh, sig = g("timeout"), g("version"), g("body_hash"), g("signature")
    if (
        len(h) == 8
        and type(axon) is bytes and len(axon) == 32
        and type(uuid) is str and len(uuid) <= _MAX_UUID
        and type(nonce) is int and 0 <= nonce <= _U64
        and type(hotkey) is bytes and len(hotkey) == 32
        and type(timeout) is int and 1 <= timeout <= 1 << 32
        and type(version) is int and 0 <= version <= _U64
        and type(bh) is bytes and len(bh) == 32
        and type(sig) is bytes and len(sig) == 64
    ):
        return Request(name, axon, uuid, nonce, hotkey, timeout, version, bh, sig, body)
    return _request_slow(name, h, body)


def decode_reply(raw: bytes, *, max_size: int) -> Reply:
    """Parse a reply frame; raises BadRequest (malformed) or MessageTooLarge."""
    name, h, body = _frame(raw, max_size)
    g = h.get
    stream = g("stream")
    hotkey, status, message, version = g("hotkey"), g("status"), g("message"), g("version")
    bh, sig, ptime = g("body_hash"), g("signature"), g("process_time")
    if (
        type(hotkey) is bytes and len(hotkey) == 32
        and type(status) is int and 100 <= status <= 599
        and type(message) is str and len(message) <= _MAX_MESSAGE
        and type(version) is int and 0 <= version <= _U64
        and type(bh) is bytes and len(bh) == 32
        and type(sig) is bytes and len(sig) == 64
        and type(ptime) is int and 0 <= ptime <= _U64
        and (stream is None or (type(stream) is bytes and len(stream) == 16))
    ):
        return Reply(name, hotkey, status, message, version, bh, sig, ptime, body, stream)
    if stream is not None and (type(stream) is not bytes or len(stream) != 16):
        raise BadRequest("header 'stream' must be 16 bytes")
    for key, kind, lo, hi in (("hotkey", bytes, 32, 32), ("status", int, 100, 599), ("message", str, 0, _MAX_MESSAGE),
                              ("version", int, 0, _U64), ("body_hash", bytes, 32, 32), ("signature", bytes, 64, 64),
                              ("process_time", int, 0, _U64)):
        _get(h, key, kind, lo, hi)
    raise BadRequest("malformed reply headers")  # pragma: no cover - one of the checks above fails first
