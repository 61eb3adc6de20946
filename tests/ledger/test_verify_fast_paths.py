"""The fast paths of re-executing a block (what ``replay verify`` does per block) give what their definitions give:
the events root of the re-executed records compared by bytes instead of hashed again."""

from __future__ import annotations

import functools

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taonet.ledger import SignedBlock, State, apply, state_from_genesis_block
from taonet.ledger._block import items_root
from taonet.ledger._codec import evolve, raw_bytes
from taonet.ledger._events import EventRecord
from taonet.ledger.errors import InvalidBlock


@functools.cache
def _blocks() -> tuple[object, list[SignedBlock]]:
    """A chain with prunings, weights, transfers and epochs: its authority and its blocks."""
    from .chains import pruning_chain

    chain = pruning_chain(24)
    return chain.authority, list(chain.store.read())


def _state_before(blocks: list[SignedBlock], k: int) -> State:
    state = state_from_genesis_block(blocks[0])
    for block in blocks[1:k]:
        state, _ = apply(state, block, consume=True)
    return state


def _record_changed(record: EventRecord, which: int) -> EventRecord:
    """``record`` with one value changed: its phase, or an int field of its event."""
    if which == 0:
        return EventRecord(phase=record.phase + 1, event=record.event)
    ints = [a.name for a in attrs.fields(type(record.event)) if type(getattr(record.event, a.name)) is int]
    if not ints:
        return EventRecord(phase=record.phase + 1, event=record.event)
    name = ints[which % len(ints)]
    return EventRecord(phase=record.phase, event=evolve(record.event, **{name: getattr(record.event, name) + 1}))


@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from(["same", "change", "drop", "duplicate", "swap"]), st.booleans())
def test_the_events_root_of_re_executed_records_is_the_hash_of_their_bytes(data, how, roots_checked) -> None:
    """A block re-signed with other event records (a root that matches them, so only re-execution can tell) is
    refused with the events root as the one recomputed field that differs; the block's own records apply. Either way
    the outcome is that of hashing the re-executed records, whether or not the block's roots were checked first."""
    authority, blocks = _blocks()
    k = data.draw(st.sampled_from([i for i, b in enumerate(blocks) if i and len(b.events) >= 2]))
    block = blocks[k]
    records = list(block.events)
    i = data.draw(st.integers(0, len(records) - 1))
    if how == "change":
        records[i] = _record_changed(records[i], data.draw(st.integers(0, 5)))
    elif how == "drop":
        del records[i]
    elif how == "duplicate":
        records.insert(i, records[i])
    elif how == "swap":
        j = data.draw(st.integers(0, len(records) - 1).filter(lambda j: raw_bytes(records[j]) != raw_bytes(records[i])))
        records[i], records[j] = records[j], records[i]
    header = evolve(block.header, events_root=items_root(raw_bytes(r) for r in records))
    again = SignedBlock.from_bytes(SignedBlock(header=header, extrinsics=block.extrinsics, events=tuple(records),
                                               signature=authority.sign(header.hash)).to_bytes())
    assert again.signature_ok() and (not roots_checked or again.roots_ok())
    state = _state_before(blocks, k)
    if how == "same":
        new, events = apply(state, again, consume=True)
        assert new.digest() == block.header.state_digest
        assert items_root(raw_bytes(r) for r in events) == again.events_root == block.header.events_root
        return
    with pytest.raises(InvalidBlock) as e:
        apply(state, again, consume=True)
    assert e.value.reason == "recomputed events_root differs"


def test_a_blocks_events_root_is_the_root_of_the_records_it_carries_and_is_kept() -> None:
    """``SignedBlock.events_root`` is ``items_root`` of the records' bytes (decoded lazily or not), computed once."""
    _, blocks = _blocks()
    for block in blocks:
        assert block.events_root == items_root(raw_bytes(r) for r in block.events) == block.header.events_root
        assert block.events_root is block.events_root
        assert block.roots_ok()
