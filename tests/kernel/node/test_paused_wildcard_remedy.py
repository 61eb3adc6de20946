"""A leader listening on every interface (--rpc tcp://0.0.0.0:P) paused for a missing remote actor: the remedy it logs
and `node status` shows names an address another machine can dial (THIS_HOST and the port, "this machine's address"
in words), never the 0.0.0.0 docs/node.md "Across machines" says never to give."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from .nodes import TAONET, read_addresses, stop
from .test_replica_leader_restart import _free_ports


@pytest.mark.slow
def test_a_leader_on_the_wildcard_address_paused_for_a_remote_actor_says_to_start_it_at_this_hosts_address(
        tmp_path: Path) -> None:
    """`node run --rpc tcp://0.0.0.0:P --remote-actor consensus` with no actor: its node.paused remedy, `node status`'s
    production row and --json's paused.remedy say ``start `taonet actor run consensus --node tcp://THIS_HOST:P` ``
    and what THIS_HOST is; none of them names 0.0.0.0 as an address to give."""
    port, _ = _free_ports()
    log = tmp_path / "node.log"
    with log.open("w") as err:
        proc = subprocess.Popen([*TAONET, "node", "run", "--dev", "--data-dir", str(tmp_path / "node"), "--rpc",
                                 f"tcp://0.0.0.0:{port}", "--feed", f"tcp://0.0.0.0:{port + 1}", "--no-fsync",
                                 "--block-time", "0.1", "--remote-actor", "consensus", "--actor-timeout", "0.5"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert read_addresses(proc)["rpc"] == f"tcp://0.0.0.0:{port}"
        deadline = time.monotonic() + 20
        while "node.paused" not in log.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.1)
        status = [*TAONET, "node", "status", "-e", f"tcp://127.0.0.1:{port}", "--timeout", "5"]
        table = subprocess.run([*status, "--wide"], capture_output=True, text=True, timeout=30)
        st = json.loads(subprocess.run([*status, "--json"], capture_output=True, text=True, timeout=30).stdout)
    finally:
        stop(proc)
    assert table.returncode == 0, table.stderr
    paused = next(json.loads(line) for line in log.read_text().splitlines() if '"node.paused"' in line)
    start = f"start `taonet actor run consensus --node tcp://THIS_HOST:{port}`"
    row = next(line for line in table.stdout.splitlines() if "PAUSED" in line)
    for remedy in (paused["remedy"], st["paused"]["remedy"], row):
        assert start in remedy and "this machine's address" in remedy, remedy
        assert "--node tcp://0.0.0.0" not in remedy, remedy
