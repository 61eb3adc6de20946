"""`taonet node run` raises its own soft open-files limit (toward 65,536, within the hard limit), so that its
sockets' connection bounds (4,096 each) are reached before its file descriptors run out."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

from tests.kernel.node.nodes import read_addresses, stop


def _soft_nofile(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no 'Max open files' in /proc/PID/limits")


def test_node_run_raises_a_low_soft_open_files_limit(tmp_path: Path) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)

    def low_limit() -> None:  # the child starts as under a default soft limit of 1,024
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, want), hard))

    cmd = [sys.executable, "-m", "taonet.tools", "node", "run", "--dev", "--block-time", "0.2", "--data-dir",
           str(tmp_path / "node"), "--rpc", "tcp://127.0.0.1:0", "--feed", "tcp://127.0.0.1:0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ),
                            preexec_fn=low_limit)
    try:
        read_addresses(proc)
        assert _soft_nofile(proc.pid) == want
    finally:
        stop(proc)
