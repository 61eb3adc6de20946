"""The `taonet` console script's entry point: the command line's modules are imported inside it, so a Ctrl-C while
they load (the first tenth of a second) ends the command quietly, exit 130, instead of with a KeyboardInterrupt
traceback from the console script's own ``from ... import main``.

This module imports nothing at its top that Python's start has not already (``os``, ``sys``): the console script
imports it about 2 ms after the interpreter has started (some 20 ms: its site module, the editable install's path
finder), and only a Ctrl-C before that, while Python itself starts, is Python's own: no code of ours
has run yet to catch it.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (2 ms) before the command line's imports
if TYPE_CHECKING:
    from typing import NoReturn

__all__ = ["main"]


def main() -> NoReturn:
    """Run the `taonet` command (``taonet.tools.cli.main``), a Ctrl-C before it has begun included."""
    sys.unraisablehook = _interrupt_where_it_can_be_raised
    try:
        from .cli import main as run

        run()  # ends the process itself (tools/_end.py); a KeyboardInterrupt comes out of it only before its command
    except KeyboardInterrupt as e:  # Terminated (SIGTERM) is one too, once the command line took SIGTERM over
        _stopped_while_loading(e)
    raise AssertionError("taonet.tools.cli.main returned")  # pragma: no cover


def _interrupt_where_it_can_be_raised(unraisable: sys.UnraisableHookArgs, /) -> None:
    """Raise again a Ctrl-C (or SIGTERM) whose KeyboardInterrupt landed where Python cannot raise it (a weakref
    callback, such as the import system's module locks', or a ``__del__``): Python printed "Exception ignored" with a
    traceback there and ran on, so the command ignored the Ctrl-C and ended 0 (one start in some 40 under the chaos
    test). A SIGALRM a millisecond later raises it at the next line that can; any other such exception goes to
    Python's own hook. Process-wide: installed by this entry point only."""
    e = unraisable.exc_value
    if not isinstance(e, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)
        return
    try:
        armed = _raise_later(e)
    except KeyboardInterrupt as again:  # a second Ctrl-C before the first was held: raised later instead
        armed = _raise_later(again)
    if not armed:  # not the main thread, where no signal raised it
        sys.__unraisablehook__(unraisable)


def _raise_later(e: KeyboardInterrupt) -> bool:
    """Raise ``e`` from a SIGALRM handler a moment from now, outside the unraisable hook; SIGINT and SIGTERM wait
    (blocked) until then, so a second Ctrl-C cannot land in the hook itself (it printed "Exception ignored in
    sys.unraisablehook" once in 80 bursts): delivered once ``e`` is raised, it raises there as any Ctrl-C does.
    False outside the main thread (nothing done)."""
    import signal

    stops = {signal.SIGINT, signal.SIGTERM}
    previous = signal.getsignal(signal.SIGALRM)

    def raise_it_again(_signum: int, frame: object) -> None:
        if _inside(frame, _interrupt_where_it_can_be_raised.__code__):  # raised here, it would be ignored again
            signal.setitimer(signal.ITIMER_REAL, _AGAIN_S)
            return
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
        raise e  # the same exception: Terminated for SIGTERM, whose own handler ignores SIGTERM once it has run

    try:
        signal.signal(signal.SIGALRM, raise_it_again)
    except ValueError:  # not the main thread
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    signal.setitimer(signal.ITIMER_REAL, _AGAIN_S)
    return True


_AGAIN_S = 0.001
"""Seconds after an unraisable KeyboardInterrupt that it is raised again: long enough for the hook to have returned."""


def _inside(frame: object, code: object) -> bool:
    """Whether ``frame`` or one of its callers runs ``code``."""
    while frame is not None:
        if frame.f_code is code:  # type: ignore[attr-defined]
            return True
        frame = frame.f_back  # type: ignore[attr-defined]
    return False


def _stopped_while_loading(e: KeyboardInterrupt) -> NoReturn:
    """End the process stopped before its command began: nothing was done, so nothing is said; exit 130 (Ctrl-C), or
    143 when it was SIGTERM, as when a command stops (docs/cli.md, "Errors and exit status")."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C now would be a traceback from here
        signal.signal(sig, signal.SIG_IGN)
    terminated = type(e).__name__ == "Terminated"  # taonet.tools.signals.Terminated, not imported for the name
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:  # a closed stream: nothing left to say
            pass
    os._exit(143 if terminated else 130)
