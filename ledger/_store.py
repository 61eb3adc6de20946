"""Block storage behind a small interface: append at an expected height, read a range, know the head.

:class:`FileStore` keeps blocks in segment files of framed records (``u32 length, u32 crc32, CBOR block``), fsyncs
each append by default, keeps an index of record positions, and writes state snapshots every N blocks. Opening a
store after a crash keeps every complete block and truncates a torn or damaged tail record, so appending goes on
with a valid chain. :class:`MemoryStore` is the same contract in memory, for tests and throwaway chains.
"""

from __future__ import annotations

import os
import struct
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ._block import SignedBlock
from ._state import State
from .errors import ChainBroken, CodecError, CorruptLog, StorageError, WrongHeight

__all__ = ["BlockStore", "FileStore", "MemoryStore", "VerifyReport"]

_FRAME = struct.Struct("<II")
_SNAP_MAGIC = b"TAOSNAP1"
_MAX_RECORD = 256 << 20


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


class MemoryStore:
    """A :class:`BlockStore` in memory."""

    def __init__(self) -> None:
        self._raw: list[bytes] = []
        self._head: bytes | None = None
        self._snaps: dict[int, bytes] = {}

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
        self._raw.append(block.to_bytes())
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
    """A :class:`BlockStore` on disk: segment files, an index, snapshots; recovers a torn tail on open."""

    def __init__(self, path: str | Path, *, fsync: bool = True, segment_bytes: int = 64 << 20) -> None:
        """Open (creating if needed) the store in directory ``path``, recovering from a crash."""
        self.path = Path(path)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        (self.path / "blocks").mkdir(parents=True, exist_ok=True)
        (self.path / "snapshots").mkdir(exist_ok=True)
        self._seg_first: list[int] = []  # first block number of each segment, ascending
        self._fds: dict[int, int] = {}
        self._pos_seg = array("Q")  # per block: first block number of its segment
        self._pos_off = array("Q")  # per block: offset of its frame
        self._pos_len = array("Q")  # per block: payload length
        self._head: bytes | None = None
        self._write_fd: int | None = None
        self._write_seg = -1
        self._write_end = 0
        self._index_f = None
        self.recovered_bytes = 0
        self._open()

    # --- opening and recovery ------------------------------------------------------------------------------------
    def _seg_path(self, first: int) -> Path:
        return self.path / "blocks" / f"{first:012d}.seg"

    def _fd(self, first: int) -> int:
        fd = self._fds.get(first)
        if fd is None:
            fd = os.open(self._seg_path(first), os.O_RDWR)
            self._fds[first] = fd
        return fd

    def _open(self) -> None:
        names = sorted(p.name for p in (self.path / "blocks").glob("*.seg"))
        self._seg_first = [int(n[:-4]) for n in names]
        index_path = self.path / "index"
        raw = index_path.read_bytes() if index_path.exists() else b""
        raw = raw[: len(raw) - len(raw) % 24]
        entries = array("Q", raw)
        n = len(entries) // 3
        segs, offs, lens = entries[0::3], entries[1::3], entries[2::3]
        # Drop index entries that do not point at an intact record (the tail may have been torn after indexing).
        while n and not self._frame_ok(segs[n - 1], offs[n - 1], lens[n - 1]):
            n -= 1
        self._pos_seg, self._pos_off, self._pos_len = array("Q", segs[:n]), array("Q", offs[:n]), array("Q", lens[:n])
        if n:
            seg, off = segs[n - 1], offs[n - 1] + _FRAME.size + lens[n - 1]
        else:
            seg, off = (self._seg_first[0] if self._seg_first else 0), 0
        self._scan_from(seg, off)
        # rewrite the index to what is really there, then append to it
        with open(index_path, "wb") as f:
            f.write(self._index_bytes())
        self._index_f = open(index_path, "ab")  # noqa: SIM115 - held open for the store's lifetime
        if self.height >= 0:
            self._head = self.get(self.height).hash
        if self._seg_first:
            self._write_seg = self._seg_first[-1]
            self._write_fd = self._fd(self._write_seg)
            self._write_end = os.fstat(self._write_fd).st_size

    def _index_bytes(self) -> bytes:
        out = array("Q")
        for i in range(len(self._pos_seg)):
            out.extend((self._pos_seg[i], self._pos_off[i], self._pos_len[i]))
        return out.tobytes()

    def _frame_ok(self, seg: int, off: int, length: int) -> bool:
        if seg not in self._seg_first:
            return False
        fd = self._fd(seg)
        head = os.pread(fd, _FRAME.size, off)
        if len(head) < _FRAME.size:
            return False
        n, crc = _FRAME.unpack(head)
        if n != length:
            return False
        body = os.pread(fd, n, off + _FRAME.size)
        return len(body) == n and zlib.crc32(body) == crc

    def _scan_from(self, seg: int, off: int) -> None:
        """Index every intact record from (seg, off) on; truncate at the first torn or damaged one."""
        later = [s for s in self._seg_first if s >= seg]
        for i, first in enumerate(later):
            fd = self._fd(first)
            size = os.fstat(fd).st_size
            pos = off if i == 0 else 0
            while pos < size:
                head = os.pread(fd, _FRAME.size, pos)
                ok = len(head) == _FRAME.size
                if ok:
                    n, crc = _FRAME.unpack(head)
                    ok = n <= _MAX_RECORD and pos + _FRAME.size + n <= size
                    if ok:
                        body = os.pread(fd, n, pos + _FRAME.size)
                        ok = zlib.crc32(body) == crc and self._is_next(body)
                if not ok:
                    self._truncate(first, pos, later[i + 1 :], size)
                    return
                self._pos_seg.append(first)
                self._pos_off.append(pos)
                self._pos_len.append(n)
                pos += _FRAME.size + n

    def _is_next(self, body: bytes) -> bool:
        try:
            block = SignedBlock.from_bytes(body)
        except CodecError:
            return False
        return block.number == len(self._pos_seg)

    def _truncate(self, seg: int, pos: int, drop: list[int], size: int) -> None:
        self.recovered_bytes += size - pos
        os.ftruncate(self._fd(seg), pos)
        if self.fsync:
            os.fsync(self._fd(seg))
        for first in drop:
            os.close(self._fds.pop(first))
            self.recovered_bytes += self._seg_path(first).stat().st_size
            self._seg_path(first).unlink()
            self._seg_first.remove(first)
        if pos == 0 and seg != self._seg_first[0]:
            os.close(self._fds.pop(seg))
            self._seg_path(seg).unlink()
            self._seg_first.remove(seg)

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
        _check_append(self, block, expected_height)
        self.append_raw(block.number, block.to_bytes(), block.hash)

    def append_raw(self, number: int, payload: bytes, block_hash: bytes) -> None:
        """Append an already encoded block whose number and hash the caller has checked."""
        if self._write_fd is None or self._write_end >= self.segment_bytes:
            self._roll(number)
        frame = _FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        fd = self._write_fd
        assert fd is not None
        written = os.pwrite(fd, frame, self._write_end)
        if written != len(frame):
            os.ftruncate(fd, self._write_end)
            raise StorageError(f"short write to {self._seg_path(self._write_seg)} (disk full?)")
        if self.fsync:
            os.fdatasync(fd)
        self._pos_seg.append(self._write_seg)
        self._pos_off.append(self._write_end)
        self._pos_len.append(len(payload))
        self._write_end += len(frame)
        assert self._index_f is not None
        self._index_f.write(struct.pack("<QQQ", self._write_seg, self._pos_off[-1], len(payload)))
        self._index_f.flush()
        self._head = block_hash

    def _roll(self, first: int) -> None:
        path = self._seg_path(first)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        self._fds[first] = fd
        self._seg_first.append(first)
        if self.fsync:
            dfd = os.open(self.path / "blocks", os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        self._write_fd, self._write_seg, self._write_end = fd, first, 0

    def get_raw(self, number: int) -> bytes:
        """The stored bytes of block ``number`` (KeyError if absent, CorruptLog if its checksum fails)."""
        if not 0 <= number < len(self._pos_seg):
            raise KeyError(number)
        seg, off, n = self._pos_seg[number], self._pos_off[number], self._pos_len[number]
        data = os.pread(self._fd(seg), _FRAME.size + n, off)
        length, crc = _FRAME.unpack_from(data)
        body = data[_FRAME.size :]
        if length != n or zlib.crc32(body) != crc:
            raise CorruptLog(path=str(self._seg_path(seg)), offset=off, reason="checksum mismatch")
        return body

    def get(self, number: int) -> SignedBlock:
        """Block ``number``."""
        return SignedBlock.from_bytes(self.get_raw(number))

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[SignedBlock]:
        """Blocks from ``start`` up to (not including) ``stop``."""
        stop = self.height + 1 if stop is None else min(stop, self.height + 1)
        for n in range(max(0, start), stop):
            yield self.get(n)

    def verify(self) -> VerifyReport:
        """Check every record's checksum, every hash link, and every block and extrinsic signature."""
        from ._keys import verify as verify_sig

        prev: bytes | None = None
        count = 0
        for block in self.read():
            h = block.header
            if h.number and h.parent != prev:
                raise ChainBroken(number=h.number, reason="its parent hash is not the previous block's hash")
            if not block.signature_ok():
                raise CorruptLog(path=str(self.path), offset=h.number, reason="block signature does not verify")
            if not block.roots_ok():
                raise CorruptLog(path=str(self.path), offset=h.number, reason="extrinsics or events root mismatch")
            for ext in block.extrinsics:
                if not verify_sig(ext.signer, ext.signed_bytes(), ext.signature):
                    raise CorruptLog(path=str(self.path), offset=h.number, reason="an extrinsic signature fails")
            count += len(block.extrinsics)
            prev = block.hash
        return VerifyReport(self.height + 1, count)

    # --- snapshots -------------------------------------------------------------------------------------------
    def save_snapshot(self, state: State) -> None:
        """Write a snapshot of ``state`` atomically (temp file, fsync, rename)."""
        body = state.to_snapshot()
        final = self.path / "snapshots" / f"{state.height:012d}.snap"
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(_SNAP_MAGIC + struct.pack("<I", zlib.crc32(body)) + body)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())
        os.replace(tmp, final)

    def latest_snapshot(self, at_or_below: int | None = None) -> State | None:
        """The newest intact snapshot at or below a height (damaged ones are skipped)."""
        snaps = sorted((int(p.stem), p) for p in (self.path / "snapshots").glob("*.snap"))
        for height, path in reversed(snaps):
            if (at_or_below is not None and height > at_or_below) or height > self.height:
                continue
            raw = path.read_bytes()
            if raw[:8] != _SNAP_MAGIC or len(raw) < 12:
                continue
            (crc,) = struct.unpack_from("<I", raw, 8)
            body = raw[12:]
            if zlib.crc32(body) != crc:
                continue
            try:
                return State.from_snapshot(body)
            except CodecError:
                continue
        return None

    def close(self) -> None:
        """Close every file."""
        if self._index_f is not None:
            self._index_f.close()
            self._index_f = None
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        self._write_fd = None

    def __enter__(self) -> FileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
