"""At exit, the wire waits for nng's threads to be quiet before pynng's ``nng_fini`` tears nng down under them
(kernel/wire/_nng.py, "Exit"): a thread named as nng names its threads stands in for one still closing a socket."""

from __future__ import annotations

import ctypes
import hashlib
import subprocess
import sys
import threading
import time

from taonet.kernel.wire import _nng

_PR_SET_NAME = 15


def _busy_nng_thread(seconds: float) -> tuple[threading.Thread, list[float]]:
    """A thread named ``nng:busy`` that hashes (without the GIL, so it is running or runnable all along) for
    ``seconds``; the list gets the time.monotonic() at which it stopped."""
    ended: list[float] = []
    started = threading.Event()

    def work() -> None:
        ctypes.CDLL(None).prctl(_PR_SET_NAME, b"nng:busy", 0, 0, 0)
        block = bytes(32 << 20)
        until = time.monotonic() + seconds
        started.set()
        while time.monotonic() < until:
            hashlib.sha256(block).digest()
        ended.append(time.monotonic())

    t = threading.Thread(target=work, daemon=True)
    t.start()
    assert started.wait(10)
    return t, ended


def test_the_wait_lasts_while_an_nng_thread_runs_and_ends_once_it_stops() -> None:
    """A busy nng thread holds the exit wait until it stops (the wait says it became quiet)."""
    t, ended = _busy_nng_thread(0.6)
    assert _nng.wait_nng_quiet(limit=30) is True
    returned = time.monotonic()
    t.join(10)
    assert ended and returned >= ended[0] - 0.05  # the last hash may end a look or two before the loop does


def test_the_wait_gives_up_at_its_limit_while_an_nng_thread_keeps_running() -> None:
    """The wait is bounded: a thread that keeps running is waited for ``limit`` seconds, then exit goes on."""
    t, _ = _busy_nng_thread(3.0)
    started = time.monotonic()
    assert _nng.wait_nng_quiet(limit=0.3) is False
    assert 0.3 <= time.monotonic() - started < 2.5
    t.join(10)


def test_the_wait_costs_nothing_much_when_nng_is_idle() -> None:
    """With nng's threads asleep (a socket open, nothing to do) the wait ends after its few looks."""
    import pynng

    with pynng.Pair0():
        started = time.monotonic()
        assert _nng.wait_nng_quiet(limit=30) is True
        assert time.monotonic() - started < 2.0


def test_the_exit_wait_runs_before_nng_fini() -> None:
    """Exit handlers run newest first, and the wire's is newer than pynng's: at exit it looks at nng's threads while
    a socket left open is still open, i.e. before ``nng_fini`` closed every socket."""
    code = ("import pynng\n"
            "from taonet.kernel.wire import _nng\n"
            "sock = pynng.Pair0()\n"
            "def look():\n"
            "    try:\n"
            "        sock.recv(block=False)\n"
            "    except pynng.TryAgain:\n"
            "        print('looked while the socket was open', flush=True)\n"
            "    except pynng.Closed:\n"
            "        print('looked after nng_fini', flush=True)\n"
            "    return False\n"
            "_nng._nng_thread_running = look\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["looked while the socket was open"] * 3


def test_a_ctrl_c_during_the_wait_ends_it_without_a_traceback() -> None:
    """A Ctrl-C while the exit wait waits on a busy nng thread ends the wait (False) instead of raising
    KeyboardInterrupt out of an exit handler, which printed a traceback at the end of a Ctrl-C'd command."""
    import _thread
    import signal

    t, _ = _busy_nng_thread(3.0)
    timer = threading.Timer(0.1, _thread.interrupt_main)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)  # a test worker may ignore Ctrl-C
    try:
        started = time.monotonic()
        timer.start()
        assert _nng.wait_nng_quiet(limit=10) is False
        assert time.monotonic() - started < 2.5
    finally:
        signal.signal(signal.SIGINT, before)
        timer.join(10)
        t.join(10)
