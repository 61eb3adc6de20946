"""How a `taonet` process ends (tools/_end.py): its threads and exit handlers finish, its output is flushed, its exit
status is kept, and nng's own exit-time teardown (which can panic the process: pynng issue #108) never runs."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import atexit, sys, threading, time

def last():  # registered before pynng's handler, so it runs after it: is the socket still open?
    try:
        sock.recv(block=False)
    except pynng.TryAgain:
        print("socket open at the end")
    except pynng.Closed:
        print("socket closed by nng_fini")

atexit.register(last)
import pynng
sock = pynng.Pair0()
atexit.register(lambda: print("newest handler ran"))
threading.Thread(target=lambda: (time.sleep(0.2), print("thread finished")), daemon=False).start()
import concurrent.futures
pool = concurrent.futures.ThreadPoolExecutor(1)  # held and never shut down: its worker idles, a non-daemon thread
pool.submit(time.sleep, 0.01)
print("buffered, not flushed", end="")
print()
if sys.argv[1] == "end":
    from taonet.tools._end import end_process
    end_process(int(sys.argv[2]))
sys.exit(int(sys.argv[2]))
"""


def _run(how: str, code: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _SCRIPT, how, str(code)], capture_output=True, text=True,
                          timeout=60)


def test_a_process_ended_by_end_process_skips_nng_fini_and_keeps_everything_else() -> None:
    """Ended by end_process: the exit status, the non-daemon thread's line, every exit handler (the newest first),
    the unflushed output; an executor never shut down does not hold the end; and nng was not torn down (a socket
    left open is still open in the oldest handler)."""
    out = _run("end", 4)
    assert out.returncode == 4, out.stderr
    assert out.stdout.splitlines() == ["buffered, not flushed", "thread finished", "newest handler ran",
                                       "socket open at the end"], out
    assert out.stderr == ""


def test_without_it_nng_fini_closes_the_socket_before_the_last_handler() -> None:
    """The control: a plain sys.exit runs pynng's nng_fini, which closes every socket (and tears down nng while its
    threads may still be finishing the last sockets' teardown)."""
    out = _run("exit", 4)
    assert out.returncode == 4, out.stderr
    assert out.stdout.splitlines()[-1] == "socket closed by nng_fini", out


def test_the_exit_status_wraps_as_sys_exit_does() -> None:
    """256 ends as 0 and -1 as 255, as with sys.exit."""
    assert _run("end", 256).returncode == _run("exit", 256).returncode == 0
    assert _run("end", -1).returncode == _run("exit", -1).returncode == 255
