"""`taonet node run` and `taonet node follow` stopped cleanly (SIGTERM) say so in their log: one line, with the head
they stopped at and why."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .nodes import TAONET, end, read_addresses

pytestmark = pytest.mark.slow


def _events(log: Path) -> list[dict[str, object]]:
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _wait_for(log: Path, event: str, timeout: float) -> dict[str, object] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in _events(log) if e.get("event") == event]
        if found:
            return found[-1]
        time.sleep(0.1)
    return None


def test_node_and_replica_log_their_clean_stop(tmp_path: Path) -> None:
    """SIGTERM to a replica, then to its leader: each exits 0 after logging node.stopped / replica.stopped with the
    head it stopped at and the reason."""
    node_log, rep_log = tmp_path / "node.log", tmp_path / "replica.log"
    with node_log.open("w") as nerr, rep_log.open("w") as rerr:
        node = subprocess.Popen([*TAONET, "node", "run", "--dev", "--block-time", "0.1", "--no-fsync", "--data-dir",
                                 str(tmp_path / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=nerr, text=True)
        rep: subprocess.Popen[str] | None = None
        try:
            leader = read_addresses(node)["rpc"]
            rep = subprocess.Popen([*TAONET, "node", "follow", "--from", leader, "--data-dir",
                                    str(tmp_path / "replica"), "--rpc", "tcp://127.0.0.1:0", "--feed",
                                    "tcp://127.0.0.1:0"], stdout=subprocess.PIPE, stderr=rerr, text=True)
            read_addresses(rep)
            assert _wait_for(rep_log, "replica.started", 30) is not None
            time.sleep(0.5)
            rep.send_signal(signal.SIGTERM)
            assert rep.wait(30) == 0
            node.send_signal(signal.SIGTERM)
            assert node.wait(30) == 0
        finally:
            for proc in (rep, node):
                if proc is not None:
                    end(proc, signal.SIGKILL, 10)
                    if proc.stdout is not None:
                        proc.stdout.close()
    for log, event in ((rep_log, "replica.stopped"), (node_log, "node.stopped")):
        stopped = [e for e in _events(log) if e.get("event") == event]
        assert len(stopped) == 1, log.read_text()[-1500:]
        assert isinstance(stopped[0]["head"], int) and stopped[0]["head"] >= 1
        assert "SIGTERM" in str(stopped[0]["reason"])
