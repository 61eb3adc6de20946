"""What `taonet replay` prints beside its answers, on a small log: amounts as the rest of the CLI shows them, what a
failed verify knows of the log, and a chart plot could not draw."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from taonet.ledger import FileStore
from tests.ledger.chains import BOB, flip_record_byte, pruning_chain
from tests.tools.processes import taonet


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose log has 41 blocks: subnet 1 created in block 1, stakes, epochs and prunings."""
    root = tmp_path_factory.mktemp("replay-output")
    with FileStore(root / "chain", fsync=False) as store:
        pruning_chain(40, store)
    return root


def _replay(*args: str) -> tuple[int, str, str]:
    out, _ = taonet("replay", *args, timeout=60, env={"COLUMNS": "80"})
    return out.returncode, out.stdout, out.stderr


def test_show_address_prints_amounts_as_every_command_does(log: Path) -> None:
    """`show --address` says τ1,000,017.3673 (the CLI's amounts), not 1,000,017.367346882 τ; --rao gives RAO (and
    says so)."""
    code, out, err = _replay(str(log), "show", "--address", BOB.ss58_address, "--json")
    assert code == 0, err
    acct = json.loads(out)
    assert acct["stake"], acct  # Bob's hotkeys hold stake: the table has rows
    code, out, err = _replay(str(log), "show", "--address", BOB.ss58_address)
    assert code == 0 and err == "", err
    free = f"{acct['free'] // 10**9:,}.{acct['free'] % 10**9 // 10**5:04d}"
    assert f"free τ{free}, staked τ" in out and f"nonce {acct['nonce']}" in out, out
    assert not re.search(r"\d \u03c4|\.\d{9}", out), out  # no "1.000000000 τ" anywhere
    assert all(re.search(r"\u03c4\d+\.\d{4}$", line.strip()) for line in out.splitlines() if line.startswith(" 5"))
    code, out, _ = _replay(str(log), "show", "--address", BOB.ss58_address, "--rao")
    assert code == 0 and f"free {acct['free']:,} RAO, staked {acct['total_stake']:,} RAO" in out, out


def test_verify_of_a_log_damaged_in_the_middle_says_how_far_it_is_intact(log: Path, tmp_path: Path) -> None:
    """A byte flipped in block K's record: the --json report has no made-up head (-1) and says that the records of
    blocks 0..K-1 check out (`intact_to`), with the divergence at K; a sound log's report has no `intact_to`."""
    code, out, _ = _replay(str(log), "verify", "--json")
    assert code == 0 and "intact_to" not in json.loads(out) and json.loads(out)["head"] == 40
    data_dir = tmp_path / "copy"
    shutil.copytree(log, data_dir)
    with FileStore(data_dir / "chain", read_only=True) as store:
        k = store.height // 2
    flip_record_byte(data_dir / "chain", k, 0x01)
    code, out, err = _replay(str(data_dir), "verify", "--json")
    assert code == 7 and len(err.splitlines()) == 1 and err.startswith(f"error: block {k} is invalid"), err
    report = json.loads(out)
    assert report["divergence"]["block"] == k and report["divergence"]["check"] == "record"
    assert report["intact_to"] == k - 1 and report["head"] is None and report["blocks"] == 0 and not report["ok"]


def test_plot_at_a_block_before_the_subnet_says_the_heat_maps_are_missing(log: Path, tmp_path: Path) -> None:
    """`plot --block 0` (subnet 1 is created in block 1): the line charts, and one note on stderr that there are no
    heat maps and why (in the document's `notes` with --json); at the default block, the heat maps and no note."""
    pytest.importorskip("matplotlib")
    code, out, err = _replay(str(log), "plot", "--netuid", "1", "--block", "0", "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert [Path(line).name for line in out.splitlines()] == ["incentive.png", "dividends.png", "emission.png",
                                                              "stake.png"]
    assert err.splitlines() == ["note: no weight or bond heat maps: subnet 1 does not exist at block 0; give a "
                                "--block at which it does"], err
    code, out, err = _replay(str(log), "plot", "--netuid", "1", "--block", "0", "--out", str(tmp_path / "b"), "--json")
    assert code == 0 and err == "" and json.loads(out)["notes"] == [
        "no weight or bond heat maps: subnet 1 does not exist at block 0; give a --block at which it does"]
    code, out, err = _replay(str(log), "plot", "--netuid", "1", "--out", str(tmp_path / "c"), "--json")
    doc = json.loads(out)
    assert code == 0 and err == "" and doc["notes"] == [] and any("weights-" in f for f in doc["files"]), doc
