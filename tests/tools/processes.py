"""The installed `taonet` executable, driven in subprocesses as a user would; every process is stopped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.kernel.node.nodes import end, read_addresses, stop

TAONET_EXE = str(Path(sys.executable).parent / "taonet")
"""`.venv/bin/taonet`: the console script pip installed next to this interpreter."""


def taonet(*args: str, timeout: float = 60.0, env: dict[str, str] | None = None
           ) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `taonet ARGS...` to its end; (the completed process, its wall-clock seconds)."""
    started = time.monotonic()
    out = subprocess.run([TAONET_EXE, *args], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, **(env or {})})
    return out, time.monotonic() - started


def interrupt(proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Ctrl-C ``proc`` if it still runs and wait up to ``timeout`` seconds for it, then kill it."""
    end(proc, signal.SIGINT, timeout)


def read_until(proc: subprocess.Popen[str], done: Callable[[list[str]], bool], timeout: float) -> list[str]:
    """``proc``'s stdout lines until ``done(lines)`` holds; an AssertionError with them if it ends or ``timeout``
    seconds pass first."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
            if done(lines):
                return lines
            continue
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"not reached within {timeout} s (exit {proc.poll()}):\n" + "\n".join(lines))


def error_lines(stderr: str) -> list[str]:
    """The non-empty lines of a command's stderr."""
    return [line for line in stderr.splitlines() if line.strip()]


def first_line(proc: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """``proc``'s next stdout line, stripped, read a byte at a time (a buffered readline would also take the lines
    after it, printed at once, from a later byte-wise reader such as read_addresses); "" if it ends first."""
    import select

    assert proc.stdout is not None
    fd, line, deadline = proc.stdout.fileno(), bytearray(), time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], min(left, 0.5))[0]:
            continue
        byte = os.read(fd, 1)
        if byte in (b"", b"\n"):
            return line.decode(errors="replace").strip()
        line += byte
    raise AssertionError(f"no line within {timeout:g} s (exit {proc.poll()})")


@contextmanager
def taonet_node(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str]]]:
    """`taonet node run --dev` (the installed command) on free loopback ports; (process, its first line, its
    addresses); stopped (SIGTERM, then SIGKILL) at the end."""
    cmd = [TAONET_EXE, "node", "run", "--dev", "--data-dir", str(data_dir), "--rpc", "tcp://127.0.0.1:0",
           "--feed", "tcp://127.0.0.1:0", "--no-fsync", "--log-level", "warning", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        header = first_line(proc)
        addresses = read_addresses(proc)
        yield proc, header, addresses
    finally:
        stop(proc)


@contextmanager
def held_port() -> Iterator[int]:
    """A loopback port this test listens on (so another process finds it in use) until the block ends."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]
