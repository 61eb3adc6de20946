"""`taonet launch` with `[node] endpoint` (a node it does not own): only the file's subnets are reported (not another
network's on the same chain), a node that stops answering is said in `launch status` (since when; the uptime goes
on), and the stop line does not claim to stop a node it does not own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.kernel.node.nodes import stop

from .processes import TAONET_EXE, read_until, taonet, taonet_node

pytestmark = pytest.mark.slow


def _file(path: Path, rpc: str, netuid: int, owner: str) -> Path:
    path.write_text(f"""
name = "n{netuid}"
[node]
endpoint = "{rpc}"
[[wallets]]
name = "owner"
uri = "{owner}"
[[subnets]]
netuid = {netuid}
plugin = "template"
owner = "owner"
hyperparameters = {{ tempo = 2 }}
""")
    return path


def _status(home: dict[str, str], net: Path, *json_: str) -> subprocess.CompletedProcess[str]:
    out, _ = taonet("launch", "status", "--dir", str(net), *json_, env=home)
    assert out.returncode == 0, out.stderr
    return out


def test_launch_on_a_foreign_node_reports_its_subnets_and_the_node_away(tmp_path: Path) -> None:
    """Subnet 1 of another file on the same node epochs too: this network's lines and status name subnet 2 alone;
    the node killed, `launch status` says it is unreachable (and the uptime grows); Ctrl-C says it stops the
    neurons, not the node."""
    home = {"HOME": str(tmp_path), "COLUMNS": "200"}
    with taonet_node(tmp_path / "node", "--block-time", "0.2") as (node, _header, addresses):
        rpc = addresses["rpc"]
        first, _ = taonet("launch", str(_file(tmp_path / "a.toml", rpc, 1, "//Alice")), "--dir", str(tmp_path / "a"),
                          "--epochs", "1", "--lines", env=home, timeout=90)
        assert first.returncode == 0, first.stdout + first.stderr
        net = tmp_path / "b"
        proc = subprocess.Popen([TAONET_EXE, "launch", str(_file(tmp_path / "b.toml", rpc, 2, "//Bob")), "--dir",
                                 str(net), "--lines"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, **home})
        try:
            lines = read_until(proc, lambda ls: sum(line.startswith("epoch: subnet 2") for line in ls) >= 2, 60)
            assert not [line for line in lines if line.startswith("epoch: subnet 1 ")], lines
            assert set(json.loads(_status(home, net, "--json").stdout)["epochs"]) == {"2"}
            stop(node)  # the node goes away: the launcher does not own it
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                st = json.loads(_status(home, net, "--json").stdout)
                if st.get("node_unreachable_since"):
                    break
                time.sleep(0.5)
            assert st.get("node_unreachable_since"), st
            uptime = st["uptime_s"]
            time.sleep(5)
            text = _status(home, net).stdout
            assert "node: unreachable since" in text, text
            assert "the last read, before the node stopped answering" in text, text
            assert json.loads(_status(home, net, "--json").stdout)["uptime_s"] > uptime + 2
            proc.send_signal(signal.SIGINT)
            rest = read_until(proc, lambda ls: any(line.startswith("stopped:") for line in ls), 30)
            said = [line for line in rest if line.startswith("stopping:")]
            assert said and "then the node" not in said[0], rest
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
