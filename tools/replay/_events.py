"""``replay events``: the events of a range of blocks, filtered by type, subnet, hotkey, coldkey or UID.

A ``NeuronReplaced`` names the newcomer's coldkey only (it is the chain's record); ``--coldkey`` also keeps one whose
pruned hotkey (``old_hotkey``) the coldkey owns, looked up in an owner table read only when such an event comes up.
A hotkey's owner is set once (its first registration request; a request for a hotkey another coldkey owns is
refused) and never changes, so any state after the event knows it: the nearest snapshot at or above the range's end
(loaded, nothing folded), else the state at the range's end (folded from the snapshot below it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import Event, FileStore, State, ss58_encode

from ._log import snapshot_heights, state_at
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
    owner_of: Callable[[bytes], bytes | None] | None = attrs.field(default=None, eq=False)
    """A hotkey's owning coldkey, so that ``coldkey`` also keeps an event whose ``old_hotkey`` it owns (a pruned
    hotkey's owner, which a ``NeuronReplaced`` does not record); :func:`list_events` gives one when ``coldkey`` is
    set."""

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
        if self.coldkey is None or self.coldkey in (getattr(e, f, None) for f in COLDKEY_FIELDS):
            return True
        old = getattr(e, "old_hotkey", None)
        return old is not None and self.owner_of is not None and self.owner_of(old) == self.coldkey

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
    old_coldkey: bytes | None = None
    """The owner of the event's ``old_hotkey`` (a pruned hotkey), when it was looked up (``--coldkey`` given)."""

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with ``old_coldkey`` when it was looked up)."""
        out = {"block": self.block, "phase": self.phase, "call": self.call, "type": self.event.TAG,  # type: ignore[attr-defined]
               "event": type(self.event).__name__, "fields": fields_of(self.event)}
        if self.old_coldkey is not None:
            out["old_coldkey"] = ss58_encode(self.old_coldkey)
        return out


class _Owners:
    """Hotkeys' owners known after ``block`` (a later snapshot's, else the state after ``block``), read when first
    asked."""

    def __init__(self, store: FileStore, block: int) -> None:
        self._store, self._block = store, block
        self._state: State | None = None

    def __call__(self, hotkey: bytes) -> bytes | None:
        if self._state is None:
            later = [h for h in snapshot_heights(self._store) if self._block <= h <= self._store.height]
            self._state = state_at(self._store, min(later, default=self._block))
        return self._state.owner_of(hotkey)


def list_events(store: FileStore, start: int, stop: int, keep: EventFilter | None = None) -> Iterator[EventRow]:
    """The events of blocks ``start`` .. ``stop`` (inclusive) that ``keep`` keeps, in order."""
    head = store.height
    for number in (start, stop):
        if number < 0 or number > head:
            raise BlockNotFound(number=number, head=head)
    keep = keep or EventFilter()
    if keep.coldkey is not None and keep.owner_of is None:
        keep = attrs.evolve(keep, owner_of=_Owners(store, stop))
    owner_of = keep.owner_of if keep.coldkey is not None else None
    for block in store.read(start, stop + 1):
        for r in block.events:
            if keep.keeps(r.event):
                call = type(block.extrinsics[r.phase].call).__name__ if 0 <= r.phase < len(block.extrinsics) else None
                old = getattr(r.event, "old_hotkey", None)
                yield EventRow(block=block.number, phase=r.phase, call=call, event=r.event,
                               old_coldkey=None if old is None or owner_of is None else owner_of(old))
