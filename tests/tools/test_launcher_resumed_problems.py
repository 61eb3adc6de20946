"""A resumed network (`taonet launch FILE --dir DIR` or `localnet --keep DIR` again) does not repeat the run before's
problems: the launcher reads each neuron's status.json for `problem:` lines, and a file the new run's neuron has not
rewritten yet still holds the old run's errors (a QA pass saw five old `problem:` lines before `ready:`)."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

from rich.console import Console

from taonet.tools.launcher import load_network
from taonet.tools.launcher._run import Network
from taonet.tools.launcher._view import View

ROOT = Path(__file__).resolve().parents[2]


def test_problems_are_read_only_from_status_files_written_by_this_run(tmp_path: Path) -> None:
    spec = load_network(ROOT / "docs" / "network-one-subnet.toml")
    out = io.StringIO()
    net = Network(spec=spec, dir=tmp_path, view=View(Console(file=out, width=200), live=False))
    old, new = tmp_path / "old" / "status.json", tmp_path / "new" / "status.json"
    for path, error in ((old, "weights.rejected: the run before's"), (new, "plugin.reward: this run's")):
        path.parent.mkdir()
        path.write_text(json.dumps({"state": "running", "errors": [error]}))
    before = time.time() - (time.monotonic() - net.started) - 60
    os.utime(old, (before, before))  # written a minute before this run started
    net.status_files = {old: "miner-old", new: "miner-new"}
    net._report_problems()
    assert out.getvalue().splitlines() == ["problem: miner-new: plugin.reward: this run's"]
    os.utime(old)  # rewritten by this run's neuron, still with that error: now it is this run's
    net._report_problems()
    assert out.getvalue().splitlines()[1:] == ["problem: miner-old: weights.rejected: the run before's"]


def test_an_error_kept_after_the_last_epoch_is_said_before_stopped(tmp_path: Path) -> None:
    """Problems are said after each epoch; one a neuron kept after the last (the validator's first step failing
    after an --epochs run's last epoch, or before a Ctrl-C) was never said: the stop says it, before `stopped:`."""
    import anyio

    spec = load_network(ROOT / "docs" / "network-one-subnet.toml")
    out = io.StringIO()
    net = Network(spec=spec, dir=tmp_path, view=View(Console(file=out, width=200), live=False))
    status = tmp_path / "validator" / "status.json"
    status.parent.mkdir()
    status.write_text(json.dumps({"state": "stopped", "errors": ["plugin.reward: the score is nan"]}))
    net.status_files = {status: "validator-1-0"}
    anyio.run(net.stop)
    lines = out.getvalue().splitlines()
    assert lines[0] == "problem: validator-1-0: plugin.reward: the score is nan", lines
    assert lines[-1].startswith("stopped: every process in "), lines
