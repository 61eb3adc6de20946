"""What an oracle validator remembers: the price series it follows (a bounded window of recent prices) and the
predictions it is waiting to score, saved atomically in the plugin's folder so a restart scores them still."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cbor2

from ._series import SeriesPoint, advance, genesis

__all__ = ["PENDING_FILE", "Pending", "Series"]

PENDING_FILE = "predictions.cbor"
WINDOW = 4096
"""Recent prices kept (a prediction whose target left the window is dropped unscored)."""
MAX_PENDING = 1024
"""Rounds waiting to mature at most (the oldest dropped beyond)."""


class Series:
    """The price series as far as the chain has gone: ``point`` (the newest block) and the recent prices."""

    def __init__(self) -> None:
        self.point: SeriesPoint = genesis()
        self.prices: OrderedDict[int, int] = OrderedDict({0: self.point.price})

    @property
    def head(self) -> int:
        """The newest block the series has reached."""
        return self.point.block

    def extend(self, hashes: list[bytes]) -> None:
        """Advance over the next blocks, given their hashes in order."""
        for h in hashes:
            self.point = advance(self.point, h)
            self.prices[self.point.block] = self.point.price
            if len(self.prices) > WINDOW:
                self.prices.popitem(last=False)

    def price(self, block: int) -> int | None:
        """The price at ``block`` (None when it is not in the window)."""
        return self.prices.get(block)

    def history(self, block: int, count: int) -> list[int]:
        """Up to ``count`` prices ending at ``block``, oldest first."""
        out = [p for b in range(max(0, block - count + 1), block + 1) if (p := self.prices.get(b)) is not None]
        return out


class Pending:
    """Predictions waiting for their target block: ``target -> {"made", "base", "preds": {hotkey: int | None}}``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.genesis = b""
        self.rounds: dict[int, dict[str, Any]] = {}

    def load(self, genesis_hash: bytes) -> None:
        """Read the saved rounds (kept only if they were made on the chain with this genesis)."""
        self.genesis = genesis_hash
        if self.path is None or not self.path.exists():
            return
        try:
            saved = cbor2.loads(self.path.read_bytes())
            if saved.get("version") == 1 and saved.get("genesis") == genesis_hash:
                self.rounds = {int(r["target"]): {"made": int(r["made"]), "base": int(r["base"]),
                                                  "preds": dict(r["preds"])} for r in saved["rounds"]}
        except (cbor2.CBORDecodeError, AttributeError, KeyError, TypeError, ValueError):
            self.path.replace(self.path.with_suffix(".damaged"))

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

    def save(self) -> None:
        """Write the rounds atomically (a temporary file, fsynced, renamed over the old one)."""
        if self.path is None:
            return
        body = cbor2.dumps({"version": 1, "genesis": self.genesis,
                            "rounds": [{"target": t, **r} for t, r in sorted(self.rounds.items())]}, canonical=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
