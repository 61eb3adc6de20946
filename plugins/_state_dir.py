"""A neuron's state directory: its scores and step counter (atomic), its status file, the plugin's own folder.

Layout (docs/subnets.md, "The state directory")::

    <dir>/scores.cbor     {"version": 1, "step", "block", "weights_block", "scores": {hotkey: float},
                          "chain": genesis hash + block 1's hash} (validator)
    <dir>/status.json     rewritten every block: block, uid, stake, last weights, last score update, errors
    <dir>/journal/        the validator's journal (see _journal.py)
    <dir>/reveals.json    the validator's weight commits not revealed yet (salt included), on a commit-reveal subnet
    <dir>/plugin/         the plugin's own files (NeuronContext.plugin_dir)
    <dir>/lock            held while a neuron runs here (a second neuron on the same directory is refused)
    <dir>/previous-chain/ the scores, reveals and journal of the last other chain this neuron ran on, set aside

Every file is replaced atomically (written beside, flushed, renamed), so a kill at any moment leaves the previous
or the new version, never a torn one.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import attrs
import cbor2

__all__ = ["SCORES_VERSION", "Scores", "StateDir", "default_state_dir"]

SCORES_VERSION = 1


@attrs.define(kw_only=True)
class Scores:
    """A validator's memory: per-hotkey moving averages, its step counter, and where it stands with weights."""

    step: int = 0
    block: int = 0
    weights_block: int = 0
    scores: dict[str, float] = attrs.field(factory=dict)
    chain: bytes = b""
    """The chain these were kept on: its genesis hash and block 1's hash (a dev chain started afresh has the same
    genesis, not the same block 1); empty in a file written before it was kept."""

    def to_bytes(self) -> bytes:
        """Canonical CBOR of the scores file."""
        return cbor2.dumps({"version": SCORES_VERSION, "step": self.step, "block": self.block,
                            "weights_block": self.weights_block, "scores": dict(self.scores), "chain": self.chain},
                           canonical=True)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Scores:
        """Read a scores file (ValueError if it is not one)."""
        try:
            d = cbor2.loads(raw)
        except Exception as e:
            raise ValueError(f"not a scores file: {e}") from None
        if type(d) is not dict or d.get("version") != SCORES_VERSION or type(d.get("scores")) is not dict or type(
                d.get("chain", b"")) is not bytes:
            raise ValueError("not a scores file of version 1")
        return cls(step=int(d["step"]), block=int(d["block"]), weights_block=int(d.get("weights_block", 0)),
                   scores={str(k): float(v) for k, v in d["scores"].items()}, chain=d.get("chain", b""))


def default_state_dir(wallet: Any, role: str, plugin: str, netuid: int) -> Path:
    """``<wallet>/neurons/<hotkey>/<role>-<plugin>-<netuid>``: beside the wallet's hotkey, one per neuron."""
    return Path(wallet.dir) / "neurons" / wallet.hotkey_str / f"{role}-{plugin}-{netuid}"


def atomic_write(path: Path, data: bytes, *, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (a reader sees the old or the new file, never a mix)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        if fsync:
            os.fsync(f.fileno())
    os.replace(tmp, path)


class StateDir:
    """One neuron's folder. ``with StateDir(path) as sd:`` creates it and holds its lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.scores_file = self.path / "scores.cbor"
        self.status_file = self.path / "status.json"
        self.journal_dir = self.path / "journal"
        self.plugin_dir = self.path / "plugin"
        self.reveals_file = self.path / "reveals.json"
        self._lock: Any = None

    def __enter__(self) -> StateDir:
        try:
            for d in (self.path, self.plugin_dir):
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
            lock = open(self.path / "lock", "a+b")
        except OSError as e:
            from .errors import StateDirUnusable

            reason = "a file is in the way" if isinstance(e, FileExistsError | NotADirectoryError) else (
                e.strerror or str(e))
            raise StateDirUnusable(path=str(self.path), reason=reason) from None
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            from .errors import StateDirBusy

            lock.close()
            raise StateDirBusy(f"another neuron runs on {self.path}: stop it, or give this one another "
                               "--state-dir") from None
        self._lock = lock
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def load_scores(self) -> Scores | None:
        """The saved scores, or None when there are none (a new neuron) or the file is not readable as scores."""
        try:
            return Scores.from_bytes(self.scores_file.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            damaged = self.scores_file.with_name("scores.cbor.damaged")
            os.replace(self.scores_file, damaged)  # kept for a person to look at; the neuron starts afresh
            return None

    def save_scores(self, scores: Scores) -> None:
        """Write the scores atomically (and durably: they survive a power cut, not only a kill)."""
        atomic_write(self.scores_file, scores.to_bytes(), fsync=True)

    def set_aside(self) -> Path:
        """Move the scores, reveals and journal (what a neuron kept on one chain) into ``previous-chain/``, replacing
        what an earlier call put there (one generation: bounded); the plugin's own folder stays. Returns that folder.
        """
        aside = self.path / "previous-chain"
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside)
        else:
            aside.unlink(missing_ok=True)
        aside.mkdir(mode=0o700)
        for item in (self.scores_file, self.reveals_file, self.journal_dir):
            if item.exists():
                os.replace(item, aside / item.name)
        return aside

    def load_reveals(self) -> list[dict[str, Any]]:
        """The pending reveals saved by :meth:`save_reveals` (empty when none; a damaged file is set aside)."""
        try:
            data = json.loads(self.reveals_file.read_text())
        except FileNotFoundError:
            return []
        except ValueError:
            os.replace(self.reveals_file, self.reveals_file.with_name("reveals.json.damaged"))
            return []
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def save_reveals(self, reveals: list[dict[str, Any]]) -> None:
        """Write the pending reveals atomically and durably (a commit's salt must survive a crash)."""
        atomic_write(self.reveals_file, (json.dumps(reveals, sort_keys=True) + "\n").encode(), fsync=True)

    def write_status(self, status: dict[str, Any]) -> None:
        """Rewrite status.json atomically."""
        atomic_write(self.status_file, (json.dumps(status, sort_keys=True) + "\n").encode())

    def read_status(self) -> dict[str, Any] | None:
        """The last status written, or None."""
        try:
            return json.loads(self.status_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
