"""Opening a chain's data directory read-only, and the state at any block (from the nearest snapshot below it)."""

from __future__ import annotations

from pathlib import Path

from taonet.kernel.errors import BlockNotFound
from taonet.ledger import FileStore, State, fold, replay
from taonet.ledger.errors import EmptyBlockLog, InvalidBlock, NoBlockLog

__all__ = ["EmptyBlockLog", "StateCursor", "chain_dir", "open_log", "snapshot_heights", "state_at"]


def chain_dir(path: str | Path) -> Path:
    """The block log under ``path``: ``path/chain`` (a node's or replica's data directory), ``path`` itself, or
    ``path/node/chain`` (a localnet's or demo's directory); :class:`NoBlockLog` when none holds ``blocks/``."""
    base = Path(path).expanduser()
    for candidate in (base / "chain", base, base / "node" / "chain"):
        if (candidate / "blocks").is_dir():
            return candidate
    raise NoBlockLog(path=str(base))


def open_log(path: str | Path) -> FileStore:
    """The block log of a data directory, opened read-only: no lock, nothing written, safe beside a running node;
    :class:`EmptyBlockLog` when it holds no block."""
    store = FileStore(chain_dir(path), read_only=True)
    if store.height < 0:
        store.close()
        raise EmptyBlockLog(path=str(store.path / "blocks"))
    return store


def state_at(store: FileStore, block: int | None = None) -> State:
    """The state after ``block`` (the head when None), folded from the newest sound snapshot at or below it.

    Signatures are not checked here (``replay verify`` does); every block's recomputed digest still must match.
    """
    head = store.height
    if head < 0:  # else "block -1 does not exist: ... ask for a block in 0..-1"
        raise EmptyBlockLog(path=str(store.path))
    number = head if block is None else block
    if number < 0 or number > head:
        raise BlockNotFound(number=number, head=head)
    return replay(store, to=number, verify_signatures=False, check_every_block=False)


def snapshot_heights(store: FileStore) -> list[int]:
    """The heights of the snapshot files the log keeps, ascending (whether each is sound is checked on loading)."""
    folder = store.path / "snapshots"
    if not folder.is_dir():
        return []
    return sorted(int(p.stem) for p in folder.glob("*.snap") if p.stem.isdigit())


class StateCursor:
    """States at ascending blocks: each folded forward from the last one given when that is no farther than the
    nearest snapshot, else as :func:`state_at` folds it (from the snapshot); the digest is checked either way."""

    def __init__(self, store: FileStore) -> None:
        self._store = store
        self._last: State | None = None
        self._snapshots = snapshot_heights(store)

    def at(self, block: int) -> State:
        """The state after ``block``."""
        last = self._last
        base = max((h for h in self._snapshots if h <= block), default=0)
        if last is None or not base <= last.height <= block:
            state = state_at(self._store, block)
        else:
            state = last
            for _, state in fold(self._store, start=last, stop=block, verify_signatures=False,  # noqa: B007
                                 check_headers=False):
                pass
            if state.digest() != self._store.get(block).header.state_digest:
                raise InvalidBlock(number=block, reason="the state replayed to it does not have the state digest in "
                                                        "its header")
        self._last = state
        return state
