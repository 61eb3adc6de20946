"""The node as a child process of a bench: started until it prints its RPC address, stopped within a deadline."""

from __future__ import annotations

import subprocess
import time
from typing import IO, Any

from taonet.testing import stop_process

START_DEADLINE = 60.0


def start_node(cmd: list[str], stderr: IO[Any] | int = subprocess.DEVNULL) -> tuple[subprocess.Popen[str], str]:
    """Run ``cmd`` (a ``taonet node run ...`` line) and return the process and the RPC address it prints."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("rpc:"):
            return proc, line.split(":", 1)[1].strip()
        if proc.poll() is not None:
            break
    stop(proc, timeout=0)
    raise RuntimeError(f"the node did not start: {' '.join(cmd)}")


def stop(proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after ``timeout`` seconds; closes its stdout."""
    stop_process(proc, timeout=timeout)
