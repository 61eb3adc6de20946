"""The epoch index: every epoch a chain seals keeps its inputs beside the log, bound to its block; a reader gets a
record only when it is sound and bound to the log's block at its height."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taonet.ledger import (
    DEV_SUBNET_DEFAULTS,
    TAO,
    AddStake,
    Chain,
    EpochResult,
    FileStore,
    MemoryStore,
    State,
    epoch_inputs,
    epoch_netuids,
    epoch_result,
    pack_epoch_inputs,
    replay,
    unpack_epoch_inputs,
)
from taonet.ledger._codec import encode
from taonet.ledger._state import AxonEndpoint, Neuron, neuron_bytes, neuron_from_bytes
from taonet.ledger.errors import CodecError, StorageFailed

from .chains import ALICE, OWNER_HOT, chain_with_subnet, hot, tables

HYPER = attrs.evolve(DEV_SUBNET_DEFAULTS, tempo=3, weights_rate_limit=0)


def _grown(store: Any, *, epoch_index: bool = True) -> Chain:
    """Subnet 1 with the owner and 3 miners, two of them staked, sealed to block 24 (an epoch every 4 blocks)."""
    chain = chain_with_subnet(store, miners=3, hyper=HYPER, epoch_index=epoch_index)
    for i, h in enumerate((OWNER_HOT, hot("m0"))):
        chain.call(ALICE, AddStake(hotkey=h.public_key, amount=(10 + i) * TAO))
    chain.seal()
    while chain.height < 24:
        chain.seal()
    return chain


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    s = MemoryStore() if request.param == "memory" else FileStore(tmp_path / "chain", fsync=False)
    yield s
    s.close()


def _epoch_blocks(store: Any) -> list[tuple[int, int]]:
    return sorted((b.number, k) for b in store.read() for k in epoch_netuids(b))


def test_every_epoch_a_chain_seals_keeps_the_inputs_it_read(store: Any) -> None:
    """One record per epoch result the log holds, each the packed part of the state before its block that the epoch
    reads: unpacked, the ledger's epoch on it gives the recorded result."""
    _grown(store)
    recorded = _epoch_blocks(store)
    assert len([k for _, k in recorded if k == 1]) >= 4
    assert store.epoch_index() == recorded and store.epoch_index(1) == [r for r in recorded if r[1] == 1]
    for number, netuid in recorded:
        before = replay(store, to=number - 1)
        raw = store.read_epoch_inputs(number, netuid)
        assert raw == pack_epoch_inputs(before, netuid)
        inputs = unpack_epoch_inputs(raw)
        assert tables(inputs) == tables(epoch_inputs(before, netuid))
        (result,) = [x.call for x in store.get(number).extrinsics
                     if isinstance(x.call, EpochResult) and x.call.netuid == netuid]
        assert epoch_result(inputs, netuid) == result == epoch_result(before, netuid)
    assert store.read_epoch_inputs(recorded[0][0] + 1, 1) is None and not store.refused_epoch_inputs


def test_a_chain_told_not_to_keeps_no_index(tmp_path: Path) -> None:
    with FileStore(tmp_path / "chain", fsync=False) as store:
        _grown(store, epoch_index=False)
        assert _epoch_blocks(store) and store.epoch_index() == []
    assert not (tmp_path / "chain" / "epochs").exists()


def test_the_packed_inputs_are_canonical_whatever_the_order_the_state_was_built_in(store: Any) -> None:
    """The same state packs to the same bytes: whole, cut to the epoch's inputs, unpacked again, or rebuilt from a
    snapshot (another insertion order of every table): verify compares records with the state by their bytes."""
    chain = _grown(store)
    state = chain.state
    raw = pack_epoch_inputs(state, 1)
    rows = State.from_snapshot(state.to_snapshot())
    shuffled = State.from_snapshot(_reversed_snapshot(state))
    assert shuffled.digest() == state.digest()
    for other in (epoch_inputs(state, 1), unpack_epoch_inputs(raw), rows, shuffled):
        assert pack_epoch_inputs(other, 1) == raw
    with pytest.raises(KeyError):
        pack_epoch_inputs(state, 77)


def _reversed_snapshot(state: State) -> bytes:
    from taonet.ledger import dumps, loads

    data = loads(state.to_snapshot(), max_size=1 << 30)
    return dumps({table: list(reversed(rows)) for table, rows in data.items()})


def test_a_record_above_the_head_or_for_another_block_is_refused(store: Any) -> None:
    """A record whose block is not in the log (cut, or not stored yet) or whose hash is not the log's block at its
    height (a chain reset under it) is never handed out, and the reason is kept."""
    chain = _grown(store)
    number, netuid = store.epoch_index(1)[-1]
    raw = store.read_epoch_inputs(number, netuid)
    store.save_epoch_inputs(store.get(number).hash, chain.height + 1, netuid, raw)
    assert store.read_epoch_inputs(chain.height + 1, netuid) is None
    store.save_epoch_inputs(bytes(32), number, netuid, raw)
    assert store.read_epoch_inputs(number, netuid) is None
    reasons = " | ".join(store.refused_epoch_inputs.values())
    assert "above the log's head" in reasons and "another hash" in reasons
    store.save_epoch_inputs(store.get(number).hash, number, netuid, raw)
    assert store.read_epoch_inputs(number, netuid) == raw


@pytest.fixture(scope="module")
def file_chain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("epochidx") / "chain"
    with FileStore(path, fsync=False) as s:
        _grown(s)
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_record_is_refused_never_read_wrong(file_chain: Path, data: st.DataObject) -> None:
    """Any byte of a record changed, or the record cut anywhere: the store refuses it with a reason."""
    with FileStore(file_chain, fsync=False) as s:
        number, netuid = s.epoch_index(1)[0]
        path = file_chain / "epochs" / str(netuid) / f"{number:012d}.epin"
        good = path.read_bytes()
        try:
            k = data.draw(st.integers(0, len(good) - 1))
            if data.draw(st.booleans()):
                bad = good[:k] + bytes([good[k] ^ data.draw(st.integers(1, 255))]) + good[k + 1:]
            else:
                bad = good[:k]
            path.write_bytes(bad)
            assert s.read_epoch_inputs(number, netuid) is None
            assert s.refused_epoch_inputs[str(path)]
        finally:
            path.write_bytes(good)
        assert s.read_epoch_inputs(number, netuid) is not None


def test_a_record_inflating_past_the_bound_is_refused_without_inflating_it(file_chain: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The inputs are kept compressed; inflating them stops at the store's record bound (a crafted record with a
    sound checksum cannot make a reader allocate without limit): here the bound is lowered below a real record."""
    import taonet.ledger._store as store_module

    with FileStore(file_chain, fsync=False) as s:
        number, netuid = s.epoch_index(1)[0]
        size = len(s.read_epoch_inputs(number, netuid) or b"")
        monkeypatch.setattr(store_module, "_MAX_RECORD", size - 1)
        assert s.read_epoch_inputs(number, netuid) is None
        assert "do not inflate to a whole record" in " ".join(s.refused_epoch_inputs.values())
        monkeypatch.setattr(store_module, "_MAX_RECORD", size)
        assert len(s.read_epoch_inputs(number, netuid) or b"") == size


def test_a_torn_tail_leaves_its_blocks_record_unused(tmp_path: Path) -> None:
    """The node appended an epoch's block and wrote its record, then crashed with the block half on disk: opening
    the log cuts the block, and the record (now above the head) is refused."""
    path = tmp_path / "chain"
    with FileStore(path, fsync=False) as s:
        _grown(s)
        number, netuid = s.epoch_index(1)[-1]
        seg, offset = s.location(number)
    with open(seg, "r+b") as f:
        f.truncate(offset + 10)
    index = path / "index"  # as a torn append leaves it: a block's index entry is written after its record
    index.write_bytes(index.read_bytes()[: number * 24])
    with FileStore(path, fsync=False) as s:
        assert s.height == number - 1 and (number, netuid) in s.epoch_index()
        assert s.read_epoch_inputs(number, netuid) is None
        assert "above the log's head" in s.refused_epoch_inputs[str(path / "epochs" / "1" / f"{number:012d}.epin")]
    assert os.path.getsize(seg) == offset


def test_the_index_leaves_the_log_and_the_state_digest_unchanged(tmp_path: Path) -> None:
    """The same chain sealed with and without the index: the same block bytes, the same state digest at every block
    (the index is beside the log, never in it)."""
    with FileStore(tmp_path / "with", fsync=False) as a, FileStore(tmp_path / "without", fsync=False) as b:
        _grown(a)
        _grown(b, epoch_index=False)
        assert a.epoch_index() and not b.epoch_index()
        assert a.height == b.height
        assert all(a.get_raw(n) == b.get_raw(n) for n in range(a.height + 1))
        assert replay(a).digest() == replay(b).digest() == a.get(a.height).header.state_digest


def test_an_old_data_directory_has_no_index_and_reads_as_before(tmp_path: Path) -> None:
    """tests/fixtures/old-chain-v1 (written before the index existed): no record, nothing refused, and it folds."""
    import shutil

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "old-chain-v1"
    shutil.copytree(fixture, tmp_path / "chain", ignore=shutil.ignore_patterns("expected.json"))
    with FileStore(tmp_path / "chain", read_only=True) as s:
        assert s.epoch_index() == [] and s.read_epoch_inputs(s.height, 1) is None and not s.refused_epoch_inputs
        assert replay(s).digest() == s.get(s.height).header.state_digest


u16s = st.lists(st.integers(0, 65535), max_size=40).map(lambda xs: b"".join(x.to_bytes(2, "little") for x in xs))
neurons = st.builds(
    Neuron, uid=st.integers(0, 65535), hotkey=st.binary(min_size=32, max_size=32),
    coldkey=st.binary(min_size=32, max_size=32), registered_at=st.integers(0, 1 << 64 - 1),
    last_update=st.integers(0, 1 << 40), weights_block=st.integers(0, 1 << 40),
    axon=st.one_of(st.none(), st.builds(AxonEndpoint, ip=st.sampled_from(["10.0.0.1", "::1", "host.example"]),
                                        port=st.integers(0, 65535), protocol=st.integers(0, 255),
                                        block=st.integers(0, 1 << 40))),
    weight_uids=u16s, weight_values=u16s, bond_uids=u16s, bond_values=u16s,
    rank=st.integers(0, 65535), trust=st.integers(0, 65535), consensus=st.integers(0, 65535),
    incentive=st.integers(0, 65535), dividends=st.integers(0, 65535), vtrust=st.integers(0, 65535),
    validator_permit=st.booleans(), emission=st.integers(0, (1 << 64) - 1))


@given(neurons)
def test_a_neuron_reads_back_from_the_index_layout_unchanged(n: Neuron) -> None:
    """The index keeps neurons in the state digest's fixed layout: every neuron reads back equal (axon or none)."""
    assert neuron_from_bytes(neuron_bytes(n)) == n


@settings(max_examples=60)
@given(neurons, st.data())
def test_a_cut_neuron_layout_is_refused_not_misread(n: Neuron, data: st.DataObject) -> None:
    """Bytes cut inside the fixed part or the key/weight/bond fields are refused with the codec's error."""
    raw = neuron_bytes(n)
    fixed = len(raw) - (0 if n.axon is None else len(encode(n.axon)))
    cut = data.draw(st.integers(0, fixed - 1))
    with pytest.raises(CodecError):
        neuron_from_bytes(raw[:cut])


def test_a_record_the_disk_refuses_is_a_typed_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """Where the index's folder cannot be made (here a file stands in its place), saving a record raises
    StorageFailed naming the operation and the path; no temp file is left, and the log is untouched."""
    path = tmp_path / "chain"
    with FileStore(path, fsync=False) as s:
        chain = _grown(s, epoch_index=False)
        (path / "epochs").write_bytes(b"not a folder")
        head = s.height
        with pytest.raises(StorageFailed) as e:
            s.save_epoch_inputs(s.get(head).hash, head, 1, pack_epoch_inputs(chain.state, 1))
        assert "write epoch inputs" in str(e.value) and "epochs" in str(e.value)
        assert s.height == head and s.epoch_index() == []
    assert not list(tmp_path.rglob("*.tmp"))
