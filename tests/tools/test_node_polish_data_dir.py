"""`taonet node run` on a data directory it refuses: the genesis asked for is not the directory's (it resumed the
directory's chain under a "dev chain" banner), or another process holds it; no banner is printed for a directory the
node did not open. Resuming (with --dev on a dev directory, or with no genesis at all) still works."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

import pytest

from taonet.ledger import DEV_AUTHORITY_URI, FileStore, build_genesis, dev_genesis

from .cli import Run, one_error
from .processes import TAONET_EXE, error_lines, read_until, stop, taonet

ADDRESSES = ("--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "error")


def _other_chain(data_dir: Path) -> None:
    """A data directory holding block 0 of another dev genesis (another chain id)."""
    config, authority = dev_genesis(chain_id="taonet-other")
    block, _ = build_genesis(config, authority)
    store = FileStore(data_dir / "chain", fsync=False)
    try:
        store.append(block, expected_height=0)
    finally:
        store.close()


def _node_run(*args: str) -> Run:
    out, _ = taonet("node", "run", *args, *ADDRESSES, timeout=30)
    return Run(out.returncode, out.stdout, error_lines(out.stderr))


def test_dev_on_a_directory_of_another_genesis_is_refused_without_a_banner(tmp_path: Path) -> None:
    """Exit 7, one line naming the directory, its other genesis and what to do; nothing on stdout."""
    _other_chain(tmp_path / "node")
    r = _node_run("--dev", "--data-dir", str(tmp_path / "node"))
    line = one_error(r, 7)
    assert f"{tmp_path / 'node'} holds another chain's genesis" in line
    assert "without --dev or --genesis" in line and "another --data-dir" in line
    assert r.stdout == ""


def test_a_locked_directory_prints_no_banner(tmp_path: Path) -> None:
    """Another process holds the directory: exit 7 and its one line, no "taonet node (dev chain) ..." first."""
    data = tmp_path / "node"
    data.mkdir()
    with open(data / "LOCK", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = _node_run("--dev", "--data-dir", str(data))
    assert "is in use by another process" in one_error(r, 7)  # no pid written in its LOCK
    assert r.stdout == ""


@pytest.mark.slow
def test_a_directory_is_resumed_with_dev_and_with_no_genesis(tmp_path: Path) -> None:
    """--dev makes a directory, then resumes it; no --dev/--genesis (with its --authority) resumes any chain."""
    _other_chain(tmp_path / "other")
    dev = ("--dev", "--data-dir", str(tmp_path / "dev"))
    for args in (dev, dev, ("--authority", DEV_AUTHORITY_URI, "--data-dir", str(tmp_path / "other"))):
        proc = subprocess.Popen([TAONET_EXE, "node", "run", *args, *ADDRESSES], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            lines = read_until(proc, lambda ls: len(ls) >= 3, 30)
        finally:
            code = stop(proc)
        assert lines[0].startswith("taonet node") and lines[1].startswith("rpc: "), lines
        assert code == 0
