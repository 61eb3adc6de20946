"""A crashed node restarted by the launcher (the installed `taonet launch`) keeps its addresses, since the neurons and
`taonet` commands use them. If another process took one of them meanwhile, the launcher says so once (`problem:
node: port P ... is taken by another process`, with what to do); the node comes back once the port is free, and
after NODE_RESTARTS_IN_USE restarts in a row that find it taken the network stops with one error line, exit 4,
every process gone (before: restarted with backoff for ever, silently)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .processes import TAONET_EXE

pytestmark = pytest.mark.slow

NODE_RESTARTS_IN_USE = 4  # taonet.tools.launcher._run.NODE_RESTARTS_IN_USE, as docs/launcher.md states it


class _Launch:
    """`taonet launch FILE --lines` of a node-only network, its output read in a thread (bounded waits)."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "net"
        spec = tmp_path / "net.toml"
        spec.write_text('[node]\nblock_time = 0.1\nrpc = "tcp://127.0.0.1:0"\nfeed = "tcp://127.0.0.1:0"\n')
        self.proc = subprocess.Popen([TAONET_EXE, "launch", str(spec), "--dir", str(self.dir), "--lines"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "HOME": str(tmp_path), "COLUMNS": "200"})
        self.lines: list[str] = []
        self.errors = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, prefix: str, count: int = 1, timeout: float = 60) -> str:
        """The ``count``-th line starting with ``prefix`` (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(found := [line for line in self.lines if line.startswith(prefix)]) < count:
            assert time.monotonic() < deadline, (prefix, self.lines)
            assert self.proc.poll() is None or self._reader.is_alive(), (prefix, self.lines, self.stderr())
            time.sleep(0.05)
        return found[count - 1]

    def status(self) -> dict[str, Any]:
        return json.loads((self.dir / "launch.json").read_text())

    def node(self) -> dict[str, Any]:
        return next(p for p in self.status()["processes"] if p["name"] == "node")

    def wait_status(self, check: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                st = self.status()
                if check(st):
                    return st
            except (OSError, ValueError, StopIteration):
                pass
            assert time.monotonic() < deadline, self.lines
            time.sleep(0.05)

    def stderr(self) -> str:
        if self.proc.poll() is not None and self.proc.stderr is not None and not self.proc.stderr.closed:
            self.errors += self.proc.stderr.read()
            self.proc.stderr.close()
        return self.errors

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)
        self.stderr()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@contextmanager
def _launched(tmp_path: Path) -> Iterator[_Launch]:
    launch = _Launch(tmp_path)
    try:
        launch.wait_line("running:")
        yield launch
    finally:
        launch.stop()


@contextmanager
def _taken(port: int) -> Iterator[None]:
    """Another process (this test) listening on ``port`` of 127.0.0.1 until the end."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the killed node's closed connections linger
        deadline = time.monotonic() + 5
        while True:  # the killed node's socket closes a moment after SIGKILL; its restart comes 1 s later at least
            try:
                s.bind(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline, f"port {port} stayed held after the node was killed"
                time.sleep(0.01)
        s.listen()
        yield


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _ours(net: Path) -> list[int]:
    """Processes still running whose command line names the network's directory."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{pid}/stat") as f:
                    zombie = f.read().split(")")[-1].split()[0] == "Z"
            except OSError:
                continue
            if str(net).encode() in cmd and not zombie:
                out.append(int(pid))
    return out


def test_a_restarted_node_whose_port_was_taken_says_so_once_then_stops_the_network_with_exit_4(
        tmp_path: Path) -> None:
    """The node is killed (SIGKILL) and another process takes its rpc port before the launcher restarts it: one
    `problem: node: port P (its rpc address ...) is taken by another process` line with what to do; after
    NODE_RESTARTS_IN_USE restarts in a row that find it taken, one error line naming the port, exit 4, launch.json
    says the node failed and the network stopped, and no process of the network is left."""
    launch = _Launch(tmp_path)
    try:
        launch.wait_line("running:")
        rpc = launch.wait_line("rpc:").partition(":")[2].strip()
        pid = launch.node()["pid"]
        os.kill(pid, signal.SIGKILL)
        with _taken(_port(rpc)):
            launch.wait_line("crashed: node (killed by SIGKILL")
            launch.proc.wait(90)
    finally:
        launch.stop()
    out = "\n".join(launch.lines)
    # a string, not a tuple: pytest shows it whole (a tuple's repr is cut in the middle)
    assert launch.proc.returncode == 4, f"exit {launch.proc.returncode}\n--- stdout\n{out}\n--- stderr\n{launch.errors}"
    problems = [line for line in launch.lines if line.startswith("problem: node:")]
    assert len(problems) == 1, out
    assert f"port {_port(rpc)} (its rpc address {rpc}) is taken by another process" in problems[0], problems
    assert "stop that process" in problems[0] and f"{NODE_RESTARTS_IN_USE - 1} more tries" in problems[0]
    errors = [line for line in launch.errors.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in launch.errors, launch.errors
    assert f"each of {NODE_RESTARTS_IN_USE} restarts found port {_port(rpc)}" in errors[0], errors
    assert out.count("restarted: node") == NODE_RESTARTS_IN_USE, out
    st = launch.status()
    assert st["state"] == "stopped" and launch.node()["state"] == "failed", st
    assert any("is taken by another process" in p for p in st["problems"]), st
    assert _ours(launch.dir) == []


def test_a_restarted_node_comes_back_once_the_taken_port_is_free_again(tmp_path: Path) -> None:
    """The port is taken only until the launcher has said so: the next restart binds it, the node runs on the same
    address and the chain goes on; the problem was said once; Ctrl-C stops everything (exit 0)."""
    with _launched(tmp_path) as launch:
        rpc = launch.wait_line("rpc:").partition(":")[2].strip()
        pid = launch.node()["pid"]
        os.kill(pid, signal.SIGKILL)
        with _taken(_port(rpc)):
            problem = launch.wait_line("problem: node:")
        head = launch.status()["head"]
        st = launch.wait_status(lambda s: s["head"] > head + 5 and next(
            p for p in s["processes"] if p["name"] == "node")["state"] == "running")
        assert st["endpoint"] == rpc
    assert launch.proc.returncode == 0, (launch.lines, launch.errors)
    assert f"port {_port(rpc)}" in problem
    assert len([line for line in launch.lines if line.startswith("problem:")]) == 1, launch.lines
    assert _ours(launch.dir) == []
