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
    ChainParams,
    ChainStatus,
    EpochResult,
    FileStore,
    Neuron,
    State,
    Subnet,
    decode,
    dumps,
    encode,
    fold,
    loads,
)

__all__ = ["PARALLEL_FROM", "epoch_inputs", "pack_inputs", "parallel_epochs", "unpack_inputs", "worker_init"]

_FORMAT = 1  # pack_inputs' layout

Shipped = tuple[State, EpochResult, bytes | None]
"""What a worker ships per epoch: the epoch's inputs, the recorded result, and the inputs packed (for what-if's
cache, :func:`pack_inputs`) when asked."""

PARALLEL_FROM = 3000
"""Ranges at least this long are read in worker processes by default (below it, starting them costs more)."""


def epoch_inputs(state: State, netuid: int) -> State:
    """The part of ``state`` the epoch of ``netuid`` and its payouts read, as a state of its own."""
    out = State()
    for key in ("params", "status"):
        out.put("chain", key, state.get("chain", key))
    out.put("subnet", netuid, state.subnet(netuid))
    neurons = state.neurons(netuid)
    hotkeys = {n.hotkey for n in neurons}
    for n in neurons:
        out.put("neuron", (netuid, n.uid), n)
    for (cold, hot), amount in state.items("stake"):
        if hot in hotkeys:
            out.put("stake", (cold, hot), amount)
    for hot in hotkeys:
        for table in ("deleg", "owner"):
            value = state.get(table, hot)
            if value is not None:
                out.put(table, hot, value)
    out.rebuild_indexes()
    return out


def pack_inputs(state: State) -> bytes:
    """The tables :func:`epoch_inputs` keeps, as bytes (what-if's cache): each entry encoded alone, so that
    :func:`unpack_inputs` rebuilds the state without digesting it (which the epoch does not need)."""
    return dumps([_FORMAT, encode(state.get("chain", "params")), encode(state.get("chain", "status")),
                  [encode(sn) for _, sn in state.items("subnet")],
                  [[netuid, encode(n)] for (netuid, _), n in state.items("neuron")],
                  [[cold, hot, rao] for (cold, hot), rao in state.items("stake")],
                  [[hot, take] for hot, take in state.items("deleg")],
                  [[hot, cold] for hot, cold in state.items("owner")]])


def unpack_inputs(raw: bytes) -> State:
    """The state :func:`pack_inputs` packed (codec errors, ValueError or TypeError when the bytes are not that)."""
    version, params, status, subnets, neurons, stakes, delegs, owners = loads(raw, max_size=1 << 32)
    if version != _FORMAT:
        raise ValueError(f"epoch inputs of format {version!r}, not {_FORMAT}")
    out = State()
    out.put("chain", "params", decode(params, ChainParams))
    out.put("chain", "status", decode(status, ChainStatus))
    for sn in subnets:
        subnet = decode(sn, Subnet)
        out.put("subnet", subnet.netuid, subnet)
    for netuid, n in neurons:
        neuron = decode(n, Neuron)
        out.put("neuron", (netuid, neuron.uid), neuron)
    for cold, hot, rao in stakes:
        out.put("stake", (cold, hot), rao)
    for hot, take in delegs:
        out.put("deleg", hot, take)
    for hot, cold in owners:
        out.put("owner", hot, cold)
    out.rebuild_indexes()
    return out


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
                    inputs = epoch_inputs(prev, netuid)
                    out.append((inputs, c, pack_inputs(inputs) if snapshots else None))
            prev = state
    return out


def parallel_epochs(store: FileStore, netuid: int, start: int, stop: int, workers: int, *,
                    snapshots: bool = False) -> list[Shipped] | None:
    """(epoch inputs, recorded result, the inputs packed when ``snapshots``) for every epoch of
    ``netuid`` computed in ``start .. stop``, gathered by ``workers`` processes; None when the log has no snapshot
    inside the range to cut it at. (The states come back pickled: one process of this program to another.)"""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    bounds = _segment_starts(store, start, stop, workers)
    if len(bounds) < 2:
        return None
    segments = list(zip(bounds, [b - 1 for b in bounds[1:]] + [stop], strict=True))
    chain = str(Path(store.path))
    with ProcessPoolExecutor(max_workers=min(workers, len(segments)), mp_context=get_context("spawn"),
                             initializer=worker_init) as pool:
        try:
            futures = [pool.submit(_segment_job, chain, netuid, a, b, start, stop, snapshots) for a, b in segments]
            results: list[Any] = [f.result() for f in futures]
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [row for part in results for row in part]
