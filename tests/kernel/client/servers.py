"""Stand-in servers for the client's tests: small pynng scripts in processes of their own, on free loopback ports."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["free_address", "server_process"]


def free_address() -> str:
    """A loopback tcp address nothing listens on (a port the OS just handed out and took back)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"tcp://127.0.0.1:{port}"


@contextmanager
def server_process(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -c script *args``, once it printed "up"; killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
