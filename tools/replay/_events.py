"""``replay events``: the events of a range of blocks, filtered by type, subnet, hotkey, coldkey or UID."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import Event, FileStore

from ._values import fields_of

__all__ = ["COLDKEY_FIELDS", "HOTKEY_FIELDS", "EventFilter", "EventRow", "event_types", "list_events"]

HOTKEY_FIELDS = ("hotkey", "old_hotkey")
"""The event fields that name a hotkey."""
COLDKEY_FIELDS = ("coldkey", "src", "dest", "account", "who", "owner")
"""The event fields that name a coldkey (an account)."""


def _spellings(cls: type) -> set[str]:
    tag = cls.TAG.lower()  # type: ignore[attr-defined]
    return {tag, tag.split(".", 1)[-1], cls.__name__.lower()}


def event_types() -> dict[str, str]:
    """Every way ``--type`` may name an event type (lower case: the class name, the tag, its last part), to the class
    name."""
    out: dict[str, str] = {}
    todo = list(Event.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if hasattr(cls, "TAG"):
            out.update(dict.fromkeys(_spellings(cls), cls.__name__))
    return out


@attrs.frozen(kw_only=True)
class EventFilter:
    """Which events to keep: every given criterion must hold (types match the tag, its last part, or the class)."""

    types: frozenset[str] = frozenset()
    netuid: int | None = None
    hotkey: bytes | None = None
    coldkey: bytes | None = None
    uid: int | None = None

    def keeps(self, e: Event) -> bool:
        """True when ``e`` passes every criterion."""
        if self.types and not (_spellings(type(e)) & self.types):
            return False
        if self.netuid is not None and getattr(e, "netuid", None) != self.netuid:
            return False
        if self.uid is not None and getattr(e, "uid", None) != self.uid:
            return False
        if self.hotkey is not None and self.hotkey not in (getattr(e, f, None) for f in HOTKEY_FIELDS):
            return False
        return self.coldkey is None or self.coldkey in (getattr(e, f, None) for f in COLDKEY_FIELDS)

    @classmethod
    def of(cls, types: Iterable[str] = (), **kw: Any) -> EventFilter:
        """A filter from type names as a user writes them (case-insensitive)."""
        return cls(types=frozenset(t.lower() for t in types), **kw)


@attrs.frozen(kw_only=True)
class EventRow:
    """One event: its block, its phase (the extrinsic index, -1 for the block's bookkeeping), and the call behind it."""

    block: int
    phase: int
    call: str | None
    event: Event

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"block": self.block, "phase": self.phase, "call": self.call, "type": self.event.TAG,  # type: ignore[attr-defined]
                "event": type(self.event).__name__, "fields": fields_of(self.event)}


def list_events(store: FileStore, start: int, stop: int, keep: EventFilter | None = None) -> Iterator[EventRow]:
    """The events of blocks ``start`` .. ``stop`` (inclusive) that ``keep`` keeps, in order."""
    head = store.height
    for number in (start, stop):
        if number < 0 or number > head:
            raise BlockNotFound(number=number, head=head)
    keep = keep or EventFilter()
    for block in store.read(start, stop + 1):
        for r in block.events:
            if keep.keeps(r.event):
                call = type(block.extrinsics[r.phase].call).__name__ if 0 <= r.phase < len(block.extrinsics) else None
                yield EventRow(block=block.number, phase=r.phase, call=call, event=r.event)
