"""A store holds at most MAX_OPEN_SEGMENTS segment files open (it held one per segment it ever read, from the scan
at opening on: a long chain's log of 64 MiB segments reached the usual limit of 1,024 open files at 64 GB), and
reading old segments beside appends, from several threads, still gives every block's own bytes."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from taonet.ledger._store import MAX_OPEN_SEGMENTS

from .test_store import _funded_chain, _grow

SEGMENTS = MAX_OPEN_SEGMENTS + 40


def _open_segments(path: Path) -> int:
    """The segment files of ``path`` this process holds open."""
    blocks = str((path / "blocks").resolve())
    held = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        held += target.startswith(blocks) and target.endswith(".seg")
    return held


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes]]:
    """A closed log of more segments than a store holds open (a block or two each), and each block's bytes."""
    path = tmp_path_factory.mktemp("open-files") / "log"
    chain = _funded_chain(FileStore(path, fsync=False, segment_bytes=1024))
    while len(list((path / "blocks").glob("*.seg"))) < SEGMENTS:
        _grow(chain, 8, per_block=1)
    raw = [chain.store.get_raw(n) for n in range(chain.height + 1)]
    chain.store.close()
    return path, raw


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
@pytest.mark.parametrize("read_only", [True, False])
def test_a_store_of_many_segments_holds_a_bounded_number_open_and_reads_every_block(
        log: tuple[Path, list[bytes]], read_only: bool) -> None:
    path, raw = log
    store = FileStore(path, fsync=False, segment_bytes=1024, read_only=read_only)
    try:
        assert len(list((path / "blocks").glob("*.seg"))) > MAX_OPEN_SEGMENTS
        assert 0 < _open_segments(path) <= MAX_OPEN_SEGMENTS  # the scan at opening read every one
        order = list(range(len(raw)))
        random.Random(7).shuffle(order)
        for n in order:
            assert store.get_raw(n) == raw[n], n
        assert _open_segments(path) <= MAX_OPEN_SEGMENTS
    finally:
        store.close()
    assert _open_segments(path) == 0


def test_threads_reading_old_segments_beside_appends_get_each_block_s_own_bytes(
        log: tuple[Path, list[bytes]], tmp_path: Path) -> None:
    """Four threads read random old blocks while the chain appends (new segments each few blocks, each closing the
    least recently used file): no read ever sees another segment's bytes (an fd closed and its number reused)."""
    import shutil

    from taonet.ledger import DEV_SUBNET_DEFAULTS, Chain, dev_genesis

    shutil.copytree(log[0], tmp_path / "log")
    raw = log[1]
    store = FileStore(tmp_path / "log", fsync=False, segment_bytes=1024)
    chain = Chain.open(store, dev_genesis(subnet_defaults=DEV_SUBNET_DEFAULTS)[1])
    assert chain.height == len(raw) - 1
    stop = threading.Event()
    wrong: list[int] = []
    reads = [0]

    def read(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            n = rng.randrange(len(raw))
            if store.get_raw(n) != raw[n]:
                wrong.append(n)
            reads[0] += 1

    threads = [threading.Thread(target=read, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    try:
        _grow(chain, 60, per_block=1)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    try:
        assert not wrong and reads[0] > 100, (wrong[:5], reads[0])
        assert [store.get_raw(n) for n in range(len(raw))] == raw
        assert _open_segments(tmp_path / "log") <= MAX_OPEN_SEGMENTS
    finally:
        store.close()
