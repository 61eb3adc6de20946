"""Stopping the `taonet` processes cleanly: SIGINT (Ctrl-C) and SIGTERM cancel the task group that runs them; a
process the launcher started stops the same way when the launcher is gone; a short command stops at SIGTERM as at
Ctrl-C (:func:`interrupt_on_sigterm`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # anyio is imported when a watcher runs: `taonet --help` need not load it
    import anyio
    import anyio.abc

__all__ = ["PARENT_ENV", "STOP_SIGNALS", "Terminated", "hold_stop_signals", "interrupt_on_sigterm",
           "signal_stopped_group", "stop_heard", "stopped_by", "terminated", "watch_parent"]

PARENT_ENV = "TAONET_PARENT_PID"
"""Set by the launcher for the processes it starts: the launcher's process id (see :func:`watch_parent`)."""
PARENT_POLL = 0.5
"""Seconds between two looks at the parent process."""
PARENT_GRACE = 30.0
"""Seconds a process whose launcher is gone gets to stop after its SIGTERM before it exits regardless."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_held: list[int] = []
"""The signals :func:`hold_stop_signals` noted (a list: a signal handler must take no lock)."""
_stops: list[int] = []
"""The first SIGINT or SIGTERM :func:`hold_stop_signals` or a :func:`signal_stopped_group` took (one at most)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt once the entry point called :func:`interrupt_on_sigterm`:
    a command stops at it as at Ctrl-C (every ``except KeyboardInterrupt`` takes it), and says "terminated"."""


_terminated: list[int] = []
"""The SIGTERM :func:`interrupt_on_sigterm`'s handler took (a list: a signal handler must take no lock)."""


def interrupt_on_sigterm() -> None:
    """For the `taonet` entry point, in the main thread: from now on SIGTERM (what `timeout` and service managers
    send) raises :class:`Terminated`, so a short command stops as at Ctrl-C (a write says whether it was sent)
    instead of dying without a word; a long-running command takes SIGTERM over with :func:`hold_stop_signals` or
    :func:`signal_stopped_group` as before. After the first, SIGTERM is ignored: the copy `timeout` forwards to the
    process group a moment later must not interrupt the stop the first began. Changes process-wide state: only an
    entry point calls it."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def terminated() -> bool:
    """Whether :func:`interrupt_on_sigterm`'s handler has taken a SIGTERM (the command's exit status is then 143)."""
    return bool(_terminated)


def _raise_terminated(signum: int, _frame: object) -> None:
    _terminated.append(signum)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated


def hold_stop_signals(signals: tuple[int, ...] = STOP_SIGNALS) -> None:
    """For an entry point, from now until its process ends: note SIGINT and SIGTERM instead of raising
    KeyboardInterrupt or being killed, for a :func:`signal_stopped_group` to act on (one entered later stops at once).

    The group takes the signals while it runs and puts these handlers back when it ends, so a Ctrl-C after that (a
    second one, or the copy `timeout` forwards of the first) is dropped while the event loop closes and the command
    returns. Python's own handler there raised KeyboardInterrupt wherever it landed: in the loop's own close (a
    warning of a coroutine never awaited) or a weakref callback (an ignored-exception traceback), one stop in ten
    under a burst of Ctrl-C. Changes process-wide state: only an entry point calls it, in the main thread."""
    for sig in signals:
        signal.signal(sig, _note_held)


def stop_heard() -> bool:
    """Whether a signal held by :func:`hold_stop_signals` has come."""
    return bool(_held)


def stopped_by() -> int | None:
    """The first SIGINT or SIGTERM :func:`hold_stop_signals` or a :func:`signal_stopped_group` took (None: neither
    has), so a command stopped by a signal says which: Ctrl-C (exit 130) or SIGTERM (143)."""
    return _stops[0] if _stops else None


def _note_held(signum: int, _frame: object) -> None:
    _held.append(signum)
    if not _stops:
        _stops.append(signum)
    _ignore_stop_signals()


def _ignore_stop_signals() -> None:
    """Ignore SIGINT and SIGTERM from now on (a stop has been heard): more of them run no Python code at all.

    Python runs a handler between two bytecodes, inside a running handler too: under a burst of Ctrl-C in a process
    short of CPU, handlers that made many calls (threading.Event.set) can nest, and one that takes a lock can
    deadlock on its own lock. A loaded CI run ended one stop under such a burst with RecursionError, not seen again
    in 25 runs here under load: nested handlers are the one way to it we know of, and ignoring the rest closes it."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


@contextlib.asynccontextmanager
async def signal_stopped_group(on_signal: Callable[[], None] | None = None) -> AsyncIterator[anyio.abc.TaskGroup]:
    """A task group the first SIGINT or SIGTERM cancels (after calling ``on_signal``, if any); entered in the main
    thread. One held by :func:`hold_stop_signals` before the group cancels it at once.

    The signals are taken by this group until it has ended: a second Ctrl-C (or the copy that `timeout` forwards of
    the first, a few milliseconds later) is dropped instead of raising KeyboardInterrupt in the middle of the clean
    stop, which has its own deadlines. Then the handlers from before the group are put back as they were; the event
    loop's own signal handling is not used, as it puts Python's default handlers back (not the previous ones)."""
    import anyio

    reader, writer = socket.socketpair()
    heard: list[int] = []  # no lock in a signal handler

    def handler(signum: int, _frame: object) -> None:
        heard.append(signum)
        if not _stops:
            _stops.append(signum)
        try:  # noqa: SIM105 - not contextlib.suppress: as few Python calls as can be in a signal handler
            writer.send(b"\0")
        except OSError:  # full: a byte already waits to wake the group, that is enough
            pass
        _ignore_stop_signals()  # the rest are dropped; the handlers from before are put back when the group ends

    reader.setblocking(False)
    writer.setblocking(False)
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, handler)
        async with anyio.create_task_group() as tg:
            if stop_heard():
                _signalled(on_signal, tg.cancel_scope)
            else:
                tg.start_soon(_cancel_at_first, reader, heard, tg.cancel_scope, on_signal)
            yield tg
    finally:
        for sig, before in previous.items():  # None: set outside Python; the default then
            signal.signal(sig, signal.SIG_DFL if before is None else before)
        reader.close()
        writer.close()


async def _cancel_at_first(reader: socket.socket, heard: list[int], scope: anyio.CancelScope,
                           on_signal: Callable[[], None] | None) -> None:
    import anyio

    # the handler runs in the main thread, as the event loop does: the signal interrupts the loop's wait, the handler
    # runs, and the byte it writes ends this wait
    while not heard:
        await anyio.wait_readable(reader)
        with contextlib.suppress(BlockingIOError):
            reader.recv(64)
    _signalled(on_signal, scope)


def _signalled(on_signal: Callable[[], None] | None, scope: anyio.CancelScope) -> None:
    if on_signal is not None:
        on_signal()
    scope.cancel()


def watch_parent(environ: Mapping[str, str] | None = None) -> threading.Thread | None:
    """When ``TAONET_PARENT_PID`` names this process's parent, watch it: once this process is no longer its child (the
    launcher was killed with SIGKILL, or by the out-of-memory killer), send this process SIGTERM, its clean stop.

    So a launcher that dies without stopping its children leaves no node or neuron host behind holding ports and
    keys. Called by the ``taonet`` entry point (the one place that changes process-wide state); returns the daemon
    thread watching, or None when there is nothing to watch (the variable unset, not a number, or naming another
    process than the parent: a grandchild that inherited it).
    """
    raw = (os.environ if environ is None else environ).get(PARENT_ENV, "")
    try:
        parent = int(raw)
    except ValueError:
        return None
    if parent <= 1 or os.getppid() != parent:
        return None
    watcher = threading.Thread(target=_watch_parent, args=(parent,), name="taonet-parent", daemon=True)
    watcher.start()
    return watcher


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(PARENT_GRACE)  # the clean stop ends the process well before this (each has its own deadline)
    os._exit(1)
