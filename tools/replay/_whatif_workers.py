"""``what-if`` on a long log: the recorded epochs' inputs gathered in worker processes, one segment of the log each,
cut at the snapshots nearest to equal shares (as ``verify`` cuts it), then the epochs re-run in order in the calling
process (the bonds carried from one epoch to the next are the only sequential link).

A worker folds its segment from the snapshot at its start and ships, per epoch of the subnet, the recorded result and
the part of the state the epoch reads (chain parameters and status, the subnet, its neurons, and the stake, take and
owner of their hotkeys), pickled (and packed too when what-if keeps them in its cache); :func:`what_if`
re-runs ``epoch_result`` on that, which gives what it gives on the whole state (the test compares both paths).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from taonet.ledger import (
    EpochResult,
    FileStore,
    State,
    epoch_inputs,
    fold,
    pack_epoch_inputs,
)

from .._pool import worker_pool

__all__ = ["PARALLEL_FROM", "parallel_epochs", "worker_init"]

Shipped = tuple[State, EpochResult, bytes | None]
"""What a worker ships per epoch: the epoch's inputs, the recorded result, and the inputs packed (for what-if's
cache, the ledger's :func:`~taonet.ledger.pack_epoch_inputs`) when asked."""

PARALLEL_FROM = 3000
"""Ranges at least this long are read in worker processes by default (below it, starting them costs more)."""


def _segment_starts(store: FileStore, start: int, stop: int, jobs: int) -> list[int]:
    """``start`` and the snapshots nearest to equal shares of the range: one segment per job, because each costs
    opening the log (every record's checksum) and loading a snapshot, about as much as folding a hundred blocks."""
    from ._log import snapshot_heights

    inside = [h for h in snapshot_heights(store) if start < h <= stop]
    starts = [start]
    for k in range(1, jobs):
        target = start + (stop - start) * k // jobs
        nearest = min(inside, key=lambda h: (abs(h - target), h), default=start)
        if nearest > starts[-1]:
            starts.append(nearest)
    return starts


def worker_init() -> None:
    """A worker leaves Ctrl-C to the process that started it (its entry point: the one place it sets this)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _segment_job(chain: str, netuid: int, first: int, last: int, start: int, stop: int, snapshots: bool
                 ) -> list[Shipped]:
    """The recorded epochs computed in blocks ``first .. last`` (within ``start .. stop``): (inputs, result, the
    inputs packed when ``snapshots``)."""
    from ._log import state_at

    with FileStore(chain, read_only=True) as store:
        prev = state_at(store, first)
        out: list[Shipped] = []
        for block, state in fold(store, start=prev, stop=min(last + 1, store.height), verify_signatures=False,
                                 check_headers=False):
            for ext in block.extrinsics:
                c = ext.call
                if isinstance(c, EpochResult) and c.netuid == netuid and max(first, start) <= c.block <= last:
                    out.append((epoch_inputs(prev, netuid), c, pack_epoch_inputs(prev, netuid) if snapshots else None))
            prev = state
    return out


def parallel_epochs(store: FileStore, netuid: int, start: int, stop: int, workers: int, *,
                    snapshots: bool = False) -> list[Shipped] | None:
    """(epoch inputs, recorded result, the inputs packed when ``snapshots``) for every epoch of
    ``netuid`` computed in ``start .. stop``, gathered by ``workers`` processes; None when the log has no snapshot
    inside the range to cut it at. (The states come back pickled: one process of this program to another.)"""
    bounds = _segment_starts(store, start, stop, workers)
    if len(bounds) < 2:
        return None
    segments = list(zip(bounds, [b - 1 for b in bounds[1:]] + [stop], strict=True))
    chain = str(Path(store.path))
    with worker_pool(min(workers, len(segments)), initializer=worker_init) as pool:
        futures = [pool.submit(_segment_job, chain, netuid, a, b, start, stop, snapshots) for a, b in segments]
        results: list[Any] = [f.result() for f in futures]
    return [row for part in results for row in part]
