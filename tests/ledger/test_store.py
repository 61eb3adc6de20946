"""The block store: one contract for memory and files, crash recovery of a torn tail, snapshots."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from taonet.ledger import (
    TAO,
    BlockBuilder,
    Chain,
    Extrinsic,
    FileStore,
    Keypair,
    MemoryStore,
    State,
    Transfer,
    replay,
)
from taonet.ledger.errors import ChainBroken, CorruptLog, WrongHeight

from .chains import ALICE, new_chain

USERS = [Keypair.from_uri(f"//store//{i}") for i in range(8)]


def _grow(chain: Chain, blocks: int, *, per_block: int = 2) -> list[State]:
    """Seal ``blocks`` blocks of transfers; returns the state after each block, indexed by height."""
    states = {chain.height: chain.state}
    for b in range(blocks):
        for i in range(per_block):
            src = USERS[(b + i) % len(USERS)] if chain.height > 1 else ALICE
            chain.call(src, Transfer(dest=USERS[(b + i + 1) % len(USERS)].public_key, amount=1 + i))
        assert not chain.seal().rejected
        states[chain.height] = chain.state
    return [states[h] for h in sorted(states)]


def _funded_chain(store: object) -> Chain:
    chain = new_chain(store)
    for u in USERS:
        chain.call(ALICE, Transfer(dest=u.public_key, amount=1000 * TAO))
    chain.seal()
    return chain


class StoreContract:
    """The behaviour every BlockStore shares (eventsourcing's contract-test pattern)."""

    def make(self, tmp_path: Path) -> object:
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[object]:
        """A fresh store, closed after the test."""
        s = self.make(tmp_path)
        yield s
        s.close()

    def test_append_read_and_head(self, store: object) -> None:
        """Blocks read back byte for byte, in order, and the head hash is the last block's."""
        chain = _funded_chain(store)
        _grow(chain, 5)
        assert store.height == chain.height == 6
        blocks = list(store.read())
        assert [b.number for b in blocks] == list(range(7))
        assert store.head_hash == blocks[-1].hash
        assert [b.number for b in store.read(2, 4)] == [2, 3]
        assert store.get_raw(3) == blocks[3].to_bytes()
        with pytest.raises(KeyError):
            store.get(99)

    def test_append_at_the_wrong_height_is_refused(self, store: object) -> None:
        """A writer that expects another height (a second writer) is fenced out; so is a block with a wrong parent."""
        chain = _funded_chain(store)
        builder = BlockBuilder(chain.state, parent=store.head_hash, timestamp=1, genesis=chain.genesis_hash)
        block, _ = builder.seal(chain.authority)
        with pytest.raises(WrongHeight):
            store.append(block, expected_height=store.height)
        with pytest.raises(WrongHeight):
            store.append(store.get(1))
        other = BlockBuilder(chain.state, parent=bytes(32), timestamp=1, genesis=chain.genesis_hash)
        forged, _ = other.seal(chain.authority)
        with pytest.raises(ChainBroken):
            store.append(forged)
        store.append(block, expected_height=store.height + 1)

    def test_snapshot_plus_tail_equals_full_replay(self, store: object) -> None:
        """Replaying from a snapshot and then the tail gives the digest of a replay from genesis."""
        chain = _funded_chain(store)
        _grow(chain, 4)
        store.save_snapshot(chain.state)
        snap_height = chain.height
        _grow(chain, 4)
        assert store.latest_snapshot().height == snap_height
        full = replay(store, use_snapshots=False)
        fast = replay(store)
        assert fast.digest() == full.digest() == chain.state.digest()
        assert replay(store, to=snap_height).digest() == replay(store, to=snap_height, use_snapshots=False).digest()


class TestMemoryStore(StoreContract):
    """The contract on MemoryStore."""

    def make(self, tmp_path: Path) -> MemoryStore:
        return MemoryStore()


class TestFileStore(StoreContract):
    """The contract on FileStore, plus what only files need."""

    def make(self, tmp_path: Path) -> FileStore:
        return FileStore(tmp_path / "log", fsync=False, segment_bytes=4096)

    def test_reopening_resumes_at_the_head(self, store: FileStore, tmp_path: Path) -> None:
        """A closed and reopened store holds every block and keeps appending across segments."""
        chain = _funded_chain(store)
        _grow(chain, 20)
        assert len(list((tmp_path / "log" / "blocks").glob("*.seg"))) > 1
        store.close()
        again = FileStore(tmp_path / "log", fsync=False, segment_bytes=4096)
        assert again.height == chain.height and again.head_hash == chain.store.head_hash
        chain2 = Chain.open(again, chain.authority)
        assert chain2.state.digest() == chain.state.digest()
        _grow(chain2, 3)
        assert again.verify().blocks == chain2.height + 1
        again.close()

    def test_verify_detects_a_damaged_record_inside_the_log(self, store: FileStore, tmp_path: Path) -> None:
        """A flipped byte in a middle record fails verification with CorruptLog."""
        chain = _funded_chain(store)
        _grow(chain, 3)
        seg = sorted((tmp_path / "log" / "blocks").glob("*.seg"))[0]
        data = bytearray(seg.read_bytes())
        data[40] ^= 0xFF
        seg.write_bytes(bytes(data))
        with pytest.raises(CorruptLog):
            store.verify()


# --- crash safety ------------------------------------------------------------------------------------------------


def _build_log(root: Path, *, last_transfers: int) -> tuple[Path, list[State], Chain]:
    """A 50-block log whose last block holds ``last_transfers`` transfers; the states after each block."""
    path = root / f"log{last_transfers}"
    chain = _funded_chain(FileStore(path, fsync=False))
    states = [replay(chain.store, to=0), chain.state, *_grow(chain, 47)[1:]]
    for i in range(last_transfers):
        u = USERS[i % len(USERS)]
        chain.call(u, Transfer(dest=USERS[(i + 3) % len(USERS)].public_key, amount=1))
    assert not chain.seal().rejected
    states.append(chain.state)
    chain.store.close()
    assert chain.height == 49 and [s.height for s in states] == list(range(50))
    return path, states, chain


def _last_record(path: Path) -> tuple[Path, int, int]:
    seg = sorted((path / "blocks").glob("*.seg"))[-1]
    store = FileStore(path, fsync=False)
    n = store.height
    off, length = store._pos_off[n], store._pos_len[n]
    store.close()
    return seg, off, 8 + length


def _check_recovers(src: Path, work: Path, states: list[State], chain: Chain, damage: Callable[[Path], None]) -> None:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(src, work)
    damage(work)
    last = len(states) - 1
    store = FileStore(work, fsync=False)  # must not raise
    try:
        assert store.height == last - 1, f"kept {store.height}, expected {last - 1}"
        assert store.head_hash == store.get(last - 1).hash
        prev = states[last - 1]
        builder = BlockBuilder(prev, parent=store.head_hash, timestamp=123, genesis=chain.genesis_hash)
        builder.push(_transfer(chain, prev, USERS[0], USERS[1]))
        block, _ = builder.seal(chain.authority)
        store.append(block)
    finally:
        store.close()
    again = FileStore(work, fsync=False)
    try:
        assert again.height == last
        assert again.verify().blocks == last + 1
    finally:
        again.close()


def _transfer(chain: Chain, state: State, src: Keypair, dest: Keypair) -> Extrinsic:
    return Extrinsic.sign(Transfer(dest=dest.public_key, amount=7), src, nonce=state.account(src.public_key).nonce,
                          genesis=chain.genesis_hash)


def _truncate_at(seg_name: str, size: int) -> Callable[[Path], None]:
    def damage(work: Path) -> None:
        with open(work / "blocks" / seg_name, "r+b") as f:
            f.truncate(size)

    return damage


def _flip_at(seg_name: str, pos: int) -> Callable[[Path], None]:
    def damage(work: Path) -> None:
        with open(work / "blocks" / seg_name, "r+b") as f:
            f.seek(pos)
            b = f.read(1)
            f.seek(pos)
            f.write(bytes([b[0] ^ 0x5A]))

    return damage


@pytest.mark.slow
def test_truncating_a_small_last_record_at_every_offset_recovers(tmp_path: Path) -> None:
    """Cut inside the last (small) record at every offset: open keeps every complete block and appending goes on."""
    src, states, chain = _build_log(tmp_path, last_transfers=1)
    seg, off, size = _last_record(src)
    assert size < 2000
    for cut in range(off, off + size):
        _check_recovers(src, tmp_path / "work", states, chain, _truncate_at(seg.name, cut))


@pytest.mark.slow
def test_flipping_any_byte_of_a_small_last_record_recovers(tmp_path: Path) -> None:
    """A single damaged byte anywhere in the last record drops only that record."""
    src, states, chain = _build_log(tmp_path, last_transfers=1)
    seg, off, size = _last_record(src)
    for pos in range(off, off + size):
        _check_recovers(src, tmp_path / "work", states, chain, _flip_at(seg.name, pos))


@pytest.mark.slow
def test_truncating_and_flipping_a_large_last_record_recovers(tmp_path: Path) -> None:
    """For a 1,000-transfer last record: its first and last 64 offsets and a seeded sample of 500 more."""
    src, states, chain = _build_log(tmp_path, last_transfers=1000)
    seg, off, size = _last_record(src)
    assert size > 100_000
    rng = random.Random(7)
    edges = list(range(off, off + 64)) + list(range(off + size - 64, off + size))
    middle = rng.sample(range(off + 64, off + size - 64), 500)
    for cut in edges + middle:
        _check_recovers(src, tmp_path / "work", states, chain, _truncate_at(seg.name, cut))
    for pos in rng.sample(range(off, off + size), 200) + edges[:16]:
        _check_recovers(src, tmp_path / "work", states, chain, _flip_at(seg.name, pos))


def test_a_torn_index_is_rebuilt_from_the_segments(tmp_path: Path) -> None:
    """A missing or torn index file costs nothing: open rebuilds it from the records."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False))
    _grow(chain, 5)
    chain.store.close()
    index = path / "index"
    index.write_bytes(index.read_bytes()[:-5])
    store = FileStore(path, fsync=False)
    assert store.height == chain.height and store.verify().blocks == chain.height + 1
    store.close()
    os.remove(index)
    store = FileStore(path, fsync=False)
    assert store.height == chain.height
    store.close()
