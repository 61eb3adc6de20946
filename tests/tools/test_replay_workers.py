"""How the replay tools start their workers: forked (imports done, the log already open) only while no other thread
runs on Linux, spawned otherwise; a forked verify worker reads the log through the store its parent opened."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from taonet.ledger.errors import CorruptLog
from taonet.tools import _verify_core
from tests.ledger.chains import pruning_chain

CHOICE = """
import threading
from taonet.tools._pool import worker_context
alone = worker_context().get_start_method()
stop = threading.Event()
t = threading.Thread(target=stop.wait)
t.start()
crowded = worker_context().get_start_method()
stop.set()
t.join(timeout=10)
print(alone, crowded)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is chosen on Linux only")
def test_workers_are_forked_only_while_no_other_thread_runs() -> None:
    """A process with only its main thread forks its workers; once another thread runs, they are spawned."""
    out = subprocess.run([sys.executable, "-c", CHOICE], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["fork", "spawn"]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workers")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(40, store)
    return root / "chain"


def test_a_worker_reads_through_the_store_its_parent_opened(log: Path, tmp_path: Path) -> None:
    """With the parent's store handed down (what a forked worker inherits), the job reads the log through it: here
    the directory has moved away since it was opened, and every block still verifies; without it the job cannot."""
    moved = tmp_path / "moved"
    with FileStore(log, read_only=True) as store:
        head = store.height
        log.rename(moved)
        try:
            with _verify_core.inherited(store):
                job = _verify_core.segment_job(str(store.path), 0, head, False)
            assert job["divergence"] is None and job["counts"]["blocks"] == head + 1 and job["final_state"]
            assert not _verify_core._INHERITED  # handed down only while the pool is started
            with pytest.raises((KeyError, FileNotFoundError)):
                _verify_core.segment_job(str(store.path), 0, head, False)
        finally:
            moved.rename(log)


def test_a_damaged_record_read_through_the_parents_store_is_still_refused(log: Path, tmp_path: Path) -> None:
    """The parent's scan found every record sound; a record damaged after that is refused when the worker reads it
    (each record's checksum is checked on every read), at its block."""
    import shutil

    copy = tmp_path / "chain"
    shutil.copytree(log, copy)
    with FileStore(copy, read_only=True) as store:
        k = store.height // 2
        path, offset = store.location(k)
        with open(path, "r+b") as f:
            f.seek(offset + 40)
            byte = f.read(1)
            f.seek(offset + 40)
            f.write(bytes([byte[0] ^ 0xFF]))
        with _verify_core.inherited(store):
            job = _verify_core.segment_job(str(store.path), 0, store.height, False)
    d = job["divergence"]
    assert d is not None and d.block == k and d.check == "record" and job["counts"]["blocks"] == k


def test_the_floor_checks_every_block_it_reads(log: Path, tmp_path: Path) -> None:
    """`taonet bench replay`'s floor job decodes and checks every block's signatures and roots: it counts them all on
    a sound log and stops at a damaged one."""
    import shutil

    with FileStore(log, read_only=True) as store, _verify_core.inherited(store):
        assert _verify_core.floor_job(str(store.path), 0, store.height) == store.height + 1
    copy = tmp_path / "chain"
    shutil.copytree(log, copy)
    with FileStore(copy, read_only=True) as store, _verify_core.inherited(store):
        path, offset = store.location(7)
        with open(path, "r+b") as f:  # a byte of block 7's record, after the store's scan: refused when read
            f.seek(offset + 40)
            byte = f.read(1)
            f.seek(offset + 40)
            f.write(bytes([byte[0] ^ 0xFF]))
        with pytest.raises(CorruptLog, match="block 7"):
            _verify_core.floor_job(str(copy), 0, 20)
