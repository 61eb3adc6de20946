"""The validator's journal: an append-only log of every step, in size-capped segments, for replay to re-score.

Format (docs/subnets.md, "The journal"): the folder holds segments ``journal-00000001.cbor``, ``...02``... Each
segment is a sequence of frames, a frame being a 4-byte big-endian length and then that many bytes of canonical
CBOR. A segment's first frame is its header ``{"journal": "taonet.validator", "version": 1, "segment": N,
"plugin", "netuid", "hotkey"}``; every other frame is one step::

    {"step": int, "block": int, "time": float (unix seconds),
     "task": {"synapse": NAME, "fields": {...}, "truth": any, "timeout": float},
     "responses": [{"uid": int, "hotkey": SS58, "status": int, "latency": float, "data": any}, ...],
     "scores": {hotkey: float}}

``data`` is what the plugin's ``journal_response`` hook keeps of an answer (default: the answered synapse's
fields). A new segment starts when the current one passes a quarter of the cap; the oldest segments are deleted
while the total passes the cap. A frame cut short by a kill is dropped when the journal is opened again.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import cbor2

from ._types import Response, Task

__all__ = ["FORMAT", "Journal", "read_journal", "step_inputs", "uncarried"]

FORMAT = "taonet.validator"
VERSION = 1
_LEN = struct.Struct(">I")
_SEGMENT = re.compile(r"^journal-(\d{8})\.cbor$")
MAX_FRAME = 64 * 1024 * 1024
_UNENCODABLE = (cbor2.CBOREncodeError, TypeError, ValueError, RecursionError)
"""What cbor2 raises for a value it cannot encode (its error types differ between versions)."""


def _encode(value: Any) -> bytes:
    """``value`` as a frame's canonical CBOR; ValueError when CBOR cannot carry it (a numpy scalar, an object...)."""
    try:
        return cbor2.dumps(value, canonical=True)
    except _UNENCODABLE as e:
        raise ValueError(f"CBOR cannot carry it ({e})") from None


def uncarried(value: Any, _seen: frozenset[int] = frozenset()) -> Any:
    """The first value in ``value`` (itself, or a key, value or item inside it) that the journal cannot carry; None
    when it carries all of it (None itself is always carried)."""
    try:
        cbor2.dumps(value, canonical=True)
    except _UNENCODABLE:
        pass
    else:
        return None
    if id(value) in _seen:  # a cycle: the container itself is what cannot be carried
        return value
    if isinstance(value, Mapping):
        parts: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        return value
    inner = _seen | {id(value)}
    return next((u for p in parts if (u := uncarried(p, inner)) is not None), value)


def _segments(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    out = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _SEGMENT.match(p.name))]
    return sorted(out)


def _frames(path: Path, *, last: bool = True) -> Iterator[tuple[int, Any]]:
    """(end offset, value) of every complete frame of a segment; stops at a torn tail (an append cut short, or
    zeros after the last frame: a file extended but never written).

    :class:`JournalDamaged` for damage that is not a torn tail: a complete frame that is not CBOR, or a torn-looking
    end in a segment that is not the newest (``last`` False): appends go to the newest segment only.
    """
    from .errors import JournalDamaged

    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        n = _LEN.unpack_from(data, pos)[0] if pos + 4 <= len(data) else None
        if n is not None and n <= MAX_FRAME and pos + 4 + n <= len(data):
            try:
                value = cbor2.loads(data[pos + 4: pos + 4 + n])
            except Exception as e:
                reason = f"a complete frame that is not CBOR ({e})"
            else:
                pos += 4 + n
                yield pos, value
                continue
        else:
            reason = "a frame cut short in a segment that later segments follow"
        if last and (reason.startswith("a frame cut short") or not any(memoryview(data)[pos:])):
            return  # a torn tail
        raise JournalDamaged(path=str(path), offset=pos, reason=reason)


def read_journal(folder: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every step recorded in a journal folder, oldest first (segment headers skipped); :class:`JournalDamaged`
    (from ``taonet.plugins.errors``) for damage other than a torn last append."""
    segs = _segments(Path(folder))
    for k, (_, path) in enumerate(segs):
        for _, value in _frames(path, last=k == len(segs) - 1):
            if isinstance(value, dict) and "journal" not in value:
                yield value


def step_inputs(record: Mapping[str, Any], synapses: Sequence[type]) -> tuple[Task, list[Response]]:
    """The task and responses of a journal step, rebuilt so a reward model can score them again.

    ``synapses`` are the protocol's Synapse types; a response's ``data`` must be the synapse's fields (the default
    of ``journal_response``) for the answered synapse to be rebuilt, otherwise the synapse carries the request's
    fields only and the plugin reads its digest from the record itself.
    """
    from taonet.kernel import TerminalInfo

    by_name = {s.NAME: s for s in synapses}  # type: ignore[attr-defined]
    t = record["task"]
    cls = by_name[t["synapse"]]
    request = cls(**t["fields"])
    timeout = t.get("timeout")
    task = Task(synapse=request, truth=t.get("truth"), timeout=timeout)
    responses = []
    for r in record["responses"]:
        data = r.get("data")
        fields = {**t["fields"], **data} if isinstance(data, dict) else t["fields"]
        try:
            syn = cls(**fields)
        except (TypeError, ValueError):
            syn = request
        term = TerminalInfo(status_code=r["status"], process_time=r["latency"])
        syn = syn.replace(dendrite=term, timeout=timeout)
        responses.append(Response(uid=r["uid"], hotkey=r["hotkey"], synapse=syn))
    return task, responses


class Journal:
    """Appends step records to a journal folder, rotating segments under ``max_bytes`` in all."""

    def __init__(self, folder: Path, header: Mapping[str, Any], *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.folder = Path(folder)
        self.header = dict(header)
        self.max_bytes = max(4096, int(max_bytes))
        self.segment_bytes = max(1024, self.max_bytes // 4)
        self.last_step: int | None = None
        self._file: Any = None
        self._seq = 0
        self._size = 0

    def open(self) -> Journal:
        """Open the newest segment for appending (dropping a torn last frame), or start the first one."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        segs = _segments(self.folder)
        if segs:
            from .errors import JournalDamaged

            self._seq, path = segs[-1]
            end = 0
            try:
                for offset, value in _frames(path):
                    end = offset
                    if isinstance(value, dict) and "step" in value:
                        self.last_step = int(value["step"])
                if self.last_step is None and len(segs) > 1:  # the newest segment had only its header
                    for _, value in _frames(segs[-2][1], last=False):
                        if isinstance(value, dict) and "step" in value:
                            self.last_step = int(value["step"])
            except JournalDamaged:  # keep the damaged segment as it is (nothing cut): go on in a new one
                self._start(self._seq + 1)
                return self
            if end == 0:  # not even a header: start this segment again
                path.unlink()
                self._start(self._seq)
                return self
            with open(path, "r+b") as f:
                f.truncate(end)
            self._file = open(path, "ab")  # noqa: SIM115 - owned by the journal, closed in close()
            self._size = end
        else:
            self._start(1)
        return self

    def _start(self, seq: int) -> None:
        if self._file is not None:
            self._file.close()
        self._seq = seq
        path = self.folder / f"journal-{seq:08d}.cbor"
        self._file = open(path, "wb")  # noqa: SIM115 - owned by the journal, closed in close()
        self._size = 0
        self._write({"journal": FORMAT, "version": VERSION, "segment": seq, **self.header})
        self._prune()

    def _write(self, value: Any) -> None:
        self._put(_encode(value))

    def _put(self, body: bytes) -> None:
        self._file.write(_LEN.pack(len(body)) + body)
        self._file.flush()
        self._size += 4 + len(body)

    def _prune(self) -> None:
        segs = _segments(self.folder)
        total = sum(p.stat().st_size for _, p in segs)
        while len(segs) > 1 and total > self.max_bytes:
            _, oldest = segs.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink()

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one step record (flushed to the OS: a killed process loses nothing written); ValueError, writing
        nothing, when it holds a value CBOR cannot carry."""
        if self._file is None:
            raise RuntimeError("open() the journal first")
        body = _encode(dict(record))  # before a new segment starts: a record CBOR cannot carry changes nothing
        if self._size >= self.segment_bytes:
            self._start(self._seq + 1)
        self._put(body)
        if "step" in record:
            self.last_step = int(record["step"])

    def close(self) -> None:
        """Close the current segment."""
        if self._file is not None:
            self._file.close()
            self._file = None
