"""Reading a long range of the log for a few kinds of calls and events of one subnet without decoding the rest.

A block's record is canonical CBOR in which each extrinsic and each event record travels as a byte string holding
``[tag, version, fields]`` (the codec's wire form), an extrinsic's call (an event record's event) first among its
fields (canonical order puts the shortest name first, then bytewise). An item is decoded only when its bytes hold a
wanted type's tag and, for the current version of that type, the encoding of ``netuid`` with the subnet's number;
every other item is skipped as bytes. The selection is exactly what filtering the fully decoded blocks gives (a law
test compares both) at a fraction of the cost: most of a busy block is transfers, other subnets' weights and stake
credits. The items are decoded as :meth:`FileStore.get` decodes them but without its canonical-form check, which
``replay verify`` makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
        tags = [dumps(t.TAG) for t in types]
        self.search = re.compile(b"|".join(re.escape(t) for t in tags) or b"(?!)").search
        self.current = {dumps(t.TAG): dumps(t.TAG) + dumps(t.VERSION) for t in types}
        self.netuid = dumps("netuid") + dumps(netuid)

    def wanted(self, raw: bytes, window: int) -> bool:
        """False only when ``raw`` surely is not a wanted item about the subnet (its inner tag within ``window``)."""
        found = self.search(raw, 0, window)
        if found is None:
            return False
        if self.current[found.group()] not in raw:
            return True  # another version of the type: let the decode say what it holds
        return self.netuid in raw


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
        if want_call.search(raw) is None and want_event.search(raw) is None:
            continue
        try:
            body = loads(raw, max_size=_MAX_BLOCK)[2]
            xs, evs = body["extrinsics"], body["events"]
            if type(xs) is not list or type(evs) is not list:
                raise TypeError
            exts = [decode(x, Extrinsic) for x in xs if want_call.wanted(x, _TAG_AT)]
            recs = [decode(r, EventRecord) for r in evs if want_event.wanted(r, _TAG_AT)]
        except (LookupError, TypeError, ValueError):
            block = store.get(number)  # the full decode: its error names the damaged record
            exts, recs = list(block.extrinsics), list(block.events)
        exts = [x for x in exts if _matches(x.call, calls, netuid)]
        recs = [r for r in recs if _matches(r.event, events, netuid)]
        if exts or recs:
            yield number, exts, recs
