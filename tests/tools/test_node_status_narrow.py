"""`taonet node status` read by an operator in an 80-column pipe (a QA pass): a paused leader's remedy is shown whole
(its row wraps, never cut to `produ…`), and a head still at the genesis block says so instead of an age since 1970."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from .processes import TAONET_EXE, read_addresses, stop, taonet


def test_a_paused_leader_at_genesis_shows_its_whole_remedy_in_80_columns(tmp_path: Path) -> None:
    """A leader waiting for a remote consensus actor (head 0): `node status` with COLUMNS=80 and stdout a pipe holds
    every word of the remedy --json gives, no `…`, no line wider than 80, and `head 0 (genesis...)`; --json's
    head_age is null there."""
    log = tmp_path / "node.log"
    with log.open("w") as err:
        proc = subprocess.Popen([TAONET_EXE, "node", "run", "--dev", "--data-dir", str(tmp_path / "node"), "--rpc",
                                 "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0", "--no-fsync", "--block-time",
                                 "0.1", "--remote-actor", "consensus", "--actor-timeout", "0.5"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        rpc = read_addresses(proc)["rpc"]
        deadline = time.monotonic() + 20
        while "node.paused" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.1)
        table, _ = taonet("node", "status", "-e", rpc, env={"COLUMNS": "80"})
        st = json.loads(taonet("node", "status", "-e", rpc, "--json")[0].stdout)
    finally:
        stop(proc)
    assert table.returncode == 0, table.stderr
    assert "…" not in table.stdout and max(len(line) for line in table.stdout.splitlines()) <= 80, table.stdout
    remedy = st["paused"]["remedy"]
    assert f"taonet actor run consensus --node {rpc}" in remedy
    assert " ".join(remedy.split()) in " ".join(table.stdout.split()), table.stdout
    assert st["head"] == 0 and st["head_age"] is None, st
    head = next(line for line in table.stdout.splitlines() if line.split()[:1] == ["head"])
    assert head.split()[1:3] == ["0", "(genesis:"], head
