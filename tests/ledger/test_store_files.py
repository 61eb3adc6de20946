"""The block store's files as the file system gives them: folders it cannot list, files that are not regular files
(a folder, a FIFO), misnamed segments, and which block a damaged record is (``CorruptLog.block``)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import FileStore, record_number
from taonet.ledger.errors import CorruptLog, NotARegularFile

from .test_store import _files, _flip, _segmented_log


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store-files") / "log"
    _segmented_log(path)
    return path


@pytest.fixture
def copy(log: Path, tmp_path: Path) -> Path:
    shutil.copytree(log, tmp_path / "log")
    return tmp_path / "log"


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (instead of hanging the run) if opening waits on a FIFO."""

    def stuck(*_: object) -> None:
        raise AssertionError("opening the store hung on a FIFO")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _deny_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``os.listdir(folder)`` fails as a folder without read permission does (also for root, unlike chmod)."""
    real = os.listdir

    def listdir(path: object = ".") -> list[str]:
        if Path(str(path)) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "listdir", listdir)


@pytest.mark.parametrize("read_only", [True, False])
def test_a_blocks_folder_that_cannot_be_listed_is_a_permission_error_not_missing_blocks(
        copy: Path, monkeypatch: pytest.MonkeyPatch, read_only: bool) -> None:
    """Opening never takes an unreadable blocks/ for an empty one (which, beside the index, read as "blocks 0..N are
    missing ... remove chain/index to start again"): PermissionError naming the folder, nothing changed."""
    before = _files(copy)
    _deny_listing(monkeypatch, copy / "blocks")
    for index in (True, False):
        if not index:
            (copy / "index").unlink()
            before.pop("index")
        with pytest.raises(PermissionError) as err:
            FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
        assert not isinstance(err.value, CorruptLog) and err.value.filename == str(copy / "blocks")
        assert _files(copy) == before


@pytest.mark.parametrize("read_only", [True, False])
def test_a_damaged_record_is_refused_naming_its_block(copy: Path, read_only: bool) -> None:
    """The CorruptLog of a damaged record carries its block (``block``, and "(block N)" in the message), so every
    reader names it, not only `replay verify`."""
    with FileStore(copy, read_only=True) as store:
        k = store.height // 2
        seg, off = store.location(k)
    _flip(Path(seg), off + 20)
    with pytest.raises(CorruptLog) as err:
        FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
    assert err.value.block == k and f"at byte {off} (block {k}): " in str(err.value)
    assert err.value.where == f"{seg} at byte {off}: {err.value.reason}"


@pytest.mark.parametrize("kind", ["folder", "fifo"])
@pytest.mark.parametrize("read_only", [True, False])
def test_a_segment_that_is_not_a_regular_file_is_refused_naming_it(copy: Path, no_hang: None, kind: str,
                                                                    read_only: bool) -> None:
    """A folder or a FIFO where a segment file belongs: NotARegularFile naming it (a FIFO never blocks the open)."""
    seg = sorted((copy / "blocks").glob("*.seg"))[-1]
    seg.unlink()
    seg.mkdir() if kind == "folder" else os.mkfifo(seg)
    with pytest.raises(NotARegularFile) as err:
        FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
    assert err.value.path == str(seg) and str(seg) in str(err.value)
    assert err.value.kind == ("a folder" if kind == "folder" else "a FIFO (named pipe)")
    assert record_number(seg, 0) is None


def test_an_index_that_is_a_fifo_is_refused_and_a_snapshot_or_epoch_record_passed_over(
        copy: Path, tmp_path: Path, no_hang: None) -> None:
    """The index a FIFO: refused (never waited on, never replaced). A snapshot or an epoch-index record a FIFO:
    refused as the caches they are, with the reason."""
    (copy / "index").unlink()
    os.mkfifo(copy / "index")
    for read_only in (True, False):
        with pytest.raises(NotARegularFile, match="index is a FIFO"):
            FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
    (copy / "index").unlink()
    with FileStore(copy, fsync=False, segment_bytes=12288) as store:
        head = store.height
        snap = store.path / "snapshots" / f"{head:012d}.snap"
        os.mkfifo(snap)
        record = store._epoch_path(head, 1)
        record.parent.mkdir(parents=True)
        os.mkfifo(record)
    with FileStore(copy, read_only=True) as store:
        assert store.latest_snapshot() is None or store.latest_snapshot().height < head
        assert "a FIFO (named pipe), not a regular file" in store.refused_snapshots[str(snap)]
        assert store.read_epoch_inputs(head, 1) is None
        assert "not a regular file" in store.refused_epoch_inputs[str(record)]


@pytest.mark.parametrize("how", ["extra copy", "renamed"])
def test_a_misnamed_or_extra_segment_blames_the_file_not_a_block(copy: Path, how: str) -> None:
    """A segment whose name does not fit the blocks before it: the CorruptLog names the file and no block (the
    block its name gives is not damaged)."""
    segs = sorted((copy / "blocks").glob("*.seg"))
    if how == "extra copy":
        with FileStore(copy, read_only=True) as store:
            inside = store.height // 2  # a block the log holds: the extra file's name overlaps the log
        extra = copy / "blocks" / f"{inside:012d}.seg"
        assert not extra.exists()
        shutil.copy(segs[0], extra)
        bad, says = extra, "it is an extra or misnamed segment file"
    else:
        bad = copy / "blocks" / "000000000005.seg"
        for seg in segs[1:]:
            seg.unlink()
        segs[0].rename(bad)
        (copy / "index").unlink()
        says = "it is misnamed, or the segment file that begins with block 0 is missing"
    for read_only in (True, False):
        with pytest.raises(CorruptLog) as err:
            FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
        assert err.value.block is None and err.value.path == str(bad) and says in str(err.value)
        assert "(block" not in str(err.value)


def test_a_damaged_last_record_that_the_index_lists_is_said_damaged_not_missing(copy: Path) -> None:
    """A byte flipped inside the last record, whose index entry exists: "damaged", at that block (not "missing, a
    segment file was cut short"); without the index it is a torn tail, cut by a writer as before."""
    with FileStore(copy, read_only=True) as store:
        head = store.height
        seg, off = store.location(head)
        n = len(store.get_raw(head))
    _flip(Path(seg), off + 8 + n // 2)
    before = _files(copy)
    for read_only in (True, False):
        with pytest.raises(CorruptLog) as err:
            FileStore(copy, fsync=False, segment_bytes=12288, read_only=read_only)
        text = str(err.value)
        assert err.value.block == head and err.value.offset == off and err.value.path == seg
        assert f"the record of block {head} is there but damaged" in text and "missing" not in text, text
        assert "--no-fsync" in text and "restore the data directory from a copy" in text
        assert _files(copy) == before
    (copy / "index").unlink()
    size = Path(seg).stat().st_size
    with FileStore(copy, fsync=False, segment_bytes=12288) as store:  # a torn tail: cut, as a crash leaves it
        assert store.height == head - 1 and store.recovered_bytes == size - off


def test_a_cut_below_the_index_is_still_said_missing(copy: Path) -> None:
    """The last record cut inside (its bytes are not all there): still "missing (a segment file was cut short...)"."""
    with FileStore(copy, read_only=True) as store:
        head = store.height
        seg, off = store.location(head)
    with open(seg, "r+b") as f:
        f.truncate(off + 11)
    with pytest.raises(CorruptLog) as err:
        FileStore(copy, read_only=True)
    assert err.value.block == head and f"block {head} is missing (a segment file was cut short" in str(err.value)


def test_an_epoch_index_folder_that_cannot_be_listed_is_refused_not_taken_for_empty(
        copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unreadable chain/epochs/<netuid>/ is recorded in ``refused_epoch_inputs`` by its path, with the reason."""
    folder = copy / "epochs" / "1"
    folder.mkdir(parents=True)
    (folder / "000000000007.epin").write_bytes(b"x")
    with FileStore(copy, read_only=True) as store:
        assert store.epoch_index() == [(7, 1)] and not store.refused_epoch_inputs
    _deny_listing(monkeypatch, folder)
    with FileStore(copy, read_only=True) as store:
        assert store.epoch_index() == [] and store.epoch_index(1) == []
        assert "cannot be listed (Permission denied)" in store.refused_epoch_inputs[str(folder)]
