"""The block store: one contract for memory and files, crash recovery of a torn tail, snapshots."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
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
from taonet.ledger.errors import ChainBroken, CorruptLog, ReadOnlyStore, WrongHeight

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
    """A 10-block log whose last block holds ``last_transfers`` transfers; the states after each block (the damage is
    all in the last record: the blocks before it are what must be kept, and each check verifies every one of them)."""
    path = root / f"log{last_transfers}"
    chain = _funded_chain(FileStore(path, fsync=False))
    states = [replay(chain.store, to=0), chain.state, *_grow(chain, 7)[1:]]
    for i in range(last_transfers):
        u = USERS[i % len(USERS)]
        chain.call(u, Transfer(dest=USERS[(i + 3) % len(USERS)].public_key, amount=1))
    assert not chain.seal().rejected
    states.append(chain.state)
    chain.store.close()
    assert chain.height == 9 and [s.height for s in states] == list(range(10))
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
    index = work / "index"  # as a torn append leaves it: a block's index entry is written after its record
    index.write_bytes(index.read_bytes()[:-24])
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


# --- damage is refused, never cut ---------------------------------------------------------------------------------


def _files(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` by relative name, with its bytes (to prove nothing was written)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _segmented_log(path: Path, blocks: int = 40) -> Chain:
    """A closed log of at least ``blocks`` + 2 blocks over several 12 KiB segments, the last holding 3 or more."""
    chain = _funded_chain(FileStore(path, fsync=False, segment_bytes=12288))
    _grow(chain, blocks)
    for _ in range(40):  # until the last segment holds a few records
        if len({chain.store.location(n)[0] for n in range(chain.height - 2, chain.height + 1)}) == 1:
            break
        _grow(chain, 1)
    chain.store.close()
    assert len(list((path / "blocks").glob("*.seg"))) >= 3
    return chain


def _flip(seg: Path, pos: int) -> None:
    with open(seg, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x5A]))


@pytest.mark.parametrize("index", ["kept", "deleted"])
@pytest.mark.parametrize("where", ["first segment", "middle of the last segment"])
def test_a_damaged_record_followed_by_valid_ones_is_refused_and_nothing_changes(
        tmp_path: Path, where: str, index: str) -> None:
    """A flipped byte before valid records raises CorruptLog naming the segment and offset; no byte is changed."""
    path = tmp_path / "log"
    _segmented_log(path)
    segs = sorted((path / "blocks").glob("*.seg"))
    with FileStore(path, fsync=False, read_only=True) as reader:
        records = [(Path(reader.location(n)[0]), reader.location(n)[1]) for n in range(reader.height + 1)]
    seg = segs[0] if where == "first segment" else segs[-1]
    in_seg = [off for s, off in records if s == seg]
    assert len(in_seg) >= 3
    target = in_seg[len(in_seg) // 2 - 1] if where == "first segment" else in_seg[-2]
    _flip(seg, target + 20)
    if index == "deleted":
        os.remove(path / "index")
    before = _files(path)
    with pytest.raises(CorruptLog) as err:
        FileStore(path, fsync=False, segment_bytes=12288)
    assert err.value.path == str(seg) and err.value.offset == target
    assert "restore the data directory from a copy" in str(err.value)
    assert _files(path) == before
    with pytest.raises(CorruptLog):
        FileStore(path, read_only=True)


def test_a_damaged_last_record_of_an_earlier_segment_is_refused(tmp_path: Path) -> None:
    """Damage at the end of a segment that has later segments after it is not a torn tail."""
    path = tmp_path / "log"
    _segmented_log(path)
    first = sorted((path / "blocks").glob("*.seg"))[0]
    size = first.stat().st_size
    with open(first, "r+b") as f:
        f.truncate(size - 3)
    before = _files(path)
    with pytest.raises(CorruptLog, match="follows it"):
        FileStore(path, fsync=False, segment_bytes=12288)
    assert _files(path) == before


def test_a_stale_or_garbage_index_never_cuts_blocks(tmp_path: Path) -> None:
    """An index from an older head, or one pointing nowhere, is rebuilt by a scan; every block is kept."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False))
    _grow(chain, 3)
    old_index = (path / "index").read_bytes()
    _grow(chain, 5)
    chain.store.close()
    for index in (old_index, old_index[:30], b"\xff" * 24 * 40):
        (path / "index").write_bytes(index)
        with FileStore(path, fsync=False) as store:
            assert store.height == chain.height
            assert store.verify().blocks == chain.height + 1
        with FileStore(path, fsync=False, read_only=True) as store:
            assert store.height == chain.height


@pytest.mark.parametrize("damage", ["last segment removed", "last segment emptied", "cut inside a middle record"])
def test_a_log_cut_short_below_its_index_is_refused_not_cut(tmp_path: Path, damage: str) -> None:
    """Segment files that lost records their index lists (an entry is written only after its record) are damage:
    opening, writable or read-only, raises CorruptLog at the first missing block and changes no byte; without the
    index (removed by hand, the documented way out) the blocks left are opened as before."""
    path = tmp_path / "log"
    chain = _segmented_log(path)
    segs = sorted((path / "blocks").glob("*.seg"))
    with FileStore(path, read_only=True) as reader:
        firsts = [n for n in range(reader.height + 1) if reader.location(n)[1] == 0]
        middle = reader.height // 2
        where = reader.location(middle)
    if damage == "last segment removed":
        segs[-1].unlink()
        first_missing = firsts[-1]
    elif damage == "last segment emptied":
        segs[-1].write_bytes(b"")
        first_missing = firsts[-1]
    else:
        for seg in segs:
            if str(seg) > where[0]:
                seg.unlink()
        with open(where[0], "r+b") as f:
            f.truncate(where[1] + 11)
        first_missing = middle
    before = _files(path)
    for read_only in (False, True):
        with pytest.raises(CorruptLog) as err:
            FileStore(path, fsync=False, segment_bytes=12288, read_only=read_only)
        assert err.value.block == first_missing
        assert f"the segment files hold {first_missing}" in str(err.value) and "restore the data directory" in str(
            err.value)
        assert _files(path) == before
    os.remove(path / "index")
    with FileStore(path, fsync=False, segment_bytes=12288) as store:
        assert store.height == first_missing - 1 < chain.height
        assert store.verify().blocks == first_missing


def test_a_zero_filled_tail_is_cut_like_a_torn_one(tmp_path: Path) -> None:
    """Zeros after the last record (a file extended but never written) are a torn tail, not damage."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False))
    _grow(chain, 3)
    chain.store.close()
    seg = sorted((path / "blocks").glob("*.seg"))[-1]
    size = seg.stat().st_size
    with open(seg, "ab") as f:
        f.write(bytes(5000))
    with FileStore(path, fsync=False) as store:
        assert store.height == chain.height and store.recovered_bytes == 5000
    assert seg.stat().st_size == size


def test_read_only_opening_writes_nothing_and_ignores_a_torn_tail(tmp_path: Path) -> None:
    """A reader reads up to the last complete record; no file is created, cut or rewritten; writing is refused."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False, segment_bytes=4096))
    _grow(chain, 12)
    chain.store.close()
    seg = sorted((path / "blocks").glob("*.seg"))[-1]
    with open(seg, "ab") as f:
        f.write(chain.store.get_raw(3)[:77])  # half an append
    os.remove(path / "index")
    before = _files(path)
    with FileStore(path, read_only=True) as reader:
        assert reader.height == chain.height and reader.head_hash == chain.store.head_hash
        assert [b.number for b in reader.read()] == list(range(chain.height + 1))
        with pytest.raises(ReadOnlyStore):
            reader.append(reader.get(1))
        with pytest.raises(ReadOnlyStore):
            reader.save_snapshot(chain.state)
    assert _files(path) == before
    empty = FileStore(tmp_path / "absent", read_only=True)
    assert empty.height == -1 and not (tmp_path / "absent").exists()


def test_a_read_only_store_picks_up_later_appends_on_refresh(tmp_path: Path) -> None:
    """A reader opened beside a writer sees the writer's later blocks, across segments, after refresh()."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False, segment_bytes=4096))
    reader = FileStore(path, read_only=True)
    try:
        assert reader.height == chain.height
        _grow(chain, 15)
        assert reader.refresh() == chain.height
        assert reader.head_hash == chain.store.head_hash
        assert replay(reader, use_snapshots=False).digest() == chain.state.digest()
    finally:
        reader.close()
        chain.store.close()


def _other_chain_state(path: Path, blocks: int) -> State:
    """The state after ``blocks`` + 1 blocks of a chain with other transfers (same height, another digest)."""
    chain = _funded_chain(FileStore(path, fsync=False))
    for _ in range(blocks):
        chain.call(ALICE, Transfer(dest=USERS[5].public_key, amount=999))
        assert not chain.seal().rejected
    chain.store.close()
    return chain.state


def test_a_snapshot_that_does_not_match_its_header_is_refused(tmp_path: Path) -> None:
    """A snapshot whose state digest differs from the header at its height is skipped; replay folds from an
    earlier snapshot (or genesis) and gets the true state."""
    path = tmp_path / "log"
    chain = _funded_chain(FileStore(path, fsync=False))
    _grow(chain, 2)
    store = chain.store
    store.save_snapshot(chain.state)
    early = chain.height
    _grow(chain, 3)
    foreign = _other_chain_state(tmp_path / "other", chain.height - 1)
    assert foreign.height == chain.height and foreign.digest() != chain.state.digest()
    store.save_snapshot(foreign)  # a snapshot file with a sound checksum but the wrong state for this log
    assert store.latest_snapshot().height == early
    bad = str(path / "snapshots" / f"{chain.height:012d}.snap")
    assert "state digest differs" in store.refused_snapshots[bad]
    assert replay(store).digest() == chain.state.digest()
    store.close()


_FILL_UNTIL_REFUSED = """
import resource, signal, sys
from taonet.ledger import FileStore
from taonet.ledger.errors import StorageFailed
sys.path.insert(0, sys.argv[3])
from tests.ledger.test_store import _funded_chain, _grow
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
chain = _funded_chain(FileStore(sys.argv[1], fsync=True))
try:
    _grow(chain, 500)
except StorageFailed as e:
    first = e
    try:
        _grow(chain, 1)
    except StorageFailed as again:
        print(chain.store.height, first.operation, again is first, str(first), sep="|")
"""


def test_a_refused_write_raises_storage_failed_and_the_store_then_refuses_every_append(tmp_path: Path) -> None:
    """Past RLIMIT_FSIZE (a real EFBIG, in a child process) an append raises StorageFailed, later appends raise the
    same error, and the log reopens holding every block that was appended before."""
    path = tmp_path / "log"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _FILL_UNTIL_REFUSED, str(path), "20000", str(root)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.returncode == 0, out.stderr
    height, operation, same, message = out.stdout.strip().split("|")
    assert operation == "write" and same == "True"
    assert "free space or fix the disk" in message
    with FileStore(path, fsync=False) as store:
        assert store.height == int(height) and store.recovered_bytes == 0
        assert store.verify().blocks == int(height) + 1
