"""Opening a chain's data directory read-only, and the state at any block (from the nearest snapshot below it)."""

from __future__ import annotations

from pathlib import Path

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import FileStore, State, replay
from taonet.ledger.errors import NoBlockLog

__all__ = ["chain_dir", "open_log", "state_at"]


def chain_dir(path: str | Path) -> Path:
    """The block log under ``path``: ``path/chain`` (a node's or replica's data directory), ``path`` itself, or
    ``path/node/chain`` (a localnet's or demo's directory); :class:`NoBlockLog` when none holds ``blocks/``."""
    base = Path(path).expanduser()
    for candidate in (base / "chain", base, base / "node" / "chain"):
        if (candidate / "blocks").is_dir():
            return candidate
    raise NoBlockLog(path=str(base))


def open_log(path: str | Path) -> FileStore:
    """The block log of a data directory, opened read-only: no lock, nothing written, safe beside a running node."""
    return FileStore(chain_dir(path), read_only=True)


def state_at(store: FileStore, block: int | None = None) -> State:
    """The state after ``block`` (the head when None), folded from the newest sound snapshot at or below it.

    Signatures are not checked here (``replay verify`` does); every block's recomputed digest still must match.
    """
    head = store.height
    number = head if block is None else block
    if number < 0 or number > head:
        raise BlockNotFound(number=number, head=head)
    return replay(store, to=number, verify_signatures=False, check_every_block=False)
