"""The launcher's node and the ports it listens on, through the installed `taonet launch`: a port the launcher
picked and another process took before the node bound it (forced here with $TAONET_LAUNCH_PORTS) makes it start the
node again on other ports; after NODE_START_TRIES such starts, or when the port is one the network file gives, one
line says which and the exit status is 4."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .processes import TAONET_EXE, held_port

pytestmark = pytest.mark.slow

NODE_START_TRIES = 3  # taonet.tools.launcher._run.NODE_START_TRIES, as docs/launcher.md states it


def _network(tmp_path: Path, feed: str = "tcp://127.0.0.1:0") -> Path:
    path = tmp_path / "net.toml"
    path.write_text(f'[node]\nblock_time = 0.1\nrpc = "tcp://127.0.0.1:0"\nfeed = "{feed}"\n')
    return path


def _env(tmp_path: Path, ports: list[int]) -> dict[str, str]:
    return {**os.environ, "HOME": str(tmp_path), "COLUMNS": "200",
            "TAONET_LAUNCH_PORTS": ",".join(map(str, ports))}


def _starts(net: Path) -> list[str]:
    """The node's command lines, one per start, from its log."""
    return [line for line in (net / "logs" / "node.log").read_text().splitlines() if line.startswith("--- launcher")]


def test_a_picked_feed_port_taken_before_the_node_binds_it_starts_the_node_on_another(tmp_path: Path) -> None:
    """The first feed port picked is held by another process: the node exits (address in use), the launcher says so
    in one `retry:` line and starts it again on another port; the network runs, and Ctrl-C stops it (exit 0)."""
    net = tmp_path / "net"
    with held_port() as port:
        proc = subprocess.Popen([TAONET_EXE, "launch", str(_network(tmp_path)), "--dir", str(net), "--lines"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=_env(tmp_path, [port]))
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + 60
            while not any(line.startswith("running:") for line in lines):
                assert time.monotonic() < deadline and proc.poll() is None, lines
                line = proc.stdout.readline()
                if line:
                    lines.append(line.rstrip("\n"))
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
    assert proc.returncode == 0, lines
    retries = [line for line in lines if line.startswith("retry:")]
    assert len(retries) == 1 and f"feed tcp://127.0.0.1:{port}" in retries[0], lines
    starts = _starts(net)
    assert len(starts) == 2 and f"--feed tcp://127.0.0.1:{port} " in starts[0]
    assert f":{port} " not in starts[1]
    assert any(line.startswith("rpc: tcp://127.0.0.1:") for line in lines)


def test_picked_ports_taken_at_every_start_end_in_one_line_and_exit_4(tmp_path: Path) -> None:
    """Every start's feed port is taken: after NODE_START_TRIES starts the launcher gives up with one line naming
    the last addresses and what to do, exit 4 (unreachable), no traceback."""
    net = tmp_path / "net"
    with held_port() as port:
        out = subprocess.run([TAONET_EXE, "launch", str(_network(tmp_path)), "--dir", str(net), "--lines"],
                             capture_output=True, text=True, timeout=60,
                             env=_env(tmp_path, [port, 0] * NODE_START_TRIES))  # feed, rpc
    assert out.returncode == 4, out.stdout + out.stderr
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"each of {NODE_START_TRIES} times" in errors[0] and f"feed tcp://127.0.0.1:{port}" in errors[0]
    assert len(_starts(net)) == NODE_START_TRIES
    assert out.stdout.count("retry:") == NODE_START_TRIES - 1


def test_a_feed_port_of_the_network_file_in_use_is_said_at_once(tmp_path: Path) -> None:
    """The network file's own feed port is held by another process: picking again cannot help, so the launcher
    says which address of the file is in use and what to do, after one start, exit 4."""
    net = tmp_path / "net"
    with held_port() as port:
        feed = f"tcp://127.0.0.1:{port}"
        out = subprocess.run([TAONET_EXE, "launch", str(_network(tmp_path, feed)), "--dir", str(net), "--lines"],
                             capture_output=True, text=True, timeout=60, env=_env(tmp_path, []))
    assert out.returncode == 4, out.stdout + out.stderr
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1 and f"feed address {feed} (from the network file) is in use" in errors[0], out.stderr
    assert len(_starts(net)) == 1 and "retry:" not in out.stdout
