"""Reading a long range of the log for a few kinds of calls and events of one subnet without decoding the rest.

A block's record is canonical CBOR in which each extrinsic and each event record travels as a byte string holding
``[tag, version, fields]`` (the codec's wire form), an extrinsic's call (an event record's event) first among its
fields (canonical order puts the shortest name first, then bytewise). An item is decoded only when its first bytes
hold a wanted type's tag and, for the current version of that type, its bytes hold the encoding of ``netuid`` with
the subnet's number; every other item is skipped as bytes (the first bytes of all a block's items are searched at
once, with ``bytes.find``). The selection is exactly what filtering the fully decoded blocks gives (a law
test compares both) at a fraction of the cost: most of a busy block is transfers, other subnets' weights and stake
credits. The items are decoded as :meth:`FileStore.get` decodes them but without its canonical-form check, which
``replay verify`` makes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

from taonet.ledger import EventRecord, Extrinsic, FileStore, decode, dumps, loads

__all__ = ["BlockItems", "subnet_items"]

BlockItems = tuple[int, list[Extrinsic], list[EventRecord]]
"""(block number, the wanted extrinsics in block order, the wanted event records in block order)."""

_MAX_BLOCK = 256 << 20  # as SignedBlock.from_bytes
_TAG_AT = 96  # an item's inner tag starts within its first ~25 bytes: [tag "extrinsic", version, {"call": [tag...
# (or [tag "ev.record", version, {"event": [tag...]); searching no further skips most of a large item's bytes


class _Kinds:
    """The wanted types of one item kind: a search for their tags, and the bytes each current-version one about the
    subnet must hold."""

    def __init__(self, types: tuple[type, ...], netuid: int) -> None:
        self.tags = [dumps(t.TAG) for t in types]
        self.current = {dumps(t.TAG): dumps(t.TAG) + dumps(t.VERSION) for t in types}
        self.netuid = dumps("netuid") + dumps(netuid)

    def seen_in(self, raw: bytes) -> bool:
        """True when ``raw`` holds one of the tags anywhere."""
        return any(tag in raw for tag in self.tags)

    def pick(self, items: list[bytes]) -> list[bytes]:
        """The items that may be wanted ones about the subnet (every one that is, and a few that are not).

        The heads of all items are searched at once, joined (every occurrence of a tag: one in an item's head is
        found; one across two heads only costs a decode); an item whose head holds a tag is kept unless it is that
        type's current version and lacks the subnet's ``netuid`` (another version is always kept: the decode says
        what it holds).
        """
        heads = [x[:_TAG_AT] for x in items]
        joined = b"".join(heads)
        found: dict[int, bytes] = {}
        bounds: list[int] | None = None
        for tag in self.tags:
            at = joined.find(tag)
            while at >= 0:
                if bounds is None:
                    bounds = list(accumulate(map(len, heads), initial=0))
                k = bisect_right(bounds, at) - 1
                raw = items[k]
                if self.current[tag] not in raw or self.netuid in raw:
                    found[k] = raw
                at = joined.find(tag, at + 1)
        return [found[k] for k in sorted(found)]


def _matches(obj: Any, types: tuple[type, ...], netuid: int) -> bool:
    return isinstance(obj, types) and getattr(obj, "netuid", None) == netuid


def subnet_items(store: FileStore, start: int, stop: int, netuid: int, calls: tuple[type, ...],
                 events: tuple[type, ...]) -> Iterator[BlockItems]:
    """For blocks ``start`` up to (not including) ``stop``: the extrinsics whose call is one of ``calls`` and the
    event records whose event is one of ``events``, each with ``netuid`` equal to ``netuid``; blocks with none are
    left out. Items of other kinds are not decoded (a damaged block record still raises as :meth:`FileStore.get`
    does)."""
    want_call, want_event = _Kinds(calls, netuid), _Kinds(events, netuid)
    stop = min(stop, store.height + 1)
    for number in range(max(0, start), stop):
        raw = store.get_raw(number)
        if not want_call.seen_in(raw) and not want_event.seen_in(raw):
            continue
        try:
            body = loads(raw, max_size=_MAX_BLOCK)[2]
            xs, evs = body["extrinsics"], body["events"]
            if type(xs) is not list or type(evs) is not list:
                raise TypeError
            exts = [decode(x, Extrinsic) for x in want_call.pick(xs)]
            recs = [decode(r, EventRecord) for r in want_event.pick(evs)]
        except (LookupError, TypeError, ValueError):
            block = store.get(number)  # the full decode: its error names the damaged record
            exts, recs = list(block.extrinsics), list(block.events)
        exts = [x for x in exts if _matches(x.call, calls, netuid)]
        recs = [r for r in recs if _matches(r.event, events, netuid)]
        if exts or recs:
            yield number, exts, recs
