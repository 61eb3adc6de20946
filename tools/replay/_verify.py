"""``replay verify``: check a chain's log from genesis and re-run its system actors, reporting the first divergence.

Per block, in order: its record's checksum (the store), that it decodes, that it sits at its number and links to the
block before it, the authority's signature, its extrinsics and events roots, every extrinsic's signature; then the
system actors re-run on the state before it: every epoch result recomputed with the ledger's Yuma epoch (unless
``consensus=False``) and compared with what was recorded; last the block is re-executed, which re-derives the
registrar's answer with the ledger's registration and pruning rules (a different answer is reported with the
differing assignments) and recomputes the state digest. The first check that
fails is the divergence reported, with its block, the call and the differing values.

A long log is cut at its snapshots into one contiguous run of blocks per worker process (both cores, or more); see
:func:`verify_chain`. The per-block work and the workers' entry point are in ``taonet.tools._verify_core`` (outside
this package, so that a worker imports only the ledger and that module).
"""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path
from typing import Any

import attrs

from taonet.ledger import FileStore
from taonet.ledger.errors import CorruptLog

from .._pool import worker_context, worker_pool
from .._verify_core import Divergence, Progress, inherited, segment_job, verify_segment, worker_init
from ._log import open_log

__all__ = ["Divergence", "VerifyReport", "verify_chain", "verify_dir"]


@attrs.frozen(kw_only=True)
class VerifyReport:
    """What ``verify`` checked, and the first divergence (None when the whole log holds)."""

    head: int | None
    """The log's head; None when damage stopped the log from being opened (it was not read past the damage)."""
    blocks: int
    extrinsics: int
    epochs: int
    """Epoch results recomputed with the ledger's Yuma epoch and found equal."""
    registrar_answers: int
    """Registrar answers re-derived with the registration and pruning rules and found equal."""
    epoch_records: int = 0
    """Epoch-index records (beside the log) found equal to the inputs of their epoch in the re-derived state."""
    epoch_records_refused: int = 0
    """Epoch-index records no reader uses (damaged, or written for another chain's block): not checked."""
    consensus: bool
    seconds: float
    divergence: Divergence | None = None
    intact_to: int | None = None
    """When damage stopped the log from being opened: the last block before the damaged record (the records of
    blocks 0..intact_to check out against their checksums; no block was verified further, so ``blocks`` is 0)."""

    @property
    def ok(self) -> bool:
        """True when every check held."""
        return self.divergence is None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = attrs.asdict(self, recurse=True)
        if self.intact_to is None:
            del d["intact_to"]  # only a log that could not be opened has it
        d["ok"] = self.ok
        return d


def verify_dir(path: str | Path, *, consensus: bool = True, progress: Progress | None = None,
               workers: int | None = None) -> VerifyReport:
    """Open a data directory read-only and verify its log (damage found while opening is a divergence too).

    Damage the store blames on no block (a segment file whose name does not fit the blocks before it) is raised as
    the :class:`CorruptLog` naming the file, not reported as a block's divergence."""
    started = time.perf_counter()
    try:
        store = open_log(path)
    except CorruptLog as e:
        if e.block is None:
            raise
        d = Divergence(block=e.block, check="record", reason=e.where, details={"path": e.path, "offset": e.offset})
        return VerifyReport(head=None, blocks=0, extrinsics=0, epochs=0, registrar_answers=0, consensus=consensus,
                            seconds=time.perf_counter() - started, divergence=d, intact_to=e.block - 1)
    with store:
        report = verify_chain(store, consensus=consensus, progress=progress, workers=workers)
        unlisted = _unlisted_epoch_folders(store)
    if unlisted:  # their records are refused unread: counted, never dropped from the report without a word
        report = attrs.evolve(report, epoch_records_refused=report.epoch_records_refused + unlisted)
    return report


def _unlisted_epoch_folders(store: FileStore) -> int:
    """How many folders of the epoch index cannot be listed (the store refuses them, by path, with the reason)."""
    store.epoch_index()
    root = store.path / "epochs"
    return sum(1 for p in store.refused_epoch_inputs if Path(p) == root or Path(p).parent == root)


def verify_chain(store: FileStore, *, consensus: bool = True, progress: Progress | None = None,
                 workers: int | None = None) -> VerifyReport:
    """Verify every block of ``store`` from genesis (see the module docs); the report names the first divergence.

    With ``workers`` > 1 (default: one per core for logs of at least :data:`PARALLEL_FROM` blocks) the log is cut at
    the snapshots nearest to equal shares into segments verified in worker processes (one each), each from the
    snapshot at its start and folding through the snapshots inside it; a segment's start counts only if the state the
    previous segment folded to is that snapshot, byte for byte (else the log is verified again in one pass from
    genesis). The workers report their progress through a bounded queue.
    """
    started = time.perf_counter()
    head = store.height
    if workers is None:
        workers = (os.cpu_count() or 1) if head + 1 >= PARALLEL_FROM else 1
    bounds = _segment_starts(store) if workers > 1 else [0]
    result = None
    if len(bounds) > 1:
        result = _verify_parallel(store, bounds, consensus, progress, workers)
    if result is None:
        result = verify_segment(store, 0, head, consensus, progress)
    counts, divergence = result
    return VerifyReport(head=head, consensus=consensus, seconds=time.perf_counter() - started,
                        divergence=divergence, **counts)


PARALLEL_FROM = 3000
"""Logs at least this long are verified in worker processes by default (below it, starting them costs more)."""


def _segment_starts(store: FileStore) -> list[int]:
    """0 and the heights of the snapshot files (each worker loads its own, which must pass the store's checks)."""
    folder = store.path / "snapshots"
    heights = sorted(int(p.stem) for p in folder.glob("*.snap") if p.stem.isdigit()) if folder.is_dir() else []
    return [0, *(h for h in heights if 0 < h < store.height)]


def _job_bounds(bounds: list[int], head: int, jobs: int) -> list[int]:
    """Where each of at most ``jobs`` worker jobs starts: 0 and the snapshots nearest to equal shares of the log.

    A job folds through the snapshots inside it (they are only shortcuts), so each job opens the log once and loads
    one snapshot: fewer, longer jobs than segments, because opening a long log (every record's checksum) and loading
    a snapshot cost about as much as verifying hundreds of blocks.
    """
    starts = [0]
    for k in range(1, jobs):
        target = head * k // jobs
        nearest = min(bounds[1:], key=lambda b: (abs(b - target), b), default=0)
        if nearest > starts[-1]:
            starts.append(nearest)
    return starts


JOBS_PER_WORKER = 1
"""Jobs per worker process (more balance the load when a core is busy with something else, but each costs one more
opening of the log and one more snapshot)."""


def _verify_parallel(store: FileStore, bounds: list[int], consensus: bool, progress: Progress | None, workers: int
                     ) -> tuple[dict[str, int], Divergence | None] | None:
    """Verify the segments between ``bounds`` in worker processes; None when their starts do not chain up."""
    from concurrent.futures import FIRST_COMPLETED, wait

    head = store.height
    starts = _job_bounds(bounds, head, workers * JOBS_PER_WORKER)
    if len(starts) < 2:
        return None
    segments = list(zip(starts, [*starts[1:], head], strict=True))  # blocks a+1..b (0..b for the first)
    results: dict[int, dict[str, Any]] = {}
    context = worker_context()
    reports = context.Queue(maxsize=4096)  # (job start, blocks done in it), from the workers, for the progress bar
    done: dict[int, int] = {}

    def show() -> None:
        while True:
            try:
                start, blocks = reports.get_nowait()
            except queue.Empty:
                break
            done[start] = max(done.get(start, 0), blocks)
        if progress is not None:
            progress(min(sum(done.values()), head + 1), head + 1)

    try:
        with inherited(store), worker_pool(min(workers, len(segments)), initializer=worker_init,
                                           initargs=(reports,), context=context) as pool:
            futures = {pool.submit(segment_job, str(store.path), a, b, consensus): a for a, b in segments}
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, timeout=0.25, return_when=FIRST_COMPLETED)
                for f in finished:
                    r = f.result()
                    results[futures[f]] = r
                    done[futures[f]] = r["counts"]["blocks"]
                show()
    finally:
        show()  # what is left in the queue, so that its feeder threads in the workers are never stuck
        reports.close()
        reports.join_thread()
    counts = {"blocks": 0, "extrinsics": 0, "epochs": 0, "registrar_answers": 0, "epoch_records": 0,
              "epoch_records_refused": 0}
    previous_final: bytes | None = None
    for a, _ in segments:
        r = results[a]
        if a > 0 and (r["start_state"] is None or r["start_state"] != previous_final):
            return None  # the snapshot is not the state the log folds to: verify in one pass instead
        for k, v in r["counts"].items():
            counts[k] += v
        if r["divergence"] is not None:
            return counts, r["divergence"]
        previous_final = r["final_state"]
    return counts, None


