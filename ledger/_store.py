"""Block storage behind a small interface: append at an expected height, read a range, know the head.

:class:`FileStore` keeps blocks in segment files of framed records (``u32 length, u32 crc32, CBOR block``), fsyncs
each append by default, keeps an index of record positions, and writes state snapshots every N blocks. Opening a
store after a crash keeps every complete block and cuts a torn tail (an unfinished last append), so appending goes
on with a valid chain; damage anywhere else is refused with :class:`~taonet.ledger.errors.CorruptLog`.
:class:`MemoryStore` is the same contract in memory, for tests and throwaway chains.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import struct
import threading
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn, Protocol

import numpy as np

from ._block import SignedBlock
from ._codec import dumps, loads
from ._state import State
from .errors import (
    ChainBroken,
    CodecError,
    CorruptLog,
    InvalidBlock,
    NotARegularFile,
    ReadOnlyStore,
    StorageFailed,
    WrongHeight,
)

__all__ = ["BlockStore", "FileStore", "MemoryStore", "VerifyReport", "record_number"]

UNSYNCED = "unsynced"
"""The file in a store's directory that says blocks may have been appended without fsync and not synced since (see
:meth:`FileStore._note_sync_mode`): the one case where a power loss can leave the index listing records the segments
lack, so the only case whose error offers removing the index."""
_FRAME = struct.Struct("<II")
_SNAP_MAGIC = b"TAOSNAP1"
_MAX_RECORD = 256 << 20
MAX_OPEN_SEGMENTS = 64
"""Segment files a store holds open at once (the one appended to, and the most recently read): a long chain's
older segments are opened again when read (one fd per 64 MiB segment would reach the usual limit of 1,024 open
files at 64 GB of log)."""
_EPOCH_MAGIC = b"TAOEPIN1"
_EPOCH_FORMAT = 1  # the record: [format, netuid, block number, block hash, zlib of the packed inputs]


class BlockStore(Protocol):
    """Where a chain's blocks live: append at an expected height, read by number or range."""

    @property
    def height(self) -> int:
        """The number of the last stored block, -1 when empty."""
        ...

    @property
    def head_hash(self) -> bytes | None:
        """The hash of the last stored block, None when empty."""
        ...

    def append(self, block: SignedBlock, *, expected_height: int | None = None) -> None:
        """Store ``block`` as block ``height + 1`` (``expected_height`` fences out a second writer)."""
        ...

    def get(self, number: int) -> SignedBlock:
        """Block ``number`` (KeyError if absent)."""
        ...

    def get_raw(self, number: int) -> bytes:
        """The stored bytes of block ``number``."""
        ...

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[SignedBlock]:
        """Blocks ``start`` .. ``stop - 1`` (to the head when ``stop`` is None)."""
        ...

    def save_snapshot(self, state: State) -> None:
        """Keep a snapshot of ``state`` (at its height) for fast replay."""
        ...

    def latest_snapshot(self, at_or_below: int | None = None) -> State | None:
        """The newest snapshot at or below a height, or None."""
        ...

    def save_epoch_inputs(self, block_hash: bytes, number: int, netuid: int, raw: bytes) -> None:
        """Keep the packed inputs ``raw`` of the epoch of ``netuid`` that block ``number`` (hash ``block_hash``)
        records (the epoch index, :mod:`taonet.ledger._epoch_index`)."""
        ...

    def read_epoch_inputs(self, number: int, netuid: int) -> bytes | None:
        """The packed inputs kept for block ``number`` and ``netuid`` when a sound record bound to the stored block
        ``number`` exists; None otherwise (a refused record's reason is in ``refused_epoch_inputs``)."""
        ...

    def epoch_index(self, netuid: int | None = None) -> list[tuple[int, int]]:
        """(block number, netuid) of every epoch-index record kept (of ``netuid`` only, when given), ascending;
        whether each is sound is checked on reading."""
        ...

    def close(self) -> None:
        """Release files."""
        ...


def _check_append(store: BlockStore, block: SignedBlock, expected_height: int | None) -> None:
    nxt = store.height + 1
    if expected_height is not None and expected_height != nxt:
        raise WrongHeight(expected=nxt, got=expected_height)
    if block.number != nxt:
        raise WrongHeight(expected=nxt, got=block.number)
    if nxt > 0 and block.header.parent != store.head_hash:
        raise ChainBroken(number=block.number, reason="its parent hash is not the stored head's hash")


def _check_record(number: int, size: int) -> None:
    """Refuse (:class:`InvalidBlock`) a block whose encoding is larger than every reader of a log takes."""
    if size > _MAX_RECORD:
        raise InvalidBlock(number=number, reason=f"its encoding is {size} bytes, over the {_MAX_RECORD} bytes a stored "
                                                 "block may take (no reader of the log would take it): not stored")


class MemoryStore:
    """A :class:`BlockStore` in memory."""

    def __init__(self) -> None:
        self._raw: list[bytes] = []
        self._head: bytes | None = None
        self._snaps: dict[int, bytes] = {}
        self._epochs: dict[tuple[int, int], tuple[bytes, bytes]] = {}
        self.refused_epoch_inputs: dict[str, str] = {}
        """Epoch-index records :meth:`read_epoch_inputs` ignored, by ``number/netuid``, with the reason."""

    @property
    def height(self) -> int:
        """The number of the last stored block, -1 when empty."""
        return len(self._raw) - 1

    @property
    def head_hash(self) -> bytes | None:
        """The hash of the last stored block."""
        return self._head

    def append(self, block: SignedBlock, *, expected_height: int | None = None) -> None:
        """Store ``block`` as the next block."""
        _check_append(self, block, expected_height)
        raw = block.to_bytes()
        _check_record(block.number, len(raw))
        self._raw.append(raw)
        self._head = block.hash

    def get_raw(self, number: int) -> bytes:
        """The stored bytes of block ``number``."""
        if not 0 <= number < len(self._raw):
            raise KeyError(number)
        return self._raw[number]

    def get(self, number: int) -> SignedBlock:
        """Block ``number``."""
        return SignedBlock.from_bytes(self.get_raw(number))

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[SignedBlock]:
        """Blocks from ``start`` up to (not including) ``stop``."""
        stop = len(self._raw) if stop is None else min(stop, len(self._raw))
        for n in range(max(0, start), stop):
            yield self.get(n)

    def save_snapshot(self, state: State) -> None:
        """Keep a snapshot of ``state``."""
        self._snaps[state.height] = state.to_snapshot()

    def latest_snapshot(self, at_or_below: int | None = None) -> State | None:
        """The newest snapshot at or below a height."""
        heights = [h for h in self._snaps if at_or_below is None or h <= at_or_below]
        return State.from_snapshot(self._snaps[max(heights)]) if heights else None

    def save_epoch_inputs(self, block_hash: bytes, number: int, netuid: int, raw: bytes) -> None:
        """Keep the packed inputs of the epoch of ``netuid`` recorded in block ``number``."""
        self._epochs[(number, netuid)] = (block_hash, raw)

    def read_epoch_inputs(self, number: int, netuid: int) -> bytes | None:
        """The packed inputs kept for (``number``, ``netuid``) if bound to the stored block ``number``, else None."""
        kept = self._epochs.get((number, netuid))
        if kept is None:
            return None
        reason = _binding_refusal(self, number, kept[0])
        if reason:
            self.refused_epoch_inputs[f"{number}/{netuid}"] = reason
            return None
        return kept[1]

    def epoch_index(self, netuid: int | None = None) -> list[tuple[int, int]]:
        """(block number, netuid) of every record kept (of ``netuid`` only, when given), ascending."""
        return sorted(k for k in self._epochs if netuid is None or k[1] == netuid)

    def close(self) -> None:
        """Nothing to release."""


class VerifyReport:
    """What :meth:`FileStore.verify` checked."""

    __slots__ = ("blocks", "extrinsics")

    def __init__(self, blocks: int, extrinsics: int) -> None:
        self.blocks = blocks
        self.extrinsics = extrinsics

    def __repr__(self) -> str:
        return f"VerifyReport(blocks={self.blocks}, extrinsics={self.extrinsics})"


class FileStore:
    """A :class:`BlockStore` on disk: segment files, an index, snapshots; cuts a torn tail on open, refuses damage.

    Opening scans every record (length and checksum). Only a torn tail may be cut: bytes after the last complete,
    valid record at the end of the last segment (an append the process did not finish). A damaged record that is
    followed by a valid one, or that sits in a segment with later segments after it, is damage, not a torn append:
    opening raises :class:`CorruptLog` and changes nothing. The index is a cache of record positions, rebuilt from
    the scan; it never decides what is kept. With ``read_only=True`` the store writes nothing (no truncation, no
    index, no directories), ignores a torn tail, and is safe to open beside the node that appends to it.
    """

    def __init__(self, path: str | Path, *, fsync: bool = True, segment_bytes: int = 64 << 20,
                 read_only: bool = False) -> None:
        """Open (creating it unless ``read_only``) the store in directory ``path``, cutting a torn tail."""
        self.path = Path(path)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.read_only = read_only
        self._seg_first: list[int] = []  # first block number of each segment, ascending
        self._fds: OrderedDict[int, int] = OrderedDict()  # segment -> fd, least recently used first
        self._fds_lock = threading.Lock()  # reads run in worker threads: no fd is closed while another reads it
        self._pos_seg = array("Q")  # per block: first block number of its segment
        self._pos_off = array("Q")  # per block: offset of its frame
        self._pos_len = array("Q")  # per block: payload length
        self._head: bytes | None = None
        self._write_fd: int | None = None
        self._write_seg = -1
        self._write_end = 0
        self._index_f: BinaryIO | None = None
        self._failed: StorageFailed | None = None
        self.recovered_bytes = 0
        self.refused_snapshots: dict[str, str] = {}
        """Snapshots :meth:`latest_snapshot` ignored, by path, with the reason (for the caller to report)."""
        self.refused_epoch_inputs: dict[str, str] = {}
        """Epoch-index records :meth:`read_epoch_inputs` ignored, by path, with the reason."""
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # --- opening and recovery ------------------------------------------------------------------------------------
    def _seg_path(self, first: int) -> Path:
        return self.path / "blocks" / f"{first:012d}.seg"

    def _fd(self, first: int) -> int:
        """The open fd of segment ``first`` (opened if it is not; the least recently used one closed past
        MAX_OPEN_SEGMENTS, never the one appended to). Hold ``_fds_lock`` while using it where threads may read."""
        fd = self._fds.get(first)
        if fd is not None:
            self._fds.move_to_end(first)
            return fd
        fd = _open_regular(self._seg_path(first), os.O_RDONLY if self.read_only else os.O_RDWR)
        self._fds[first] = fd
        if len(self._fds) > MAX_OPEN_SEGMENTS:
            old = next(s for s in self._fds if s != self._write_seg)
            os.close(self._fds.pop(old))
        return fd

    def _pread(self, first: int, n: int, offset: int) -> bytes:
        """``n`` bytes of segment ``first`` from ``offset`` (fewer at its end); safe beside other threads' reads."""
        with self._fds_lock:
            return os.pread(self._fd(first), n, offset)

    def _list_segments(self) -> list[int]:
        # listed, not globbed: a glob takes a folder that cannot be read (permission denied) for an empty one
        names = os.listdir(self.path / "blocks")
        return sorted(int(n[:-4]) for n in names if n.endswith(".seg") and n[:-4].isdigit())

    def _open(self) -> None:
        index = self._read_index()  # before the scan: a node appending meanwhile lists a block only once it is written
        if self.read_only:
            if (self.path / "blocks").is_dir():
                self._scan_read_only(0, 0)
                self._check_not_shortened(index)
        else:
            (self.path / "blocks").mkdir(parents=True, exist_ok=True)
            (self.path / "snapshots").mkdir(exist_ok=True)
            self._seg_first = self._list_segments()
            torn = self._scan(0, 0)
            self._check_not_shortened(index)  # before any cut
            if torn is not None:
                self._cut(*torn)
            self._write_index()
            self._note_sync_mode()
        self._set_head()
        if self._seg_first and not self.read_only:
            self._write_seg = self._seg_first[-1]
            self._write_fd = self._fd(self._write_seg)
            self._write_end = os.fstat(self._write_fd).st_size

    def _note_sync_mode(self) -> None:
        """Keep :data:`UNSYNCED` beside the log while blocks may have been appended without fsync: written (and synced)
        by a store opened with ``fsync=False`` before it appends anything, removed by one with ``fsync=True`` once it
        has synced every segment and the index. Best effort: a marker that cannot be written only loses a hint."""
        marker = self.path / UNSYNCED
        with contextlib.suppress(OSError):
            if not self.fsync:
                if not marker.exists():
                    with open(marker, "w") as f:
                        f.write("blocks were appended here without fsync (taonet node run --no-fsync)\n")
                        f.flush()
                        os.fsync(f.fileno())
                    self._sync_path(self.path)
            elif marker.exists():
                for first in self._seg_first:
                    os.fsync(self._fd(first))
                if self._index_f is not None:
                    os.fsync(self._index_f.fileno())
                self._sync_dir()
                marker.unlink()
                self._sync_path(self.path)

    @staticmethod
    def _sync_path(directory: Path) -> None:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _read_index(self) -> array | None:
        """The index file's complete entries (segment, offset, length per block), or None when it cannot be read."""
        try:
            raw = _read_regular(self.path / "index")
        except NotARegularFile:
            raise  # a folder or a FIFO where the index belongs: refused, never replaced or waited on
        except OSError:
            return None
        entries = array("Q")
        entries.frombytes(raw[: len(raw) // (3 * entries.itemsize) * 3 * entries.itemsize])
        return entries

    def _check_not_shortened(self, index: array | None) -> None:
        """CorruptLog when the index proves that the segment files once held blocks they no longer hold.

        A block's index entry is written after its record (synced first unless fsync is off), so a crash never takes
        away a block the index lists: an index that agrees with every record the scan found and goes on, record after
        record, past the last one means a segment file was cut short, emptied or removed. An index that disagrees
        anywhere is a stale or damaged cache and proves nothing (it is rebuilt).
        """
        if index is None:
            return
        have, listed = len(self._pos_seg), len(index) // 3
        if listed <= have:
            return
        for i in range(have):
            if (index[3 * i], index[3 * i + 1], index[3 * i + 2]) != (
                    self._pos_seg[i], self._pos_off[i], self._pos_len[i]):
                return
        seg, end = (self._pos_seg[-1], self._pos_off[-1] + _FRAME.size + self._pos_len[-1]) if have else (0, 0)
        for i in range(have, listed):
            s, off, n = index[3 * i], index[3 * i + 1], index[3 * i + 2]
            if not 0 < n <= _MAX_RECORD or not ((s == seg and off == end) or (s == i > seg and off == 0)):
                return
            seg, end = s, off + _FRAME.size + n
        s, off, n = index[3 * have], index[3 * have + 1], index[3 * have + 2]
        first_missing = self._seg_path(s)
        keep = f"keep the {have} blocks" if have else "start again"
        if s in self._seg_first and os.fstat(self._fd(s)).st_size >= off + _FRAME.size + n:
            # the record's bytes are all there, and the scan found them not to be a record: damaged, not missing
            after = "" if listed == have + 1 else f", and the index's blocks {have + 1}..{listed - 1} after it too"
            what = (f"the record of block {have} is there but damaged (its length or checksum is wrong){after}; "
                    "restore the data directory from a copy")
        else:
            missing = f"block {have} is" if listed == have + 1 else f"blocks {have}..{listed - 1} are"
            what = (f"{missing} missing (a segment file was cut short, emptied or removed); restore the data directory "
                    "from a copy")
        # Only blocks appended without fsync (UNSYNCED says so) can have an index entry that outlived their record
        # in a power loss: only then is removing the index a recovery rather than the cut that forks a chain.
        power_loss = (f" (this log was written with --no-fsync: only if the machine lost power while the node ran "
                      f"so, remove {self.path / 'index'} to {keep})") if (self.path / UNSYNCED).exists() else ""
        raise CorruptLog(path=str(first_missing), offset=off, block=have, reason=(
            f"the log's index lists {listed} blocks but the segment files hold {have} sound ones: {what}{power_loss}"))

    def _scan_read_only(self, start: int, pos: int) -> None:
        """Scan as a reader: a torn tail is ignored; apparent damage is re-read (a writer may be mid-append)."""
        kept = len(self._pos_seg)
        for attempt in range(3):
            self._seg_first = self._list_segments()
            try:
                self._scan(start, pos)
                return
            except CorruptLog:
                del self._pos_seg[kept:], self._pos_off[kept:], self._pos_len[kept:]
                if attempt == 2:
                    raise

    def _scan(self, start: int, pos: int) -> tuple[int, int] | None:
        """Index the records of the segments from ``start`` on (from byte ``pos`` of the first).

        Returns where a torn tail begins (segment index, offset), or None when the last record ends the log.
        Raises :class:`CorruptLog` for damage that is not a torn tail; the store on disk is never changed here.
        """
        segs = self._seg_first
        for i in range(start, len(segs)):
            first = segs[i]
            base = pos if i == start else 0
            fd = self._fd(first)
            size = os.fstat(fd).st_size
            if base == 0 and first != len(self._pos_seg):  # no block is to blame here: the file is (block=None)
                have = len(self._pos_seg)
                held = "no block" if not have else "block 0" if have == 1 else f"blocks 0..{have - 1}"
                why = ("it is an extra or misnamed segment file" if first < have else
                       f"it is misnamed, or the segment file that begins with block {have} is missing")
                raise CorruptLog(path=str(self._seg_path(first)), offset=0, reason=(
                    f"the segment file's name says it begins with block {first}, but the segment files before it "
                    f"hold {held}: {why}{_ADVICE}"))
            data = os.pread(fd, max(0, size - base), base) if size > base else b""
            p = 0
            while p < len(data):
                n = _frame_len(data, p)
                if n is None:
                    where = str(self._seg_path(first))
                    later = [s for s in segs[i + 1 :] if os.fstat(self._fd(s)).st_size > 0]
                    if later:
                        raise CorruptLog(path=where, offset=base + p, block=len(self._pos_seg), reason=(
                            f"a damaged record, and segment {self._seg_path(later[0]).name} follows it{_ADVICE}"))
                    q = _find_record(data, p + 1)
                    if q is not None:
                        raise CorruptLog(path=where, offset=base + p, block=len(self._pos_seg), reason=(
                            f"a damaged record, and a complete record follows it at byte {base + q}{_ADVICE}"))
                    return i, base + p
                self._pos_seg.append(first)
                self._pos_off.append(base + p)
                self._pos_len.append(n)
                p += _FRAME.size + n
        return None

    def _cut(self, i: int, pos: int) -> None:
        """Truncate the torn tail at (segment index ``i``, ``pos``), dropping the (empty) segments after it."""
        segs = self._seg_first
        first = segs[i]
        fd = self._fd(first)
        self.recovered_bytes += os.fstat(fd).st_size - pos
        os.ftruncate(fd, pos)
        if self.fsync:
            os.fsync(fd)
        drop = segs[i + 1 :] + ([first] if pos == 0 and i > 0 else [])
        for seg in drop:
            if (dropped := self._fds.pop(seg, None)) is not None:
                os.close(dropped)
            self._seg_path(seg).unlink()
            segs.remove(seg)
        if drop and self.fsync:
            self._sync_dir()

    def _sync_dir(self) -> None:
        dfd = os.open(self.path / "blocks", os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _write_index(self) -> None:
        """Make the index match the scan (rewritten only when it differs), then hold it open for appending."""
        index_path = self.path / "index"
        want = self._index_bytes()
        have = index_path.read_bytes() if index_path.exists() else None
        if have != want:
            tmp = index_path.with_suffix(".tmp")
            tmp.write_bytes(want)
            os.replace(tmp, index_path)
        self._index_f = open(index_path, "ab")  # noqa: SIM115 - held open for the store's lifetime

    def _set_head(self) -> None:
        if self.height < 0:
            self._head = None
            return
        last = self.get(self.height)
        if last.number != self.height:
            seg, off = self._where(self.height)
            raise CorruptLog(path=seg, offset=off, block=self.height, reason=(
                f"the last record holds block {last.number}, expected block {self.height}{_ADVICE}"))
        self._head = last.hash

    def _where(self, number: int) -> tuple[str, int]:
        """The segment path and byte offset of block ``number``'s record."""
        return str(self._seg_path(self._pos_seg[number])), self._pos_off[number]

    def location(self, number: int) -> tuple[str, int]:
        """Where block ``number`` is stored: its segment file and the byte offset of its record."""
        if not 0 <= number < len(self._pos_seg):
            raise KeyError(number)
        return self._where(number)

    def refresh(self) -> int:
        """Pick up blocks appended since opening (a read-only store beside a running node); returns the height."""
        if not self.read_only:
            return self.height
        if self.height < 0:
            start, pos = 0, 0
        else:
            seg = self._pos_seg[-1]
            start, pos = self._list_segments().index(seg), self._pos_off[-1] + _FRAME.size + self._pos_len[-1]
        if (self.path / "blocks").is_dir():
            with self._fds_lock:  # the scan opens segments, which may close one another thread reads
                self._scan_read_only(start, pos)
            self._set_head()
        return self.height

    def _index_bytes(self) -> bytes:
        out = array("Q")
        for i in range(len(self._pos_seg)):
            out.extend((self._pos_seg[i], self._pos_off[i], self._pos_len[i]))
        return out.tobytes()

    # --- the store interface ---------------------------------------------------------------------------------
    @property
    def height(self) -> int:
        """The number of the last stored block, -1 when empty."""
        return len(self._pos_seg) - 1

    @property
    def head_hash(self) -> bytes | None:
        """The hash of the last stored block."""
        return self._head

    def append(self, block: SignedBlock, *, expected_height: int | None = None) -> None:
        """Append ``block`` (fsynced unless the store was opened with ``fsync=False``)."""
        if self.read_only:
            raise ReadOnlyStore(path=str(self.path))
        _check_append(self, block, expected_height)
        self.append_raw(block.number, block.to_bytes(), block.hash)

    def append_raw(self, number: int, payload: bytes, block_hash: bytes) -> None:
        """Append an already encoded block whose number and hash the caller has checked.

        Raises :class:`InvalidBlock`, writing nothing, when ``payload`` is larger than a record may be (256 MiB: every
        reader refuses more). Raises :class:`StorageFailed` when the disk refuses the write or the sync; the record is
        then cut off again (as far as the disk lets us) and every later append raises the same error: after a failed
        sync what the disk holds is unknown, so this store acknowledges nothing more. Reopening the log finds every
        complete block.
        """
        if self.read_only:
            raise ReadOnlyStore(path=str(self.path))
        if self._failed is not None:
            raise self._failed
        _check_record(number, len(payload))  # before any byte is written: the store goes on as it was
        if self._write_fd is None or self._write_end >= self.segment_bytes:
            self._roll(number)
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        fd = self._write_fd
        assert fd is not None
        seg_path = str(self._seg_path(self._write_seg))
        try:
            written = os.pwrite(fd, frame, self._write_end)
        except OSError as e:
            self._fail(seg_path, "write", e)
        if written != len(frame):
            self._fail(seg_path, "write", OSError(f"only {written} of {len(frame)} bytes were written (disk full?)"))
        if self.fsync:
            try:
                os.fdatasync(fd)
            except OSError as e:
                self._fail(seg_path, "fdatasync", e)
        self._pos_seg.append(self._write_seg)
        self._pos_off.append(self._write_end)
        self._pos_len.append(len(payload))
        self._write_end += len(frame)
        self._head = block_hash
        assert self._index_f is not None
        try:
            self._index_f.write(struct.pack("<QQQ", self._write_seg, self._pos_off[-1], len(payload)))
            self._index_f.flush()
        except OSError as e:
            # The block is durable in its segment; the index is a cache rebuilt on open. Stop anyway: the disk is
            # refusing writes, and the next append would fail the same way.
            self._failed = StorageFailed(path=str(self.path / "index"), operation="write", reason=_reason(e))
            raise self._failed from e

    def _fail(self, path: str, operation: str, error: OSError) -> NoReturn:
        """Record a failed write or sync, cut the partial record off (best effort), and raise StorageFailed."""
        self._failed = StorageFailed(path=path, operation=operation, reason=_reason(error))
        if self._write_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._write_fd, self._write_end)
        raise self._failed from error

    def _roll(self, first: int) -> None:
        path = self._seg_path(first)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except OSError as e:
            self._failed = StorageFailed(path=str(path), operation="create", reason=_reason(e))
            raise self._failed from e
        with self._fds_lock:
            self._write_fd, self._write_seg, self._write_end = fd, first, 0
            self._fds[first] = fd
            if len(self._fds) > MAX_OPEN_SEGMENTS:
                os.close(self._fds.pop(next(iter(self._fds))))  # the least recently used: not the new one
        self._seg_first.append(first)
        if self.fsync:
            try:
                self._sync_dir()
            except OSError as e:
                self._fail(str(self.path / "blocks"), "fsync", e)

    def get_raw(self, number: int) -> bytes:
        """The stored bytes of block ``number`` (KeyError if absent, CorruptLog if its checksum fails)."""
        if not 0 <= number < len(self._pos_seg):
            raise KeyError(number)
        seg, off, n = self._pos_seg[number], self._pos_off[number], self._pos_len[number]
        data = self._pread(seg, _FRAME.size + n, off)
        if len(data) != _FRAME.size + n:
            raise CorruptLog(path=str(self._seg_path(seg)), offset=off, block=number,
                             reason=f"the record of block {number} was cut short{_ADVICE}")
        length, crc = _FRAME.unpack_from(data)
        body = data[_FRAME.size :]
        if length != n or zlib.crc32(body) != crc:
            raise CorruptLog(path=str(self._seg_path(seg)), offset=off, block=number,
                             reason=f"the record of block {number} fails its checksum{_ADVICE}")
        return body

    def get(self, number: int) -> SignedBlock:
        """Block ``number`` (CorruptLog if its record does not hold a block)."""
        raw = self.get_raw(number)
        try:
            return SignedBlock.from_bytes(raw)
        except CodecError as e:
            path, off = self._where(number)
            raise CorruptLog(path=path, offset=off, block=number,
                             reason=f"the record of block {number} does not decode ({e}){_ADVICE}") from e

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[SignedBlock]:
        """Blocks from ``start`` up to (not including) ``stop``."""
        stop = self.height + 1 if stop is None else min(stop, self.height + 1)
        for n in range(max(0, start), stop):
            yield self.get(n)

    def check_head(self, state: State) -> None:
        """Raise :class:`CorruptLog` unless the last block is signed by the chain's authority and its header's state
        digest is the digest of ``state`` (the fold of this log): what a writer checks on reopening it."""
        if self.height < 0:
            return
        last = self.get(self.height)
        path, offset = self._where(self.height)
        if state.height != last.number:
            raise CorruptLog(path=path, offset=offset, block=self.height, reason=(
                f"the log folds to block {state.height}, but its last block is {last.number}{_ADVICE}"))
        if last.header.author != state.params.authority or not last.signature_ok():
            raise CorruptLog(path=path, offset=offset, block=self.height,
                             reason=f"block {last.number}'s authority signature does not verify{_ADVICE}")
        if state.digest() != last.header.state_digest:
            raise CorruptLog(path=path, offset=offset, block=self.height, reason=(
                f"the state folded to block {last.number} differs from its header's digest{_ADVICE}"))

    def verify(self) -> VerifyReport:
        """Check every record's checksum, every hash link, and every block and extrinsic signature."""
        from ._keys import verify as verify_sig

        prev: bytes | None = None
        count = 0
        for block in self.read():
            h = block.header
            if h.number and h.parent != prev:
                raise ChainBroken(number=h.number, reason="its parent hash is not the previous block's hash")
            path, off = self._where(h.number)
            if not block.signature_ok():
                raise CorruptLog(path=path, offset=off, block=h.number,
                                 reason=f"block {h.number}'s signature does not verify")
            if not block.roots_ok():
                raise CorruptLog(path=path, offset=off, block=h.number,
                                 reason=f"block {h.number}'s extrinsics or events root differs")
            for ext in block.extrinsics:
                if not verify_sig(ext.signer, ext.signed_bytes(), ext.signature):
                    raise CorruptLog(path=path, offset=off, block=h.number,
                                     reason=f"an extrinsic signature of block {h.number} fails")
            count += len(block.extrinsics)
            prev = block.hash
        return VerifyReport(self.height + 1, count)

    # --- snapshots -------------------------------------------------------------------------------------------
    def save_snapshot(self, state: State) -> None:
        """Write a snapshot of ``state`` atomically (temp file, fsync, rename); StorageFailed if the disk refuses."""
        if self.read_only:
            raise ReadOnlyStore(path=str(self.path))
        self._write_framed(self.path / "snapshots" / f"{state.height:012d}.snap", _SNAP_MAGIC, state.to_snapshot(),
                           "write snapshot")

    def _write_framed(self, final: Path, magic: bytes, body: bytes, operation: str) -> None:
        """Write ``magic``, the crc32 of ``body`` and ``body`` to ``final`` atomically (temp file, fsync, rename);
        StorageFailed naming ``operation`` if the disk refuses (the temp file is removed)."""
        tmp = final.with_suffix(".tmp")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(magic + struct.pack("<I", zlib.crc32(body)) + body)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            os.replace(tmp, final)
        except OSError as e:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StorageFailed(path=str(final), operation=operation, reason=_reason(e)) from e

    def latest_snapshot(self, at_or_below: int | None = None) -> State | None:
        """The newest sound snapshot at or below a height, or None.

        A snapshot is used only when its checksum holds, it decodes, and its state digest equals the one in the
        header of the block at its height. Others are skipped (folding starts from an earlier snapshot or genesis)
        and recorded in :attr:`refused_snapshots`.
        """
        folder = self.path / "snapshots"
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return None
        except OSError as e:  # not a folder, or unreadable: every block is folded from genesis, so say why
            self.refused_snapshots[str(folder)] = f"the folder cannot be read ({_reason(e)})"
            return None
        snaps = sorted((int(n[:-5]), folder / n) for n in names if n.endswith(".snap") and n[:-5].isdigit())
        for height, path in reversed(snaps):
            if (at_or_below is not None and height > at_or_below) or height > self.height:
                continue
            state, reason = self._load_snapshot(height, path)
            if state is not None:
                return state
            self.refused_snapshots[str(path)] = reason
        return None

    def _load_snapshot(self, height: int, path: Path) -> tuple[State | None, str]:
        try:
            data = _read_regular(path)
        except NotARegularFile as e:
            return None, f"it is {e.kind}, not a regular file"
        except OSError as e:
            return None, f"it cannot be read ({_reason(e)})"
        body, reason = _framed_body(data, _SNAP_MAGIC, "a snapshot file")
        if body is None:
            return None, reason
        try:
            state = State.from_snapshot(body)
        except (CodecError, ValueError, TypeError, KeyError) as e:
            return None, f"it does not decode ({e})"
        if state.height != height:
            return None, f"it holds the state after block {state.height}, not {height}"
        if state.digest() != self.get(height).header.state_digest:
            return None, f"its state digest differs from the one in block {height}'s header"
        return state, ""

    # --- the epoch index -------------------------------------------------------------------------------------
    def _epoch_path(self, number: int, netuid: int) -> Path:
        return self.path / "epochs" / str(netuid) / f"{number:012d}.epin"

    def save_epoch_inputs(self, block_hash: bytes, number: int, netuid: int, raw: bytes) -> None:
        """Write the epoch-index record of (``number``, ``netuid``) atomically (temp file, fsync, rename), with a
        checksum; StorageFailed if the disk refuses (nothing half-written is ever read: see
        :meth:`read_epoch_inputs`)."""
        if self.read_only:
            raise ReadOnlyStore(path=str(self.path))
        body = dumps([_EPOCH_FORMAT, netuid, number, block_hash, zlib.compress(raw, 1)])
        self._write_framed(self._epoch_path(number, netuid), _EPOCH_MAGIC, body, "write epoch inputs")

    def read_epoch_inputs(self, number: int, netuid: int) -> bytes | None:
        """The packed inputs of the record of (``number``, ``netuid``), or None when there is none or it is refused.

        A record is used only when its checksum holds, it decodes, it names this block and subnet, its block is in
        the log (not above the head: a torn tail cut it) and the log's block at that height has the hash the record
        was bound to (not a chain reset or rebuilt since). Refused records are recorded in
        :attr:`refused_epoch_inputs` with the reason.
        """
        path = self._epoch_path(number, netuid)
        try:
            data = _read_regular(path)
        except FileNotFoundError:
            return None
        except NotARegularFile as e:
            self.refused_epoch_inputs[str(path)] = f"it is {e.kind}, not a regular file"
            return None
        except OSError as e:
            self.refused_epoch_inputs[str(path)] = f"it cannot be read ({_reason(e)})"
            return None
        raw, reason = _open_epoch_record(data, number, netuid)
        if raw is not None:
            reason = _binding_refusal(self, number, raw[0])
        if reason or raw is None:
            self.refused_epoch_inputs[str(path)] = reason
            return None
        return raw[1]

    def epoch_index(self, netuid: int | None = None) -> list[tuple[int, int]]:
        """(block number, netuid) of every record file kept (of ``netuid`` only, when given), ascending.

        A folder of the index that cannot be listed (permission denied) is refused, never taken for an empty one: it
        is recorded in :attr:`refused_epoch_inputs` (by the folder's path) and none of its records is used."""
        root = self.path / "epochs"
        if not root.is_dir():
            return []
        names = [str(netuid)] if netuid is not None else self._epoch_listing(root)
        out = []
        for name in names:
            if name.isdigit() and (root / name).is_dir():
                k = int(name)
                out.extend((int(n[:-5]), k) for n in self._epoch_listing(root / name)
                           if n.endswith(".epin") and n[:-5].isdigit())
        return sorted(out)

    def _epoch_listing(self, folder: Path) -> list[str]:
        """The names in ``folder`` of the epoch index; none when it cannot be listed (refused, with the reason)."""
        try:
            return os.listdir(folder)
        except OSError as e:
            why = f"the folder cannot be listed ({_reason(e)}): none of its records is used"
            self.refused_epoch_inputs[str(folder)] = why
            return []

    def close(self) -> None:
        """Close every file."""
        if self._index_f is not None:
            with contextlib.suppress(OSError):
                self._index_f.close()
            self._index_f = None
        with self._fds_lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        self._write_fd = None

    def __enter__(self) -> FileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_number(segment: str | Path, offset: int) -> int | None:
    """The number of the block whose record starts at byte ``offset`` of ``segment`` (a ``<first>.seg`` file), or None.

    Walks the frames from the segment's start (their lengths only, no checksum), so it also names a damaged record
    that :class:`CorruptLog` reported by path and offset.
    """
    path = Path(segment)
    try:
        first = int(path.name[:-4])
        data = _read_regular(path)
    except (ValueError, OSError):
        return None
    pos, count = 0, 0
    while pos < offset and pos + _FRAME.size <= len(data):
        length, _ = _FRAME.unpack_from(data, pos)
        pos += _FRAME.size + length
        count += 1
    return first + count if pos == offset else None


_ADVICE = "; restore the data directory from a copy, or start a new one"


def _framed_body(data: bytes, magic: bytes, what: str) -> tuple[bytes | None, str]:
    """The body of a file :meth:`FileStore._write_framed` wrote (``magic``, crc32, body), or None and why not."""
    if data[:8] != magic or len(data) < 12:
        return None, f"it is not {what}"
    (crc,) = struct.unpack_from("<I", data, 8)
    body = data[12:]
    if zlib.crc32(body) != crc:
        return None, "its checksum fails"
    return body, ""


def _open_epoch_record(data: bytes, number: int, netuid: int) -> tuple[tuple[bytes, bytes] | None, str]:
    """(the block hash the record is bound to, the packed inputs) of an epoch-index file, or None and why not."""
    body, reason = _framed_body(data, _EPOCH_MAGIC, "an epoch-index record")
    if body is None:
        return None, reason
    try:
        fmt, k, n, block_hash, packed = loads(body, max_size=_MAX_RECORD)
        if fmt != _EPOCH_FORMAT:
            return None, f"it is of format {fmt!r}, not {_EPOCH_FORMAT}"
        if (k, n) != (netuid, number) or type(block_hash) is not bytes or type(packed) is not bytes:
            return None, f"it holds subnet {k!r} at block {n!r}, not subnet {netuid} at block {number}"
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, _MAX_RECORD)
        if inflate.unconsumed_tail or not inflate.eof:  # bounded: a crafted record cannot inflate without limit
            return None, f"its inputs do not inflate to a whole record within {_MAX_RECORD} bytes"
        return (block_hash, raw), ""
    except (CodecError, ValueError, TypeError, zlib.error) as e:
        return None, f"it does not decode ({e})"


def _binding_refusal(store: MemoryStore | FileStore, number: int, block_hash: bytes) -> str:
    """Why a record bound to block ``number`` with hash ``block_hash`` is not the log's (empty when it is)."""
    if number > store.height:
        return f"its block {number} is above the log's head {store.height} (cut from the log, or not stored yet)"
    if _block_hash(store, number) != block_hash:
        return f"the log's block {number} has another hash than the one it was written for (the chain was reset)"
    return ""


def _block_hash(store: MemoryStore | FileStore, number: int) -> bytes:
    """The hash of the stored block ``number``, from its header alone (the header re-encoded as the log holds it)."""
    raw = store.get_raw(number)
    try:
        header = loads(raw, max_size=_MAX_RECORD)[2]["header"]
        return hashlib.blake2b(dumps(header), digest_size=32).digest()
    except (CodecError, LookupError, TypeError, ValueError):
        return store.get(number).hash


def _open_regular(path: Path, flags: int) -> int:
    """A descriptor of ``path`` opened with ``flags`` when it is a regular file; :class:`NotARegularFile` naming it
    for a folder, a FIFO, a socket or a device (never opened: opening a FIFO waits for a writer, forever)."""
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOCTTY)  # non-blocking: it may have been swapped since
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISREG(mode):
                os.set_blocking(fd, True)
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device")
    raise NotARegularFile(path=str(path), kind=kind)


def _read_regular(path: Path) -> bytes:
    """The bytes of the regular file ``path`` (:class:`NotARegularFile` for anything else: :func:`_open_regular`)."""
    with open(_open_regular(path, os.O_RDONLY), "rb") as f:
        return f.read()


def _reason(error: OSError) -> str:
    return error.strerror or str(error) if error.errno is not None else str(error)


def _frame_len(data: bytes, p: int) -> int | None:
    """The payload length of the complete, checksum-valid record at ``p`` in ``data``, or None."""
    if p + _FRAME.size > len(data):
        return None
    n, crc = _FRAME.unpack_from(data, p)
    end = p + _FRAME.size + n
    if n == 0 or n > _MAX_RECORD or end > len(data):
        return None
    return n if zlib.crc32(memoryview(data)[p + _FRAME.size : end]) == crc else None


def _find_record(data: bytes, start: int) -> int | None:
    """The offset of the first complete record at or after ``start`` that holds a block (a resync past damage)."""
    last = len(data) - _FRAME.size  # the last offset where a frame header fits
    if start > last:
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 18
    for lo in range(start, last + 1, step):
        hi = min(lo + step, last + 1)
        b = buf[lo : hi + 3].astype(np.uint32)
        k = hi - lo
        n = b[:k] | (b[1 : k + 1] << 8) | (b[2 : k + 2] << 16) | (b[3 : k + 3] << 24)
        room = last - np.arange(lo, hi, dtype=np.int64)  # payload bytes that fit after each offset
        for i in np.flatnonzero((n > 0) & (n.astype(np.int64) <= room)):
            p = lo + int(i)
            n_p = _frame_len(data, p)
            if n_p is not None and _holds_block(data[p + _FRAME.size : p + _FRAME.size + n_p]):
                return p
    return None


def _holds_block(body: bytes) -> bool:
    try:
        SignedBlock.from_bytes(body)
    except CodecError:
        return False
    return True
