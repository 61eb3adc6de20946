"""The worker processes of `taonet replay DIR verify --workers 2` end with their parent however it ends: signalled
alone (`kill PID`, `kill -9 PID`: not the process group, as Ctrl-C and `timeout` signal it), they stayed behind for
good, asleep waiting for work under pid 1. SIGTERM is an interruption that stops them (exit 143, one line); after
SIGKILL the system ends them (on Linux), or each notices its parent gone (elsewhere)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from taonet.tools import _pool
from taonet.tools.replay import state_at
from tests.ledger.chains import pruning_chain

from .processes import TAONET_EXE, error_lines

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX signals and processes")]

BLOCKS = 2000
"""Long enough that verify's two workers fold their segments for a second or more (about 4 s to build)."""


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of :data:`BLOCKS` blocks with a snapshot halfway (where verify cuts it for two workers)."""
    chain = tmp_path_factory.mktemp("signal-workers") / "chain"
    with FileStore(chain, fsync=False) as store:
        pruning_chain(BLOCKS, store)
        store.save_snapshot(state_at(store, store.height // 2))
    return chain


def _processes() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, state), as `ps` shows them (Linux and macOS alike)."""
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,stat="], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    table = {}
    for line in out.splitlines():
        pid, ppid, stat = line.split()[:3]
        table[int(pid)] = (int(ppid), stat)
    return table


def _children(parent: int, count: int, proc: subprocess.Popen[str] | None = None, timeout: float = 60.0) -> list[int]:
    """The pids of ``parent``'s children once it has ``count`` of them (its pool's workers started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = [pid for pid, (ppid, _) in _processes().items() if ppid == parent]
        if len(kids) >= count:
            return kids
        assert proc is None or proc.poll() is None, f"ended (status {proc.returncode}) before its workers started"
        time.sleep(0.02)
    raise AssertionError(f"no {count} children of {parent} within {timeout} s")


def _left(pids: list[int], within: float) -> list[int]:
    """Which of ``pids`` still run after ``within`` seconds at most (a zombie, dead but not yet reaped by whoever
    adopted it, does not run)."""
    deadline = time.monotonic() + within
    while True:
        table = _processes()
        alive = [pid for pid in pids if pid in table and not table[pid][1].startswith("Z")]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.1)


def _kill_left(pids: list[int]) -> None:
    for pid in pids:  # what the command before this fix left behind: not left for the rest of the test run
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _verify(log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([TAONET_EXE, "replay", str(log), "verify", "--workers", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_verify_signalled_alone_leaves_no_worker_behind(log: Path, sig: signal.Signals) -> None:
    """`kill` (SIGTERM), then `kill -9`, of the verify's own process while its two workers fold their segments: no
    worker runs a few seconds later (both stayed, for good). SIGTERM is said as `error: terminated (SIGTERM)`,
    exit 143 (it was the default death, -15, no word)."""
    proc = _verify(log)
    workers: list[int] = []
    try:
        workers = _children(proc.pid, 2, proc)
        assert proc.poll() is None
        assert _left(workers, 0) == workers, "the workers ended before the signal"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        left = _left(workers, 10.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_left(workers)
    assert left == [], f"workers left running after {sig.name} of their parent: {left}"
    if sig == signal.SIGTERM:
        assert proc.returncode == 143, err
        assert error_lines(err) == ["error: terminated (SIGTERM)"], err
    else:
        assert proc.returncode == -signal.SIGKILL


ORPHAN = """
import os, sys, time
from taonet.tools import _pool
if sys.argv[1] == "poll":
    _pool._death_signal = lambda: False  # as where the system cannot end a process with its parent (not Linux)
with _pool.worker_pool(2) as pool:
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    print("submitted", flush=True)
    for f in futures:
        f.result()
"""


@pytest.mark.parametrize("how", ["deathsig", "poll"])
def test_a_pools_workers_end_when_a_python_program_using_it_is_killed(how: str) -> None:
    """A program of the library's users (no `taonet` entry point, no handler of its own) SIGKILLed while its pool's
    workers run minute-long jobs: the workers end too, by the system's death signal on Linux, else (``poll``: the
    death signal left out) within a few of :data:`_pool.PARENT_POLL`."""
    if how == "deathsig" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    proc = subprocess.Popen([sys.executable, "-c", ORPHAN, how], stdout=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "submitted"
        workers = _children(proc.pid, 2, proc)
        proc.kill()
        proc.wait(timeout=30)
        left = _left(workers, 10 * _pool.PARENT_POLL)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        _kill_left(workers)
    assert left == [], f"workers left running after their parent was killed: {left}"
