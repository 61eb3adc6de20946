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
    block = next(b for b in blocks if len(b.events) >= 2)
    assert block.events_root  # kept on the block: a copy with other records does not inherit it
    fewer = evolve(block, events=tuple(block.events)[1:])
    assert fewer.events_root == items_root(raw_bytes(r) for r in tuple(block.events)[1:]) != block.events_root
    assert attrs.evolve(block, events=tuple(block.events)[1:]).events_root == fewer.events_root


# --- the epoch index's records packed from the digest's neuron bytes ------------------------------------------------


def _pack_by_definition(state: State, netuid: int) -> bytes:
    from taonet.ledger._codec import dumps, encode
    from taonet.ledger._epoch_index import EPOCH_INPUTS_FORMAT
    from taonet.ledger._state import neuron_bytes

    sn = state.subnet(netuid)
    neurons = state.neurons(netuid)
    hotkeys = sorted({n.hotkey for n in neurons})
    stakes = sorted([cold, hot, rao] for hot in hotkeys for cold in state.stakers(hot)
                    if (rao := state.stake(cold, hot)))
    takes = [[hot, take] for hot in hotkeys if (take := state.take_of(hot)) is not None]
    owners = [[hot, cold] for hot in hotkeys if (cold := state.owner_of(hot)) is not None]
    return dumps([EPOCH_INPUTS_FORMAT, encode(state.params), encode(state.status), [encode(sn)],
                  [[netuid, neuron_bytes(n)] for n in neurons], stakes, takes, owners])


def test_packed_epoch_inputs_are_their_definition_at_every_block_digested_or_not() -> None:
    """At every block of a chain with prunings, weights and epochs, the packed epoch inputs equal the plain CBOR of
    their definition: on the state as applied (its neurons laid out by the digest) and on states whose neurons were
    rewritten since the digest last saw them (never the bytes of another neuron at the same UID)."""
    from taonet.ledger import pack_epoch_inputs

    _, blocks = _blocks()
    state = state_from_genesis_block(blocks[0])
    checked = 0
    for block in blocks[1:]:
        state, _ = apply(state, block)
        for netuid in [sn.netuid for sn in state.subnets()]:
            assert pack_epoch_inputs(state, netuid) == _pack_by_definition(state, netuid)
            stale = state.fork()  # each neuron rewritten, not digested: the kept bytes are not its bytes
            for i, n in enumerate(stale.neurons(netuid)):
                stale.put_neuron(netuid, evolve(n, rank=(n.rank + 1) % 0x10000, bond_values=n.bond_values[:2]))
                if i % 2:  # takes, stakes and owners: some there, some not
                    stale.put("deleg", n.hotkey, i // 2)  # a take of 0 among them
                    stale.add_stake(bytes([i]) * 32, n.hotkey, 7 + i)
                else:
                    stale.delete("owner", n.hotkey)
            assert pack_epoch_inputs(stale, netuid) == _pack_by_definition(stale, netuid)
            assert pack_epoch_inputs(state, netuid) == _pack_by_definition(state, netuid)
            checked += len(state.neurons(netuid))
    assert checked > 50


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(0, 300), st.integers(0, (1 << 64) - 1),
                 st.sampled_from([23, 24, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 64) - 1])))
def test_the_laid_out_cbor_heads_are_cbor2s(n: int) -> None:
    """The heads the packed rows are laid out with are cbor2's, for byte strings and arrays of any length."""
    import cbor2

    from taonet.ledger._epoch_index import _array_head, _bytes_head

    assert _head_of(cbor2.dumps(n)) == (0, n)
    assert _bytes_head(n) == _cbor_head(cbor2.dumps(n), 2)
    assert _array_head(n) == _cbor_head(cbor2.dumps(n), 4)


def _head_of(raw: bytes) -> tuple[int, int]:
    return raw[0] >> 5, raw[0] & 31 if raw[0] & 31 < 24 else int.from_bytes(raw[1:], "big")


def _cbor_head(uint_raw: bytes, major: int) -> bytes:
    """cbor2's head for an unsigned int, carried over to another major type (same argument encoding)."""
    return bytes((uint_raw[0] | major << 5,)) + uint_raw[1:]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 0xFFFF)), max_size=40))
def test_kept_neuron_bytes_are_always_the_bytes_of_the_neuron_asked_for(steps) -> None:
    """Asked for the bytes of a neuron at a table key, the cache gives that very neuron's layout, whatever was kept
    at that key (another neuron, an older version of it, the same one)."""
    from taonet.ledger._state import Neuron, neuron_bytes, neuron_bytes_at

    neurons = [Neuron(uid=u, hotkey=bytes([u]) * 32, coldkey=bytes(32), registered_at=1, last_update=1)
               for u in range(5)]
    for netuid, u, rank in steps:
        n = neurons[u] = evolve(neurons[u], rank=rank) if rank % 2 else neurons[u]
        assert neuron_bytes_at((netuid, u), n) == neuron_bytes(n)
        assert neuron_bytes_at((netuid, (u + 1) % 5), n) == neuron_bytes(n)  # kept under another key


def test_kept_neuron_bytes_stay_within_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept layouts never pass their count or their bytes, and what they count is what they hold."""
    from taonet.ledger import _state
    from taonet.ledger._state import Neuron, neuron_bytes, neuron_bytes_at

    small = len(neuron_bytes(Neuron(uid=0, hotkey=bytes(32), coldkey=bytes(32), registered_at=1, last_update=1)))
    monkeypatch.setattr(_state, "_NEURON_RAW_MAX", 5)
    # keys replaced in place (3 slots), then more slots than the count allows, then more bytes than allowed
    for slots, limit in ((3, 100 * small), (7, 100 * small), (4, 3 * small + 40)):
        monkeypatch.setattr(_state, "_NEURON_RAW_BYTES", limit)
        _state._NEURON_RAW.clear()
        _state._neuron_raw_size[0] = 0
        for i in range(60):
            n = Neuron(uid=i % slots, hotkey=bytes([i]) * 32, coldkey=bytes(32), registered_at=1, last_update=1,
                       weight_uids=bytes(2 * (i % 3)), weight_values=bytes(2 * (i % 3)))
            assert neuron_bytes_at((1, i % slots), n) == neuron_bytes(n)
            held = _state._NEURON_RAW
            assert len(held) <= 5 and _state._neuron_raw_size[0] == sum(len(r) for _, r in held.values())
            assert _state._neuron_raw_size[0] <= limit
    _state._NEURON_RAW.clear()
    _state._neuron_raw_size[0] = 0
