"""`taonet replay` (and the node) on a damaged or unreadable log, through the installed executable: every command
names the damaged block, the right file is blamed, nothing hangs, and a folder it may not read is said so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from tests.ledger.chains import flip_record_byte, pruning_chain
from tests.tools.processes import TAONET_EXE, taonet


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose log has 41 blocks, with an epoch index beside it."""
    root = tmp_path_factory.mktemp("replay-damage")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(40, store)
    return root


@pytest.fixture
def copy(log: Path, tmp_path: Path) -> Path:
    shutil.copytree(log, tmp_path / "copy")
    return tmp_path / "copy"


def _unprivileged(denied: Path) -> list[str]:
    """A command prefix under which ``denied`` (chmod 000) cannot be read: none for a user, `unshare -U` for root
    (root reads anything; in a user namespace of its own it is nobody to the files); skips when neither works."""
    prefix = ["unshare", "-U"] if os.geteuid() == 0 else []
    if prefix and shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: root reads a folder whatever its permissions")
    probe = subprocess.run([*prefix, "ls", str(denied)], capture_output=True, timeout=30)
    if probe.returncode == 0:
        pytest.skip(f"this process reads {denied} whatever its permissions (unshare -U unavailable?)")
    return prefix


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, TAONET_EXE, *args], capture_output=True, text=True, timeout=60)


def test_an_unreadable_blocks_folder_is_said_permission_denied_by_replay_and_the_node(copy: Path) -> None:
    """chmod 000 chain/blocks: `replay verify`/`show` and `node run` say permission denied naming it (exit 7), not
    "blocks 0..N are missing ... remove chain/index to start again" nor "holds no block"; nothing is changed."""
    blocks = copy / "chain" / "blocks"
    blocks.chmod(0)
    try:
        prefix = _unprivileged(blocks)
        for index in (True, False):
            if not index:
                (copy / "chain" / "index").unlink()
            for args in (("replay", str(copy), "verify"), ("replay", str(copy), "show"),
                         ("node", "run", "--dev", "--data-dir", str(copy), "--rpc", "tcp://127.0.0.1:0",
                          "--feed", "tcp://127.0.0.1:0", "--no-fsync")):
                out = _run(prefix, *args)
                last = out.stderr.strip().splitlines()[-1]
                assert out.returncode == 7 and last == (f"error: {blocks}: permission denied; check its permissions, "
                                                        "or use another path"), (args, out.stderr)
                assert "Traceback" not in out.stderr
    finally:
        blocks.chmod(0o755)
    assert not (copy / "chain" / "index").exists()  # the node wrote nothing


def test_every_replay_command_names_the_damaged_block(copy: Path) -> None:
    """A byte flipped in block K's record: verify says "block K is invalid"; show, events, diff, why and what-if say
    "(block K)" in their one line, and their --json error carries "block": K; exit 7 for each."""
    with FileStore(copy / "chain", read_only=True) as store:
        k = store.height // 2
    seg, offset = flip_record_byte(copy / "chain", k)
    out, _ = taonet("replay", str(copy), "verify", timeout=60)
    assert out.returncode == 7 and out.stderr.startswith(f"error: block {k} is invalid: {seg} at byte {offset}: ")
    assert f"(block {k})" not in out.stderr  # named once
    for args in (("show", "--block", "5", "--netuid", "1"), ("events",), ("diff", "--from", "0", "--to", "10"),
                 ("why", "--netuid", "1", "--uid", "1"), ("what-if", "--netuid", "1")):
        out, _ = taonet("replay", str(copy), *args, timeout=60)
        assert out.returncode == 7 and out.stderr.startswith(f"error: {seg} at byte {offset} (block {k}): "), (
            args, out.stderr)
    for args in (("show", "--json"), ("events", "--json")):
        out, _ = taonet("replay", str(copy), *args, timeout=60)
        assert out.returncode == 7 and json.loads(out.stdout)["error"]["fields"]["block"] == k, (args, out.stdout)


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_segment_that_is_a_folder_or_a_fifo_is_refused_naming_it(copy: Path, kind: str) -> None:
    """A folder (was: "error: is a directory; it is a folder: give a file", no path) or a FIFO (was: a hang) where
    the segment file belongs: one line naming it, exit 7, within the timeout."""
    seg = copy / "chain" / "blocks" / "000000000000.seg"
    seg.unlink()
    seg.mkdir() if kind == "folder" else os.mkfifo(seg)
    for command in ("verify", "show"):
        out, _ = taonet("replay", str(copy), command, timeout=60)
        what = "a folder" if kind == "folder" else "a FIFO (named pipe)"
        assert out.returncode == 7 and out.stderr.startswith(f"error: {seg} is {what}, not a regular file"), out.stderr


def test_an_extra_or_renamed_segment_is_blamed_not_a_block(copy: Path) -> None:
    """A copy of the segment under another block's name, or the only segment renamed: the file is named as extra or
    misnamed, and no block is said to be invalid."""
    blocks = copy / "chain" / "blocks"
    extra = blocks / "000000000020.seg"
    shutil.copy(blocks / "000000000000.seg", extra)
    out, _ = taonet("replay", str(copy), "verify", timeout=60)
    assert out.returncode == 7 and "is invalid" not in out.stderr, out.stderr
    assert out.stderr.startswith(f"error: {extra} at byte 0: ") and "an extra or misnamed segment file" in out.stderr
    extra.unlink()
    renamed = blocks / "000000000005.seg"
    (blocks / "000000000000.seg").rename(renamed)
    out, _ = taonet("replay", str(copy), "verify", "--json", timeout=60)
    assert out.returncode == 7 and "is invalid" not in out.stderr and "block 5" in out.stderr, out.stderr
    assert json.loads(out.stdout)["error"]["fields"] == {
        "path": str(renamed), "offset": 0, "block": None, "reason": json.loads(out.stdout)["error"]["fields"]["reason"]}


def test_a_damaged_last_record_is_said_damaged_not_missing(copy: Path) -> None:
    """A byte flipped inside the last record, the index present: "block H is invalid ... is there but damaged", not
    "block H is missing (a segment file was cut short, emptied or removed)"."""
    with FileStore(copy / "chain", read_only=True) as store:
        head = store.height
    seg, offset = flip_record_byte(copy / "chain", head)
    out, _ = taonet("replay", str(copy), "verify", timeout=60)
    assert out.returncode == 7 and out.stderr.startswith(f"error: block {head} is invalid: {seg} at byte {offset}: ")
    assert f"the record of block {head} is there but damaged" in out.stderr and "missing" not in out.stderr


def test_an_unreadable_epoch_index_folder_is_counted_refused(copy: Path) -> None:
    """chmod 000 chain/epochs/1: verify still passes (the index is a cache beside the log) but says that it refused
    it (was: the "epoch index:" line silently gone)."""
    folder = copy / "chain" / "epochs" / "1"
    out, _ = taonet("replay", str(copy), "verify", "--json", timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout)["epoch_records"] > 0, out.stdout
    folder.chmod(0)
    try:
        prefix = _unprivileged(folder)
        out = _run(prefix, "replay", str(copy), "verify", "--json")
        assert out.returncode == 0 and json.loads(out.stdout)["epoch_records_refused"] == 1, out.stdout
        out = _run(prefix, "replay", str(copy), "verify")
        assert out.returncode == 0 and "epoch index: 0 records" in out.stdout and "1 refused" in out.stdout, out.stdout
    finally:
        folder.chmod(0o755)


def test_a_record_damaged_after_the_log_was_opened_is_reported_at_its_block_named_once(copy: Path) -> None:
    """A byte flipped in block K after verify opened the log (its records were read then): the first divergence is
    block K's record, its reason the file and byte without "(block K)" again (it said "block K is invalid: ... at
    byte N (block K): ...")."""
    from taonet.tools.replay import verify_chain

    with FileStore(copy / "chain", read_only=True) as store:
        k = store.height // 2
        seg, offset = flip_record_byte(copy / "chain", k)
        report = verify_chain(store, consensus=False, workers=1)
    d = report.divergence
    assert d is not None and (d.block, d.check) == (k, "record"), d
    assert d.reason.startswith(f"{seg} at byte {offset}: ") and "(block" not in d.reason, d.reason


@pytest.mark.parametrize("damage", ["a file", "chmod 000"])
def test_a_snapshots_folder_that_cannot_be_read_is_said_and_the_answer_is_the_same(copy: Path, damage: str) -> None:
    """`snapshots` replaced by a file, or unreadable: show still answers what the intact directory answers (folded
    from genesis) and says on stderr why it took longer (was: skipped without a word)."""
    out, _ = taonet("replay", str(copy), "show", "--json", timeout=60)
    assert out.returncode == 0, out.stderr
    want = out.stdout
    folder = copy / "chain" / "snapshots"
    prefix: list[str] = []
    if damage == "a file":
        shutil.rmtree(folder)
        folder.write_bytes(b"not a folder")
    else:
        folder.mkdir(exist_ok=True)
        folder.chmod(0)
    try:
        if damage == "chmod 000":
            prefix = _unprivileged(folder)
        got = _run(prefix, "replay", str(copy), "show", "--json")
        assert got.returncode == 0 and got.stdout == want, got.stderr
        notes = got.stderr.splitlines()
        assert len(notes) == 1 and notes[0].startswith(f"note: {folder} not used: the folder cannot be read ("), notes
    finally:
        if folder.is_dir():
            folder.chmod(0o755)
