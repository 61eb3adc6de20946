"""What an oracle validator remembers: the price series it follows (a bounded window of recent prices) and the
predictions it is waiting to score, both saved atomically in the plugin's folder. Each file carries an *anchor*,
a block number and that block's hash: a restarted validator keeps a file only if the chain still has that block,
so a chain that was reset (a dev chain has the same genesis every time) never scores another chain's predictions."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cbor2

from ._series import SeriesPoint, advance, genesis

__all__ = ["PENDING_FILE", "SERIES_FILE", "Pending", "Series", "read_saved", "write_atomically"]

PENDING_FILE = "predictions.cbor"
SERIES_FILE = "series.cbor"
WINDOW = 4096
"""Recent prices kept (a prediction whose target left the window is dropped unscored)."""
MAX_PENDING = 1024
"""Rounds waiting to mature at most (the oldest dropped beyond)."""
VERSION = 1


def write_atomically(path: Path, value: Any) -> None:
    """Write canonical CBOR to ``path`` atomically (a temporary file, fsynced, renamed over the old one)."""
    body = cbor2.dumps(value, canonical=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_saved(path: Path) -> dict[str, Any] | None:
    """A saved file's content (a map with its ``version`` and ``anchor``), or None when there is none; a file that
    cannot be read is set aside as ``*.damaged``."""
    try:
        saved = cbor2.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, cbor2.CBORDecodeError, ValueError):
        saved = None
    if (isinstance(saved, dict) and saved.get("version") == VERSION and isinstance(saved.get("anchor"), list)
            and len(saved["anchor"]) == 2):
        return saved
    path.replace(path.with_suffix(".damaged"))
    return None


class Series:
    """The price series as far as the chain has gone: ``point`` (the newest block), its block's hash and the recent
    prices."""

    def __init__(self, genesis_hash: bytes = b"") -> None:
        self.point: SeriesPoint = genesis()
        self.last_hash = genesis_hash
        self.prices: OrderedDict[int, int] = OrderedDict({0: self.point.price})

    @property
    def head(self) -> int:
        """The newest block the series has reached."""
        return self.point.block

    @property
    def anchor(self) -> list[Any]:
        """``[head, hash of that block]``: what a saved file checks against the chain."""
        return [self.point.block, self.last_hash]

    def extend(self, hashes: list[bytes]) -> None:
        """Advance over the next blocks, given their hashes in order."""
        for h in hashes:
            self.point = advance(self.point, h)
            self.last_hash = h
            self.prices[self.point.block] = self.point.price
            if len(self.prices) > WINDOW:
                self.prices.popitem(last=False)

    def price(self, block: int) -> int | None:
        """The price at ``block`` (None when it is not in the window)."""
        return self.prices.get(block)

    def history(self, block: int, count: int) -> list[int]:
        """Up to ``count`` prices ending at ``block``, oldest first."""
        return [p for b in range(max(0, block - count + 1), block + 1) if (p := self.prices.get(b)) is not None]

    def checkpoint(self) -> dict[str, Any]:
        """What :meth:`restore` needs to go on from here."""
        return {"version": VERSION, "anchor": self.anchor, "price": self.point.price, "regime": self.point.regime,
                "window": [[b, p] for b, p in self.prices.items()]}

    @classmethod
    def restore(cls, saved: dict[str, Any]) -> Series:
        """The series a :meth:`checkpoint` saved (its anchor checked by the caller)."""
        s = cls()
        block, h = saved["anchor"]
        s.point = SeriesPoint(block=int(block), price=int(saved["price"]), regime=int(saved["regime"]))
        s.last_hash = bytes(h)
        s.prices = OrderedDict((int(b), int(p)) for b, p in saved["window"])
        return s


class Pending:
    """Predictions waiting for their target block: ``target -> {"made", "base", "preds": {hotkey: int | None}}``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.rounds: dict[int, dict[str, Any]] = {}

    def restore(self, saved: dict[str, Any]) -> None:
        """Take the rounds a :meth:`save` wrote (its anchor checked by the caller)."""
        self.rounds = {int(r["target"]): {"made": int(r["made"]), "base": int(r["base"]), "preds": dict(r["preds"])}
                       for r in saved["rounds"]}

    def add(self, target: int, made: int, base: int, preds: dict[str, int | None]) -> None:
        """Remember one round's predictions."""
        self.rounds[target] = {"made": made, "base": base, "preds": preds}
        while len(self.rounds) > MAX_PENDING:
            del self.rounds[min(self.rounds)]

    def mature(self, series: Series) -> list[list[Any]]:
        """Take every round whose target the series has reached: ``[hotkey, made, target, predicted, actual]`` per
        prediction (rounds whose target left the window are dropped)."""
        out = []
        for target in sorted(t for t in self.rounds if t <= series.head):
            r = self.rounds.pop(target)
            actual = series.price(target)
            if actual is None:
                continue
            out.extend([hk, r["made"], target, pred, actual] for hk, pred in sorted(r["preds"].items()))
        return out

    def save(self, anchor: list[Any]) -> None:
        """Write the rounds atomically, with ``anchor`` (the series' head and its hash)."""
        if self.path is None:
            return
        write_atomically(self.path, {"version": VERSION, "anchor": anchor,
                                     "rounds": [{"target": t, **r} for t, r in sorted(self.rounds.items())]})
