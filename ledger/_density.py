"""A bound on what a peer's CBOR may cost in memory once decoded, checked before decoding.

CBOR is dense: a one-byte item (``0xa0``, an empty map) becomes a 64-byte dict plus its 8-byte slot in a list, so a
message of n bytes could decode to ~72·n bytes of Python objects (more with small maps: a dict of one pair is 224
bytes). :func:`loads_bounded` refuses, with :class:`~taonet.ledger.errors.MessageTooDense`, a message whose decoded
objects could exceed ``DENSITY · n + DENSITY_SLACK`` bytes, before cbor2 allocates anything.

The check walks the message's items without building them: each item costs what CPython allocates for it (a list
56 + 8 per slot, as many slots as CPython's growth gives while cbor2 appends; a dict 224 + 56 per pair; an int
28..36 unless a cached small one; a float 24; a byte string 33 + its length; a text up to 80 + 4 per byte; and
once, twice the longest string, for the buffers cbor2 decodes one string in), so the sum is an upper bound (the tests
check it with tracemalloc).

Byte and text strings are skipped by their length, one step whatever their size; runs of numbers (what an honest list
of ints or floats is) are taken at C speed: a run of one head byte by comparing every k-th byte, a run of one-byte
items by ``lstrip``, a mixed run by a compiled regular expression 256 or 16 items at a time; other items whose size
is in their first byte (short strings, small containers) by one table look-up each. So a 16 MiB list of doubles costs
a few hundred Python steps. The walk stops as soon as the bound is passed, and it also refuses a message that would
need more than one step per ``_STEP_BYTES`` bytes (many tiny containers or short strings), so the check never costs
much more CPU than the decode it protects (`taonet bench density`).

Messages under :data:`DENSITY_THRESHOLD` bytes are not walked at all (at most ~112 bytes of objects per byte, so
under 8 MiB: within the slack): the node's RPC, the feed and most synapses pay nothing.
"""

from __future__ import annotations

import re
from typing import Any

from ._codec import DEFAULT_MAX_SIZE, loads
from .errors import MalformedMessage, MessageTooDense

__all__ = ["DENSITY", "DENSITY_SLACK", "DENSITY_THRESHOLD", "check_density", "density_limit", "loads_bounded"]

DENSITY = 16
"""Bytes of decoded objects allowed per byte of message (honest lists of numbers really take at most ~12, counted at
most ~13.5: a half float is 3 bytes for a 24-byte float and its slot; byte and text strings take 1 to 4; tiny
containers 64 to 112). A synapse type may allow more (``Synapse.MAX_DENSITY``)."""

DENSITY_SLACK = 8 << 20
"""Bytes of decoded objects allowed on top of ``DENSITY`` per byte (covers every message under the threshold)."""

DENSITY_THRESHOLD = 64 << 10
"""Messages shorter than this are not checked: whatever they hold, they decode to less than the slack."""

_STEP_BYTES = 8
"""A message may take one step of the walk per this many bytes (plus _STEP_FREE): more is refused as too dense."""
_STEP_FREE = 8192

# Kinds of initial byte.
_RUN, _BSTR, _TSTR, _ARRAY, _MAP, _BAD = 0, 1, 2, 3, 4, 5

_SMALL_INT = 0  # cached ints, True/False/None, empty strings: the slot in the parent is all they cost


def _tables() -> tuple[list[int], list[int], list[int]]:
    """Per initial byte: its kind, the width of its argument (bytes after it), and, for a scalar, its cost."""
    kind, arg, cost = [_BAD] * 256, [0] * 256, [0] * 256
    widths = {24: 1, 25: 2, 26: 4, 27: 8}
    for b in range(256):
        major, info = b >> 5, b & 31
        if major == 6:  # tags: loads refuses them
            continue
        if major == 7:
            if info < 20 or info == 24:  # simple values: a CBORSimpleValue each
                kind[b], cost[b], arg[b] = _RUN, 40, (1 if info == 24 else 0)
            elif info < 24:  # false, true, null, undefined: singletons
                kind[b] = _RUN
            elif info in (25, 26, 27):  # half, single, double floats
                kind[b], cost[b], arg[b] = _RUN, 24, widths[info]
            continue  # 28..31: reserved, or a break / indefinite length: loads refuses them
        if info > 27:
            continue
        a = widths.get(info, 0)
        arg[b] = a
        if major == 0:
            kind[b] = _RUN
            cost[b] = _SMALL_INT if info <= 24 else (28 if info == 25 else 32 if info == 26 else 36)
        elif major == 1:  # -1 - arg: -1..-5 are cached
            kind[b] = _RUN
            cost[b] = _SMALL_INT if info < 5 else (28 if info <= 25 else 32 if info == 26 else 36)
        else:
            kind[b] = (_BSTR, _TSTR, _ARRAY, _MAP)[major - 2]
    return kind, arg, cost


_KIND, _ARG, _COST = _tables()

# One-byte items (every byte of a run of them is an item): the scalars, empty strings and empty containers.
_ONE = bytes(b for b in range(256) if (_KIND[b] == _RUN and _ARG[b] == 0) or b in (0x40, 0x60, 0x80, 0xA0))
# Of those, the ones that are objects of their own (the rest are cached: the slot in their parent is all they cost).
_ONE_COSTS = ((bytes(range(0x25, 0x38)), 28), (bytes(range(0xE0, 0xF4)), 40), (b"\x80", 56), (b"\xa0", 64))
_ONE_DELETE = {cost: bytes(b for b in range(256) if b not in heads) for heads, cost in _ONE_COSTS}
_ONE_COST = [0] * 256
for _heads, _cost in _ONE_COSTS:
    for _b in _heads:
        _ONE_COST[_b] = _cost
_COSTLY1 = bytes(range(0x25, 0x38)) + bytes(range(0xE0, 0xF4))
_NOT_COSTLY1 = bytes(b for b in range(256) if b not in _COSTLY1)
_CHUNKS = (256, 16)  # scalar items a regex match takes at once (a mixed run), largest first
_CHUNK_PATTERNS: dict[tuple[bool, int], re.Pattern[bytes]] = {}
_FIRST_WINDOW = 64


def _item_class(cheap: bool) -> bytes:
    """A regex alternative matching one scalar item (only the cached ones with ``cheap``)."""
    parts: dict[int, list[int]] = {}
    for b in range(256):
        if _KIND[b] == _RUN and (not cheap or _COST[b] == _SMALL_INT):
            parts.setdefault(_ARG[b], []).append(b)
    alts = []
    for width, heads in sorted(parts.items()):
        cls = b"[" + b"".join(re.escape(bytes((h,))) for h in heads) + b"]"
        alts.append(cls + (b".{%d}" % width if width else b""))
    return b"(?:" + b"|".join(alts) + b")"


def _chunk(cheap: bool, k: int) -> re.Pattern[bytes]:
    """Exactly ``k`` scalar items (compiled on first use)."""
    pat = _CHUNK_PATTERNS.get((cheap, k))
    if pat is None:
        pat = _CHUNK_PATTERNS[cheap, k] = re.compile(_item_class(cheap) + b"{%d}" % k, re.DOTALL)
    return pat


def _grown() -> list[int]:
    """The slots a list holds once ``i`` items were appended to an empty one (CPython 3.11's growth), i < 256."""
    out, allocated = [0], 0
    for size in range(1, 256):
        if size > allocated:
            allocated = (size + (size >> 3) + 6) & ~3
        out.append(allocated)
    return out


_GROWN = _grown()


def _inline_tables() -> tuple[list[int], list[int], list[int]]:
    """Per initial byte of an item whose size is in that byte (numbers, short strings, containers of < 24 items):
    its width (0: not such an item), its cost and the items it adds to read (a container's)."""
    width, cost, adds = [0] * 256, [0] * 256, [0] * 256
    for b in range(256):
        kind, info = _KIND[b], b & 31
        if kind == _RUN:
            width[b], cost[b] = 1 + _ARG[b], _COST[b]
        elif info < 24 and kind in (_BSTR, _TSTR):
            width[b] = 1 + info
            cost[b] = 0 if info == 0 else 33 + info if kind == _BSTR else 80 + 4 * info
        elif info < 24 and kind == _ARRAY:
            width[b], cost[b], adds[b] = 1, 56 + 8 * _GROWN[info], info
        elif info < 24 and kind == _MAP:
            width[b], cost[b], adds[b] = 1, 224 + 56 * info if info else 64, 2 * info
    return width, cost, adds


_IN_WIDTH, _IN_COST, _IN_ADDS = _inline_tables()
_RUN_HEADS = bytes(b for b in range(256) if _KIND[b] == _RUN) + b"\x40\x60\x80\xa0"
_INLINE_MAX = 1024  # items the inline loop takes before the outer loop looks again (cost checked between)


def _why_bad(raw: bytes | bytearray | memoryview, p: int) -> str:
    b = raw[p]
    if b >> 5 == 6:
        info = b & 31
        width = 1 << (info - 24) if 24 <= info <= 27 else 0
        if info < 24 or (width and p + 1 + width <= len(raw)):
            number = info if info < 24 else int.from_bytes(raw[p + 1:p + 1 + width], "big")
            return f"CBOR semantic tags are not allowed (tag {number})"  # as the codec names it
        return "CBOR semantic tags are not allowed"
    if b & 31 == 31 and b != 0xFF:
        return "not well-formed CBOR: indefinite lengths are not allowed"
    return f"not well-formed CBOR: byte 0x{b:02x} is reserved or out of place"


def density_limit(size: int, density: int = DENSITY) -> int:
    """The bytes of decoded objects a message of ``size`` bytes may cost (``density`` bytes per byte, and the slack)."""
    return density * size + DENSITY_SLACK


def _same_run(raw: bytes, p: int, width: int, most: int) -> int:
    """How many items from ``p`` (at most ``most``) start with the byte at ``p``; all ``width`` bytes long (C speed:
    every ``width``-th byte is compared, in windows growing fourfold, so a short run costs little)."""
    head = raw[p:p + 1]
    run, window = 0, _FIRST_WINDOW
    while run < most:
        take = min(window, most - run)
        at = p + run * width
        got = len(raw[at:at + take * width:width].lstrip(head))
        run += take - got
        if got:
            break
        window *= 4
    return run


def _one_run(raw: bytes, p: int, most: int) -> tuple[int, int]:
    """How many one-byte items from ``p`` (at most ``most``) and what they cost."""
    seg = raw[p:p + min(most, _FIRST_WINDOW)]
    run = len(seg) - len(seg.lstrip(_ONE))
    if run < _FIRST_WINDOW:  # a short run: cost it byte by byte
        return run, sum([_ONE_COST[b] for b in seg[:run]])
    run, window, cost = 0, _FIRST_WINDOW, 0
    while run < most:
        take = min(window, most - run)
        seg = raw[p + run:p + run + take]
        rest = len(seg.lstrip(_ONE))
        if rest:
            seg = seg[:take - rest]
        for c, delete in _ONE_DELETE.items():
            cost += c * len(seg.translate(None, delete))
        run += take - rest
        if rest:
            break
        window *= 4
    return run, cost


def _mixed_run(raw: bytes, p: int, most: int) -> tuple[int, int, int]:
    """Items from ``p`` (a chunk of scalars of any widths, at most ``most``), where they end and an upper bound of
    their cost; no items if no chunk of scalars starts there."""
    for k in _CHUNKS:
        if k > most:
            continue
        m = _chunk(True, k).match(raw, p)
        if m:
            return k, m.end(), 0
        m = _chunk(False, k).match(raw, p)
        if m:  # at most 40 bytes an item, and only the items of 2 bytes or more (at most width - k of them) or the
            end = m.end()  # one-byte ones that are objects (at most as many as the bytes that look like one)
            wide = min(k, end - p - k)
            return k, end, 40 * (wide + min(k - wide, len(raw[p:end].translate(None, _NOT_COSTLY1))))
    return 0, p, 0


def check_density(raw: bytes | bytearray | memoryview, *, limit: int | None = None, density: int = DENSITY) -> int:
    """The bytes of objects (an upper bound) the CBOR item at the start of ``raw`` decodes to.

    Raises :class:`MessageTooDense` as soon as that passes ``limit`` (:func:`density_limit` of the size and
    ``density`` by default) or the walk needs more than one step per 8 bytes (times ``density`` / 16), and
    :class:`MalformedMessage` for bytes that are not one well-formed CBOR item of ours (truncated, a tag, an
    indefinite length). Trailing bytes are not looked at.
    """
    raw = bytes(raw) if not isinstance(raw, bytes) else raw
    n = len(raw)
    if limit is None:
        limit = density_limit(n, density)
    steps = n * density // (DENSITY * _STEP_BYTES) + _STEP_FREE
    kinds, args, costs, one, one_cost = _KIND, _ARG, _COST, _ONE, _ONE_COST
    in_width, in_cost, in_adds, run_heads = _IN_WIDTH, _IN_COST, _IN_ADDS, _RUN_HEADS
    p = 0
    pending = 1  # items still to read, at every level (a container's items are added when its head is read)
    cost = 0
    chunk_wait = 0  # steps before a mixed chunk is tried again (one failed just now)
    buffer = 0  # the longest string so far: cbor2's buffers for one string at a time (freed after it) cost 2x that
    while pending > 0:
        steps -= 1
        if steps < 0:
            raise MessageTooDense(size=n, limit=limit, reason="it holds too many small items to check")
        if p >= n:
            raise MalformedMessage("not well-formed CBOR: truncated")
        b = raw[p]
        if b in one:  # a one-byte item, or a run of them
            if pending == 1 or p + 1 >= n or raw[p + 1] not in one:
                cost += one_cost[b]
                p += 1
                pending -= 1
            elif pending == 2 or p + 2 >= n or raw[p + 2] not in one:
                cost += one_cost[b] + one_cost[raw[p + 1]]
                p += 2
                pending -= 2
            else:
                k, c = _one_run(raw, p, min(pending, n - p))
                p += k
                pending -= k
                cost += c
            continue
        kind = kinds[b]
        a = args[b]
        if kind != _RUN and in_width[b]:  # items whose size is in their first byte, one table look-up each
            k, last = 0, -1
            while pending > 0 and p < n and k < _INLINE_MAX:
                b = raw[p]
                w = in_width[b]
                if not w or (b == last and b in run_heads and p + w < n and raw[p + w] == b):
                    break  # three equal heads of numbers in a row: a run, which the outer loop takes faster
                cost += in_cost[b]
                pending += in_adds[b] - 1
                p += w
                last = b
                k += 1
            steps -= (3 * k) >> 2  # a step of this loop costs about 3/4 of a step of the outer one
            if p > n:
                raise MalformedMessage("not well-formed CBOR: truncated")
        elif kind == _RUN:  # a number (or a simple value) with an argument: alone, in a run, or in a mixed chunk
            w = 1 + a
            if chunk_wait:
                chunk_wait -= 1
            elif pending >= _CHUNKS[-1] and (p + w >= n or raw[p + w] != b):
                k, end, c = _mixed_run(raw, p, pending)
                if k:
                    p = end
                    pending -= k
                    cost += c
                    continue
                chunk_wait = 8
            if pending == 1 or p + 2 * w > n or raw[p + w] != b:
                k = 1
                if p + w > n:
                    raise MalformedMessage("not well-formed CBOR: truncated")
            else:
                k = _same_run(raw, p, w, min(pending, (n - p) // w))
            p += k * w
            pending -= k
            cost += k * costs[b]
        else:
            if kind == _BAD:
                raise MalformedMessage(_why_bad(raw, p))
            if p + 1 + a > n:
                raise MalformedMessage("not well-formed CBOR: truncated")
            v = b & 31 if a == 0 else int.from_bytes(raw[p + 1:p + 1 + a], "big")
            p += 1 + a
            pending -= 1
            if kind in (_BSTR, _TSTR):
                # the object (a text: up to 4 bytes a character), and once, the largest string's read buffers
                cost += 33 + v + (v >> 6) if kind == _BSTR else 80 + 4 * v + (v >> 6)
                if v > buffer:
                    cost += 2 * (v - buffer)
                    buffer = v
                p += v
            elif kind == _ARRAY:
                if v > n - p:  # each item takes a byte at least
                    raise MalformedMessage("not well-formed CBOR: truncated")
                cost += 56 + 8 * (_GROWN[v] if v < 256 else v + (v >> 3) + 8)  # cbor2 appends: CPython's growth
                pending += v
            else:
                if 2 * v > n - p:
                    raise MalformedMessage("not well-formed CBOR: truncated")
                cost += 224 + 56 * v
                pending += 2 * v
            if p > n:
                raise MalformedMessage("not well-formed CBOR: truncated")
        if cost > limit:
            raise MessageTooDense(size=n, limit=limit, reason="its items would take more memory than that")
    if p > n:
        raise MalformedMessage("not well-formed CBOR: truncated")
    if cost > limit:
        raise MessageTooDense(size=n, limit=limit, reason="its items would take more memory than that")
    return cost


def loads_bounded(raw: bytes | bytearray | memoryview, *, max_size: int = DEFAULT_MAX_SIZE,
                  density: int = DENSITY) -> Any:
    """:func:`~taonet.ledger.loads` for bytes from a peer: a message of ``DENSITY_THRESHOLD`` bytes or more is
    first checked (:func:`check_density`) to decode to at most :func:`density_limit` of its size, else
    :class:`MessageTooDense` (a :class:`~taonet.ledger.errors.CodecError`) is raised without decoding it."""
    if len(raw) >= DENSITY_THRESHOLD and len(raw) <= max_size:
        check_density(raw, density=density)
    return loads(raw, max_size=max_size)
