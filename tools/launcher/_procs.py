"""Supervised child processes: started in their own session (a terminal's Ctrl-C reaches the launcher alone, which
stops them in order), restarted with a doubling pause when one dies, stopped with SIGTERM then SIGKILL."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs

from ..signals import PARENT_ENV

__all__ = ["BACKOFF", "LOG_MAX_BYTES", "LOG_ROTATE_EVERY", "Child", "alive", "child_env", "lines_from",
           "port_holder", "read_line_in", "rotate_log", "runs_taonet", "stop_children", "tail_since_start"]

BACKOFF = (1.0, 30.0)
"""The first pause before restarting a dead child, and the longest (it doubles; reset after 60 s running)."""
HEALTHY_AFTER = 60.0


def child_env() -> dict[str, str]:
    """The environment of a child: this one, plus this process's id, so that the child stops when the launcher is
    gone however it died (taonet.tools.signals.watch_parent)."""
    return {**os.environ, PARENT_ENV: str(os.getpid())}


@attrs.define(kw_only=True, eq=False)
class Child:
    """One supervised process: its command, log file, and what happened to it so far."""

    name: str
    kind: str
    args: list[str]
    log: Path
    restart: bool = True
    proc: Any = None
    state: str = "new"
    restarts: int = 0
    last_exit: int | None = None
    started_at: float = 0.0
    note: str = ""
    log_start: int = 0
    """Where this run's part of the log begins (its ``--- launcher`` line)."""

    @property
    def pid(self) -> int | None:
        """The running process's id, or None."""
        return None if self.proc is None or self.proc.returncode is not None else self.proc.pid

    async def start(self) -> None:
        """Start the process (its stdout and stderr appended to its log)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.log_start = log.seek(0, os.SEEK_END)
            log.write(f"--- launcher {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} starting: "
                      f"{' '.join(self.args)}\n".encode())
            log.flush()
            self.proc = await anyio.open_process(self.args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                                 start_new_session=True, env=child_env())
        self.state, self.started_at = "running", time.monotonic()

    async def supervise(self, on_event: Callable[[Child, str], None],
                        give_up: Callable[[Child], Awaitable[str | None]] | None = None) -> None:
        """Wait for the process; while it is not being stopped, restart it after a doubling pause when it dies,
        unless ``give_up`` (asked after each exit) says why a restart cannot help: then the state is "failed", the
        note that reason, and it returns."""
        pause = BACKOFF[0]
        while True:
            code = await self.proc.wait()
            self.last_exit = code
            if not self.restart or self.state == "stopping":
                self.state = "exited"
                on_event(self, "exited")
                return
            reason = None if give_up is None else await give_up(self)
            if reason is not None and self.state != "stopping":
                self.state, self.note = "failed", reason
                on_event(self, "failed")
                return
            if time.monotonic() - self.started_at > HEALTHY_AFTER:
                pause = BACKOFF[0]
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            self.state, self.note = "restarting", f"{how}; restart in {pause:g} s"
            on_event(self, "crashed")
            await anyio.sleep(pause)
            pause = min(BACKOFF[1], pause * 2)
            self.restarts += 1
            await self.start()
            self.note = f"restarted after {how}"
            on_event(self, "restarted")


async def stop_children(children: Sequence[Child], deadline: float, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to every running child at once; SIGKILL what is still running after ``deadline`` s; reap all."""
    running = [c for c in children if c.proc is not None and c.proc.returncode is None]
    for c in running:
        c.state = "stopping"
        with contextlib.suppress(ProcessLookupError):
            c.proc.send_signal(sig)
    with anyio.move_on_after(deadline):
        for c in running:
            await c.proc.wait()
    for c in running:
        if c.proc.returncode is None:
            c.note = f"still running {deadline:g} s after {signal.Signals(sig).name}: killed"
            with contextlib.suppress(ProcessLookupError):
                os.killpg(c.proc.pid, signal.SIGKILL)  # its session: whatever it started goes too
        with anyio.move_on_after(5):
            await c.proc.wait()
        c.state = "stopped"


async def read_line_in(path: Path, prefix: str, child: Child, timeout: float) -> str:
    """The value of the first ``prefix: value`` line in ``child``'s log since it started (polling: each look reads
    only what was written since the last one, at most LOG_LOOK bytes; the log of earlier runs is never read)."""
    offset = child.log_start
    with anyio.fail_after(timeout):
        while True:
            text, offset = await anyio.to_thread.run_sync(lines_from, path, offset)
            for line in text.splitlines():
                if line.startswith(prefix + ":"):
                    return line.partition(":")[2].strip()
            if child.proc.returncode is not None:
                raise ChildExited(child.name, child.proc.returncode)
            await anyio.sleep(0.05)


class ChildExited(Exception):
    """Raised when a child exits before printing the line waited for."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited with status {code}")
        self.name, self.code = name, code


LOG_LOOK = 1 << 20
"""Bytes of a child's log read at one look while waiting for a line (a child's log grows over its restarts, for
days: reading it whole 20 times a second while a node replays a long chain cost more than the wait)."""


LOG_MAX_BYTES = 64 << 20
"""A child's log is rotated past this size (:func:`rotate_log`): with the one older part kept, a log takes at most
about twice this on disk (a neuron host logs ~5 MiB an hour at 0.25 s blocks and tempo 10; a week would be ~1 GiB)."""
LOG_ROTATE_EVERY = 30.0
"""Seconds between two looks at the children's log sizes."""


def rotate_log(child: Child, max_bytes: int = LOG_MAX_BYTES) -> bool:
    """If ``child``'s log is larger than ``max_bytes``: copy it to ``NAME.log.1`` (replacing the older part) and empty
    it, whether rotated. The child keeps writing to the same file (opened in append mode, so at its new end);
    what it writes between the copy and the emptying is lost (a few lines at most, as logrotate's copytruncate).
    Offsets into the log (this run's start) go back to 0."""
    try:
        if child.log.stat().st_size <= max_bytes:
            return False
        old = child.log.with_name(child.log.name + ".1")
        shutil.copyfile(child.log, old)
        os.truncate(child.log, 0)
    except FileNotFoundError:
        return False
    child.log_start = 0
    return True


def lines_from(path: Path, offset: int) -> tuple[str, int]:
    """The whole lines of ``path`` from ``offset`` (at most LOG_LOOK bytes; a longer line is skipped), and where
    the next look starts; from the start of a file shorter than ``offset`` (rotated: :func:`rotate_log`)."""
    try:
        with open(path, "rb") as f:
            if offset > os.fstat(f.fileno()).st_size:
                offset = 0
            f.seek(offset)
            chunk = f.read(LOG_LOOK)
    except FileNotFoundError:
        return "", offset
    end = chunk.rfind(b"\n") + 1
    if end == 0 and len(chunk) == LOG_LOOK:
        end = len(chunk)
    return chunk[:end].decode(errors="replace"), offset + end


def tail_since_start(child: Child) -> str:
    """What ``child``'s log holds since the launcher last started that child (at most LOG_LOOK bytes)."""
    return lines_from(child.log, child.log_start)[0]


def alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie we could see); False for ids <= 0."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def runs_taonet(pid: int) -> bool:
    """Whether ``pid`` is alive and runs taonet (its command line names it): a pid read back from a network's
    status may since belong to another program, which must never be signalled. True where /proc cannot say."""
    if not alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"taonet" in f.read()
    except OSError:
        return True


_LISTEN = "0A"  # the state of a listening socket in /proc/net/tcp


def port_holder(port: int) -> str | None:
    """Who listens on TCP ``port``, for a message: ``pid N (COMMAND)``, with ``, stopped`` when that process is
    stopped (SIGSTOP: it holds the port but answers nothing); None where /proc cannot say (another user's process,
    no /proc). Reads every process's open files: for an error path only."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[3] == _LISTEN and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return None
    for pid in (int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if not any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().decode(errors="replace").split("\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        command = " ".join(w for w in words if w)
        command = command if len(command) <= 80 else command[:77] + "..."
        return f"pid {pid} ({command}){', stopped' if state == 'T' else ''}"
    return None
