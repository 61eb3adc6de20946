"""Driving the installed `taonet` as a user would, with a wallet path and endpoint of the test's own."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import attrs

from .processes import TAONET_EXE, error_lines


@attrs.frozen
class Run:
    """One finished `taonet` command: exit status, stdout, stderr lines."""

    status: int
    stdout: str
    stderr: list[str]

    @property
    def json(self) -> Any:
        """stdout as the one JSON document it must be."""
        return json.loads(self.stdout)


RAW_TEXT = ("Traceback", "[Errno", "internal error", "ValueError")
"""What a user's one error line must not hold: a traceback, an OS error's or Python's own words."""


def one_error(r: Run, status: int, raw: tuple[str, ...] = RAW_TEXT) -> str:
    """The run failed with ``status`` and said one `error:` line free of ``raw`` text; the line."""
    assert r.status == status, r
    assert len(r.stderr) == 1 and r.stderr[0].startswith("error: "), r
    assert not any(word in r.stderr[0] for word in raw), r
    return r.stderr[0]


@attrs.frozen
class Cli:
    """`taonet` with TAONET_WALLET_PATH, TAONET_ENDPOINT, a fast unlock cost and (unless told) a password."""

    wallets: Path
    endpoint: str
    password: str | None = "correct horse"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment the command runs in (COLUMNS=80: tables must fit a terminal)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAONET_")}
        env.update({"TAONET_WALLET_PATH": str(self.wallets), "TAONET_ENDPOINT": self.endpoint,
                    "TAONET_UNLOCK_COST": "fast", "COLUMNS": "80"})
        if self.password is not None:
            env["TAONET_PASSWORD"] = self.password
        env.update(extra)
        return env

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 60.0, **env: str) -> Run:
        """Run ``taonet ARGS``; stdin is empty unless given (never a terminal)."""
        out = subprocess.run([TAONET_EXE, *args], capture_output=True, text=True, timeout=timeout,
                             input=stdin or "", env=self.env(**env))
        return Run(out.returncode, out.stdout, error_lines(out.stderr))

    def on_a_terminal(self, *args: str, answer: bytes | signal.Signals, after: bytes = b"]: ", timeout: float = 60.0,
                      **env: str) -> tuple[int, str]:
        """Run ``taonet ARGS`` on a pseudo-terminal (SIGINT and SIGTERM as a shell leaves them: a test worker may
        ignore them); type ``answer`` (or send that signal) once it has written ``after`` (a prompt's end); its exit
        status and everything it wrote."""
        pid, fd = pty.fork()
        if pid == 0:  # the child: the command, on the terminal
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.execve(TAONET_EXE, [TAONET_EXE, *args], self.env(**env))
        seen, typed = b"", False
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not select.select([fd], [], [], 0.1)[0]:
                    continue
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the command ended: its side of the terminal closed
                    break
                if not chunk:
                    break
                seen += chunk
                if not typed and after in seen:
                    if isinstance(answer, bytes):
                        os.write(fd, answer)
                    else:
                        os.kill(pid, answer)
                    typed = True
        finally:
            os.close(fd)
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")

    def wait_until_pending(self, timeout: float = 30.0) -> None:
        """Until the node's mempool holds an extrinsic: a write started in another process has been submitted (a
        fixed pause was too short on a loaded machine, and a signal then came before the submit)."""
        from taonet.kernel import subtensor

        deadline = time.monotonic() + timeout
        with subtensor(self.endpoint, timeout=10) as sub:
            while sub.call("metrics")["mempool"] < 1:
                assert time.monotonic() < deadline, f"nothing reached the node's mempool in {timeout:g} s"
                time.sleep(0.05)

    def ok(self, *args: str, **kw: Any) -> Run:
        """Run and require success with nothing on stderr."""
        r = self(*args, **kw)
        assert r.status == 0 and r.stderr == [], (args, r)
        return r

    def fails(self, status: int, *args: str, **kw: Any) -> str:
        """Run and require exit ``status`` with exactly one `error:` line (returned)."""
        r = self(*args, **kw)
        assert r.status == status, (args, r)
        assert len(r.stderr) == 1 and r.stderr[0].startswith("error: "), (args, r)
        assert "Traceback" not in r.stdout
        return r.stderr[0]
