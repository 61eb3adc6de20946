"""`taonet node follow` and `node status` as an operator spreading a network over machines meets them (a QA pass):
a follow pointed at a feed port says what it likely is; a failed follow leaves no new --data-dir behind; a follow
prints a first line; a leader paused for a missing remote actor says so, and what to start."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from .cli import Run, one_error
from .processes import TAONET_EXE, error_lines, first_line, read_addresses, stop, taonet, taonet_node


def _run(*args: str) -> Run:
    out, _ = taonet(*args, timeout=60)
    return Run(out.returncode, out.stdout, error_lines(out.stderr))


def test_follow_from_a_feed_port_names_the_likelier_cause_and_leaves_no_new_data_dir(tmp_path: Path) -> None:
    """`node follow --from` the leader's feed address: exit 4, one line saying the address may be a feed port (not
    the RPC port) and naming `taonet node status -e`; the --data-dir it made (and its new parent) is gone."""
    with taonet_node(tmp_path / "node") as (_proc, _header, leader):
        new = tmp_path / "new" / "replica"
        line = one_error(_run("node", "follow", "--from", leader["feed"], "--data-dir", str(new), "--rpc",
                              "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"), 4)
    assert "closes every connection" in line and "likelier not a node's RPC port" in line, line
    assert "feed port" in line and "taonet node status -e" in line, line
    assert not new.exists() and not new.parent.exists()


def test_a_failed_follow_removes_only_what_it_created(tmp_path: Path) -> None:
    """`node follow --from` a port nothing listens on: exit 4; a --data-dir it created is removed, one that existed
    before (even empty) is left."""
    with taonet_node(tmp_path / "node") as (_proc, _header, leader):
        nowhere = leader["rpc"].rsplit(":", 1)[0] + ":1"
        made = tmp_path / "made"
        one_error(_run("node", "follow", "--from", nowhere, "--data-dir", str(made), "--rpc", "tcp://127.0.0.1:0",
                       "--feed", "tcp://127.0.0.1:0"), 4)
        assert not made.exists()
        kept = tmp_path / "kept"
        kept.mkdir()
        one_error(_run("node", "follow", "--from", nowhere, "--data-dir", str(kept), "--rpc", "tcp://127.0.0.1:0",
                       "--feed", "tcp://127.0.0.1:0"), 4)
        assert kept.is_dir()


def test_follow_prints_a_first_line_naming_its_leader_then_its_addresses(tmp_path: Path) -> None:
    """`node follow` prints, once it serves, a first line without a colon naming the leader it follows and its log,
    then `rpc:` and `feed:` as `node run` does."""
    with taonet_node(tmp_path / "node") as (_proc, _header, leader):
        port = leader["rpc"].rsplit(":", 1)[1]
        replica = subprocess.Popen([TAONET_EXE, "node", "follow", "--from", leader["rpc"], "--data-dir",
                                    str(tmp_path / "replica"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                                    "tcp://127.0.0.1:0", "--log-level", "warning"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        try:
            header = first_line(replica)
            addresses = read_addresses(replica)
        finally:
            stop(replica)
    assert header == (f"taonet node follow, a replica of the leader at 127.0.0.1 port {port}, log in "
                      f"{tmp_path / 'replica'}"), header
    assert ":" not in header and addresses["rpc"].startswith("tcp://127.0.0.1:") and "feed" in addresses


def test_node_status_of_a_leader_paused_for_a_missing_remote_actor_says_so_and_what_to_start(tmp_path: Path) -> None:
    """A leader run with --remote-actor consensus and no actor: once --actor-timeout passes, `node status` shows
    production PAUSED waiting for consensus and the command to start it; --json has `paused`; its log's node.paused
    names the remedy. A leader that seals shows `sealing`."""
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
        table = _run("node", "status", "-e", rpc, "--wide")
        st = _run("node", "status", "-e", rpc, "--json").json
    finally:
        stop(proc)
    assert table.status == 0, table
    assert "PAUSED" in table.stdout and f"start `taonet actor run consensus --node {rpc}`" in table.stdout, table
    assert st["paused"]["waiting_for"] == ["consensus"] and st["paused"]["block"] == 1, st
    paused = next(json.loads(line) for line in log.read_text().splitlines() if '"node.paused"' in line)
    assert f"taonet actor run consensus --node {rpc}" in paused["remedy"], paused
    with taonet_node(tmp_path / "other") as (_proc, _header, leader):
        table = _run("node", "status", "-e", leader["rpc"], "--wide")
    assert table.status == 0 and "sealing" in table.stdout, table
