"""A line typed at the terminal (an answer, a password) that Ctrl-C interrupts at once.

Python's ``input()`` and ``getpass`` sleep in one blocking read. Once nng's threads run (any process that has
talked to a node), the kernel may hand a Ctrl-C to one of them instead of the main thread: the signal is noted,
but the main thread's read is never interrupted, so the prompt ignores Ctrl-C until Enter (measured: 1 prompt in 3
after a chain read). Here the main thread waits in ``select`` with a short timeout, and so comes back to Python,
where a noted Ctrl-C is raised as KeyboardInterrupt, within :data:`CHECK_EVERY` seconds.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
from typing import TextIO

__all__ = ["CHECK_EVERY", "read_line"]

CHECK_EVERY = 0.1
"""Seconds between two looks for a Ctrl-C while waiting for a line."""
MAX_LINE = 64 << 10
"""The longest line taken (a password or an answer); more is refused rather than kept growing."""


def read_line(prompt: str, *, hidden: bool = False, out: TextIO | None = None) -> str:
    """Write ``prompt`` (to stderr) and return the line typed on standard input, a terminal, without its end;
    ``hidden``: not echoed (a password). Ctrl-D on an empty line raises EOFError, Ctrl-C KeyboardInterrupt."""
    out = out or sys.stderr
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd) if hidden else None
    try:
        if saved is not None:  # echo off before the prompt shows: what is typed once it shows is kept, not echoed
            quiet = termios.tcgetattr(fd)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        out.write(prompt)
        out.flush()
        return _read(fd).decode(errors="surrogateescape")  # not UTF-8: the caller's checks say so
    finally:
        if saved is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            out.write("\n")  # the Enter typed was not echoed either
            out.flush()


def _read(fd: int) -> bytes:
    """Bytes up to the first end of line (the terminal gives a whole line at a time); EOFError on Ctrl-D."""
    line = bytearray()
    while True:
        ready, _, _ = select.select([fd], [], [], CHECK_EVERY)  # a Ctrl-C noted by another thread is raised here
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # Ctrl-D on an empty line (after some text it only hands that text over)
            if not line:
                raise EOFError
            return bytes(line)
        line += chunk
        end = line.find(b"\n")
        if end >= 0:
            return bytes(line[:end]).removesuffix(b"\r")
        if len(line) > MAX_LINE:
            raise ValueError(f"a line of more than {MAX_LINE} bytes was typed")
