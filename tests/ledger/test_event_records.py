"""Every event record's bytes for the events root (``encode``, through the record encoders generated per event class in
ledger/_events.py) are the generic encoder's (``dumps_wire(to_wire(record))``) for any value its fields may hold."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger._codec import decode, dumps_wire, encode, registered, to_wire
from taonet.ledger._events import _LAID_OUT, Event, EventRecord, _generic_record, _laid_out

EVENT_CLASSES = sorted((c for c in registered().values() if issubclass(c, Event)), key=lambda c: c.TAG)

_INTS = st.one_of(st.integers(-1, 300), st.sampled_from([255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32,
                                                          (1 << 64) - 1, 1 << 64, -(1 << 63), -(1 << 64) - 1]),
                  st.integers(-(1 << 70), 1 << 70))
_BYTES = st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40))
_TEXT = st.text(max_size=40)
_WILD = st.one_of(st.booleans(), st.none(), _INTS, _BYTES, _TEXT)
"""Values a field should not hold (the generated writers fall back to the generic encoder for them)."""
_BY_TYPE = {"int": _INTS, "bytes": _BYTES, "str": _TEXT}


def _unchecked(cls: type, values: dict[str, Any]) -> Any:
    """An instance of ``cls`` holding ``values`` as they are (no validator runs): any value a field may be given."""
    obj = object.__new__(cls)
    for f in attrs.fields(cls):
        object.__setattr__(obj, f.name, values.get(f.name))
    return obj


@st.composite
def _records(draw: st.DrawFn) -> EventRecord:
    cls = draw(st.sampled_from(EVENT_CLASSES))
    wild = draw(st.booleans())
    values = {}
    for f in attrs.fields(cls):
        if f.metadata.get("cache"):
            continue
        typed = _BY_TYPE.get(str(f.type), _WILD)
        values[f.name] = draw(st.one_of(typed, _WILD) if wild else typed)
    phase = draw(st.one_of(st.integers(-1, 1 << 33), _WILD) if wild else st.integers(-1, (1 << 32)))
    return _unchecked(EventRecord, {"phase": phase, "event": _unchecked(cls, values)})


@settings(max_examples=600, deadline=None)
@given(_records())
def test_a_records_bytes_are_the_generic_encoding_for_any_event_and_field_values(record: EventRecord) -> None:
    assert encode(record) == dumps_wire(to_wire(record))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_valid_records_bytes_decode_back_to_it(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(EVENT_CLASSES))
    try:
        event = data.draw(st.builds(cls, **{f.name: _BY_TYPE[str(f.type)] for f in attrs.fields(cls)
                                            if not f.metadata.get("cache")}))
    except (TypeError, ValueError):
        return  # outside a field's range: the constructor refuses it (the test above covers any value)
    record = EventRecord(phase=data.draw(st.integers(-1, 1 << 32)), event=event)
    raw = encode(record)
    assert raw == dumps_wire(to_wire(record))
    assert decode(raw, canonical=True) == record


def test_every_ledger_event_class_gets_a_generated_record_encoder() -> None:
    assert len(EVENT_CLASSES) >= 20
    for cls in EVENT_CLASSES:
        fn = _LAID_OUT.get(cls) or _laid_out(cls)
        assert fn is not _generic_record, cls.__name__


def test_an_event_that_is_not_a_registered_class_takes_the_generic_encoder() -> None:
    assert _laid_out(Event) is _generic_record
    assert _laid_out(int) is _generic_record
    assert Event not in _LAID_OUT and int not in _LAID_OUT
    record = _unchecked(EventRecord, {"phase": 3, "event": None})
    assert encode(record) == dumps_wire(to_wire(record))
