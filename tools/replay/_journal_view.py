"""``replay journal``: what the validators of a subnet journaled — per miner, how often it was asked, answered and
with what score and latency; with one UID, each of its answers beside the task's truth. The chain shows what a miner
was paid; the journal shows why (a miner paid like the honest ones while answering wrong is found here)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from taonet.plugins import read_journal

__all__ = ["JournalStep", "JournalView", "MinerRow", "plain_value", "view_journals"]

MAX_STEPS = 10_000
"""The most steps of one UID listed (the newest are kept): a long journal never becomes one unbounded list."""


@attrs.frozen
class MinerRow:
    """One miner (a UID and the hotkey that held it) as one validator's journal saw it over the range."""

    uid: int
    hotkey: str
    asked: int
    answered: int
    """Calls answered with status 200."""
    mean_score: float
    """The mean of the step scores the validator gave it (0 for a step it was asked in and not scored)."""
    mean_latency: float
    """Seconds, over the answered calls (0 when none was: the table shows ``-``, --json null)."""
    statuses: Mapping[int, int]
    """How many calls ended with each status (200, 408 timeout, 403 refused...)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"uid": self.uid, "hotkey": self.hotkey, "asked": self.asked, "answered": self.answered,
                "mean_score": self.mean_score, "mean_latency": self.mean_latency if self.answered else None,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())}}


@attrs.frozen
class JournalStep:
    """One step of one UID: what the validator asked, the truth it kept, and what the miner answered."""

    step: int
    block: int
    status: int
    latency: float
    score: float | None
    truth: Any
    data: Any
    """What the journal kept of the answer (``journal_response``; by default the synapse's output fields)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON (bytes as hex)."""
        return {"step": self.step, "block": self.block, "status": self.status, "latency": self.latency,
                "score": self.score, "truth": plain_value(self.truth), "data": plain_value(self.data)}


@attrs.frozen
class JournalView:
    """One validator's journal over a block range: its steps, its miners, and (with a UID) that UID's steps."""

    hotkey: str
    folder: Path
    steps: int
    miners: tuple[MinerRow, ...]
    uid_steps: tuple[JournalStep, ...] = ()
    uid_steps_dropped: int = 0
    """Older steps of the UID not listed (past :data:`MAX_STEPS`)."""
    blocks: tuple[int, int] | None = None
    """The first and last block of the steps read (None: no step in the range)."""

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        out: dict[str, Any] = {"hotkey": self.hotkey, "journal": str(self.folder), "steps": self.steps,
                               "miners": [m.as_dict() for m in self.miners]}
        if self.uid_steps or self.uid_steps_dropped:
            out["uid_steps"] = [s.as_dict() for s in self.uid_steps]
            out["uid_steps_dropped"] = self.uid_steps_dropped
        return out


def view_journals(journals: Mapping[str, Path], *, start: int = 0, stop: int | None = None,
                  uid: int | None = None) -> list[JournalView]:
    """Each journal's steps of blocks ``start``..``stop`` (both included; None: to its end) summed up per miner, and
    with ``uid`` that UID's steps one by one. ``JournalDamaged`` for damage other than a torn last append."""
    return [_view(hotkey, folder, start, stop, uid) for hotkey, folder in sorted(journals.items())]


def _view(hotkey: str, folder: Path, start: int, stop: int | None, uid: int | None) -> JournalView:
    from collections import deque

    sums: dict[tuple[int, str], list[Any]] = {}  # (uid, hotkey) -> [asked, answered, score sum, latency sum, statuses]
    listed: deque[JournalStep] = deque(maxlen=MAX_STEPS)
    seen_uid = 0
    steps = 0
    low = high = None
    for record in _records(folder, start, stop):
        steps += 1
        block = record["block"]  # an int: _records keeps no other
        low, high = (block, block) if low is None or high is None else (min(low, block), max(high, block))
        scores = record.get("scores") if isinstance(record.get("scores"), dict) else {}
        task = record.get("task") if isinstance(record.get("task"), dict) else {}
        for r in record.get("responses") or ():
            if not isinstance(r, dict):
                continue
            key = (int(r.get("uid", -1)), str(r.get("hotkey", "")))
            status, latency = int(r.get("status") or 0), float(r.get("latency") or 0.0)
            score = scores.get(key[1])
            row = sums.setdefault(key, [0, 0, 0.0, 0.0, {}])
            row[0] += 1
            row[2] += float(score) if isinstance(score, int | float) else 0.0
            row[4][status] = row[4].get(status, 0) + 1
            if status == 200:
                row[1] += 1
                row[3] += latency
            if uid is not None and key[0] == uid:
                seen_uid += 1
                listed.append(JournalStep(step=int(record.get("step", -1)), block=int(record.get("block", -1)),
                                          status=status, latency=latency,
                                          score=float(score) if isinstance(score, int | float) else None,
                                          truth=task.get("truth"), data=r.get("data")))
    miners = tuple(MinerRow(uid=k[0], hotkey=k[1], asked=v[0], answered=v[1], mean_score=v[2] / v[0],
                            mean_latency=v[3] / v[1] if v[1] else 0.0, statuses=dict(v[4]))
                   for k, v in sorted(sums.items()))
    return JournalView(hotkey=hotkey, folder=folder, steps=steps, miners=miners, uid_steps=tuple(listed),
                       uid_steps_dropped=seen_uid - len(listed),
                       blocks=None if low is None or high is None else (low, high))


def _records(folder: Path, start: int, stop: int | None) -> Iterator[dict[str, Any]]:
    for record in read_journal(folder):
        block = record.get("block")
        if not isinstance(block, int) or block < start:
            continue
        if stop is not None and block > stop:
            continue  # (not return: a journal is read whole, its blocks are not assumed in order)
        yield record


def plain_value(value: Any) -> Any:
    """A journaled value as JSON carries it: bytes as hex, maps with text keys."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(v) for v in value]
    return value
