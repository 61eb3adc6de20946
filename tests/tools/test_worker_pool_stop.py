"""Ctrl-C during a replay command that uses worker processes stops them at once: a worker ignores Ctrl-C (its parent
owns it) and a job is a whole segment of the log, so a pool that waited for its jobs kept `replay verify` running to
its end (a QA pass measured 4.3 s after Ctrl-C on a 3,500-block log; ~20 s on the benchmark's)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from taonet.tools import _pool
from taonet.tools.replay import _verify, state_at
from tests.ledger.chains import pruning_chain

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX signals and processes")


def _slow_job(*_args: object) -> dict[str, object]:
    """A worker's job that would take a minute (as a long segment of a big log does)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as the replay workers do
    time.sleep(60)
    return {}


@pytest.fixture
def ctrl_c_in(request: pytest.FixtureRequest) -> Iterator[None]:
    """Ctrl-C reaches this process (the test's) ``request.param`` seconds from now, from another process."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = subprocess.Popen(["sh", "-c", f"sleep {request.param}; kill -INT {os.getpid()}"])
    try:
        yield
    finally:
        sender.wait(timeout=30)
        signal.signal(signal.SIGINT, previous)


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        alive.append(pid)
    return alive


def _two_slow_jobs(pids: list[int]) -> None:
    with _pool.worker_pool(2) as pool:
        futures = [pool.submit(_slow_job) for _ in range(2)]
        pids.extend(p.pid for p in pool._processes.values())  # which processes to look for afterwards
        for f in futures:
            f.result()


@pytest.mark.parametrize("ctrl_c_in", [1.0], indirect=True)
def test_ctrl_c_stops_the_pools_workers_instead_of_waiting_for_their_jobs(ctrl_c_in: None) -> None:
    """Left by Ctrl-C while two minute-long jobs run, the pool is gone within seconds and no worker outlives it."""
    started = time.monotonic()
    pids: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        _two_slow_jobs(pids)
    assert time.monotonic() - started < 20, "the pool waited for its jobs"
    assert len(pids) == 2 and _alive(pids) == []


def test_a_pool_left_normally_keeps_its_jobs_results() -> None:
    """Without an exception the pool is shut down as before: every job ran to its end."""
    with _pool.worker_pool(2) as pool:
        results = list(pool.map(abs, [-1, -2, -3]))
    assert results == [1, 2, 3]


@pytest.mark.parametrize("ctrl_c_in", [1.5], indirect=True)
def test_ctrl_c_during_a_parallel_verify_ends_it_at_once(ctrl_c_in: None, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """verify_chain in two workers, each segment slowed to a minute: Ctrl-C ends it within seconds."""
    with FileStore(tmp_path / "chain", fsync=False) as store:
        pruning_chain(40, store)
        store.save_snapshot(state_at(store, store.height // 2))
    monkeypatch.setattr(_verify, "segment_job", _slow_job)
    started = time.monotonic()
    with FileStore(tmp_path / "chain", read_only=True) as store, pytest.raises(KeyboardInterrupt):
        _verify.verify_chain(store, consensus=False, workers=2)
    assert time.monotonic() - started < 20, "verify waited for its workers' segments"
